"""Users, their organisation memberships, passwords and API keys.

Who may manage whom (TheHive's rule): a platform administrator (``manageUser`` while acting
in the admin organisation) manages everybody; otherwise the caller needs ``manageUser`` in
*every* organisation the target user belongs to, so an organisation administrator cannot
take over an account that also belongs to an organisation they do not administer.
Membership changes are scoped to one organisation: ``manageUser`` there is enough.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from propolis.core import events
from propolis.core.db import now_ms, parse_id
from propolis.core.errors import (
    AuthorizationError,
    BadRequest,
    CreateError,
    invalid,
    missing,
)
from propolis.core.schemas import check
from propolis.core.security import (
    ADMIN_ORG,
    SYSTEM_LOGIN,
    Actor,
    Sealer,
    digest,
    hash_password,
    new_api_key,
    verify_password,
)
from propolis.orgs import avatar
from propolis.orgs import service as orgs
from propolis.orgs.models import Organisation
from propolis.users.models import AuthSession, Membership, Profile, User
from propolis.users.profiles import find_profile, is_admin_profile
from propolis.users.schemas import (
    PasswordChange,
    PasswordSet,
    UserCreate,
    UserOrganisation,
    UserOrganisations,
    UserUpdate,
)

# TheHive 5 logins are e-mail-like; they also appear in URL paths, so no '/' or blanks.
LOGIN_PATTERN = re.compile(r"^[^@\s/\\?#%~][^@\s/\\?#%]*@[^@\s/\\?#%]+$")


# --------------------------------------------------------------------------- lookups


def find_user(session: Session, ref: str) -> User | None:
    """By ``~id`` or login (case-insensitive). The internal system user is never found."""
    user_id = parse_id(ref)
    if user_id is not None:
        user = session.get(User, user_id)
    else:
        user = session.scalar(select(User).where(User.login == ref.lower()))
    if user is None or user.login == SYSTEM_LOGIN:
        return None
    return user


def visible_user_ids(actor: Actor):  # noqa: ANN201
    """Members of the caller's organisation; every user from the admin organisation."""
    if actor.in_admin_org:
        return select(User.id).where(User.login != SYSTEM_LOGIN)
    return select(Membership.user_id).where(Membership.org_id == actor.org_id)


def get_visible_user(session: Session, actor: Actor, ref: str) -> User:
    user = find_user(session, ref)
    if user is None or not _is_visible(session, actor, user):
        raise missing("User", ref)
    return user


def _is_visible(session: Session, actor: Actor, user: User) -> bool:
    if actor.in_admin_org or user.id == actor.user_id:
        return True
    return _membership(session, user.id, actor.org_id) is not None


def memberships(
    session: Session, user_ids: list[int]
) -> dict[int, list[tuple[Organisation, Profile]]]:
    """The (organisation, profile) pairs of several users, in one query, in their order."""
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


def member_counts(session: Session, org_ids: list[int]) -> dict[int, int]:
    """How many users belong to each organisation, in one grouped query."""
    return _counts(session, Membership.org_id, org_ids)


def profile_use_counts(session: Session, profile_ids: list[int]) -> dict[int, int]:
    """How many memberships give each profile, in one grouped query."""
    return _counts(session, Membership.profile_id, profile_ids)


def _counts(session: Session, column: Any, ids: list[int]) -> dict[int, int]:
    out = dict.fromkeys(ids, 0)
    if ids:
        rows = session.execute(
            select(column, func.count()).where(column.in_(ids)).group_by(column)
        ).all()
        out.update({key: count for key, count in rows})
    return out


# --------------------------------------------------------------------------- permissions


def require_user_admin(session: Session, actor: Actor, org: Organisation) -> None:
    """Managing memberships of ``org`` needs ``manageUser`` there, through the caller's own
    membership of ``org`` (platform admins always may)."""
    if actor.can("manageUser") and (actor.in_admin_org or actor.org_id == org.id):
        return
    if org.id in _orgs_where_actor_manages_users(session, actor):
        return
    raise AuthorizationError(f"User {actor.login} cannot manage users of {org.name}")


def require_admin_of_user(session: Session, actor: Actor, user: User) -> None:
    """Account-wide changes (password, lock, key, type...) of another user."""
    if actor.in_admin_org and actor.can("manageUser"):
        return
    user_orgs = set(session.scalars(select(Membership.org_id).where(Membership.user_id == user.id)))
    if user_orgs and user_orgs <= _orgs_where_actor_manages_users(session, actor):
        return
    raise AuthorizationError(f"User {actor.login} cannot manage {user.login}")


