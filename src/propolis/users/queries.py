"""Query-language registration for users and profiles."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from propolis.core.query import (
    BOOL,
    LIST,
    EntitySpec,
    Field,
    QueryContext,
    ResultSet,
    initial,
    meta_fields,
    register_entity,
)
from propolis.core.render import meta
from propolis.users import service
from propolis.users.models import Profile, User
from propolis.users.render import render_users


def _render_users(ctx: QueryContext, rows: list[User], extra: list[str]) -> list[dict[str, Any]]:
    return render_users(ctx.session, ctx.actor, rows)


USER = register_entity(
    EntitySpec(
        name="User",
        model=User,
        fields={
            **meta_fields(User),
            "login": Field(User.login),
            "name": Field(User.name),
            "email": Field(User.email),
            "locked": Field(User.locked, BOOL),
            "type": Field(User.type),
        },
        render=_render_users,
    )
)


def render_profile(profile: Profile) -> dict[str, Any]:
    from propolis.core.security import ADMIN_ONLY

    permissions = sorted(profile.permissions)
    for_admin = any(p in ADMIN_ONLY for p in permissions) or profile.name == "admin"
    out = meta(profile, "Profile")
    out.update(
        name=profile.name,
        permissions=permissions,
        editable=profile.editable,
        forAdmin=for_admin,
        forOrg=not for_admin,
        forExternal=False,
        consumesLicense=bool(permissions),
        type="Admin" if for_admin else "Organisation",
        extraData={},
    )
    return out


PROFILE = register_entity(
    EntitySpec(
        name="Profile",
        model=Profile,
        fields={
            **meta_fields(Profile),
            "name": Field(Profile.name),
            "permissions": Field(Profile.permissions, LIST),
            "editable": Field(Profile.editable, BOOL),
        },
        render=lambda ctx, rows, extra: [render_profile(p) for p in rows],
    )
)


@initial("listUser")
def list_user(ctx: QueryContext, op: dict[str, Any]) -> ResultSet:
    return ResultSet(USER, select(User).where(User.id.in_(service.visible_user_ids(ctx.actor))))


@initial("getUser")
def get_user(ctx: QueryContext, op: dict[str, Any]) -> ResultSet:
    user = service.find_user(ctx.session, str(op.get("idOrName", "")))
    base = list_user(ctx, op)
    return ResultSet(USER, base.stmt.where(User.id == (user.id if user else -1)))


@initial("currentUser")
def current_user(ctx: QueryContext, op: dict[str, Any]) -> ResultSet:
    return ResultSet(USER, select(User).where(User.id == ctx.actor.user_id))


@initial("listProfile")
def list_profile(ctx: QueryContext, op: dict[str, Any]) -> ResultSet:
    return ResultSet(PROFILE, select(Profile))


@initial("getProfile")
def get_profile(ctx: QueryContext, op: dict[str, Any]) -> ResultSet:
    profile = service.find_profile(ctx.session, str(op.get("idOrName", "")))
    return ResultSet(PROFILE, select(Profile).where(Profile.id == (profile.id if profile else -1)))
