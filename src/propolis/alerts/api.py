"""Alert routes (spec §4.1). Observable, comment, procedure and attachment routes below
``/alert/{id}/`` live with those entities."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from propolis.alerts import service
from propolis.alerts.render import render_alert, render_created_alert
from propolis.alerts.schemas import (
    AlertBulkMerge,
    AlertBulkUpdate,
    AlertCreate,
    AlertIds,
    AlertOut,
    AlertUpdate,
)
from propolis.cases.render import render_cases
from propolis.cases.schemas import CaseOut, CasePromote
from propolis.cases.service import get_case
from propolis.core import validate
from propolis.core.web import (
    JSON,
    Ctx,
    Multipart,
    UnitOfWorkRoute,
    context,
    created,
    hot_write,
    no_content,
    ok,
    parsed,
)
from propolis.flows import alert_case, deletion
from propolis.observables.render import render_observables
from propolis.observables.schemas import ObservableOut

router = APIRouter(prefix="/api/v1", route_class=UnitOfWorkRoute)


def _case_json(ctx: Ctx, case) -> dict:  # noqa: ANN001
    return render_cases(ctx.session, ctx.actor, [case], [])[0]


def _case(ctx: Ctx, ref: str):  # noqa: ANN202
    return get_case(ctx.session, ctx.actor, ref)


@router.post("/alert", response_model=AlertOut, status_code=201)
@hot_write
def create_alert(
    ctx: Ctx = Depends(context),
    upload: Multipart = Depends(parsed(AlertCreate, multipart=True, checked_by_service=True)),
) -> JSON:
    alert, custom = service.create_alert(ctx.session, ctx.actor, upload.json, files=upload.files)
    return created(render_created_alert(alert, custom))


# Fixed paths first: "/alert/_bulk" must not be taken for an alert id.
@router.patch("/alert/_bulk", status_code=204)
@hot_write
def bulk_update(
    data: dict = Depends(parsed(AlertBulkUpdate, required=True)), ctx: Ctx = Depends(context)
) -> Response:
    service.bulk_update(ctx.session, ctx.actor, data)
    return no_content()


@router.post("/alert/delete/_bulk", status_code=204)
def bulk_delete(
    data: dict = Depends(parsed(AlertIds, required=True)), ctx: Ctx = Depends(context)
) -> Response:
    alerts = service.get_alerts(ctx.session, ctx.actor, validate.id_list(data, "ids"))
    deletion.delete_alerts(ctx.session, ctx.actor, alerts)
    return no_content()


@router.post("/alert/merge/_bulk", response_model=CaseOut, status_code=200)
def bulk_merge(
    data: dict = Depends(parsed(AlertBulkMerge, required=True)), ctx: Ctx = Depends(context)
) -> JSON:
    return ok(_case_json(ctx, alert_case.bulk_merge(ctx.session, ctx.actor, data)))


@router.get("/alert/{ref}", response_model=AlertOut, status_code=200)
def get_alert(ref: str, ctx: Ctx = Depends(context)) -> JSON:
    return ok(render_alert(ctx.session, ctx.actor, service.get_alert(ctx.session, ctx.actor, ref)))


@router.patch("/alert/{ref}", status_code=204)
@hot_write
def update_alert(
    ref: str, data: dict = Depends(parsed(AlertUpdate)), ctx: Ctx = Depends(context)
) -> Response:
    service.update_alert(
        ctx.session, ctx.actor, service.get_alert(ctx.session, ctx.actor, ref), data
    )
    return no_content()


@router.delete("/alert/{ref}", status_code=204)
def delete_alert(ref: str, ctx: Ctx = Depends(context)) -> Response:
    deletion.delete_alerts(ctx.session, ctx.actor, [service.get_alert(ctx.session, ctx.actor, ref)])
    return no_content()


@router.post("/alert/{ref}/follow", status_code=204)
def follow(ref: str, ctx: Ctx = Depends(context)) -> Response:
    service.set_follow(ctx.session, ctx.actor, service.get_alert(ctx.session, ctx.actor, ref), True)
    return no_content()


@router.post("/alert/{ref}/unfollow", status_code=204)
def unfollow(ref: str, ctx: Ctx = Depends(context)) -> Response:
    alert = service.get_alert(ctx.session, ctx.actor, ref)
    service.set_follow(ctx.session, ctx.actor, alert, False)
    return no_content()


@router.post("/alert/{ref}/case", response_model=CaseOut, status_code=201)
def promote(
    ref: str, data: dict = Depends(parsed(CasePromote)), ctx: Ctx = Depends(context)
) -> JSON:
    alert = service.get_alert(ctx.session, ctx.actor, ref)
    return created(_case_json(ctx, alert_case.promote_to_case(ctx.session, ctx.actor, alert, data)))


@router.post("/alert/{ref}/merge/{case_ref}", response_model=CaseOut, status_code=200)
def merge(ref: str, case_ref: str, ctx: Ctx = Depends(context)) -> JSON:
    alert = service.get_alert(ctx.session, ctx.actor, ref)
    case = alert_case.merge_into_case(ctx.session, ctx.actor, alert, _case(ctx, case_ref))
    return ok(_case_json(ctx, case))


@router.post("/alert/{ref}/import/{case_ref}", response_model=CaseOut, status_code=200)
def import_into_case(ref: str, case_ref: str, ctx: Ctx = Depends(context)) -> JSON:
    alert = service.get_alert(ctx.session, ctx.actor, ref)
    case = alert_case.import_into_case(ctx.session, ctx.actor, alert, _case(ctx, case_ref))
    return ok(_case_json(ctx, case))


@router.get(
    "/alert/{ref}/similar/{other_ref}/observables",
    response_model=list[ObservableOut],
    status_code=200,
)
def similar_observables(ref: str, other_ref: str, ctx: Ctx = Depends(context)) -> JSON:
    alert = service.get_alert(ctx.session, ctx.actor, ref)
    found = service.similar_observables(ctx.session, ctx.actor, alert, other_ref)
    return ok(render_observables(ctx.session, ctx.actor, found, []))
