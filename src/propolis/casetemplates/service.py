"""Case templates (spec §12): per-organisation presets for new cases — defaults, tasks,
custom field values and linked page templates."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from propolis.casetemplates.models import CaseTemplate, CaseTemplatePageTemplate
from propolis.casetemplates.schemas import CaseTemplateCreate, CaseTemplateUpdate
from propolis.core import events
from propolis.core.db import now_ms, parse_id
from propolis.core.errors import CreateError, invalid, missing
from propolis.core.schemas import check
from propolis.core.security import Actor
from propolis.fields import metrics
from propolis.fields import service as fields
from propolis.pages import service as pages
from propolis.pages.models import PageTemplate
from propolis.tasks import service as tasks
from propolis.tasks.models import Task

PERMISSION = "manageCaseTemplate"


def find_template(session: Session, actor: Actor, ref: str) -> CaseTemplate | None:
    """By ``~id`` or by name, in the caller's organisation."""
    template_id = parse_id(ref)
    stmt = select(CaseTemplate).where(CaseTemplate.org_id == actor.org_id)
    if template_id is not None:
        stmt = stmt.where(CaseTemplate.id == template_id)
    else:
        stmt = stmt.where(CaseTemplate.name == ref)
    return session.scalar(stmt)


def get_template(session: Session, actor: Actor, ref: str) -> CaseTemplate:
    template = find_template(session, actor, ref)
    if template is None:
        raise missing("CaseTemplate", ref)
    return template


def template_tasks(session: Session, template: CaseTemplate) -> list[Task]:
    """The template's tasks in their display order."""
    return list(
        session.scalars(
            select(Task)
            .where(Task.case_template_id == template.id)
            .order_by(Task.order, Task.created_at, Task.id)
        )
    )


def template_page_templates(session: Session, template: CaseTemplate) -> list[PageTemplate]:
    linked = select(CaseTemplatePageTemplate.page_template_id).where(
        CaseTemplatePageTemplate.case_template_id == template.id
    )
    return list(
        session.scalars(
            select(PageTemplate)
            .where(PageTemplate.id.in_(linked))
            .order_by(PageTemplate.order, PageTemplate.created_at, PageTemplate.id)
        )
    )


def create_template(session: Session, actor: Actor, data: dict[str, Any]) -> CaseTemplate:
    actor.require(PERMISSION)
    sent = check(CaseTemplateCreate, data).known()
    name = sent["name"]
    _check_unique(session, actor, name)
    template = CaseTemplate(
        org_id=actor.org_id,
        name=name,
        display_name=name,
        tags=[],
        flag=False,
        created_by=actor.login,
        created_at=now_ms(),
    )
    _apply_scalars(template, sent)
    session.add(template)
    session.flush()
    _apply_children(session, actor, template, data)
    events.record(
        session, actor.login, actor.org_id, "create", "CaseTemplate", template.id, {"name": name}
    )
    return template


def update_template(
    session: Session, actor: Actor, template: CaseTemplate, data: dict[str, Any]
) -> None:
    actor.require(PERMISSION)
    sent = check(CaseTemplateUpdate, data).known()
    changes: dict[str, Any] = {}
    if "name" in sent and sent["name"] != template.name:
        _check_unique(session, actor, sent["name"])
        template.name = changes["name"] = sent["name"]
    changes.update(_apply_scalars(template, sent))
    changes.update(_apply_children(session, actor, template, data))
    if changes:
        template.touch(actor.login)
        events.record(
            session, actor.login, actor.org_id, "update", "CaseTemplate", template.id, changes
        )


def delete_template(session: Session, actor: Actor, template: CaseTemplate) -> None:
    """Its tasks, custom field values and page template links go with it (cascade); cases
    created from it keep their copies."""
    actor.require(PERMISSION)
    session.delete(template)
    events.record(
        session,
        actor.login,
        actor.org_id,
        "delete",
        "CaseTemplate",
        template.id,
        {"name": template.name},
    )


def link_page_templates(
    session: Session, actor: Actor, template: CaseTemplate, data: dict[str, Any]
) -> None:
    """``PUT .../pageTemplate/link``: the linked page templates become exactly these."""
    actor.require(PERMISSION)
    ids = _set_page_templates(session, actor, template, data.get("pageTemplateIds"))
    template.touch(actor.login)
    events.record(
        session,
        actor.login,
        actor.org_id,
        "update",
        "CaseTemplate",
        template.id,
        {"pageTemplateIds": ids},
    )


def _check_unique(session: Session, actor: Actor, name: str) -> None:
    exists = session.scalar(
        select(CaseTemplate.id).where(
            CaseTemplate.org_id == actor.org_id, CaseTemplate.name == name
        )
    )
    if exists is not None:
        raise CreateError(f"CaseTemplate {name} already exists")


PLAIN = ("description", "summary", "severity", "tlp", "pap")
TEMPLATE_COLUMNS = {"displayName": "display_name", "titlePrefix": "title_prefix"}


def _apply_scalars(template: CaseTemplate, sent: dict[str, Any]) -> dict[str, Any]:
    """Set the plain fields the client sent, as the schema checked them (``null`` clears an
    optional one; the display name falls back to the name, flag and tags to their empty)."""
    values = {key: sent[key] for key in PLAIN if key in sent}
    if "displayName" in sent:
        values["displayName"] = sent["displayName"] or template.name
    if "titlePrefix" in sent:
        values["titlePrefix"] = sent["titlePrefix"] or None
    if "flag" in sent:
        values["flag"] = bool(sent["flag"])
    if "tags" in sent:
        values["tags"] = sent["tags"] or []
    # Keys are API field names (the event records them); two differ from their column.
    changes = {}
    for key, value in values.items():
        column = TEMPLATE_COLUMNS.get(key, key)
        if getattr(template, column) != value:
            setattr(template, column, value)
            changes[key] = value
    return changes


def _apply_children(
    session: Session, actor: Actor, template: CaseTemplate, data: dict[str, Any]
) -> dict[str, Any]:
    """Tasks, custom field values and page template links given in ``data`` replace the
    template's previous ones."""
    changes: dict[str, Any] = {}
    if "tasks" in data:
        created = tasks.replace_template_tasks(session, actor, template, data["tasks"] or [])
        changes["tasks"] = [task.title for task in created]
    if "customFields" in data:
        fields.set_custom_fields(
            session, actor, case_template_id=template.id, value=data["customFields"]
        )
        changes["customFields"] = data["customFields"]
    if "metrics" in data:
        changes["metrics"] = metrics.set_metrics(
            session, case_template_id=template.id, value=data["metrics"], replace=True
        )
    if "pageTemplateIds" in data:
        changes["pageTemplateIds"] = _set_page_templates(
            session, actor, template, data["pageTemplateIds"]
        )
    return changes


def _set_page_templates(
    session: Session, actor: Actor, template: CaseTemplate, refs: Any
) -> list[str]:
    if refs is None:
        refs = []
    if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
        raise invalid("pageTemplateIds", "must be a list of page template ids", refs)
    linked = []
    for ref in refs:
        page_template = pages.get_page_template(session, actor, ref)
        if page_template.id not in linked:
            linked.append(page_template.id)
    session.execute(
        delete(CaseTemplatePageTemplate).where(
            CaseTemplatePageTemplate.case_template_id == template.id
        )
    )
    for page_template_id in linked:
        session.add(
            CaseTemplatePageTemplate(
                case_template_id=template.id, page_template_id=page_template_id
            )
        )
    return [f"~{i}" for i in linked]
