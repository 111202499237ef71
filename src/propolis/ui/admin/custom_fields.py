"""Custom fields (``/admin/custom-fields``): the platform's field definitions, managed by the
platform administrator (``manageCustomField``, admin organisation) through the same service
as ``/api/v1/customField``.

A field's ``mandatory`` flag is TheHive's only one: a case holding the field closes only
once it has a value (the case service's rule, shown as "required to close").
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from propolis.core.db import parse_id
from propolis.fields import service
from propolis.ui import lists
from propolis.ui.admin import admin_page
from propolis.ui.cases import field_value
from propolis.ui.web import Page, UiRoute, attempt, redirect, render

router = APIRouter(route_class=UiRoute)
MANAGE = admin_page("manageCustomField")
TYPES = service.FIELD_TYPES
# Types whose values may be limited to a list of options (TheHive offers them for these).
WITH_OPTIONS = ("string", "integer", "float", "url")


def field_list(p: Page) -> list[dict[str, Any]]:
    """Every definition as the API renders it, each with ``inUse`` (some value holds it)."""
    found = lists.run(
        p,
        [
            {"_name": "listCustomField"},
            {"_name": "sort", "_fields": [{"group": "asc"}, {"name": "asc"}]},
            {"_name": "page", "from": 0, "to": 10_000},
        ],
    )
    used = service.fields_in_use(p.session)
    return [{**item, "inUse": parse_id(item["_id"]) in used} for item in found]


def list_page(p: Page, error: str | None = None, typed: dict[str, Any] | None = None) -> Response:
    return render(
        p,
        "admin/custom_fields.html",
        status_code=400 if error else 200,
        section="custom-fields",
        fields=field_list(p),
        types=TYPES,
        with_options=WITH_OPTIONS,
        error=error,
        typed=typed or {"type": "string"},
    )


def sent_definition(p: Page, creating: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """The form as the API's body (options typed like the field's values: text that is not
    a number is passed on, so the service refuses it with its own message), and what was
    typed, to draw a refused form again."""
    field_type = p.value("type")
    options_text = p.value("options")
    typed = {
        "name": p.value("name"),
        "displayName": p.value("displayName"),
        "group": p.value("group"),
        "description": p.value("description"),
        "type": field_type,
        "options": options_text,
        "mandatory": p.value("mandatory") == "true",
    }
    options = [line.strip() for line in options_text.splitlines() if line.strip()]
    data: dict[str, Any] = {
        "displayName": typed["displayName"].strip() or None,
        "group": typed["group"].strip() or None,
        "description": typed["description"],
        "type": field_type,
        "mandatory": typed["mandatory"],
        "options": [field_value(field_type, option) for option in options],
    }
    if creating:
        data["name"] = typed["name"].strip()
    return data, typed


@router.get("/admin/custom-fields")
def custom_fields(p: Page = Depends(MANAGE)) -> Response:
    return list_page(p)


@router.post("/admin/custom-fields")
def create_custom_field(p: Page = Depends(MANAGE)) -> Response:
    data, typed = sent_definition(p, creating=True)
    message = attempt(p, lambda: service.create_field(p.session, p.actor, data))
    if message is not None:
        return list_page(p, message, typed)
    return redirect("/admin/custom-fields?created=" + quote(data["name"]), p)


def edit_page(
    p: Page,
    ref: str,
    error: str | None = None,
    typed: dict[str, Any] | None = None,
    delete_error: str | None = None,
) -> Response:
    field = service.get_field(p.session, ref)
    item = lists.one(p, "getCustomField", ref, [], "CustomField")
    if typed is None:
        typed = {
            **item,
            "options": "\n".join(str(option) for option in item["options"]),
        }
    return render(
        p,
        "admin/custom_field.html",
        status_code=400 if error or delete_error else 200,
        section="custom-fields",
        field=item,
        values=service.value_count(p.session, field),
        types=TYPES,
        with_options=WITH_OPTIONS,
        error=error,
        delete_error=delete_error,
        typed=typed,
    )


@router.get("/admin/custom-fields/{ref}")
def custom_field(ref: str, p: Page = Depends(MANAGE)) -> Response:
    return edit_page(p, ref)


@router.post("/admin/custom-fields/{ref}")
def update_custom_field(ref: str, p: Page = Depends(MANAGE)) -> Response:
    field = service.get_field(p.session, ref)
    data, typed = sent_definition(p, creating=False)
    message = attempt(p, lambda: service.update_field(p.session, p.actor, field, data))
    if message is not None:
        return edit_page(p, ref, message, {**typed, "name": field.name})
    return redirect("/admin/custom-fields?updated=" + quote(field.name), p)


@router.post("/admin/custom-fields/{ref}/delete")
def delete_custom_field(ref: str, p: Page = Depends(MANAGE)) -> Response:
    """Like ``DELETE /api/v1/customField/{ref}``: a field holding values goes only with
    ``force`` (its values go too)."""
    field = service.get_field(p.session, ref)
    name, force = field.name, p.value("force") == "true"
    message = attempt(p, lambda: service.delete_field(p.session, p.actor, field, force))
    if message is not None:
        return edit_page(p, ref, delete_error=message)
    return redirect("/admin/custom-fields?deleted=" + quote(name), p)