def _orgs_where_actor_manages_users(session: Session, actor: Actor) -> set[int]:
    rows = session.execute(
        select(Membership.org_id, Profile.permissions)
        .join(Profile, Profile.id == Membership.profile_id)
        .where(Membership.user_id == actor.user_id)
    ).all()
    return {org_id for org_id, permissions in rows if "manageUser" in (permissions or [])}


def _require_self_or_admin(session: Session, actor: Actor, user: User) -> None:
    if user.id != actor.user_id:
        require_admin_of_user(session, actor, user)


# --------------------------------------------------------------------------- create


def create_user(session: Session, actor: Actor, data: dict[str, Any]) -> tuple[User, Organisation]:
    """Create the user, or add a membership to an existing one (TheHive: 201 both ways)."""
    values = check(UserCreate, data).known()
    login = _checked_login(values["login"])
    org = _org_or_404(session, values.get("organisation") or actor.org_name)
    require_user_admin(session, actor, org)
    profile = _profile_for(session, org, values["profile"])
    user = session.scalar(select(User).where(User.login == login))
    if user is None:
        user = _new_user(session, actor, login, org, values)
        _add_membership(session, user, org, profile)
        events.record(
            session,
            actor.login,
            org.id,
            "create",
            "User",
            user.id,
            {"login": login, "organisation": org.name, "profile": profile.name},
        )
    elif _membership(session, user.id, org.id) is None:
        _add_membership(session, user, org, profile)
        user.touch(actor.login)
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


def _new_user(
    session: Session, actor: Actor, login: str, org: Organisation, values: dict[str, Any]
) -> User:
    user = User(
        login=login,
        name=values["name"],
        email=_email(values.get("email")),
        type=values.get("type") or "Normal",
        avatar=avatar.checked("avatar", values.get("avatar")),
        default_org_id=org.id,
        created_by=actor.login,
        created_at=now_ms(),
    )
    password = values.get("password")
    if password:
        user.password_hash = hash_password(password)
    session.add(user)
    session.flush()
    return user


def _add_membership(session: Session, user: User, org: Organisation, profile: Profile) -> None:
    position = session.scalar(
        select(func.max(Membership.position)).where(Membership.user_id == user.id)
    )
    session.add(
        Membership(
            user_id=user.id,
            org_id=org.id,
            profile_id=profile.id,
            position=0 if position is None else position + 1,
        )
    )


# --------------------------------------------------------------------------- update

_SELF_SERVICE = ("name", "email", "avatar", "defaultOrganisation")


def update_user(session: Session, actor: Actor, user: User, data: dict[str, Any]) -> None:
    """``PATCH /user/{id}``: users edit their own name, e-mail, avatar and default
    organisation; the rest (lock, type, profile) is for their administrators."""
    values = check(UserUpdate, data).known()
    changes: dict[str, Any] = {}
    if any(key in values for key in _SELF_SERVICE):
        _require_self_or_admin(session, actor, user)
        _update_identity(session, user, values, changes)
    if "locked" in values:
        _update_locked(session, actor, user, values["locked"], changes)
    if values.get("type", user.type) != user.type:
        require_admin_of_user(session, actor, user)
        user.type = changes["type"] = values["type"]
    if "profile" in values:
        _update_profile(session, actor, user, values, changes)
    if changes:
        user.touch(actor.login)
        shown = {k: ("(image)" if k == "avatar" and v else v) for k, v in changes.items()}
        events.record(session, actor.login, actor.org_id, "update", "User", user.id, shown)


def _update_identity(
    session: Session, user: User, values: dict[str, Any], changes: dict[str, Any]
) -> None:
    if "name" in values:
        user.name = changes["name"] = values["name"]
    if "email" in values:
        user.email = changes["email"] = _email(values["email"])
    if "avatar" in values:
        user.avatar = changes["avatar"] = avatar.checked("avatar", values["avatar"])
    if "defaultOrganisation" in values:
        org = _org_or_404(session, values["defaultOrganisation"])
        if _membership(session, user.id, org.id) is None:
            raise BadRequest(f"User {user.login} is not a member of {org.name}")
        user.default_org_id = org.id
        changes["defaultOrganisation"] = org.name


