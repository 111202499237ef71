"""Procedure and pattern routes (spec §14)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from propolis.alerts.service import get_alert
from propolis.cases.service import get_case
from propolis.core import validate
from propolis.core.errors import BadRequest
from propolis.core.web import (
    JSON,
    Ctx,
    Multipart,
    UnitOfWorkRoute,
    context,
    created,
    is_multipart,
    multipart_body,
    no_content,
    ok,
    parsed,
)
from propolis.procedures import patterns, service
from propolis.procedures.render import render_pattern, render_patterns, render_procedures
from propolis.procedures.schemas import (
    PatternOut,
    ProcedureBulkCreate,
    ProcedureBulkDelete,
    ProcedureCreate,
    ProcedureOut,
    ProcedureUpdate,
)

router = APIRouter(prefix="/api/v1", route_class=UnitOfWorkRoute)


def _case(ctx: Ctx, ref: str):  # noqa: ANN202
    return get_case(ctx.session, ctx.actor, ref)


def _alert(ctx: Ctx, ref: str):  # noqa: ANN202
    return get_alert(ctx.session, ctx.actor, ref)


def _one(ctx: Ctx, procedure) -> dict:  # noqa: ANN001
    return render_procedures(ctx.session, ctx.actor, [procedure])[0]


@router.post("/case/{case_ref}/procedure", response_model=ProcedureOut, status_code=201)
def create_in_case(
    case_ref: str,
    data: dict = Depends(parsed(ProcedureCreate, required=True)),
    ctx: Ctx = Depends(context),
) -> JSON:
    procedure = service.create_procedure(
        ctx.session, ctx.actor, case=_case(ctx, case_ref), data=data
    )
    return created(_one(ctx, procedure))


@router.post("/case/{case_ref}/procedures", response_model=list[ProcedureOut], status_code=201)
def bulk_create_in_case(
    case_ref: str,
    data: dict = Depends(parsed(ProcedureBulkCreate, required=True)),
    ctx: Ctx = Depends(context),
) -> JSON:
    case = _case(ctx, case_ref)
    items = validate.required(data, "procedures")
    procedures = service.create_procedures(ctx.session, ctx.actor, case=case, items=items)
    return created(render_procedures(ctx.session, ctx.actor, procedures))


@router.post("/alert/{alert_ref}/procedure", response_model=ProcedureOut, status_code=201)
def create_in_alert(
    alert_ref: str,
    data: dict = Depends(parsed(ProcedureCreate, required=True)),
    ctx: Ctx = Depends(context),
) -> JSON:
    procedure = service.create_procedure(
        ctx.session, ctx.actor, alert=_alert(ctx, alert_ref), data=data
    )
    return created(_one(ctx, procedure))


@router.post("/alert/{alert_ref}/procedures", response_model=list[ProcedureOut], status_code=201)
def bulk_create_in_alert(
    alert_ref: str,
    data: dict = Depends(parsed(ProcedureBulkCreate, required=True)),
    ctx: Ctx = Depends(context),
) -> JSON:
    alert = _alert(ctx, alert_ref)
    items = validate.required(data, "procedures")
    procedures = service.create_procedures(ctx.session, ctx.actor, alert=alert, items=items)
    return created(render_procedures(ctx.session, ctx.actor, procedures))


@router.post("/procedure/delete/_bulk", status_code=204)
def bulk_delete(
    data: dict = Depends(parsed(ProcedureBulkDelete, required=True)), ctx: Ctx = Depends(context)
) -> Response:
    procedures = service.get_procedures(ctx.session, ctx.actor, validate.id_list(data, "ids"))
    service.delete_procedures(ctx.session, ctx.actor, procedures)
    return no_content()


@router.get("/procedure/{ref}", response_model=ProcedureOut, status_code=200)
def get_procedure(ref: str, ctx: Ctx = Depends(context)) -> JSON:
    return ok(_one(ctx, service.get_procedure(ctx.session, ctx.actor, ref)))


@router.patch("/procedure/{ref}", status_code=204)
def update_procedure(
    ref: str, data: dict = Depends(parsed(ProcedureUpdate)), ctx: Ctx = Depends(context)
) -> Response:
    procedure = service.get_procedure(ctx.session, ctx.actor, ref)
    service.update_procedure(ctx.session, ctx.actor, procedure, data)
    return no_content()


@router.delete("/procedure/{ref}", status_code=204)
def delete_procedure(ref: str, ctx: Ctx = Depends(context)) -> Response:
    procedure = service.get_procedure(ctx.session, ctx.actor, ref)
    service.delete_procedures(ctx.session, ctx.actor, [procedure])
    return no_content()


# --------------------------------------------------------------------------- patterns


async def _attack_upload(request: Request) -> Multipart:
    if not is_multipart(request):
        raise BadRequest("Send the ATT&CK bundle as a multipart file part named 'file'")
    return await multipart_body(request)


@router.post("/pattern/import/attack", response_model=list[PatternOut], status_code=201)
def import_attack(ctx: Ctx = Depends(context), upload: Multipart = Depends(_attack_upload)) -> JSON:
    files = upload.files.get("file")
    if not files:
        raise BadRequest("Missing the file part 'file' (a MITRE ATT&CK STIX bundle)")
    imported = patterns.import_attack(ctx.session, ctx.actor, files[0].file)
    return created(render_patterns(imported))


@router.get("/pattern/case/{case_ref}", response_model=list[PatternOut])
def case_patterns(case_ref: str, ctx: Ctx = Depends(context)) -> JSON:
    case = _case(ctx, case_ref)
    return ok(render_patterns(patterns.patterns_of_case(ctx.session, case.id)))


@router.get("/pattern/{ref}", response_model=PatternOut)
def get_pattern(ref: str, ctx: Ctx = Depends(context)) -> JSON:
    return ok(render_pattern(patterns.get_pattern(ctx.session, ref)))
