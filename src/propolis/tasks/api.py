"""Task and task-log routes (spec §8, §9). Task shares and required actions are served by
the cases package, which owns sharing."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from propolis.attachments.service import download_response
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
    is_multipart,
    multipart_body,
    no_content,
    ok,
    parse_bool,
    parsed,
)
from propolis.tasks import service
from propolis.tasks.render import render_log, render_task
from propolis.tasks.schemas import (
    LogCreate,
    LogOut,
    LogUpdate,
    TaskBulkUpdate,
    TaskCreate,
    TaskOut,
    TaskUpdate,
)

router = APIRouter(prefix="/api/v1", route_class=UnitOfWorkRoute)


@router.post("/case/{case_ref}/task", response_model=TaskOut, status_code=201)
def create_task(
    case_ref: str,
    data: dict = Depends(parsed(TaskCreate, required=True)),
    ctx: Ctx = Depends(context),
) -> JSON:
    case = get_case(ctx.session, ctx.actor, case_ref)
    task = service.create_task(ctx.session, ctx.actor, case=case, data=data)
    return created(render_task(ctx.session, ctx.actor, task))


@router.patch("/task/_bulk", status_code=204)
def bulk_update_tasks(
    data: dict = Depends(parsed(TaskBulkUpdate, required=True)), ctx: Ctx = Depends(context)
) -> Response:
    service.bulk_update(ctx.session, ctx.actor, data)
    return no_content()


@router.get("/task/{ref}", response_model=TaskOut, status_code=200)
def get_task(ref: str, ctx: Ctx = Depends(context)) -> JSON:
    return ok(render_task(ctx.session, ctx.actor, service.get_task(ctx.session, ctx.actor, ref)))


@router.patch("/task/{ref}", status_code=204)
def update_task(
    ref: str, data: dict = Depends(parsed(TaskUpdate)), ctx: Ctx = Depends(context)
) -> Response:
    service.update_task(ctx.session, ctx.actor, service.get_task(ctx.session, ctx.actor, ref), data)
    return no_content()


@router.delete("/task/{ref}", status_code=204)
def delete_task(ref: str, ctx: Ctx = Depends(context)) -> Response:
    service.delete_task(ctx.session, ctx.actor, service.get_task(ctx.session, ctx.actor, ref))
    return no_content()


@router.post("/task/{ref}/log", response_model=LogOut, status_code=201)
@hot_write
def create_log(
    ref: str,
    upload: Multipart = Depends(parsed(LogCreate, multipart=True)),
    ctx: Ctx = Depends(context),
) -> JSON:
    task = service.get_task(ctx.session, ctx.actor, ref)
    files = upload.files.get("attachments", [])
    log = service.create_log(ctx.session, ctx.actor, task, upload.json, files)
    return created(render_log(ctx.session, ctx.actor, log))


@router.patch("/log/{ref}", status_code=204)
def update_log(
    ref: str, data: dict = Depends(parsed(LogUpdate)), ctx: Ctx = Depends(context)
) -> Response:
    service.update_log(ctx.session, ctx.actor, service.get_log(ctx.session, ctx.actor, ref), data)
    return no_content()


@router.delete("/log/{ref}", status_code=204)
def delete_log(ref: str, ctx: Ctx = Depends(context)) -> Response:
    service.delete_log(ctx.session, ctx.actor, service.get_log(ctx.session, ctx.actor, ref))
    return no_content()


async def _log_files(request: Request) -> list:
    """The ``attachments`` file parts of a multipart upload (none for any other body)."""
    if not is_multipart(request):
        return []
    return (await multipart_body(request)).files.get("attachments", [])


@router.post("/log/{ref}/attachments", status_code=204)
def add_log_attachments(
    ref: str, files: list = Depends(_log_files), ctx: Ctx = Depends(context)
) -> Response:
    log = service.get_log(ctx.session, ctx.actor, ref)
    service.add_log_attachments(ctx.session, ctx.actor, log, files)
    return no_content()


@router.delete("/log/{ref}/attachments/{attachment_ref}", status_code=204)
def delete_log_attachment(ref: str, attachment_ref: str, ctx: Ctx = Depends(context)) -> Response:
    log = service.get_log(ctx.session, ctx.actor, ref)
    service.delete_log_attachment(ctx.session, ctx.actor, log, attachment_ref)
    return no_content()


@router.get(
    "/log/{ref}/attachment/{attachment_ref}/download",
    response_class=Response,
    responses=STORED_FILE_OR_ZIP,
)
def download_log_attachment(
    ref: str,
    attachment_ref: str,
    as_zip: str | None = Query(None, alias="asZip"),
    ctx: Ctx = Depends(context),
) -> Response:
    log = service.get_log(ctx.session, ctx.actor, ref)
    attachment = service.get_log_attachment(ctx.session, log, attachment_ref)
    return download_response(ctx.request, attachment, as_zip=parse_bool(as_zip))
