"""Observable and observable-type routes (spec §6, §7)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from propolis.alerts.service import get_alert
from propolis.attachments import service as attachments
from propolis.cases.service import get_case
from propolis.core.web import (
    JSON,
    STORED_FILE_OR_ZIP,
    Ctx,
    Multipart,
    UnitOfWorkRoute,
    context,
    created,
    hot_write,
    no_content,
    ok,
    parse_bool,
    parsed,
)
from propolis.observables import service
from propolis.observables.render import (
    render_observable,
    render_observable_type,
    render_observables,
)
from propolis.observables.schemas import (
    ObservableBulkUpdate,
    ObservableCreate,
    ObservableOut,
    ObservableTypeCreate,
    ObservableTypeOut,
    ObservableUpdate,
)

router = APIRouter(prefix="/api/v1", route_class=UnitOfWorkRoute)


# --------------------------------------------------------------------------- observable types


@router.post("/observable/type", response_model=ObservableTypeOut, status_code=201)
def create_observable_type(
    data: dict = Depends(parsed(ObservableTypeCreate, required=True)), ctx: Ctx = Depends(context)
) -> JSON:
    return created(render_observable_type(service.create_type(ctx.session, ctx.actor, data)))


@router.get("/observable/type/{ref}", response_model=ObservableTypeOut, status_code=200)
def get_observable_type(ref: str, ctx: Ctx = Depends(context)) -> JSON:
    return ok(render_observable_type(service.get_type(ctx.session, ref)))


@router.delete("/observable/type/{ref}", status_code=204)
def delete_observable_type(ref: str, ctx: Ctx = Depends(context)) -> Response:
    service.delete_type(ctx.session, ctx.actor, service.get_type(ctx.session, ref))
    return no_content()


# --------------------------------------------------------------------------- creation


def _input(form: Multipart, data_type: str | None) -> dict[str, Any]:
    """The ``InputObservable``: ``_json`` or the JSON body; ``?dataType=`` fills a missing
    type, and a bare file upload is a ``file`` observable."""
    data = dict(form.json)
    if not data.get("dataType"):
        if data_type:
            data["dataType"] = data_type
        elif form.files.get("attachment"):
            data["dataType"] = "file"
    return data


def _creation_response(ctx: Ctx, observables: list) -> JSON:
    """201 with the container's observable for each value (new or merged into)."""
    return created(render_observables(ctx.session, ctx.actor, observables))


@router.post("/case/{case_id}/observable", response_model=list[ObservableOut], status_code=201)
@hot_write
def create_in_case(
    case_id: str,
    data_type: str | None = Query(None, alias="dataType"),
    ctx: Ctx = Depends(context),
    form: Multipart = Depends(parsed(ObservableCreate, multipart=True)),
) -> JSON:
    case = get_case(ctx.session, ctx.actor, case_id)
    observables = service.create_observables(
        ctx.session, ctx.actor, case=case, data=_input(form, data_type), files=form.files
    )
    return _creation_response(ctx, observables)


@router.post("/alert/{alert_id}/observable", response_model=list[ObservableOut], status_code=201)
@hot_write
def create_in_alert(
    alert_id: str,
    data_type: str | None = Query(None, alias="dataType"),
    ctx: Ctx = Depends(context),
    form: Multipart = Depends(parsed(ObservableCreate, multipart=True)),
) -> JSON:
    alert = get_alert(ctx.session, ctx.actor, alert_id)
    observables = service.create_observables(
        ctx.session, ctx.actor, alert=alert, data=_input(form, data_type), files=form.files
    )
    return _creation_response(ctx, observables)


# --------------------------------------------------------------------------- one observable


@router.patch("/observable/_bulk", status_code=204)
def bulk_update(
    data: dict = Depends(parsed(ObservableBulkUpdate, required=True)), ctx: Ctx = Depends(context)
) -> Response:
    service.bulk_update(ctx.session, ctx.actor, data)
    return no_content()


@router.get("/observable/{ref}", response_model=ObservableOut, status_code=200)
def get_observable(ref: str, ctx: Ctx = Depends(context)) -> JSON:
    observable = service.get_observable(ctx.session, ctx.actor, ref)
    return ok(render_observable(ctx.session, ctx.actor, observable))


@router.patch("/observable/{ref}", status_code=204)
def update_observable(
    ref: str, data: dict = Depends(parsed(ObservableUpdate)), ctx: Ctx = Depends(context)
) -> Response:
    observable = service.get_observable(ctx.session, ctx.actor, ref)
    service.update_observable(ctx.session, ctx.actor, observable, data)
    return no_content()


@router.delete("/observable/{ref}", status_code=204)
def delete_observable(ref: str, ctx: Ctx = Depends(context)) -> Response:
    observable = service.get_observable(ctx.session, ctx.actor, ref)
    service.delete_observable(ctx.session, ctx.actor, observable)
    return no_content()


@router.get(
    "/observable/{ref}/attachment/{attachment_ref}/download",
    response_class=Response,
    responses=STORED_FILE_OR_ZIP,
)
def download_observable_file(
    ref: str,
    attachment_ref: str,
    as_zip: str | None = Query(None, alias="asZip"),
    ctx: Ctx = Depends(context),
) -> Response:
    observable = service.get_observable(ctx.session, ctx.actor, ref)
    attachment = attachments.get_in_container(
        ctx.session, attachment_ref, attachment_id=observable.attachment_id or -1
    )
    return attachments.download_response(ctx.request, attachment, as_zip=parse_bool(as_zip))
