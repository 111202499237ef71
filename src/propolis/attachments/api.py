"""Attachment routes (spec §16.1): organisation-level files, alert files, case files.

Task-log files have their routes in the tasks package; observable files in the observables
package. All of them use :mod:`propolis.attachments.service`.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from propolis.alerts.service import get_alert
from propolis.attachments import service
from propolis.attachments.render import render_attachments
from propolis.attachments.schemas import AttachmentOut, AttachmentsOut
from propolis.cases.service import get_case
from propolis.core.errors import BadRequest
from propolis.core.web import (
    JSON,
    STORED_FILE,
    Ctx,
    Multipart,
    UnitOfWorkRoute,
    context,
    created,
    is_multipart,
    multipart_body,
    no_content,
    parse_bool,
)

router = APIRouter(prefix="/api/v1", route_class=UnitOfWorkRoute)


async def uploads(request: Request) -> Multipart:
    """Dependency: the multipart form of an upload (files in parts named ``attachments``).

    Routes list it after ``context`` so that the caller is authenticated before any upload
    is read."""
    if not is_multipart(request):
        raise BadRequest("Expected a multipart/form-data body with 'attachments' file parts")
    return await multipart_body(request)


def _files(form: Multipart) -> list:
    return form.files.get("attachments", []) + form.files.get("attachment", [])


def _can_rename(form: Multipart) -> bool:
    return parse_bool(form.fields.get("canRename"), default=True)


def _answer(attachments: list) -> JSON:
    return created({"attachments": render_attachments(attachments)})


# --------------------------------------------------------------------------- organisation


@router.post("/attachment", response_model=AttachmentsOut, status_code=201)
def add_organisation_attachments(
    ctx: Ctx = Depends(context), form: Multipart = Depends(uploads)
) -> JSON:
    added = service.add_to_organisation(ctx.session, ctx.actor, _files(form), _can_rename(form))
    return _answer(added)


@router.get("/attachment/{ref}/download", response_class=Response, responses=STORED_FILE)
def download_attachment(ref: str, ctx: Ctx = Depends(context)) -> Response:
    attachment = service.get_visible_attachment(ctx.session, ctx.actor, ref)
    return service.download_response(ctx.request, attachment)


@router.get("/attachment/{ref}", response_model=AttachmentOut)
def view_attachment(ref: str, ctx: Ctx = Depends(context)) -> Response:
    attachment = service.get_visible_attachment(ctx.session, ctx.actor, ref)
    return service.inline_response(ctx.request, attachment)


@router.delete("/attachment/{ref}", status_code=204)
def delete_attachment(ref: str, ctx: Ctx = Depends(context)) -> Response:
    attachment = service.get_visible_attachment(ctx.session, ctx.actor, ref)
    service.delete_attachment(ctx.session, ctx.actor, attachment)
    return no_content()


# --------------------------------------------------------------------------- alert


def _alert(ctx: Ctx, alert_id: str):  # noqa: ANN202
    return get_alert(ctx.session, ctx.actor, alert_id)


@router.post("/alert/{alert_id}/attachments", response_model=AttachmentsOut, status_code=201)
def add_alert_attachments(
    alert_id: str, ctx: Ctx = Depends(context), form: Multipart = Depends(uploads)
) -> JSON:
    alert = _alert(ctx, alert_id)
    added = service.add_to_alert(ctx.session, ctx.actor, alert, _files(form), _can_rename(form))
    return _answer(added)


@router.get(
    "/alert/{alert_id}/attachment/{ref}/download",
    response_class=Response,
    responses=STORED_FILE,
)
def download_alert_attachment(alert_id: str, ref: str, ctx: Ctx = Depends(context)) -> Response:
    alert = _alert(ctx, alert_id)
    attachment = service.get_in_container(ctx.session, ref, alert_id=alert.id)
    return service.download_response(ctx.request, attachment)


@router.delete("/alert/{alert_id}/attachment/{ref}", status_code=204)
def delete_alert_attachment(alert_id: str, ref: str, ctx: Ctx = Depends(context)) -> Response:
    alert = _alert(ctx, alert_id)
    attachment = service.get_in_container(ctx.session, ref, alert_id=alert.id)
    service.delete_attachment(ctx.session, ctx.actor, attachment)
    return no_content()


# --------------------------------------------------------------------------- case


def _case(ctx: Ctx, case_id: str):  # noqa: ANN202
    return get_case(ctx.session, ctx.actor, case_id)


@router.post("/case/{case_id}/attachments", response_model=AttachmentsOut, status_code=201)
def add_case_attachments(
    case_id: str, ctx: Ctx = Depends(context), form: Multipart = Depends(uploads)
) -> JSON:
    case = _case(ctx, case_id)
    added = service.add_to_case(ctx.session, ctx.actor, case, _files(form), _can_rename(form))
    return _answer(added)


@router.get(
    "/case/{case_id}/attachment/{ref}/download",
    response_class=Response,
    responses=STORED_FILE,
)
def download_case_attachment(case_id: str, ref: str, ctx: Ctx = Depends(context)) -> Response:
    case = _case(ctx, case_id)
    attachment = service.get_in_container(ctx.session, ref, case_id=case.id)
    return service.download_response(ctx.request, attachment)


@router.delete("/case/{case_id}/attachment/{ref}", status_code=204)
def delete_case_attachment(case_id: str, ref: str, ctx: Ctx = Depends(context)) -> Response:
    case = _case(ctx, case_id)
    attachment = service.get_in_container(ctx.session, ref, case_id=case.id)
    service.delete_attachment(ctx.session, ctx.actor, attachment)
    return no_content()
