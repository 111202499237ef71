"""Users, their organisation memberships, passwords and API keys; profiles."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from propolis.core import events, validate
from propolis.core.db import now_ms, parse_id
from propolis.core.errors import AuthorizationError, BadRequest, invalid, missing
from propolis.core.security import SYSTEM_LOGIN, Actor, hash_password
from propolis.orgs import service as orgs
from propolis.orgs.models import Organisation
from propolis.users.models import Membership, Profile, User

USER_TYPES = {"Normal", "Service", "External"}


def find_user(session: Session, ref: str) -> User | None:
    user_id = parse_id(ref)
    if user_id is not None:
        return session.get(User, user_id)
    return session.scalar(select(User).where(User.login == ref.lower()))


def find_profile(session: Session, ref: str) -> Profile | None:
    profile_id = parse_id(ref)
    if profile_id is not None:
        return session.get(Profile, profile_id)
    return session.scalar(select(Profile).where(Profile.name == ref))


def visible_user_ids(actor: Actor):  # noqa: ANN201
    """Members of the caller's organisation; every user from the admin organisation."""
    if actor.in_admin_org:
        return select(User.id).where(User.login != SYSTEM_LOGIN)
    return select(Membership.user_id).where(Membership.org_id == actor.org_id)


def get_visible_user(session: Session, actor: Actor, ref: str) -> User:
    user = find_user(session, ref)
    if user is None or user.login == SYSTEM_LOGIN:
        raise missing("User", ref)
    if (
        user.id != actor.user_id
        and session.scalar(
            visible_user_ids(actor).where(visible_user_ids(actor).selected_columns[0] == user.id)
        )
        is None
    ):
        raise missing("User", ref)
    return user


def require_user_admin(session: Session, actor: Actor, org: Organisation) -> None:
    """Managing users of ``org`` needs ``manageUser`` there (platform admins always may)."""
    if actor.in_admin_org and actor.can("manageUser"):
        return
    if actor.org_id == org.id and actor.can("manageUser"):
        return
    raise AuthorizationError(f"User {actor.login} cannot manage users of {org.name}")


def _org_or_404(session: Session, ref: str) -> Organisation:
    org = orgs.find(session, ref)
    if org is None:
        raise missing("Organisation", ref)
    return org


def _profile_or_404(session: Session, ref: str) -> Profile:
    profile = find_profile(session, ref)
    if profile is None:
        raise missing("Profile", ref)
    return profile


def create_user(session: Session, actor: Actor, data: dict[str, Any]) -> tuple[User, Organisation]:
    """Create the user, or add a membership to an existing one (TheHive: 201 both ways)."""
    login = validate.nonempty(data, "login", max_len=255).lower()
    org = _org_or_404(session, validate.string(data, "organisation") or actor.org_name)
    require_user_admin(session, actor, org)
    profile = _profile_or_404(session, validate.nonempty(data, "profile", max_len=64))
    user = session.scalar(select(User).where(User.login == login))
    if user is None:
        user = User(
            login=login,
            name=validate.nonempty(data, "name", max_len=255),
            email=validate.string(data, "email"),
            type=validate.one_of(data, "type", USER_TYPES, "Normal"),
            avatar=validate.string(data, "avatar"),
            default_org_id=org.id,
            created_by=actor.login,
            created_at=now_ms(),
        )
        password = validate.string(data, "password")
        if password:
            user.password_hash = hash_password(password)
        session.add(user)
        session.flush()
        events.record(session, actor.login, org.id, "create", "User", user.id, {"login": login})
    if _membership(session, user.id, org.id) is None:
        session.add(
            Membership(
                user_id=user.id,
                org_id=org.id,
                profile_id=profile.id,
                position=_next_position(session, user.id),
            )
        )
        events.record(
            session,
            actor.login,
            org.id,
            "update",
            "User",
            user.id,
            {"organisation": org.name, "profile": profile.name},
        )
    return user, org


def _membership(session: Session, user_id: int, org_id: int) -> Membership | None:
    return session.scalar(
        select(Membership).where(Membership.user_id == user_id, Membership.org_id == org_id)
    )


def _next_position(session: Session, user_id: int) -> int:
    positions = session.scalars(select(Membership.position).where(Membership.user_id == user_id))
    return max(positions, default=-1) + 1


def set_organisations(
    session: Session, actor: Actor, user: User, items: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    if not isinstance(items, list) or not items:
        raise invalid("organisations", "must be a non-empty list", items)
    resolved = []
    for item in items:
        if not isinstance(item, dict):
            raise invalid("organisations", "each item must be an object", item)
        org = _org_or_404(session, validate.nonempty(item, "organisation"))
        profile = _profile_or_404(session, validate.nonempty(item, "profile"))
        require_user_admin(session, actor, org)
        resolved.append((org, profile, bool(validate.boolean(item, "default", False))))
    session.execute(delete(Membership).where(Membership.user_id == user.id))
    session.flush()
    for position, (org, profile, _default) in enumerate(resolved):
        session.add(
            Membership(user_id=user.id, org_id=org.id, profile_id=profile.id, position=position)
        )
    flagged = [org for org, _p, default in resolved if default]
    member_ids = [org.id for org, _p, _d in resolved]
    if flagged:
        user.default_org_id = flagged[0].id
    elif user.default_org_id not in member_ids:
        user.default_org_id = member_ids[0]
    user.touch(actor.login)
    events.record(
        session,
        actor.login,
        actor.org_id,
        "update",
        "User",
        user.id,
        {"organisations": [(o.name, p.name) for o, p, _d in resolved]},
    )
    return [
        {
            "organisation": org.name,
            "profile": profile.name,
            "default": org.id == user.default_org_id,
        }
        for org, profile, _d in resolved
    ]


def set_password(session: Session, actor: Actor, user: User, password: Any) -> None:
    if not isinstance(password, str) or not password:
        raise invalid("password", "must be a non-empty string", None)
    if user.id != actor.user_id:
        _require_admin_of_user(session, actor, user)
    user.password_hash = hash_password(password)
    user.touch(actor.login)
    events.record(
        session, actor.login, actor.org_id, "update", "User", user.id, {"password": "set"}
    )


def _require_admin_of_user(session: Session, actor: Actor, user: User) -> None:
    if actor.in_admin_org and actor.can("manageUser"):
        return
    if actor.can("manageUser") and _membership(session, user.id, actor.org_id) is not None:
        return
    raise AuthorizationError(f"User {actor.login} cannot manage {user.login}")


def memberships(
    session: Session, user_ids: list[int]
) -> dict[int, list[tuple[Organisation, Profile]]]:
    out: dict[int, list[tuple[Organisation, Profile]]] = {i: [] for i in user_ids}
    if not user_ids:
        return out
    rows = session.execute(
        select(Membership.user_id, Organisation, Profile)
        .join(Organisation, Organisation.id == Membership.org_id)
        .join(Profile, Profile.id == Membership.profile_id)
        .where(Membership.user_id.in_(user_ids))
        .order_by(Membership.position, Membership.id)
    ).all()
    for user_id, org, profile in rows:
        out[user_id].append((org, profile))
    return out


def ensure_not_self_lock(actor: Actor, user: User) -> None:
    if user.id == actor.user_id:
        raise AuthorizationError("You cannot lock yourself")


def bad(message: str) -> BadRequest:
    return BadRequest(message)
