"""Tasks of cases and of case templates, and task logs (spec §8, §9).

A task belongs to exactly one case or one case template (same table). Case tasks are
visible to the organisations that see the case (subject to the case's task sharing, which
the cases package decides); template tasks to the template's organisation. Case-task writes
need ``manageTask``, template-task writes ``manageCaseTemplate``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from propolis import access
from propolis.attachments import service as attachments
from propolis.attachments.service import store_upload
from propolis.cases.models import Case
from propolis.casetemplates.models import CaseTemplate
from propolis.core import events, moves, validate
from propolis.core.db import now_ms, parse_id
from propolis.core.errors import BadRequest, invalid, missing
from propolis.core.schemas import check
from propolis.core.security import Actor
from propolis.tasks.models import Task, TaskLog
from propolis.tasks.schemas import LogCreate, LogUpdate, TaskCreate, TaskUpdate
from propolis.users.models import Membership, User

ENDED = ("Completed", "Cancel")


# --------------------------------------------------------------------------- visibility


def visible_case_tasks(actor: Actor) -> ColumnElement[bool]:
    """Filter on ``task``: case tasks the caller's organisation may see."""
    return access.visible_task_filter(actor)


def org_template_ids(actor: Actor):  # noqa: ANN201
    return select(CaseTemplate.id).where(CaseTemplate.org_id == actor.org_id)


def visible_tasks(actor: Actor) -> ColumnElement[bool]:
    """Case tasks of visible cases and tasks of the organisation's case templates."""
    return or_(visible_case_tasks(actor), Task.case_template_id.in_(org_template_ids(actor)))


def get_task(session: Session, actor: Actor, ref: str) -> Task:
    task_id = parse_id(ref)
    task = None
    if task_id is not None:
        task = session.scalar(select(Task).where(Task.id == task_id, visible_tasks(actor)))
    if task is None:
        raise missing("Task", ref)
    return task


def _require_write(session: Session, actor: Actor, task: Task) -> None:
    """Template tasks need ``manageCaseTemplate``; case tasks ``manageTask``, also granted by
    the organisation's share of the case (a read-only share cannot change tasks)."""
    if task.case_id is None:
        actor.require("manageCaseTemplate")
        return
    case = session.get(Case, task.case_id)
    access.require_case_permission(session, actor, case, "manageTask")


# --------------------------------------------------------------------------- tasks


def create_task(
    session: Session,
    actor: Actor,
    *,
    case: Any = None,
    case_template: Any = None,
    data: dict[str, Any],
) -> Task:
    if (case is None) == (case_template is None):
        raise ValueError("a task belongs to exactly one case or case template")
    if not isinstance(data, dict):
        raise invalid("tasks", "each task must be an object", data)
    task = Task(
        case_id=case.id if case is not None else None,
        case_template_id=case_template.id if case_template is not None else None,
        status="Waiting",
        group="default",
        flag=False,
        mandatory=False,
        order=0,
        created_by=actor.login,
        created_at=now_ms(),
    )
    _require_write(session, actor, task)
    values = check(TaskCreate, data).known()
    task.title = values.pop("title")
    _apply_fields(session, actor, task, values)
    session.add(task)
    session.flush()
    root = task.case_id if task.case_id is not None else task.case_template_id
    events.record(
        session,
        actor.login,
        actor.org_id,
        "create",
        "Task",
        task.id,
        {"title": task.title},
        root_id=root,
    )
    return task


def update_task(session: Session, actor: Actor, task: Task, data: dict[str, Any]) -> None:
    _require_write(session, actor, task)
    values = check(TaskUpdate, data).known()
    _require_log_to_complete(session, task, values)
    changes = _apply_fields(session, actor, task, values, updating=True)
    if changes:
        task.touch(actor.login)
        events.record(
            session,
            actor.login,
            actor.org_id,
            "update",
            "Task",
            task.id,
            changes,
            root_id=task.case_id or task.case_template_id,
        )