def _update_locked(
    session: Session, actor: Actor, user: User, locked: bool, changes: dict[str, Any]
) -> None:
    if locked == user.locked:
        return
    if locked and user.id == actor.user_id:
        raise AuthorizationError("You cannot lock yourself")
    require_admin_of_user(session, actor, user)
    user.locked = changes["locked"] = locked


def _update_profile(
    session: Session, actor: Actor, user: User, values: dict[str, Any], changes: dict[str, Any]
) -> None:
    """The user's profile in ``organisation`` (default: the request's organisation)."""
    org = _org_or_404(session, values.get("organisation") or actor.org_name)
    require_user_admin(session, actor, org)
    profile = _profile_for(session, org, values["profile"])
    membership = _membership(session, user.id, org.id)
    if membership is None:
        raise BadRequest(f"User {user.login} is not a member of {org.name}")
    if membership.profile_id != profile.id:
        membership.profile_id = profile.id
        changes["profile"] = {"organisation": org.name, "profile": profile.name}


def lock_user(session: Session, actor: Actor, user: User) -> None:
    """The deprecated ``DELETE /user/{id}`` of TheHive: lock the account."""
    update_user(session, actor, user, {"locked": True})


# --------------------------------------------------------------------------- delete


def delete_user(session: Session, actor: Actor, user: User, org_ref: str | None) -> None:
    """Remove the user from ``org_ref`` (default: the request's organisation); the account
    itself goes when no membership remains, or when a platform administrator calls without
    naming an organisation."""
    if user.id == actor.user_id:
        raise AuthorizationError("You cannot delete yourself")
    if org_ref is None and actor.in_admin_org:
        require_admin_of_user(session, actor, user)
        _delete_account(session, actor, user)
        return
    org = _org_or_404(session, org_ref or actor.org_name)
    require_user_admin(session, actor, org)
    membership = _membership(session, user.id, org.id)
    if membership is None:
        raise missing("User", f"{user.login} in organisation {org.name}")
    session.delete(membership)
    session.flush()
    remaining = session.scalars(
        select(Membership.org_id)
        .where(Membership.user_id == user.id)
        .order_by(Membership.position, Membership.id)
    ).all()
    if not remaining:
        _delete_account(session, actor, user)
        return
    if user.default_org_id not in remaining:
        user.default_org_id = remaining[0]
    user.touch(actor.login)
    events.record(
        session, actor.login, org.id, "update", "User", user.id, {"removedFrom": org.name}
    )


def _delete_account(session: Session, actor: Actor, user: User) -> None:
    user_id, login = user.id, user.login
    session.execute(delete(AuthSession).where(AuthSession.user_id == user_id))
    session.execute(delete(Membership).where(Membership.user_id == user_id))
    session.delete(user)
    session.flush()
    events.record(session, actor.login, actor.org_id, "delete", "User", user_id, {"login": login})


# --------------------------------------------------------------------------- organisations


def set_organisations(
    session: Session, actor: Actor, user: User, items: Any
) -> list[dict[str, Any]]:
    """Replace all memberships with ``items`` (``{organisation, profile, default?}``)."""
    wanted = check(UserOrganisations, {"organisations": items}).organisations
    resolved = _resolve_memberships(session, actor, wanted)
    current = session.scalars(select(Membership).where(Membership.user_id == user.id)).all()
    wanted_ids = {org.id for org, _p, _d in resolved}
    for membership in current:
        if membership.org_id not in wanted_ids:  # removing needs rights there too
            require_user_admin(session, actor, session.get(Organisation, membership.org_id))
    session.execute(delete(Membership).where(Membership.user_id == user.id))
    for position, (org, profile, _default) in enumerate(resolved):
        session.add(
            Membership(user_id=user.id, org_id=org.id, profile_id=profile.id, position=position)
        )
    flagged = [org for org, _p, default in resolved if default]
    if flagged:
        user.default_org_id = flagged[0].id
    elif user.default_org_id not in wanted_ids:
        user.default_org_id = resolved[0][0].id
    user.touch(actor.login)
    events.record(
        session,
        actor.login,
        actor.org_id,
        "update",
        "User",
        user.id,
        {"organisations": [{"organisation": o.name, "profile": p.name} for o, p, _d in resolved]},
    )
    return [
        {
            "organisation": org.name,
            "profile": profile.name,
            "default": org.id == user.default_org_id,
        }
        for org, profile, _d in resolved
    ]


