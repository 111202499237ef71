"""The one rendering of a user (``OutputUser``, no ``_type``) and of a profile."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from propolis.core.db import now_ms
from propolis.core.render import meta
from propolis.core.security import Actor
from propolis.orgs import avatar
from propolis.orgs import service as orgs
from propolis.orgs.models import Organisation
from propolis.users import service
from propolis.users.auth import Throttle, lockout_until
from propolis.users.models import Profile, User
from propolis.users.profiles import is_admin_profile

Member = tuple[Organisation, Profile]


def render_users(
    session: Session,
    actor: Actor,
    users: list[User],
    context_org_id: int | None = None,
    extra: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Users as seen from the caller's organisation: profile and permissions are those of
    the membership there (else in the user's default organisation); memberships in
    organisations the caller cannot see are left out. Two queries whatever the count."""
    members = service.memberships(session, [u.id for u in users])
    visible = None if actor.in_admin_org else set(session.scalars(orgs.visible_ids_stmt(actor)))
    org_id = context_org_id if context_org_id is not None else actor.org_id
    throttle = Throttle.from_settings(session.info.get("settings"))
    out = []
    for user in users:
        shown = members[user.id]
        if visible is not None and user.id != actor.user_id:
            shown = [(o, p) for o, p in shown if o.id in visible]
        item = _render(org_id, user, shown)
        if extra and "lockout" in extra:
            item["extraData"] = {"lockout": _lockout(user, throttle)}
        out.append(item)
    return out


def render_user(
    session: Session, actor: Actor, user: User, context_org_id: int | None = None
) -> dict[str, Any]:
    return render_users(session, actor, [user], context_org_id)[0]


def _context(org_id: int, user: User, members: list[Member]) -> Member | None:
    for wanted in (org_id, user.default_org_id):
        found = next(((o, p) for o, p in members if o.id == wanted), None)
        if found:
            return found
    return members[0] if members else None


def _render(org_id: int, user: User, members: list[Member]) -> dict[str, Any]:
    out = meta(user, None)
    context = _context(org_id, user, members)
    default = next((o for o, _p in members if o.id == user.default_org_id), None)
    out.update(login=user.login, name=user.name)
    if user.email:
        out["email"] = user.email
    out.update(
        hasKey=user.api_key_digest is not None,
        hasPassword=user.password_hash is not None,
        hasMFA=user.mfa_secret is not None,
        locked=user.locked,
        profile=context[1].name if context else "",
        permissions=sorted(context[1].permissions) if context else [],
        organisation=context[0].name if context else "",
    )
    if user.avatar:
        out["avatar"] = f"/api/v1/user/{user.eid}/avatar/{avatar.fingerprint(user.avatar)}"
    out["organisations"] = [
        {"organisationId": org.eid, "organisation": org.name, "profile": profile.name}
        for org, profile in members
    ]
    out["type"] = user.type
    out["defaultOrganisation"] = (default or context[0]).name if context else ""
    out["extraData"] = {}
    return out


def _lockout(user: User, throttle: Throttle) -> dict[str, Any]:
    until = lockout_until(user.failed_attempts, user.last_failure_at, throttle)
    return {
        "failedAttempts": user.failed_attempts,
        "lockedUntil": until if until and until > now_ms() else None,
    }


def render_profile(profile: Profile) -> dict[str, Any]:
    permissions = sorted(profile.permissions or [])
    for_admin = is_admin_profile(profile)
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


def render_profiles(profiles: list[Profile]) -> list[dict[str, Any]]:
    return [render_profile(p) for p in profiles]
