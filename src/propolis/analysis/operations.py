"""Operations returned by analyzers and responders (cortex.md §3.4), applied back to the
platform through the domain services, each one with its own outcome.

An operation that cannot apply (unknown type, no related case, bad field) is recorded as
``Failure`` with a message; the others still apply. Each runs in a savepoint so a failed one
leaves nothing half-done.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from propolis import access
from propolis.alerts.models import Alert
from propolis.alerts.service import mark_read, update_alert
from propolis.cases.models import Case
from propolis.cases.service import update_case
from propolis.core.errors import PropolisError
from propolis.core.security import Actor
from propolis.observables.models import Observable
from propolis.observables.service import create_observables, update_observable
from propolis.tasks.models import Task, TaskLog
from propolis.tasks.service import create_log, update_task
from propolis.tasks.service import create_task as create


class OperationError(Exception):
    pass


@dataclass
class Context:
    """What an operation can act on: the job's object and what it relates to."""

    session: Session
    actor: Actor
    observable: Any = None
    case: Any = None
    task: Any = None
    log: Any = None
    alert: Any = None


def apply_all(
    session: Session, actor: Actor, kind: str, item: Any, operations: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Apply every operation; return them with ``status`` and ``message`` added."""
    context = _context(session, actor, kind, item)
    results = []
    for operation in operations:
        result = dict(operation)
        handler = HANDLERS.get(str(operation.get("type")))
        try:
            if handler is None:
                raise OperationError(f"Unknown operation type {operation.get('type')!r}")
            with session.begin_nested():
                handler(context, operation)
            result.update(status="Success", message="Success")
        except (OperationError, PropolisError, ValueError) as exc:
            result.update(status="Failure", message=getattr(exc, "message", None) or str(exc))
        results.append(result)
    return results


def _context(session: Session, actor: Actor, kind: str, item: Any) -> Context:
    context = Context(session, actor)
    if kind == "job":
        context.observable = session.get(Observable, item.observable_id)
    else:
        getter = {
            "case": Case,
            "alert": Alert,
            "case_artifact": Observable,
            "case_task": Task,
            "case_task_log": TaskLog,
        }[item.object_type]
        found = session.get(getter, item.object_id)
        attribute = {
            "case": "case",
            "alert": "alert",
            "case_artifact": "observable",
            "case_task": "task",
            "case_task_log": "log",
        }[item.object_type]
        setattr(context, attribute, found)
    # Related objects: a log's task, a task's case, an observable's case or alert.
    if context.log is not None:
        context.task = session.get(Task, context.log.task_id)
    if context.task is not None and context.task.case_id is not None:
        context.case = session.get(Case, context.task.case_id)
    if context.observable is not None:
        if context.observable.case_id is not None:
            context.case = session.get(Case, context.observable.case_id)
        elif context.observable.alert_id is not None:
            context.alert = session.get(Alert, context.observable.alert_id)
    return context


def _need(ctx: Context, what: str) -> Any:
    """The related object an operation acts on, which the job's user must still see; each
    service then checks the permission the operation needs, as for its route."""
    value = getattr(ctx, what)
    if value is None:
        raise OperationError(f"No related {what}")
    access.require_visible(ctx.session, ctx.actor, value)
    return value


def _string(operation: dict[str, Any], name: str, required: bool = True) -> str | None:
    value = operation.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise OperationError(f"Field {name} must be a non-empty string")
    return value


# --------------------------------------------------------------------------- the operations


def add_tag_to_case(ctx: Context, op: dict[str, Any]) -> None:
    update_case(ctx.session, ctx.actor, _need(ctx, "case"), {"addTags": [_string(op, "tag")]})


def add_tag_to_artifact(ctx: Context, op: dict[str, Any]) -> None:
    observable = _need(ctx, "observable")
    update_observable(ctx.session, ctx.actor, observable, {"addTags": [_string(op, "tag")]})


def add_tag_to_alert(ctx: Context, op: dict[str, Any]) -> None:
    update_alert(ctx.session, ctx.actor, _need(ctx, "alert"), {"addTags": [_string(op, "tag")]})


def create_task(ctx: Context, op: dict[str, Any]) -> None:
    data = {"title": _string(op, "title")}
    description = _string(op, "description", required=False)
    if description is not None:
        data["description"] = description
    create(ctx.session, ctx.actor, case=_need(ctx, "case"), data=data)


def add_custom_fields(ctx: Context, op: dict[str, Any]) -> None:
    """Sets the value of an existing custom field on the case (TheHive 4 too needs the field
    defined; ``tpe`` only repeats its type)."""
    case = _need(ctx, "case")
    name = _string(op, "name")
    update_case(ctx.session, ctx.actor, case, {f"customFields.{name}": op.get("value")})


def close_task(ctx: Context, op: dict[str, Any]) -> None:
    update_task(ctx.session, ctx.actor, _need(ctx, "task"), {"status": "Completed"})


def mark_alert_as_read(ctx: Context, op: dict[str, Any]) -> None:
    mark_read(ctx.session, ctx.actor, _need(ctx, "alert"), True)


def add_log_to_task(ctx: Context, op: dict[str, Any]) -> None:
    create_log(ctx.session, ctx.actor, _need(ctx, "task"), {"message": _string(op, "content")})


def add_artifact_to_case(ctx: Context, op: dict[str, Any]) -> None:
    data: dict[str, Any] = {
        "dataType": _string(op, "dataType"),
        "data": _string(op, "data"),
        "message": _string(op, "message"),
    }
    for key in ("tlp", "ioc", "sighted", "ignoreSimilarity", "tags"):
        if op.get(key) is not None:
            data[key] = op[key]
    create_observables(ctx.session, ctx.actor, case=_need(ctx, "case"), data=data)


def assign_case(ctx: Context, op: dict[str, Any]) -> None:
    case = _need(ctx, "case")
    update_case(ctx.session, ctx.actor, case, {"assignee": _string(op, "owner")})


HANDLERS: dict[str, Callable[[Context, dict[str, Any]], None]] = {
    "AddTagToCase": add_tag_to_case,
    "AddTagToArtifact": add_tag_to_artifact,
    "AddTagToAlert": add_tag_to_alert,
    "CreateTask": create_task,
    "AddCustomFields": add_custom_fields,
    "CloseTask": close_task,
    "MarkAlertAsRead": mark_alert_as_read,
    "AddLogToTask": add_log_to_task,
    "AddArtifactToCase": add_artifact_to_case,
    "AssignCase": assign_case,
}