def _require_log_to_complete(session: Session, task: Task, values: dict[str, Any]) -> None:
    """A mandatory case task is the proof that a step was done: it completes only once
    someone has written down (in a log) what was done. Checked before any field is set."""
    completing = values.get("status") == "Completed" and task.status != "Completed"
    mandatory = values["mandatory"] if "mandatory" in values else task.mandatory
    if task.case_id is None or not completing or not mandatory:
        return
    if session.scalar(select(TaskLog.id).where(TaskLog.task_id == task.id).limit(1)) is None:
        raise BadRequest(f'Task "{task.title}" is mandatory: add a log before completing it')


def bulk_update(session: Session, actor: Actor, data: dict[str, Any]) -> list[Task]:
    """``PATCH /task/_bulk``: the same change on every listed task (all or nothing)."""
    refs = validate.id_list(data, "ids")
    tasks = [get_task(session, actor, ref) for ref in refs]
    fields = {k: v for k, v in data.items() if k != "ids"}
    for task in tasks:
        update_task(session, actor, task, fields)
    return tasks


def delete_task(session: Session, actor: Actor, task: Task) -> None:
    """The task's logs (and their attachments) go with it (database cascade)."""
    _require_write(session, actor, task)
    session.delete(task)
    events.record(
        session,
        actor.login,
        actor.org_id,
        "delete",
        "Task",
        task.id,
        {"title": task.title},
        root_id=task.case_id or task.case_template_id,
    )


# What a null (or a field never sent) means for a new task.
DEFAULTS = {"group": "default", "status": "Waiting", "flag": False, "mandatory": False, "order": 0}
# InputTask date fields -> Task columns (every other field has its API name as column name).
DATE_COLUMNS = {"startDate": "start_date", "endDate": "end_date", "dueDate": "due_date"}


def _apply_fields(
    session: Session, actor: Actor, task: Task, values: dict[str, Any], updating: bool = False
) -> dict[str, Any]:
    """Set the ``InputTask`` fields the client sent (checked by the schema; ``null`` puts a
    field's default back); return the changes. Status changes fill in startDate (InProgress)
    and endDate (Completed, Cancel)."""
    for key, default in DEFAULTS.items():
        if key in values and values[key] is None:
            values[key] = default
    if "assignee" in values:
        values["assignee"] = _assignee(session, actor, values["assignee"])
    # The event records what changed under the API's field names.
    changes = {}
    for key, value in values.items():
        column = DATE_COLUMNS.get(key, key)
        if getattr(task, column) != value:
            setattr(task, column, value)
            changes[key] = value
    if task.case_id is not None and ("status" in changes or not updating):
        changes.update(_status_dates(task))
    return changes


def _status_dates(task: Task) -> dict[str, Any]:
    now = now_ms()
    changes: dict[str, Any] = {}
    if task.status in ("InProgress", *ENDED) and task.start_date is None:
        task.start_date = changes["startDate"] = now
    if task.status in ENDED and task.end_date is None:
        task.end_date = changes["endDate"] = now
    return changes


def _assignee(session: Session, actor: Actor, login: Any) -> str | None:
    """``null`` unassigns; otherwise a member of the caller's organisation (else 404)."""
    if login is None:
        return None
    if not isinstance(login, str) or not login:
        raise invalid("assignee", "must be a user login", login)
    user = session.scalar(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(User.login == login.lower(), Membership.org_id == actor.org_id)
    )
    if user is None:
        raise missing("User", login)
    return user.login


def replace_template_tasks(
    session: Session, actor: Actor, case_template: Any, items: Any
) -> list[Task]:
    """A case template's ``tasks`` replace its previous ones."""
    if not isinstance(items, list):
        raise invalid("tasks", "must be a list of tasks", items)
    for old in session.scalars(select(Task).where(Task.case_template_id == case_template.id)):
        session.delete(old)
    return [create_task(session, actor, case_template=case_template, data=item) for item in items]


# --------------------------------------------------------------------------- task logs


def get_log(session: Session, actor: Actor, ref: str) -> TaskLog:
    log_id = parse_id(ref)
    log = None
    if log_id is not None:
        log = session.scalar(
            select(TaskLog)
            .join(Task, Task.id == TaskLog.task_id)
            .where(TaskLog.id == log_id, visible_case_tasks(actor))
        )
    if log is None:
        raise missing("Log", ref)
    return log


