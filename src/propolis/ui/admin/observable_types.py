"""Observable types (``/admin/observable-types``): the built-in types and the platform's own,
managed by the platform administrator (``manageObservableTemplate``) through the service of
``/api/v1/observable/type``. A type with the attachment flag holds files, not text values."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from propolis.core.security import SYSTEM_LOGIN
from propolis.observables import service
from propolis.ui import lists
from propolis.ui.admin import admin_page
from propolis.ui.web import Page, UiRoute, attempt, redirect, render

router = APIRouter(route_class=UiRoute)
MANAGE = admin_page("manageObservableTemplate")


def type_list(p: Page) -> list[dict[str, Any]]:
    """Every type as the API renders it, with ``builtIn`` and ``inUse``."""
    found = lists.run(
        p,
        [
            {"_name": "listObservableType"},
            {"_name": "sort", "_fields": [{"name": "asc"}]},
            {"_name": "page", "from": 0, "to": 10_000},
        ],
    )
    used = service.types_in_use(p.session)
    return [
        {**item, "builtIn": item["_createdBy"] == SYSTEM_LOGIN, "inUse": item["name"] in used}
        for item in found
    ]


def list_page(p: Page, error: str | None = None, typed: dict[str, Any] | None = None) -> Response:
    return render(
        p,
        "admin/observable_types.html",
        status_code=400 if error else 200,
        section="observable-types",
        types=type_list(p),
        error=error,
        typed=typed or {},
    )


@router.get("/admin/observable-types")
def observable_types(p: Page = Depends(MANAGE)) -> Response:
    return list_page(p)


@router.post("/admin/observable-types")
def create_observable_type(p: Page = Depends(MANAGE)) -> Response:
    typed = {"name": p.value("name").strip(), "isAttachment": p.value("isAttachment") == "true"}
    message = attempt(p, lambda: service.create_type(p.session, p.actor, typed))
    if message is not None:
        return list_page(p, message, typed)
    return redirect("/admin/observable-types?created=" + quote(typed["name"]), p)


@router.post("/admin/observable-types/{ref}/delete")
def delete_observable_type(ref: str, p: Page = Depends(MANAGE)) -> Response:
    """Like ``DELETE /api/v1/observable/type/{ref}``: built-in types and types observables
    still use are kept, with the service's reason."""
    observable_type = service.get_type(p.session, ref)
    name = observable_type.name
    message = attempt(p, lambda: service.delete_type(p.session, p.actor, observable_type))
    if message is not None:
        return list_page(p, message)
    return redirect("/admin/observable-types?deleted=" + quote(name), p)
