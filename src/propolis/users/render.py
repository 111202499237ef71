from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from propolis.core.render import meta, put
from propolis.core.security import Actor
from propolis.users import service
from propolis.users.models import User


def render_users(
    session: Session, actor: Actor, users: list[User], context_org_id: int | None = None
) -> list[dict[str, Any]]:
    """Users as seen from the caller's organisation (profile and permissions are those of the
    membership in the request's organisation, else in the user's default organisation)."""
    members = service.memberships(session, [u.id for u in users])
    org_id = context_org_id if context_org_id is not None else actor.org_id
    return [_render(org_id, u, members[u.id]) for u in users]


def render_user(
    session: Session, actor: Actor, user: User, context_org_id: int | None = None
) -> dict[str, Any]:
    return render_users(session, actor, [user], context_org_id)[0]


def _render(org_id: int, user: User, members: list) -> dict[str, Any]:  # noqa: ANN001
    out = meta(user, None)
    default = next((org for org, _p in members if org.id == user.default_org_id), None)
    context = next(((o, p) for o, p in members if o.id == org_id), None)
    if context is None:
        context = next(((o, p) for o, p in members if o.id == user.default_org_id), None)
    if context is None and members:
        context = members[0]
    out.update(login=user.login, name=user.name)
    put(out, "email", user.email)
    out["hasKey"] = user.api_key_digest is not None
    out["hasPassword"] = user.password_hash is not None
    out["hasMFA"] = user.mfa_secret is not None
    out["locked"] = user.locked
    out["profile"] = context[1].name if context else ""
    out["permissions"] = sorted(context[1].permissions) if context else []
    out["organisation"] = context[0].name if context else ""
    put(out, "avatar", user.avatar)
    out["organisations"] = [
        {"organisationId": org.eid, "organisation": org.name, "profile": profile.name}
        for org, profile in members
    ]
    out["type"] = user.type
    out["defaultOrganisation"] = (
        default.name if default else (members[0][0].name if members else "")
    )
    out["extraData"] = {}
    return out
