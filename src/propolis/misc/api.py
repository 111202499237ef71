"""Status, health and license routes (spec §2), and the MISP connector without servers (§22)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from propolis import __version__
from propolis.cases.api import multipart_only, uploaded_file
from propolis.cases.render import render_case
from propolis.cases.schemas import CaseOut
from propolis.core.web import (
    JSON,
    Ctx,
    Multipart,
    UnitOfWorkRoute,
    context,
    created,
    no_content,
    ok,
)
from propolis.flows import misp
from propolis.misc.schemas import (
    CurrentLicenseOut,
    LegacyStatusOut,
    MispStatusOut,
    PublicStatusOut,
    StatusOut,
)
from propolis.misc.status import THEHIVE_VERSION, analysis_health, connectors

router = APIRouter(route_class=UnitOfWorkRoute)

LICENSE = {
    "_id": "~1",
    "_type": "License",
    "_createdAt": 0,
    "_createdBy": "system@thehive.local",
    "id": "community",
    "customer": "community",
    "plan": "Community",
    "kind": "community",
    "validFrom": 0,
    "expiresAt": 4102444800000,  # 2100-01-01: Propolis has no license expiry
    "current": True,
    "capabilities": [],
    "quotas": {},
}


@router.get("/api/status", response_model=LegacyStatusOut)
def legacy_status() -> JSON:
    analysis = analysis_health()
    return ok(
        {
            "versions": {"Propolis": __version__, "TheHive": THEHIVE_VERSION},
            "connectors": connectors(analysis),
            "analysis": analysis,
            "config": {
                "protectDownloadsWith": "malware",
                "authType": ["session", "local", "key"],
                "capabilities": ["changePassword", "setPassword", "authByKey"],
                "ssoAutoLogin": False,
            },
        }
    )


@router.get("/api/v1/status/public", response_model=PublicStatusOut)
def public_status() -> JSON:
    return ok({"sso": False, "version": __version__, "imports": {"mitreCatalog": "builtin"}})


@router.get("/api/v1/status", response_model=StatusOut)
def status(ctx: Ctx = Depends(context)) -> JSON:
    return ok(
        {
            "version": __version__,
            "gitDescription": f"propolis-{__version__}",
            "connectors": connectors(analysis_health()),
            "config": {"protectDownloadsWith": "malware"},
            "license": {**LICENSE, "isValid": True},
        }
    )


@router.get("/api/v1/license/current", response_model=CurrentLicenseOut)
def current_license(ctx: Ctx = Depends(context)) -> JSON:
    return ok({"notFound": True, "fallback": LICENSE})


# --------------------------------------------------------------------------- MISP (§22)


@router.get("/api/v1/connector/misp/status", response_model=MispStatusOut)
def misp_status(ctx: Ctx = Depends(context)) -> JSON:
    return ok(misp.status())


@router.get("/api/v1/connector/misp/_syncAlerts", status_code=204)
def misp_sync(ctx: Ctx = Depends(context)) -> Response:
    return no_content()  # no MISP server: nothing to synchronise


@router.post("/api/v1/connector/misp/export/{case_ref}/{server}", status_code=204)
def misp_export(case_ref: str, server: str, ctx: Ctx = Depends(context)) -> Response:
    misp.export_case(ctx.session, ctx.actor, case_ref, server)
    return no_content()


@router.post("/api/v1/connector/misp/case/import", response_model=CaseOut, status_code=201)
def misp_import(upload: Multipart = Depends(multipart_only), ctx: Ctx = Depends(context)) -> JSON:
    case = misp.import_event(ctx.session, ctx.actor, uploaded_file(upload), upload.json)
    ctx.session.flush()
    return created(render_case(ctx.session, ctx.actor, case))
