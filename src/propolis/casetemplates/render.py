"""The one rendering of case templates (``OutputCaseTemplate``), batched: tasks and custom
field values of a whole list are loaded with one query each."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from propolis.casetemplates.models import CaseTemplate, CaseTemplatePageTemplate
from propolis.core.render import labels, meta, put
from propolis.core.security import Actor
from propolis.fields.metrics import metrics_for
from propolis.fields.service import values_for
from propolis.pages.models import PageTemplate
from propolis.tasks.models import Task
from propolis.tasks.render import register_extra, render_tasks


def render_templates(
    session: Session,
    actor: Actor,
    templates: list[CaseTemplate],
    extra: list[str] | None = None,
) -> list[dict[str, Any]]:
    ids = [t.id for t in templates]
    tasks = _tasks(session, actor, ids)
    custom_fields = values_for(session, "case_template", ids)
    metrics = metrics_for(session, "case_template", ids)
    out = [_render(t, tasks[t.id], custom_fields[t.id], metrics[t.id]) for t in templates]
    if extra and "pageTemplateHeaders" in extra:
        headers = _page_template_headers(session, ids)
        for item, template in zip(out, templates, strict=True):
            item["extraData"]["pageTemplateHeaders"] = headers[template.id]
    return out


def render_template(session: Session, actor: Actor, template: CaseTemplate) -> dict[str, Any]:
    return render_templates(session, actor, [template])[0]


def _render(
    template: CaseTemplate,
    tasks: list[dict[str, Any]],
    custom_fields: list[dict[str, Any]],
    metrics: dict[str, Any],
) -> dict[str, Any]:
    out = meta(template, "CaseTemplate")
    out["name"] = template.name
    out["displayName"] = template.display_name
    put(out, "titlePrefix", template.title_prefix)
    put(out, "description", template.description)
    labels(out, template.severity, template.tlp, template.pap)
    out["tags"] = list(template.tags or [])
    out["flag"] = template.flag
    put(out, "summary", template.summary)
    out["customFields"] = custom_fields
    out["metrics"] = metrics  # TheHive 4's case metric defaults
    out["tasks"] = tasks
    out["extraData"] = {}
    return out


def _tasks(session: Session, actor: Actor, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    if not ids:
        return out
    rows = list(
        session.scalars(
            select(Task)
            .where(Task.case_template_id.in_(ids))
            .order_by(Task.order, Task.created_at, Task.id)
        )
    )
    for task, rendered in zip(rows, render_tasks(session, actor, rows), strict=True):
        out[task.case_template_id].append(rendered)
    return out


def _page_template_headers(session: Session, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    if not ids:
        return out
    rows = session.execute(
        select(CaseTemplatePageTemplate.case_template_id, PageTemplate)
        .join(PageTemplate, PageTemplate.id == CaseTemplatePageTemplate.page_template_id)
        .where(CaseTemplatePageTemplate.case_template_id.in_(ids))
        .order_by(PageTemplate.order, PageTemplate.id)
    )
    for template_id, page in rows:
        out[template_id].append(
            {"_id": page.eid, "title": page.title, "category": page.category, "order": page.order}
        )
    return out


def _task_templates(session: Session, actor: Actor, tasks: list[Task]) -> list[Any]:
    """extraData ``caseTemplate`` of template tasks: their template, rendered."""
    ids = {task.case_template_id for task in tasks if task.case_template_id is not None}
    rows = (
        list(session.scalars(select(CaseTemplate).where(CaseTemplate.id.in_(ids)))) if ids else []
    )
    rendered = dict(zip([t.id for t in rows], render_templates(session, actor, rows), strict=True))
    return [rendered.get(task.case_template_id) for task in tasks]


register_extra("caseTemplate", _task_templates)


# What a template export holds, in TheHive's order: a case template as TheHive 5 exports it
# (TheHive 4's metrics included), without ids or dates, so that it imports anywhere.
EXPORTED = (
    "name",
    "displayName",
    "titlePrefix",
    "description",
    "severity",
    "tlp",
    "pap",
    "tags",
    "flag",
    "summary",
)
EXPORTED_TASK = ("title", "group", "description", "mandatory", "flag", "order", "assignee")


def export_template(rendered: dict[str, Any]) -> dict[str, Any]:
    """A rendered template as TheHive-compatible export JSON (``POST /caseTemplate`` takes
    it back as it is)."""
    out = {key: rendered[key] for key in EXPORTED if key in rendered}
    out["tasks"] = [
        {key: task[key] for key in EXPORTED_TASK if key in task} for task in rendered["tasks"]
    ]
    out["customFields"] = [
        {key: value[key] for key in ("name", "value", "order") if key in value}
        for value in rendered["customFields"]
    ]
    out["metrics"] = dict(rendered.get("metrics", {}))
    return out
