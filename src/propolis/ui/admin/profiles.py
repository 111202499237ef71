"""Administration of profiles (``/admin/profiles``, ``manageProfile``: the platform
administrator). A profile is a named set of permissions given with each membership.

The built-in profiles are shown read-only; custom ones are created, edited and deleted with
a checklist of the permissions, grouped as ``core.security`` lists them. Every write is a
``users.profiles`` call, the same as ``/api/v1/profile``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from propolis.core.db import parse_id
from propolis.core.security import (
    ADMIN_ONLY,
    ALERT_PERMISSIONS,
    ALL_PERMISSIONS,
    ANALYST_WORK,
    BUILTIN_PROFILES,
    CASE_PERMISSIONS,
    ORG_ADMIN_EXTRA,
)
from propolis.ui import lists
from propolis.ui.admin import admin_page
from propolis.ui.web import Page, UiRoute, attempt, attempt_making, redirect, render
from propolis.users import profiles
from propolis.users import service as users
from propolis.users.models import Profile

router = APIRouter(route_class=UiRoute)
manage_profiles = admin_page("manageProfile")

# The checklist's groups, in the order of the work: an analyst's, then an administrator's.
PERMISSION_GROUPS: list[tuple[str, list[str]]] = [
    ("Cases", CASE_PERMISSIONS),
    ("Alerts", ALERT_PERMISSIONS),
    ("Analyst work", ANALYST_WORK),
    ("Organisation administration", ORG_ADMIN_EXTRA),
    ("Platform administration (admin organisation only)", ADMIN_ONLY),
]


def profile_url(profile: dict[str, Any] | Profile) -> str:
    name = profile["name"] if isinstance(profile, dict) else profile.name
    return "/admin/profiles/" + quote(name, safe="")


def read_only(profile: dict[str, Any]) -> bool:
    """Built-in profiles are shown as they are: the platform's reference points (the API
    still lets scripts adjust ``analyst`` and ``read-only``, as TheHive does)."""
    return profile["name"] in BUILTIN_PROFILES or not profile["editable"]


def groups_for(permissions: list[str]) -> list[tuple[str, list[str]]]:
    """The checklist's groups, plus any permission the profile holds that Propolis does not
    know (the API accepts any name): kept and shown, so that saving does not drop it."""
    unknown = sorted(set(permissions) - ALL_PERMISSIONS)
    return PERMISSION_GROUPS + ([("Other", unknown)] if unknown else [])


def checked_permissions(p: Page) -> list[str]:
    return p.values("permission")


# --------------------------------------------------------------------------- the list


def list_page(
    p: Page, error: str | None = None, typed: dict[str, Any] | None = None, status: int = 200
) -> Response:
    found = lists.run(
        p, [{"_name": "listProfile"}, {"_name": "sort", "_fields": [{"name": "asc"}]}]
    )
    ids = {profile["_id"]: parse_id(profile["_id"]) for profile in found}
    uses = users.profile_use_counts(p.session, list(ids.values()))
    typed = typed or {"name": "", "permissions": []}
    return render(
        p,
        "admin/profiles.html",
        status_code=status,
        section="profiles",
        profiles=found,
        uses={key: uses[profile_id] for key, profile_id in ids.items()},
        profile_url=profile_url,
        read_only=read_only,
        groups=groups_for(typed["permissions"]),
        error=error,
        typed=typed,
    )


@router.get("/admin/profiles")
def profile_list(p: Page = Depends(manage_profiles)) -> Response:
    return list_page(p)


@router.post("/admin/profiles")
def create_profile(p: Page = Depends(manage_profiles)) -> Response:
    data = {"name": p.value("name").strip(), "permissions": checked_permissions(p)}
    made, message = attempt_making(p, lambda: profiles.create_profile(p.session, p.actor, data))
    if made is None:
        return list_page(p, message, data, 400)
    return redirect(profile_url(made), p)


# --------------------------------------------------------------------------- one profile


def profile_page(
    p: Page,
    ref: str,
    error: str | None = None,
    typed: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    profile = lists.one(p, "getProfile", ref, [], "Profile")
    uses = users.profile_use_counts(p.session, [parse_id(profile["_id"])])
    shown = typed or {"name": profile["name"], "permissions": profile["permissions"]}
    return render(
        p,
        "admin/profile.html",
        status_code=status,
        section="profiles",
        profile=profile,
        url=profile_url(profile),
        uses=next(iter(uses.values())),
        read_only=read_only(profile),
        groups=groups_for(shown["permissions"]),
        error=error,
        typed=shown,
    )


def editable_profile(p: Page, ref: str) -> Profile:
    return profiles.get_profile(p.session, ref)


@router.get("/admin/profiles/{ref}")
def profile_detail(ref: str, p: Page = Depends(manage_profiles)) -> Response:
    return profile_page(p, ref)


@router.post("/admin/profiles/{ref}")
def edit_profile(ref: str, p: Page = Depends(manage_profiles)) -> Response:
    profile = editable_profile(p, ref)
    data = {"name": p.value("name").strip(), "permissions": checked_permissions(p)}
    message = attempt(p, lambda: profiles.update_profile(p.session, p.actor, profile, data))
    if message is not None:
        return profile_page(p, ref, message, data, 400)
    return redirect(profile_url(profile), p)


@router.post("/admin/profiles/{ref}/delete")
def delete_profile(ref: str, p: Page = Depends(manage_profiles)) -> Response:
    profile = editable_profile(p, ref)
    message = attempt(p, lambda: profiles.delete_profile(p.session, p.actor, profile))
    if message is not None:
        return profile_page(p, ref, message, status=400)
    return redirect("/admin/profiles", p)
