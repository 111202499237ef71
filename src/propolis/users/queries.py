"""Query-language registration for users and profiles (``listUser``, ``getUser``,
``currentUser``, ``listProfile``, ``getProfile``; traversal organisation -> ``users``)."""

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
    ids_of,
    initial,
    meta_fields,
    register_entity,
    traversal,
)
from propolis.users import service
from propolis.users.models import Membership, Profile, User
from propolis.users.profiles import find_profile
from propolis.users.render import render_profiles, render_users


def _render_users(ctx: QueryContext, rows: list[User], extra: list[str]) -> list[dict[str, Any]]:
    return render_users(ctx.session, ctx.actor, rows, extra=extra)


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
        render=lambda ctx, rows, extra: render_profiles(rows),
    )
)


def _visible_users(ctx: QueryContext) -> ResultSet:
    return ResultSet(USER, select(User).where(User.id.in_(service.visible_user_ids(ctx.actor))))


@initial("listUser")
def list_user(ctx: QueryContext, op: dict[str, Any]) -> ResultSet:
    return _visible_users(ctx)


@initial("getUser")
def get_user(ctx: QueryContext, op: dict[str, Any]) -> ResultSet:
    user = service.find_user(ctx.session, str(op.get("idOrName", "")))
    base = _visible_users(ctx)
    return ResultSet(USER, base.stmt.where(User.id == (user.id if user else -1)))


@initial("currentUser")
def current_user(ctx: QueryContext, op: dict[str, Any]) -> ResultSet:
    return ResultSet(USER, select(User).where(User.id == ctx.actor.user_id))


@initial("listProfile")
def list_profile(ctx: QueryContext, op: dict[str, Any]) -> ResultSet:
    return ResultSet(PROFILE, select(Profile))


@initial("getProfile")
def get_profile(ctx: QueryContext, op: dict[str, Any]) -> ResultSet:
    profile = find_profile(ctx.session, str(op.get("idOrName", "")))
    return ResultSet(PROFILE, select(Profile).where(Profile.id == (profile.id if profile else -1)))


@traversal("Organisation", "users")
def organisation_users(ctx: QueryContext, orgs: ResultSet, op: dict[str, Any]) -> ResultSet:
    """Members of the (visible) organisations of the set, as far as the caller sees users."""
    members = select(Membership.user_id).where(Membership.org_id.in_(ids_of(orgs)))
    base = _visible_users(ctx)
    return ResultSet(USER, base.stmt.where(User.id.in_(members)))
