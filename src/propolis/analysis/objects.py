"""The object a responder receives as ``data`` (cortex.md §4.2, open question 1).

Responders published for Cortex read TheHive 4 ("v0") keys (``id``, ``caseId``, ``owner``,
``customFields.<name>.<type>``, the parent under ``case``...) and some TheHive 5 keys
(``number``, ``stage``, ``extendedStatus``, ``customFieldValues``...). We send the TheHive 5
rendering of the object (the same one the API returns) plus the v0 keys: a superset.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from propolis.alerts.models import Alert
from propolis.alerts.render import render_alerts
from propolis.cases.models import Case
from propolis.cases.render import render_cases
from propolis.core.security import Actor
from propolis.observables.models import Observable
from propolis.observables.render import render_observables
from propolis.tasks.models import Task, TaskLog
from propolis.tasks.render import render_logs, render_tasks

# What a responder action's ``objectType`` names.
MODELS: dict[str, type] = {
    "case": Case,
    "alert": Alert,
    "case_artifact": Observable,
    "case_task": Task,
    "case_task_log": TaskLog,
}


def responder_data(session: Session, actor: Actor, action: Any) -> dict[str, Any]:
    kind = action.object_type
    if kind == "case":
        return case_data(session, actor, session.get(Case, action.object_id))
    if kind == "alert":
        return alert_data(session, actor, session.get(Alert, action.object_id))
    if kind == "case_artifact":
        return observable_data(session, actor, session.get(Observable, action.object_id))
    if kind == "case_task":
        return task_data(session, actor, session.get(Task, action.object_id))
    return log_data(session, actor, session.get(TaskLog, action.object_id))


def _v0_meta(out: dict[str, Any], type_name: str) -> dict[str, Any]:
    out["id"] = out["_id"]
    out["_type"] = type_name
    out["createdBy"] = out.get("_createdBy")
    out["createdAt"] = out.get("_createdAt")
    out["updatedBy"] = out.get("_updatedBy")
    out["updatedAt"] = out.get("_updatedAt")
    return out


def _v0_custom_fields(values: list[dict[str, Any]] | None) -> tuple[dict, dict]:
    """TheHive 4's ``{name: {type: value, order: n}}`` and TheHive 5's ``{name: value}``."""
    v0: dict[str, Any] = {}
    v5: dict[str, Any] = {}
    for field in values or []:
        name = field.get("name")
        if not name:
            continue
        v0[name] = {field.get("type", "string"): field.get("value"), "order": field.get("order")}
        v5[name] = field.get("value")
    return v0, v5


def case_data(session: Session, actor: Actor, case: Any) -> dict[str, Any]:
    out = dict(render_cases(session, actor, [case], [])[0])
    _v0_meta(out, "case")
    v0, v5 = _v0_custom_fields(out.get("customFields"))
    out.update(
        caseId=case.number,
        owner=case.assignee,
        resolutionStatus=case.status if case.stage == "Closed" else None,
        extendedStatus=case.status,
        customFieldValues=v5,
        customFields=v0,
    )
    out.setdefault("number", case.number)
    out.setdefault("stage", case.stage)
    out["observables"] = _case_observables(session, actor, case)
    return out


MAX_OBSERVABLES = 500  # a responder gets the case's observables, within reason


def _case_observables(session: Session, actor: Actor, case: Any) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(Observable)
        .where(Observable.case_id == case.id)
        .order_by(Observable.created_at)
        .limit(MAX_OBSERVABLES)
    ).all()
    return render_observables(session, actor, list(rows), [])


def alert_data(session: Session, actor: Actor, alert: Any) -> dict[str, Any]:
    out = dict(render_alerts(session, actor, [alert], [])[0])
    _v0_meta(out, "alert")
    v0, v5 = _v0_custom_fields(out.get("customFields"))
    observables = session.scalars(
        select(Observable).where(Observable.alert_id == alert.id).limit(MAX_OBSERVABLES)
    ).all()
    out.update(
        customFieldValues=v5,
        customFields=v0,
        artifacts=_observables_v0(session, actor, list(observables)),
        case=None if alert.case_id is None else f"~{alert.case_id}",
        extendedStatus=alert.status,
    )
    return out


def _observables_v0(session: Session, actor: Actor, observables: list) -> list[dict[str, Any]]:
    rendered = render_observables(session, actor, observables, []) if observables else []
    return [_v0_meta(dict(item), "case_artifact") for item in rendered]


def _observable_v0(session: Session, actor: Actor, observable: Any) -> dict[str, Any]:
    return _observables_v0(session, actor, [observable])[0]


def observable_data(session: Session, actor: Actor, observable: Any) -> dict[str, Any]:
    out = _observable_v0(session, actor, observable)
    if observable.case_id is not None:
        out["case"] = case_data(session, actor, session.get(Case, observable.case_id))
        out["_parent"] = out["case"]["_id"]
    elif observable.alert_id is not None:
        out["alert"] = alert_data(session, actor, session.get(Alert, observable.alert_id))
        out["_parent"] = out["alert"]["_id"]
    return out


def task_data(session: Session, actor: Actor, task: Any) -> dict[str, Any]:
    out = dict(render_tasks(session, actor, [task], [])[0])
    _v0_meta(out, "case_task")
    out["owner"] = task.assignee
    if task.case_id is not None:
        out["case"] = case_data(session, actor, session.get(Case, task.case_id))
        out["_parent"] = out["case"]["_id"]
    return out


def log_data(session: Session, actor: Actor, log: Any) -> dict[str, Any]:
    out = dict(render_logs(session, actor, [log], [])[0])
    _v0_meta(out, "case_task_log")
    out.update(owner=log.owner, startDate=log.date, status="Ok")
    out["case_task"] = task_data(session, actor, session.get(Task, log.task_id))
    out["_parent"] = out["case_task"]["_id"]
    return out
