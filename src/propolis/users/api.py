"""User and profile routes (spec §19, §20)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from propolis.core.web import (
    JSON,
    Ctx,
    UnitOfWorkRoute,
    context,
    created,
    no_content,
    ok,
    required_body,
)
from propolis.users import service
from propolis.users.models import User
from propolis.users.render import render_user

router = APIRouter(prefix="/api/v1", route_class=UnitOfWorkRoute)


@router.get("/user/current")
def current_user(ctx: Ctx = Depends(context)) -> JSON:
    user = ctx.session.get(User, ctx.actor.user_id)
    response = ok(render_user(ctx.session, ctx.actor, user))
    response.headers["X-Organisation"] = ctx.actor.org_name
    response.headers["X-Permissions"] = ",".join(sorted(ctx.actor.permissions))
    return response


@router.post("/user")
def create_user(data: dict = Depends(required_body), ctx: Ctx = Depends(context)) -> JSON:
    user, org = service.create_user(ctx.session, ctx.actor, data)
    ctx.session.flush()
    return created(render_user(ctx.session, ctx.actor, user, context_org_id=org.id))


@router.get("/user/{ref}")
def get_user(ref: str, ctx: Ctx = Depends(context)) -> JSON:
    return ok(
        render_user(ctx.session, ctx.actor, service.get_visible_user(ctx.session, ctx.actor, ref))
    )


@router.put("/user/{ref}/organisations")
def set_organisations(
    ref: str, data: dict = Depends(required_body), ctx: Ctx = Depends(context)
) -> JSON:
    user = service.get_visible_user(ctx.session, ctx.actor, ref)
    result = service.set_organisations(ctx.session, ctx.actor, user, data.get("organisations"))
    return ok({"organisations": result})


@router.post("/user/{ref}/password/set")
def set_password(ref: str, data: dict = Depends(required_body), ctx: Ctx = Depends(context)):  # noqa: ANN201
    user = service.get_visible_user(ctx.session, ctx.actor, ref)
    service.set_password(ctx.session, ctx.actor, user, data.get("password"))
    return no_content()
