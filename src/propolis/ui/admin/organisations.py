"""Administration of organisations (``/admin/organisations``, ``manageOrganisation``: the
platform administrator, acting in the admin organisation).

List, create, describe and lock organisations, link them (the API's link types: ``default``
allows manual sharing, ``supervised`` shares every new case with the other side as analyst,
``notify`` as read-only) and see their members. Every write is an ``orgs.service`` call,
the same as ``/api/v1/organisation``.
"""

from __future__ import annotations

from typing import Any, get_args
from urllib.parse import quote

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from propolis.core.db import parse_id
from propolis.core.security import ADMIN_ORG
from propolis.orgs import service as orgs
from propolis.orgs.models import Organisation
from propolis.orgs.schemas import LinkType, SharingRule
from propolis.ui import lists
from propolis.ui.admin import admin_page
from propolis.ui.web import Page, UiRoute, attempt, attempt_making, redirect, render
from propolis.users import service as users

router = APIRouter(route_class=UiRoute)
manage_organisations = admin_page("manageOrganisation")

LINK_TYPES = get_args(LinkType)
SHARING_RULES = get_args(SharingRule)
# What each value means, as the pages say it.
LINK_HELP = {
    "default": "may share cases by hand",
    "supervised": "every new case is shared with the other side (analyst)",
    "notify": "every new case is shared with the other side (read-only)",
}
RULE_HELP = {
    "manual": "only what is shared explicitly",
    "autoShare": "every task / observable",
    "existingOnly": "those existing when shared",
    "upcomingOnly": "those added after sharing",
    "all": "all of them",
}


def org_url(org: dict[str, Any] | Organisation) -> str:
    name = org["name"] if isinstance(org, dict) else org.name
    return "/admin/organisations/" + quote(name, safe="")


def names(p: Page) -> list[str]:
    found = lists.run(
        p, [{"_name": "listOrganisation"}, {"_name": "sort", "_fields": [{"name": "asc"}]}]
    )
    return [org["name"] for org in found]


# --------------------------------------------------------------------------- the list


def list_page(
    p: Page, error: str | None = None, typed: dict[str, str] | None = None, status: int = 200
) -> Response:
    params = p.request.query_params
    found = lists.paged(
        p,
        [{"_name": "listOrganisation"}],
        [{"name": "asc"}],
        lists.int_param(params.get("page"), 1),
        lists.int_param(params.get("size"), 50),
    )
    ids = {org["_id"]: parse_id(org["_id"]) for org in found.items}
    counts = users.member_counts(p.session, list(ids.values()))
    return render(
        p,
        "admin/organisations.html",
        status_code=status,
        section="organisations",
        request=p.request,
        organisations=found,
        members={key: counts[org_id] for key, org_id in ids.items()},
        org_url=org_url,
        rules=SHARING_RULES,
        rule_help=RULE_HELP,
        error=error,
        typed=typed or {},
    )


@router.get("/admin/organisations")
def organisation_list(p: Page = Depends(manage_organisations)) -> Response:
    return list_page(p)


@router.post("/admin/organisations")
def create_organisation(p: Page = Depends(manage_organisations)) -> Response:
    typed = {name: p.value(name) for name in ("name", "description", "taskRule", "observableRule")}
    data = {k: v for k, v in typed.items() if v or k == "description"}
    made, message = attempt_making(p, lambda: orgs.create(p.session, p.actor, data))
    if made is None:
        return list_page(p, message, typed, 400)
    return redirect(org_url(made), p)


# --------------------------------------------------------------------------- one organisation


def org_page(
    p: Page,
    ref: str,
    errors: dict[str, str] | None = None,
    typed: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    org = lists.one(p, "getOrganisation", ref, [], "Organisation")
    params = p.request.query_params
    members = lists.paged(
        p,
        [{"_name": "getOrganisation", "idOrName": org["name"]}, {"_name": "users"}],
        [{"login": "asc"}],
        lists.int_param(params.get("page"), 1),
        lists.int_param(params.get("size"), 50),
    )
    linked = {link["toOrganisation"] for link in org.get("links") or []}
    return render(
        p,
        "admin/organisation.html",
        status_code=status,
        section="organisations",
        request=p.request,
        org=org,
        url=org_url(org),
        is_admin_org=org["name"] == ADMIN_ORG,
        members=members,
        profile_in=lambda user: next(
            (
                m["profile"]
                for m in user.get("organisations") or []
                if m["organisation"] == org["name"]
            ),
            "",
        ),
        linkable=[n for n in names(p) if n not in linked and n not in (org["name"], ADMIN_ORG)],
        link_types=LINK_TYPES,
        link_help=LINK_HELP,
        rules=SHARING_RULES,
        rule_help=RULE_HELP,
        errors=errors or {},
        typed=typed or {},
    )


def organisation(p: Page, ref: str) -> Organisation:
    return orgs.get_visible(p.session, p.actor, ref)


@router.get("/admin/organisations/{ref}")
def organisation_detail(ref: str, p: Page = Depends(manage_organisations)) -> Response:
    return org_page(p, ref)


@router.post("/admin/organisations/{ref}")
def edit_organisation(ref: str, p: Page = Depends(manage_organisations)) -> Response:
    """Name, description and the sharing rules of cases shared with the organisation."""
    org = organisation(p, ref)
    typed = {name: p.value(name) for name in ("name", "description", "taskRule", "observableRule")}
    data = {k: v for k, v in typed.items() if v or k == "description"}
    message = attempt(p, lambda: orgs.update(p.session, p.actor, org, data))
    if message is not None:
        return org_page(p, ref, {"details": message}, typed, status=400)
    return redirect(org_url(org), p)


@router.post("/admin/organisations/{ref}/lock")
def lock_organisation(ref: str, p: Page = Depends(manage_organisations)) -> Response:
    """A locked organisation's members cannot act in it (the API refuses them there)."""
    org = organisation(p, ref)
    data = {"locked": p.value("locked") == "true"}
    message = attempt(p, lambda: orgs.update(p.session, p.actor, org, data))
    if message is not None:
        return org_page(p, ref, {"lock": message}, status=400)
    return redirect(org_url(org), p)


@router.post("/admin/organisations/{ref}/link")
def link_organisation(ref: str, p: Page = Depends(manage_organisations)) -> Response:
    org = organisation(p, ref)
    other = p.value("other")
    types = (p.value("linkType") or None, p.value("otherLinkType") or None)
    message = attempt(p, lambda: orgs.link(p.session, p.actor, org.name, other, *types))
    if message is not None:
        typed = {"other": other, "linkType": types[0] or "", "otherLinkType": types[1] or ""}
        return org_page(p, ref, {"links": message}, typed, status=400)
    return redirect(org_url(org) + "#links", p)


@router.post("/admin/organisations/{ref}/unlink")
def unlink_organisation(ref: str, p: Page = Depends(manage_organisations)) -> Response:
    org = organisation(p, ref)
    other = p.value("other")
    message = attempt(p, lambda: orgs.unlink(p.session, p.actor, org.name, other))
    if message is not None:
        return org_page(p, ref, {"links": message}, status=400)
    return redirect(org_url(org) + "#links", p)
