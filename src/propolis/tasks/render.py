"""The one rendering of tasks (``OutputTask``) and task logs (``OutputTaskLog``), batched: a
list costs a fixed number of queries whatever its length."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from propolis.attachments.render import render_attachments
from propolis.attachments.service import for_logs
from propolis.cases.models import Case, Share, SharedTask
from propolis.cases.render import render_cases
from propolis.core.render import eid, meta, put
from propolis.core.security import Actor
from propolis.orgs.models import Organisation
from propolis.tasks.models import Task, TaskLog


def render_tasks(
    session: Session, actor: Actor, tasks: list[Task], extra: list[str] | None = None
) -> list[dict[str, Any]]:
    out = [_task(task) for task in tasks]
    for name in extra or []:
        builder = _TASK_EXTRA.get(name)
        if builder is None or not tasks:
            continue
        values = builder(session, actor, tasks)
        for item, value in zip(out, values, strict=True):
            item["extraData"][name] = value
    return out


def render_task(session: Session, actor: Actor, task: Task) -> dict[str, Any]:
    return render_tasks(session, actor, [task])[0]


def _task(task: Task) -> dict[str, Any]:
    out = meta(task, "Task")
    out["title"] = task.title
    out["group"] = task.group
    put(out, "description", task.description)
    out["status"] = task.status
    out["flag"] = task.flag
    put(out, "startDate", task.start_date)
    put(out, "endDate", task.end_date)
    put(out, "assignee", task.assignee)
    out["order"] = task.order
    put(out, "dueDate", task.due_date)
    out["mandatory"] = task.mandatory
    out["extraData"] = {}
    return out


# --------------------------------------------------------------------------- task extraData


def _case_ids(session: Session, actor: Actor, tasks: list[Task]) -> list[Any]:
    return [eid(task.case_id) for task in tasks]


def _template_ids(session: Session, actor: Actor, tasks: list[Task]) -> list[Any]:
    return [eid(task.case_template_id) for task in tasks]


def _cases(session: Session, actor: Actor, tasks: list[Task]) -> list[Any]:
    ids = {task.case_id for task in tasks if task.case_id is not None}
    cases = list(session.scalars(select(Case).where(Case.id.in_(ids)))) if ids else []
    rendered = dict(
        zip([c.id for c in cases], render_cases(session, actor, cases, []), strict=True)
    )
    return [rendered.get(task.case_id) for task in tasks]


def _owner_orgs(session: Session, tasks: list[Task]) -> dict[int, int]:
    ids = {task.case_id for task in tasks if task.case_id is not None}
    if not ids:
        return {}
    return dict(session.execute(select(Case.id, Case.org_id).where(Case.id.in_(ids))).all())


def _is_owner(session: Session, actor: Actor, tasks: list[Task]) -> list[bool]:
    owners = _owner_orgs(session, tasks)
    return [task.case_id is None or owners.get(task.case_id) == actor.org_id for task in tasks]


def _shares(session: Session, tasks: list[Task]) -> dict[int, list[tuple[str, int, bool]]]:
    """Per task: (organisation name, organisation id, action required) of its non-owner shares."""
    out: dict[int, list[tuple[str, int, bool]]] = {task.id: [] for task in tasks}
    rows = session.execute(
        select(SharedTask.task_id, Organisation.name, Organisation.id, SharedTask.action_required)
        .join(Share, Share.id == SharedTask.share_id)
        .join(Organisation, Organisation.id == Share.org_id)
        .where(SharedTask.task_id.in_(list(out)), Share.owner.is_(False))
        .order_by(Organisation.name)
    )
    for task_id, name, org_id, required in rows:
        out[task_id].append((name, org_id, bool(required)))
    return out


def _share_count(session: Session, actor: Actor, tasks: list[Task]) -> list[int]:
    shares = _shares(session, tasks)
    return [len(shares[task.id]) for task in tasks]


def _action_required(session: Session, actor: Actor, tasks: list[Task]) -> list[bool]:
    shares = _shares(session, tasks)
    return [
        any(required for _n, org_id, required in shares[task.id] if org_id == actor.org_id)
        for task in tasks
    ]


def _action_required_map(session: Session, actor: Actor, tasks: list[Task]) -> list[dict]:
    shares = _shares(session, tasks)
    return [{name: required for name, _id, required in shares[task.id]} for task in tasks]


def _log_counts(session: Session, actor: Actor, tasks: list[Task]) -> list[int]:
    """Propolis extension (the task lists show it): how many logs each task has."""
    counts = dict(
        session.execute(
            select(TaskLog.task_id, func.count(TaskLog.id))
            .where(TaskLog.task_id.in_([task.id for task in tasks]))
            .group_by(TaskLog.task_id)
        ).all()
    )
    return [counts.get(task.id, 0) for task in tasks]


TaskExtra = Callable[[Session, Actor, list[Task]], list[Any]]
_TASK_EXTRA: dict[str, TaskExtra] = {
    "caseId": _case_ids,
    "caseTemplateId": _template_ids,
    "case": _cases,
    "isOwner": _is_owner,
    "shareCount": _share_count,
    "actionRequired": _action_required,
    "actionRequiredMap": _action_required_map,
    "logCount": _log_counts,
}


# --------------------------------------------------------------------------- task logs


def render_logs(
    session: Session, actor: Actor, logs: list[TaskLog], extra: list[str] | None = None
) -> list[dict[str, Any]]:
    attachments = _log_attachments(session, [log.id for log in logs])
    out = [_log(log, attachments[log.id]) for log in logs]
    extra = extra or []
    if logs and any(name in extra for name in ("taskId", "task", "case")):
        _log_extra(session, actor, logs, out, extra)
    return out


def render_log(session: Session, actor: Actor, log: TaskLog) -> dict[str, Any]:
    return render_logs(session, actor, [log])[0]


def _log(log: TaskLog, attachments: list[dict[str, Any]]) -> dict[str, Any]:
    out = meta(log, "Log")
    out["message"] = log.message
    out["date"] = log.date
    out["attachments"] = attachments
    out["owner"] = log.owner
    put(out, "includeInTimeline", log.include_in_timeline)
    out["extraData"] = {}
    return out


def _log_attachments(session: Session, log_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    return {log_id: render_attachments(rows) for log_id, rows in for_logs(session, log_ids).items()}


def _log_extra(
    session: Session, actor: Actor, logs: list[TaskLog], out: list[dict], extra: list[str]
) -> None:
    tasks = {
        t.id: t
        for t in session.scalars(select(Task).where(Task.id.in_({log.task_id for log in logs})))
    }
    ordered = [tasks[log.task_id] for log in logs]
    if "taskId" in extra:
        for item, log in zip(out, logs, strict=True):
            item["extraData"]["taskId"] = eid(log.task_id)
    if "task" in extra:
        for item, rendered in zip(out, render_tasks(session, actor, ordered), strict=True):
            item["extraData"]["task"] = rendered
    if "case" in extra:
        for item, rendered in zip(out, _cases(session, actor, ordered), strict=True):
            item["extraData"]["case"] = rendered


def register_extra(name: str, builder: TaskExtra) -> None:
    """An extraData entry rendered by another domain (``caseTemplate``: the case templates
    render their tasks, so they register how a task shows its template)."""
    _TASK_EXTRA[name] = builder
