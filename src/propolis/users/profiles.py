"""Profiles: named sets of permissions, platform-wide, administered from the admin
organisation (``manageProfile``). The four built-in profiles always exist; ``admin`` and
``org-admin`` cannot be edited, and no built-in profile can be renamed or deleted."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from propolis.cases.models import Share
from propolis.core import events, validate
from propolis.core.db import find_by_ref, now_ms
from propolis.core.errors import AuthorizationError, BadRequest, CreateError, invalid, missing
from propolis.core.security import ADMIN_ONLY, BUILTIN_PROFILES, Actor
from propolis.users.models import Membership, Profile

PROFILE_TYPES = {"Organisation", "Admin", "External"}
MAX_PERMISSION_LENGTH = 128


def find_profile(session: Session, ref: str) -> Profile | None:
    return find_by_ref(session, Profile, Profile.name, ref)


def get_profile(session: Session, ref: str) -> Profile:
    """Profiles are platform-wide and readable by every authenticated user."""
    profile = find_profile(session, ref)
    if profile is None:
        raise missing("Profile", ref)
    return profile


def is_admin_profile(profile: Profile) -> bool:
    """A profile for the admin organisation: it grants platform-administration rights."""
    return profile.name == "admin" or any(p in ADMIN_ONLY for p in profile.permissions or [])


def create_profile(session: Session, actor: Actor, data: dict[str, Any]) -> Profile:
    _require_profile_admin(actor)
    name = _checked_name(data)
    if find_profile(session, name) is not None:
        raise CreateError(f"Profile {name} already exists")
    validate.one_of(data, "type", PROFILE_TYPES)  # accepted; the type follows the permissions
    profile = Profile(
        name=name,
        permissions=_checked_permissions(data) or [],
        editable=True,
        created_by=actor.login,
        created_at=now_ms(),
    )
    session.add(profile)
    session.flush()
    events.record(
        session,
        actor.login,
        actor.org_id,
        "create",
        "Profile",
        profile.id,
        {"name": name, "permissions": profile.permissions},
    )
    return profile


def update_profile(session: Session, actor: Actor, profile: Profile, data: dict[str, Any]) -> None:
    _require_profile_admin(actor)
    if not profile.editable:
        raise BadRequest(f"Profile {profile.name} is not editable")
    changes: dict[str, Any] = {}
    if "name" in data:
        name = _checked_name(data)
        if name != profile.name:
            if profile.name in BUILTIN_PROFILES:
                raise BadRequest(f"Built-in profile {profile.name} cannot be renamed")
            if find_profile(session, name) is not None:
                raise CreateError(f"Profile {name} already exists")
            profile.name = changes["name"] = name
    if "permissions" in data:
        permissions = _checked_permissions(data) or []
        if permissions != sorted(profile.permissions or []):
            profile.permissions = changes["permissions"] = permissions
    if changes:
        profile.touch(actor.login)
        events.record(session, actor.login, actor.org_id, "update", "Profile", profile.id, changes)


def delete_profile(session: Session, actor: Actor, profile: Profile) -> None:
    _require_profile_admin(actor)
    if profile.name in BUILTIN_PROFILES or not profile.editable:
        raise BadRequest(f"Built-in profile {profile.name} cannot be deleted")
    if _in_use(session, profile.id):
        raise BadRequest(f"Profile {profile.name} is used by users or case shares")
    profile_id, name = profile.id, profile.name
    session.delete(profile)
    session.flush()
    events.record(
        session, actor.login, actor.org_id, "delete", "Profile", profile_id, {"name": name}
    )


def _in_use(session: Session, profile_id: int) -> bool:
    for column in (Membership.profile_id, Share.profile_id):
        if session.scalar(select(column).where(column == profile_id).limit(1)) is not None:
            return True
    return False


def _require_profile_admin(actor: Actor) -> None:
    if not actor.in_admin_org:
        raise AuthorizationError("Profiles are managed from the admin organisation")
    actor.require("manageProfile")


def _checked_name(data: dict[str, Any]) -> str:
    name = validate.nonempty(data, "name", max_len=64)
    if name != name.strip() or name.startswith("~") or any(c in name for c in "/\\?#%"):
        raise invalid("name", "must not start with ~, contain / \\ ? # % or blank ends", name)
    return name


def _checked_permissions(data: dict[str, Any]) -> list[str] | None:
    value = data.get("permissions")
    if value is None:
        return None
    if not isinstance(value, list) or not all(
        isinstance(p, str) and p.strip() and len(p) <= MAX_PERMISSION_LENGTH for p in value
    ):
        raise invalid("permissions", "must be a list of non-empty strings", value)
    return sorted({p.strip() for p in value})
