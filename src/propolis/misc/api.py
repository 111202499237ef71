"""Status, health and license routes (spec §2), and the MISP connector without servers (§22)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from propolis import __version__
from propolis.core.web import JSON, Ctx, UnitOfWorkRoute, context, ok

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


def _connectors() -> dict[str, object]:
    return {
        "cortex": {"enabled": True, "status": "OK", "servers": [{"name": "local", "status": "OK"}]},
        "misp": {"enabled": False, "status": "OK", "servers": []},
    }


@router.get("/api/status")
def legacy_status() -> JSON:
    return ok(
        {
            "versions": {"Propolis": __version__, "TheHive": "5.5.13-1"},
            "connectors": _connectors(),
            "config": {
                "protectDownloadsWith": "malware",
                "authType": ["session", "local", "key"],
                "capabilities": ["changePassword", "setPassword", "authByKey"],
                "ssoAutoLogin": False,
            },
        }
    )


@router.get("/api/v1/status/public")
def public_status() -> JSON:
    return ok({"sso": False, "version": __version__, "imports": {"mitreCatalog": "builtin"}})


@router.get("/api/v1/status")
def status(ctx: Ctx = Depends(context)) -> JSON:
    return ok(
        {
            "version": __version__,
            "gitDescription": f"propolis-{__version__}",
            "connectors": _connectors(),
            "config": {"protectDownloadsWith": "malware"},
            "license": {**LICENSE, "isValid": True},
        }
    )


@router.get("/api/v1/license/current")
def current_license(ctx: Ctx = Depends(context)) -> JSON:
    return ok({"notFound": True, "fallback": LICENSE})
