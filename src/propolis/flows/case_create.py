"""A new case as TheHive's ``POST /case`` makes it (spec §5.3): the case row from the
cases service, then what the case template brings (tasks, custom fields, pages), then what
the input brings (tasks, custom fields overriding the template's, pages), then the shares.
Also applying a template to existing cases afterwards (spec §5.12)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from propolis import access
from propolis.cases import service as cases
from propolis.cases import shares
from propolis.cases.models import Case
from propolis.casetemplates import service as casetemplates
from propolis.core import validate
from propolis.core.errors import invalid
from propolis.core.security import Actor
from propolis.fields import metrics
from propolis.fields import service as fields
from propolis.pages import service as pages
from propolis.tasks import service as tasks


def create_case(session: Session, actor: Actor, data: dict[str, Any], *, alert: Any = None) -> Case:
    """Create a case in the caller's organisation with the case template's defaults, tasks,
    custom fields and pages, and its initial shares. ``alert`` (when the case is promoted
    from an alert) fills the alert metric dates."""
    cases.require_create(actor)
    task_items = cases.list_of_objects(data, "tasks")
    page_items = cases.list_of_objects(data, "pages")
    sharing = cases.list_of_objects(data, "sharingParameters")
    template = _template_for(session, actor, data)
    case = cases.create_case(session, actor, data, template=template, alert=alert)
    if template is not None:
        _fill_from_template(session, actor, case, template)
    for item in task_items:
        tasks.create_task(session, actor, case=case, data=item)
    if data.get("customFields") is not None:
        # Template values were copied first; input values override them.
        fields.set_custom_fields(
            session, actor, case_id=case.id, value=data["customFields"], replace=False
        )
    if data.get("metrics") is not None:
        # Likewise: the template's metric defaults were copied first, the input's win.
        metrics.set_metrics(session, case_id=case.id, value=data["metrics"], replace=False)
    for item in page_items:
        pages.create_page(session, actor, case, item)
    if sharing:
        shares.share_case(session, actor, case, sharing)
    cases.auto_share(session, actor, case)
    return case


def _template_for(session: Session, actor: Actor, data: dict[str, Any]) -> Any:
    ref = validate.string(data, "caseTemplate")
    if not ref:
        return None
    return casetemplates.get_template(session, actor, ref)


def _fill_from_template(session: Session, actor: Actor, case: Case, template: Any) -> None:
    for task in casetemplates.template_tasks(session, template):
        tasks.create_task(session, actor, case=case, data=task_input(task))
    fields.copy_values(session, actor, "case_template", template.id, "case", case.id)
    metrics.copy_metrics(session, template.id, case.id)
    for page_template in casetemplates.template_page_templates(session, template):
        pages.create_page(session, actor, case, page_input(page_template))


def task_input(task: Any) -> dict[str, Any]:
    """A template task as the InputTask that recreates it in a case."""
    data = {
        "title": task.title,
        "group": task.group,
        "description": task.description,
        "flag": task.flag,
        "order": task.order,
        "mandatory": task.mandatory,
        "assignee": task.assignee,
        "dueDate": task.due_date,
    }
    return {k: v for k, v in data.items() if v is not None}


def page_input(page: Any) -> dict[str, Any]:
    return {
        "title": page.title,
        "content": page.content,
        "category": page.category,
        "order": page.order,
    }


# --------------------------------------------------------------------------- apply a template

TEMPLATE_FLAGS = (
    "updateTitlePrefix",
    "updateDescription",
    "updateTags",
    "updateSeverity",
    "updateFlag",
    "updateTlp",
    "updatePap",
    "updateCustomFields",
)


def apply_case_template(session: Session, actor: Actor, data: dict[str, Any]) -> None:
    """Apply a template to existing cases; each ``update*`` flag copies one aspect."""
    ids = validate.id_list(data, "ids")
    template = casetemplates.get_template(session, actor, validate.nonempty(data, "caseTemplate"))
    flags = {name: bool(validate.boolean(data, name, False)) for name in TEMPLATE_FLAGS}
    import_tasks = _names(data, "importTasks")
    import_pages = _names(data, "importPages")
    for ref in ids:
        case = access.get_case(session, actor, ref)
        access.require_case_permission(session, actor, case, "manageCase/update")
        _apply_template(session, actor, case, template, flags, import_tasks, import_pages)


def _names(data: dict[str, Any], name: str) -> list[str]:
    value = data.get(name) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise invalid(name, "must be a list of names or ids", value)
    return value


def _apply_template(
    session: Session,
    actor: Actor,
    case: Case,
    template: Any,
    flags: dict[str, bool],
    import_tasks: list[str],
    import_pages: list[str],
) -> None:
    if flags["updateCustomFields"]:
        fields.copy_values(session, actor, "case_template", template.id, "case", case.id)
    for task in casetemplates.template_tasks(session, template) if import_tasks else []:
        if task.title in import_tasks or task.eid in import_tasks:
            tasks.create_task(session, actor, case=case, data=task_input(task))
    for page in casetemplates.template_page_templates(session, template) if import_pages else []:
        if page.title in import_pages or page.eid in import_pages:
            pages.create_page(session, actor, case, page_input(page))
    cases.apply_template(session, actor, case, template, flags)
