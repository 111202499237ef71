"""Comment routes (spec §10)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from propolis.alerts.service import get_alert
from propolis.cases.service import get_case
from propolis.comments import service
from propolis.comments.render import render_comments
from propolis.comments.schemas import CommentIn, CommentOut, CommentUpdate
from propolis.core.web import (
    JSON,
    Ctx,
    UnitOfWorkRoute,
    context,
    created,
    hot_write,
    no_content,
    ok,
    parsed,
)

router = APIRouter(prefix="/api/v1", route_class=UnitOfWorkRoute)


def _one(ctx: Ctx, comment) -> dict:  # noqa: ANN001
    return render_comments(ctx.session, ctx.actor, [comment])[0]


@router.post("/case/{case_ref}/comment", response_model=CommentOut, status_code=201)
@hot_write
def create_in_case(
    case_ref: str,
    data: dict = Depends(parsed(CommentIn, required=True)),
    ctx: Ctx = Depends(context),
) -> JSON:
    case = get_case(ctx.session, ctx.actor, case_ref)
    return created(_one(ctx, service.create_comment(ctx.session, ctx.actor, case=case, data=data)))


@router.post("/alert/{alert_ref}/comment", response_model=CommentOut, status_code=201)
@hot_write
def create_in_alert(
    alert_ref: str,
    data: dict = Depends(parsed(CommentIn, required=True)),
    ctx: Ctx = Depends(context),
) -> JSON:
    alert = get_alert(ctx.session, ctx.actor, alert_ref)
    comment = service.create_comment(ctx.session, ctx.actor, alert=alert, data=data)
    return created(_one(ctx, comment))


@router.get("/comment/{ref}", response_model=CommentOut)
def get_comment(ref: str, ctx: Ctx = Depends(context)) -> JSON:
    return ok(_one(ctx, service.get_comment(ctx.session, ctx.actor, ref)))


@router.patch("/comment/{ref}", status_code=204)
def update_comment(
    ref: str, data: dict = Depends(parsed(CommentUpdate)), ctx: Ctx = Depends(context)
) -> Response:
    comment = service.get_comment(ctx.session, ctx.actor, ref)
    service.update_comment(ctx.session, ctx.actor, comment, data)
    return no_content()


@router.delete("/comment/{ref}", status_code=204)
def delete_comment(ref: str, ctx: Ctx = Depends(context)) -> Response:
    service.delete_comment(ctx.session, ctx.actor, service.get_comment(ctx.session, ctx.actor, ref))
    return no_content()