def _resolve_memberships(
    session: Session, actor: Actor, items: list[UserOrganisation]
) -> list[tuple[Organisation, Profile, bool]]:
    resolved: list[tuple[Organisation, Profile, bool]] = []
    for item in items:
        org = _org_or_404(session, item.organisation)
        if any(org.id == seen.id for seen, _p, _d in resolved):
            raise invalid("organisations", f"{org.name} is listed twice", org.name)
        require_user_admin(session, actor, org)
        profile = _profile_for(session, org, item.profile)
        resolved.append((org, profile, bool(item.default)))
    return resolved


# --------------------------------------------------------------------------- credentials


def set_password(session: Session, actor: Actor, user: User, data: dict[str, Any]) -> None:
    """An administrator (or the user) sets a new password; browser sessions are closed."""
    password = check(PasswordSet, data).password
    _require_self_or_admin(session, actor, user)
    user.password_hash = hash_password(password)
    user.failed_attempts = 0
    user.last_failure_at = None
    if user.id != actor.user_id:
        session.execute(delete(AuthSession).where(AuthSession.user_id == user.id))
    user.touch(actor.login)
    events.record(
        session, actor.login, actor.org_id, "update", "User", user.id, {"password": "set"}
    )


def change_password(session: Session, actor: Actor, user: User, data: dict[str, Any]) -> None:
    """Users change their own password, proving they know the current one."""
    sent = check(PasswordChange, data)
    password, current = sent.password, sent.currentPassword
    if user.id != actor.user_id:
        raise AuthorizationError("You can only change your own password")
    if not verify_password(user.password_hash, current):
        raise AuthorizationError("Authentication failure")
    user.password_hash = hash_password(password)
    user.touch(actor.login)
    events.record(
        session, actor.login, actor.org_id, "update", "User", user.id, {"password": "changed"}
    )


def renew_api_key(session: Session, actor: Actor, user: User, sealer: Sealer) -> str:
    """A new key replaces the old one. Stored as a digest (lookup) and sealed (``GET key``)."""
    _require_self_or_admin(session, actor, user)
    key = new_api_key()
    user.api_key_digest = digest(key)
    user.api_key_sealed = sealer.seal(key)
    user.touch(actor.login)
    events.record(
        session, actor.login, actor.org_id, "update", "User", user.id, {"apiKey": "renew"}
    )
    return key


def get_api_key(session: Session, actor: Actor, user: User, sealer: Sealer) -> str:
    _require_self_or_admin(session, actor, user)
    key = sealer.unseal(user.api_key_sealed) if user.api_key_sealed else None
    if key is None:  # none, or sealed with a server key that has since changed
        raise missing("API key of user", user.login)
    return key


def remove_api_key(session: Session, actor: Actor, user: User) -> None:
    _require_self_or_admin(session, actor, user)
    if user.api_key_digest is None:
        raise missing("API key of user", user.login)
    user.api_key_digest = None
    user.api_key_sealed = None
    user.touch(actor.login)
    events.record(
        session, actor.login, actor.org_id, "update", "User", user.id, {"apiKey": "remove"}
    )


# --------------------------------------------------------------------------- helpers


def _membership(session: Session, user_id: int, org_id: int) -> Membership | None:
    return session.scalar(
        select(Membership).where(Membership.user_id == user_id, Membership.org_id == org_id)
    )


def _org_or_404(session: Session, ref: str) -> Organisation:
    org = orgs.find(session, ref)
    if org is None:
        raise missing("Organisation", ref)
    return org


def _profile_for(session: Session, org: Organisation, ref: str) -> Profile:
    """The profile named ``ref``, if it may be given in ``org``: administration profiles
    (platform permissions) only exist in the admin organisation."""
    profile = find_profile(session, ref)
    if profile is None:
        raise missing("Profile", ref)
    if is_admin_profile(profile) and org.name != ADMIN_ORG:
        raise BadRequest(f"Profile {profile.name} can only be used in the admin organisation")
    return profile


def _checked_login(sent: str) -> str:
    """The schema bounds the login; its shape and the reserved name are checked here."""
    login = sent.strip().lower()
    if not LOGIN_PATTERN.match(login):
        raise invalid("login", "must look like name@domain", login)
    if login == SYSTEM_LOGIN:
        raise CreateError(f"User {login} is reserved")
    return login


def _email(email: str | None) -> str | None:
    if email is None or not email.strip():
        return None  # "" clears the address
    return email.strip()
