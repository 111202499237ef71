"""Case template administration (``/admin/case-templates``, per organisation): the list, the
editor (properties, Markdown description with a preview, ordered tasks with groups, metric
and custom field defaults, linked page templates), deletion, and export/import as
TheHive-compatible JSON. Every write goes through :mod:`propolis.casetemplates.service`, the
API's service.

The editor is one form: saving sends the whole template (``PATCH /caseTemplate`` with every
part), so what the page shows is exactly what is stored. The tasks' order is the order of
their inputs in the form, which dragging (or the up/down buttons) changes in the page.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from propolis.casetemplates import service as casetemplates
from propolis.casetemplates.render import export_template, render_template
from propolis.core.errors import BadRequest
from propolis.fields import metrics
from propolis.fields.render import render_metrics
from propolis.ui import lists
from propolis.ui.admin import admin_page
from propolis.ui.cases import field_definitions, field_value, number_value, org_members, split_tags
from propolis.ui.web import Page, UiRoute, attempt, redirect, render

router = APIRouter(route_class=UiRoute)
PERMISSION = "manageCaseTemplate"
BASE = "/admin/case-templates"
# An exported template is a few kilobytes; a larger file is no template.
MAX_IMPORT_BYTES = 1024 * 1024
NEW_TASK = "new"  # the key of the editor's empty "add a task" row
PROPERTIES = ("name", "displayName", "titlePrefix", "severity", "tlp", "pap", "tags", "description")


# --------------------------------------------------------------------------- list, create


def list_page(
    p: Page, error: str | None = None, typed: dict[str, str] | None = None, status_code: int = 200
) -> Response:
    templates = lists.run(
        p,
        [
            {"_name": "listCaseTemplate"},
            {"_name": "sort", "_fields": [{"displayName": "asc"}]},
            {"_name": "page", "from": 0, "to": 1000},
        ],
    )
    return render(
        p,
        "admin/case_templates.html",
        status_code=status_code,
        section="case-templates",
        templates=templates,
        error=error,
        typed=typed or {},
        max_import_kib=MAX_IMPORT_BYTES // 1024,
    )


@router.get(BASE)
def case_templates(p: Page = Depends(admin_page(PERMISSION))) -> Response:
    return list_page(p)


@router.post(BASE)
def create_case_template(p: Page = Depends(admin_page(PERMISSION))) -> Response:
    """A new template by its name; the editor opens on it."""
    typed = {"name": p.value("name"), "displayName": p.value("displayName")}
    data = {"name": typed["name"].strip(), "displayName": typed["displayName"].strip() or None}
    created: list[Any] = []

    def write() -> None:
        created.append(casetemplates.create_template(p.session, p.actor, data))

    error = attempt(p, write)
    if error is not None:
        return list_page(p, error, typed, 400)
    return redirect(f"{BASE}/{created[0].eid}", p)


@router.post(BASE + "/preview")
def preview_description(p: Page = Depends(admin_page(PERMISSION))) -> Response:
    """The description as it will show on cases (htmx, as the analyst types)."""
    return render(p, "admin/_markdown_preview.html", text=p.value("description"))


@router.post(f"{BASE}/import")
def import_case_template(p: Page = Depends(admin_page(PERMISSION))) -> Response:
    """A template from an exported JSON file (TheHive's or ours), in this organisation."""
    created: list[Any] = []

    def write() -> None:
        data = uploaded_template(p.form.get("file"))
        created.append(casetemplates.create_template(p.session, p.actor, data))

    error = attempt(p, write)
    if error is not None:
        return list_page(p, f"Import refused: {error}", None, 400)
    return redirect(f"{BASE}/{created[0].eid}", p)


def uploaded_template(upload: Any) -> dict[str, Any]:
    """The uploaded file's JSON object, its size checked before it is read."""
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise BadRequest("Choose a case template file (JSON) to import")
    if upload.size is not None and upload.size > MAX_IMPORT_BYTES:
        raise BadRequest(f"The file is larger than {MAX_IMPORT_BYTES // 1024} KiB")
    content = upload.file.read(MAX_IMPORT_BYTES + 1)
    if len(content) > MAX_IMPORT_BYTES:
        raise BadRequest(f"The file is larger than {MAX_IMPORT_BYTES // 1024} KiB")
    try:
        data = json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest(f"The file is not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise BadRequest("The file is not a case template: a JSON object was expected")
    # Ids and dates of the exporting platform mean nothing here, nor do its page templates'
    # ids (page template links are an organisation's own: link them in the editor).
    return {
        key: value
        for key, value in data.items()
        if not key.startswith("_") and key != "pageTemplateIds"
    }


# --------------------------------------------------------------------------- editor


def editor_page(
    p: Page,
    template: Any,
    draft: dict[str, Any] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    """The editor, showing the stored template, or on a refusal what was typed."""
    stored = render_template(p.session, p.actor, template)
    stored["pageTemplateIds"] = [
        pt.eid for pt in casetemplates.template_page_templates(p.session, template)
    ]
    shown = draft if draft is not None else stored
    definitions = field_definitions(p)
    metric_definitions = render_metrics(metrics.list_metrics(p.session))
    custom_fields = [
        {**definitions[value["name"]], "value": value.get("value")}
        for value in shown["customFields"]
        if value["name"] in definitions
    ]
    metric_titles = {d["name"]: d for d in metric_definitions}
    shown_metrics = [
        {**metric_titles[name], "value": value}
        for name, value in shown["metrics"].items()
        if name in metric_titles
    ]
    return render(
        p,
        "admin/case_template.html",
        status_code=status_code,
        section="case-templates",
        saved=stored,
        t=shown,
        error=error,
        custom_fields=custom_fields,
        other_fields=[
            d for name, d in definitions.items() if name not in {f["name"] for f in custom_fields}
        ],
        typed_fields=shown.get("typedFields", {}),
        case_metrics=shown_metrics,
        other_metrics=[d for d in metric_definitions if d["name"] not in shown["metrics"]],
        typed_metrics=shown.get("typedMetrics", {}),
        page_templates=org_page_templates(p),
        members=org_members(p),
        new_task=NEW_TASK,
    )


def org_page_templates(p: Page) -> list[dict[str, Any]]:
    return lists.run(
        p,
        [
            {"_name": "listPageTemplate"},
            {"_name": "sort", "_fields": [{"title": "asc"}]},
            {"_name": "page", "from": 0, "to": 500},
        ],
    )


@router.get(BASE + "/{ref}")
def case_template(ref: str, p: Page = Depends(admin_page(PERMISSION))) -> Response:
    return editor_page(p, casetemplates.get_template(p.session, p.actor, ref))


@router.post(BASE + "/{ref}")
def save_case_template(ref: str, p: Page = Depends(admin_page(PERMISSION))) -> Response:
    """The whole editor form: every part of the template is replaced by what it holds."""
    template = casetemplates.get_template(p.session, p.actor, ref)
    draft = form_template(p)
    update = {k: v for k, v in draft.items() if k not in ("typedFields", "typedMetrics")}
    error = attempt(p, lambda: casetemplates.update_template(p.session, p.actor, template, update))
    if error is not None:
        template = casetemplates.get_template(p.session, p.actor, ref)
        return editor_page(p, template, draft, error, 400)
    return redirect(f"{BASE}/{template.eid}", p)


def form_template(p: Page) -> dict[str, Any]:
    """The editor's form as a case template input (the API's ``InputCaseTemplate``), plus
    the raw text typed in the typed inputs (shown again on a refusal)."""
    draft: dict[str, Any] = {
        "name": p.value("name").strip(),
        "displayName": p.value("displayName").strip() or None,
        "titlePrefix": p.value("titlePrefix").strip() or None,
        "description": p.value("description") or None,
        "tags": split_tags(p.value("tags")),
    }
    for name in ("severity", "tlp", "pap"):
        raw = p.value(name).strip()
        draft[name] = number_value(raw) if raw else None
    draft["tasks"] = form_tasks(p)
    draft["customFields"], draft["typedFields"] = form_custom_fields(p)
    draft["metrics"], draft["typedMetrics"] = form_metrics(p)
    draft["pageTemplateIds"] = p.values("page_templates")
    return draft


def form_tasks(p: Page) -> list[dict[str, Any]]:
    """Tasks in the order of their inputs; the empty "add a task" row adds one when its
    title is filled; removed ones are left out."""
    removed = set(p.values("task_remove"))
    tasks: list[dict[str, Any]] = []
    for key in p.values("task_keys"):
        title = p.value(f"task.{key}.title").strip()
        if key in removed or (key == NEW_TASK and not title):
            continue
        task: dict[str, Any] = {
            "title": title,
            "group": p.value(f"task.{key}.group").strip() or "default",
            "description": p.value(f"task.{key}.description"),
            "mandatory": p.value(f"task.{key}.mandatory") == "true",
            "order": len(tasks),
        }
        assignee = p.value(f"task.{key}.assignee")
        if assignee:
            task["assignee"] = assignee
        tasks.append(task)
    return tasks


def form_custom_fields(p: Page) -> tuple[list[dict[str, Any]], dict[str, str]]:
    definitions = field_definitions(p)
    removed = set(p.values("cf_remove"))
    values: list[dict[str, Any]] = []
    typed: dict[str, str] = {}
    for name in p.values("cf_names"):
        if name in removed:
            continue
        raw = p.value(f"cf.{name}")
        typed[name] = raw
        definition = definitions.get(name)
        value = field_value(definition["type"], raw) if definition else raw
        values.append({"name": name, "value": value, "order": len(values)})
    added = p.value("add_field")
    if added and added not in typed:
        values.append({"name": added, "value": None, "order": len(values)})
    return values, typed


def form_metrics(p: Page) -> tuple[dict[str, Any], dict[str, str]]:
    removed = set(p.values("metric_remove"))
    values: dict[str, Any] = {}
    typed: dict[str, str] = {}
    for name in p.values("metric_names"):
        if name in removed:
            continue
        typed[name] = p.value(f"metric.{name}")
        values[name] = number_value(typed[name])
    added = p.value("add_metric")
    if added and added not in values:
        values[added] = None
    return values, typed


@router.post(BASE + "/{ref}/delete")
def delete_case_template(ref: str, p: Page = Depends(admin_page(PERMISSION))) -> Response:
    template = casetemplates.get_template(p.session, p.actor, ref)
    casetemplates.delete_template(p.session, p.actor, template)
    return redirect(BASE, p)


@router.get(BASE + "/{ref}/export")
def export_case_template(ref: str, p: Page = Depends(admin_page(PERMISSION))) -> Response:
    """The template as TheHive-compatible JSON, downloaded as ``<name>.json``."""
    template = casetemplates.get_template(p.session, p.actor, ref)
    exported = export_template(render_template(p.session, p.actor, template))
    # A header is latin-1: any other character of the name becomes "_".
    filename = "".join(
        c if (c.isascii() and c.isalnum()) or c in "-_." else "_" for c in template.name
    )
    return Response(
        json.dumps(exported, indent=2, ensure_ascii=False),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{filename or "template"}.json"'},
    )
