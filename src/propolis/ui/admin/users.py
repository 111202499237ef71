"""Administration of user accounts (``/admin/users``, ``manageUser``).

An organisation's administrator sees and manages the members of the organisation they act
in; the platform administrator (acting in the admin organisation) sees every account, with
an organisation filter, and edits the memberships of several organisations at once. Every
write is a call of ``users.service`` (the same rules as ``/api/v1/user``); the page only
decides which buttons to draw.

Secrets: a generated password and a new API key appear once, in the answer of the write
that made them, and never again (the page never reads a key back; ``GET /user/{id}/key``
stays an API route for TheHive compatibility).
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from propolis.core.security import ADMIN_ORG
from propolis.ui import lists
from propolis.ui.admin import admin_page
from propolis.ui.web import Page, UiRoute, attempt, attempt_making, redirect, render
from propolis.users import service
from propolis.users.models import User

router = APIRouter(route_class=UiRoute)
manage_users = admin_page("manageUser")

# A generated password: 16 URL-safe characters (96 bits), easy to read out and type.
GENERATED_PASSWORD_BYTES = 12
USER_TYPES = ("Normal", "Service")


# --------------------------------------------------------------------------- shared reads


def platform_admin(p: Page) -> bool:
    """Acting in the admin organisation with manageUser: every account, every membership."""
    return p.actor.in_admin_org and p.can("manageUser")


def organisation_names(p: Page) -> list[str]:
    """The organisations the caller sees, by name (the filter and the membership form)."""
    found = lists.run(
        p, [{"_name": "listOrganisation"}, {"_name": "sort", "_fields": [{"name": "asc"}]}]
    )
    return [org["name"] for org in found]


def profile_choices(p: Page) -> list[dict[str, Any]]:
    """Every profile, sorted by name; ``forAdmin`` ones only fit the admin organisation."""
    return lists.run(p, [{"_name": "listProfile"}, {"_name": "sort", "_fields": [{"name": "asc"}]}])


def user_url(user: dict[str, Any] | User) -> str:
    login = user["login"] if isinstance(user, dict) else user.login
    return "/admin/users/" + quote(login, safe="@")


# --------------------------------------------------------------------------- the list


def user_query(p: Page, organisation: str, text: str) -> list[dict[str, Any]]:
    if organisation:
        # The organisation's members, as far as the caller sees users.
        operations = [
            {"_name": "getOrganisation", "idOrName": organisation},
            {"_name": "users"},
        ]
    else:
        operations = [{"_name": "listUser"}]
    if text:
        operations.append(
            {
                "_name": "filter",
                "_or": [
                    {"_like": {"_field": "login", "_value": text}},
                    {"_like": {"_field": "name", "_value": text}},
                ],
            }
        )
    return operations


def list_page(
    p: Page, error: str | None = None, typed: dict[str, str] | None = None, status: int = 200
) -> Response:
    params = p.request.query_params
    organisation = params.get("organisation", "").strip() if platform_admin(p) else ""
    text = params.get("q", "").strip()
    found = lists.paged(
        p,
        user_query(p, organisation, text),
        [{"login": "asc"}],
        lists.int_param(params.get("page"), 1),
        lists.int_param(params.get("size"), 50),
        ["lockout"],
    )
    organisations = organisation_names(p) if platform_admin(p) else [p.actor.org_name]
    # New accounts are mostly analysts of an organisation, not platform administrators.
    others = [name for name in organisations if name != ADMIN_ORG]
    default_org = organisation or (others[0] if others else p.actor.org_name)
    return render(
        p,
        "admin/users.html",
        status_code=status,
        section="users",
        request=p.request,
        users=found,
        organisation=organisation,
        text=text,
        organisations=organisations,
        default_org=default_org,
        profiles=profile_choices(p),
        platform=platform_admin(p),
        user_url=user_url,
        error=error,
        typed=typed or {},
    )


@router.get("/admin/users")
def user_list(p: Page = Depends(manage_users)) -> Response:
    return list_page(p)


@router.post("/admin/users")
def create_user(p: Page = Depends(manage_users)) -> Response:
    """A new account in an organisation (the caller's; the platform administrator picks)."""
    typed = {
        name: p.value(name).strip()
        for name in ("login", "name", "email", "profile", "organisation", "type")
    }
    data: dict[str, Any] = {k: v for k, v in typed.items() if v}
    data.setdefault("organisation", p.actor.org_name)
    if p.value("password"):
        data["password"] = p.value("password")
    made, message = attempt_making(p, lambda: service.create_user(p.session, p.actor, data)[0])
    if made is None:
        return list_page(p, message, typed, 400)
    return redirect(user_url(made), p)


# --------------------------------------------------------------------------- one account


def user_page(
    p: Page,
    ref: str,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    secret: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    """The account page; ``secret`` (a generated password or a new key) is drawn once."""
    user = lists.one(p, "getUser", ref, ["lockout"], "User")
    platform = platform_admin(p)
    memberships = user.get("organisations") or []
    here = next((m for m in memberships if m["organisation"] == p.actor.org_name), None)
    return render(
        p,
        "admin/user.html",
        status_code=status,
        section="users",
        user=user,
        url=user_url(user),
        memberships=memberships,
        here=here,
        platform=platform,
        is_self=user["_id"] == f"~{p.actor.user_id}",
        organisations=organisation_names(p) if platform else [],
        profiles=profile_choices(p),
        admin_org=ADMIN_ORG,
        errors=errors or {},
        notice=notice,
        secret=secret,
    )


def account(p: Page, ref: str) -> User:
    """The account named in the address, if the caller sees it (else 404, nothing done)."""
    return service.get_visible_user(p.session, p.actor, ref)


# What a write did, said on the account page it redirects to (``?done=<key>``).
NOTICES = {
    "account": "Account saved",
    "locked": "Account locked",
    "unlocked": "Account unlocked",
    "password": "Password set",
    "key-revoked": "API key revoked",
    "profile": "Profile changed",
    "organisations": "Organisations saved",
}


def after(p: Page, ref: str, section: str, message: str | None, done: str) -> Response:
    """The service's refusal next to its form (nothing changed), else back to the account
    page (Post/Redirect/Get) saying what was done."""
    if message is not None:
        return user_page(p, ref, {section: message}, status=400)
    user = account(p, ref)
    return redirect(f"{user_url(user)}?done={done}", p)


@router.get("/admin/users/{ref}")
def user_detail(ref: str, p: Page = Depends(manage_users)) -> Response:
    return user_page(p, ref, notice=NOTICES.get(p.request.query_params.get("done", "")))


@router.post("/admin/users/{ref}")
def edit_user(ref: str, p: Page = Depends(manage_users)) -> Response:
    """Name, e-mail and account type."""
    user = account(p, ref)
    data = {"name": p.value("name").strip(), "email": p.value("email").strip()}
    if p.value("type"):
        data["type"] = p.value("type")
    message = attempt(p, lambda: service.update_user(p.session, p.actor, user, data))
    return after(p, ref, "account", message, "account")


@router.post("/admin/users/{ref}/lock")
def lock_user(ref: str, p: Page = Depends(manage_users)) -> Response:
    user = account(p, ref)
    locked = p.value("locked") == "true"
    data = {"locked": locked}
    message = attempt(p, lambda: service.update_user(p.session, p.actor, user, data))
    return after(p, ref, "status", message, "locked" if locked else "unlocked")


@router.post("/admin/users/{ref}/password")
def set_password(ref: str, p: Page = Depends(manage_users)) -> Response:
    """Set the password typed twice, or generate one and show it once."""
    user = account(p, ref)
    generate = p.value("generate") == "true"
    if generate:
        password = secrets.token_urlsafe(GENERATED_PASSWORD_BYTES)
    else:
        password = p.value("password")
        if password != p.value("confirm"):
            return user_page(p, ref, {"password": "The two passwords differ"}, status=400)
    data = {"password": password}
    message = attempt(p, lambda: service.set_password(p.session, p.actor, user, data))
    if message is None and generate:
        shown = {"kind": "password", "value": password}
        return user_page(p, ref, notice="New password: give it to the user now", secret=shown)
    return after(p, ref, "password", message, "password")


@router.post("/admin/users/{ref}/key")
def renew_key(ref: str, p: Page = Depends(manage_users)) -> Response:
    """A new API key (the old one stops working), shown in this answer only."""
    user = account(p, ref)
    key, message = attempt_making(
        p, lambda: service.renew_api_key(p.session, p.actor, user, p.app_state.sealer)
    )
    if key is None:
        return user_page(p, ref, {"key": message}, status=400)
    shown = {"kind": "key", "value": key}
    return user_page(p, ref, notice="New API key: copy it now, it is not shown again", secret=shown)


@router.post("/admin/users/{ref}/key/revoke")
def revoke_key(ref: str, p: Page = Depends(manage_users)) -> Response:
    user = account(p, ref)
    message = attempt(p, lambda: service.remove_api_key(p.session, p.actor, user))
    return after(p, ref, "key", message, "key-revoked")


@router.post("/admin/users/{ref}/profile")
def set_profile(ref: str, p: Page = Depends(manage_users)) -> Response:
    """The user's profile in the organisation the caller acts in."""
    user = account(p, ref)
    data = {"profile": p.value("profile"), "organisation": p.actor.org_name}
    message = attempt(p, lambda: service.update_user(p.session, p.actor, user, data))
    return after(p, ref, "memberships", message, "profile")


@router.post("/admin/users/{ref}/organisations")
def set_organisations(ref: str, p: Page = Depends(manage_users)) -> Response:
    """The memberships form: every row's profile, the rows to remove, one to add and the
    default organisation, saved as one ``PUT /user/{ref}/organisations``."""
    user = account(p, ref)
    message = attempt(
        p, lambda: service.set_organisations(p.session, p.actor, user, wanted_memberships(p))
    )
    return after(p, ref, "memberships", message, "organisations")


def wanted_memberships(p: Page) -> list[dict[str, Any]]:
    removed = set(p.values("remove"))
    default = p.value("default")
    rows = [
        (org, profile)
        for org, profile in zip(p.values("organisation"), p.values("profile"), strict=False)
        if org not in removed
    ]
    if p.value("add_organisation"):
        rows.append((p.value("add_organisation"), p.value("add_profile")))
    return [
        {"organisation": org, "profile": profile, "default": org == default}
        for org, profile in rows
    ]


@router.post("/admin/users/{ref}/delete")
def delete_user(ref: str, p: Page = Depends(manage_users)) -> Response:
    """The platform administrator deletes the account; an organisation's administrator
    removes it from their organisation (the account goes with its last membership)."""
    user = account(p, ref)
    message = attempt(p, lambda: service.delete_user(p.session, p.actor, user, None))
    if message is not None:
        return user_page(p, ref, {"delete": message}, status=400)
    return redirect("/admin/users", p)