def create_log(
    session: Session,
    actor: Actor,
    task: Task,
    data: dict[str, Any],
    files: list[Any] | None = None,
) -> TaskLog:
    """A log entry on a case task. ``files`` are the multipart ``attachments`` parts; the
    ``attachments`` member of the JSON (local paths sent by thehive4py) is ignored."""
    if task.case_id is None:
        raise invalid("task", "logs can only be added to tasks of a case", task.eid)
    _require_write(session, actor, task)
    now = now_ms()
    values = check(LogCreate, data)
    log = TaskLog(
        task_id=task.id,
        message=values.message,
        date=values.startDate or now,
        include_in_timeline=values.includeInTimeline,
        owner=actor.login,
        created_by=actor.login,
        created_at=now,
    )
    session.add(log)
    session.flush()
    names = _store_attachments(session, actor, log, files or [])
    events.record(
        session,
        actor.login,
        actor.org_id,
        "create",
        "Log",
        log.id,
        {"task": task.eid, "attachments": names},
        root_id=task.case_id,
    )
    return log


def update_log(session: Session, actor: Actor, log: TaskLog, data: dict[str, Any]) -> None:
    _require_log_write(session, actor, log)
    values = check(LogUpdate, data).known()
    changes: dict[str, Any] = {}
    if "message" in values and values["message"] != log.message:
        log.message = changes["message"] = values["message"]
    if "includeInTimeline" in values and values["includeInTimeline"] != log.include_in_timeline:
        log.include_in_timeline = changes["includeInTimeline"] = values["includeInTimeline"]
    if changes:
        log.touch(actor.login)
        _record_log_update(session, actor, log, changes)


def delete_log(session: Session, actor: Actor, log: TaskLog) -> None:
    _require_log_write(session, actor, log)
    case_id = _case_of(session, log)
    session.delete(log)
    events.record(session, actor.login, actor.org_id, "delete", "Log", log.id, {}, root_id=case_id)


def add_log_attachments(session: Session, actor: Actor, log: TaskLog, files: list[Any]) -> list:
    _require_log_write(session, actor, log)
    if not files:
        raise invalid("attachments", "at least one file part named attachments is needed")
    # Each file's own event (an Attachment of the log's case) records the change, as for
    # case and alert attachments: one event per file, none for the log itself.
    names = _store_attachments(session, actor, log, files)
    log.touch(actor.login)
    return names


def delete_log_attachment(session: Session, actor: Actor, log: TaskLog, ref: str) -> None:
    """The attachments package removes it and records the event; the log shows the update."""
    _require_log_write(session, actor, log)
    attachments.delete_attachment(session, actor, get_log_attachment(session, log, ref))
    log.touch(actor.login)


def get_log_attachment(session: Session, log: TaskLog, ref: str) -> Any:
    """An attachment of the log, by ``~id`` (or storage id); 404 for any other."""
    return attachments.get_in_container(session, ref, log_id=log.id)


def _require_log_write(session: Session, actor: Actor, log: TaskLog) -> Task:
    task = session.get(Task, log.task_id)
    _require_write(session, actor, task)
    return task


def _store_attachments(session: Session, actor: Actor, log: TaskLog, files: list[Any]) -> list[str]:
    if not files:
        return []
    stored = [store_upload(session, actor, upload, log_id=log.id) for upload in files]
    return [attachment.name for attachment in stored]


def _record_log_update(
    session: Session, actor: Actor, log: TaskLog, changes: dict[str, Any]
) -> None:
    events.record(
        session,
        actor.login,
        actor.org_id,
        "update",
        "Log",
        log.id,
        changes,
        root_id=_case_of(session, log),
    )


def _case_of(session: Session, log: TaskLog) -> int | None:
    return session.scalar(select(Task.case_id).where(Task.id == log.task_id))


def move_to_case(session: Session, actor: Actor, source_ids: list[int], target: Any) -> list[Task]:
    """The tasks of merged cases now belong to the merged case ``target``."""
    return moves.move_to_case(session, actor, Task, "Task", source_ids, target)
