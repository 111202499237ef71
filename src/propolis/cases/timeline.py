"""The case timeline (spec §15.2) and its custom events (§15.3).

The timeline is computed from the stored dates of the case and of what it contains (no
separate history to keep in sync): case created/closed, linked alerts' dates, tasks
started/completed, task logs flagged for the timeline, sighted observables, procedures and
custom events, sorted by date.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from propolis import access
from propolis.alerts.models import Alert
from propolis.cases import service
from propolis.cases.models import Case, CustomEvent
from propolis.cases.schemas import CustomEventCreate, CustomEventUpdate
from propolis.core import events
from propolis.core.db import now_ms, parse_id
from propolis.core.errors import invalid, missing
from propolis.core.schemas import check
from propolis.core.security import Actor
from propolis.observables.models import Observable
from propolis.procedures.models import Procedure
from propolis.tasks.models import Task, TaskLog

PERMISSION = "manageCustomEvent"


def _event(
    date: int, kind: str, entity: str, entity_id: int, details: dict[str, Any], end: Any = None
) -> dict[str, Any]:
    out = {
        "date": date,
        "kind": kind,
        "entity": entity,
        "entityId": f"~{entity_id}",
        "details": {k: v for k, v in details.items() if v is not None},
    }
    if end is not None:
        out["endDate"] = end
    return out


def timeline(session: Session, actor: Actor, case: Case) -> dict[str, list[dict[str, Any]]]:
    found = _case_events(case)
    for source in (_alert_events, _task_events, _log_events, _observable_events):
        found.extend(source(session, actor, case))
    found.extend(_procedure_events(session, case))
    found.extend(_custom_events(session, case))
    found.sort(key=lambda e: (e["date"], e["entityId"], e["kind"]))
    return {"events": found}


def _case_events(case: Case) -> list[dict[str, Any]]:
    out = [
        _event(
            case.start_date,
            "CaseCreated",
            "Case",
            case.id,
            {"title": case.title, "number": case.number},
        )
    ]
    if case.closed_date is not None:
        out.append(
            _event(
                case.closed_date,
                "CaseClosed",
                "Case",
                case.id,
                {"status": case.status, "impactStatus": case.impact_status},
            )
        )
    return out


def _alert_events(session: Session, actor: Actor, case: Case) -> list[dict[str, Any]]:
    alerts = session.scalars(
        select(Alert).where(Alert.case_id == case.id, Alert.org_id == actor.org_id)
    )
    return [
        _event(
            a.date,
            "AlertRaised",
            "Alert",
            a.id,
            {"title": a.title, "type": a.type, "source": a.source, "sourceRef": a.source_ref},
        )
        for a in alerts
    ]


def _task_events(session: Session, actor: Actor, case: Case) -> list[dict[str, Any]]:
    out = []
    tasks = session.scalars(
        select(Task).where(Task.case_id == case.id, access.visible_task_filter(actor))
    )
    for task in tasks:
        details = {"title": task.title, "group": task.group}
        if task.start_date is not None:
            out.append(_event(task.start_date, "TaskStarted", "Task", task.id, details))
        if task.end_date is not None and task.status == "Completed":
            out.append(_event(task.end_date, "TaskCompleted", "Task", task.id, details))
    return out


def _log_events(session: Session, actor: Actor, case: Case) -> list[dict[str, Any]]:
    rows = session.execute(
        select(TaskLog, Task.title)
        .join(Task, Task.id == TaskLog.task_id)
        .where(
            Task.case_id == case.id,
            TaskLog.include_in_timeline.isnot(None),
            access.visible_task_filter(actor),
        )
    )
    return [
        _event(
            log.include_in_timeline,
            "TaskLog",
            "Log",
            log.id,
            {"message": log.message, "taskId": f"~{log.task_id}", "taskTitle": title},
        )
        for log, title in rows
    ]


def _observable_events(session: Session, actor: Actor, case: Case) -> list[dict[str, Any]]:
    observables = session.scalars(
        select(Observable).where(
            Observable.case_id == case.id,
            Observable.sighted_at.isnot(None),
            access.visible_observable_filter(actor),
        )
    )
    return [
        _event(
            o.sighted_at,
            "ObservableSighted",
            "Observable",
            o.id,
            {"dataType": o.data_type, "data": o.data, "ioc": o.ioc},
        )
        for o in observables
    ]


def _procedure_events(session: Session, case: Case) -> list[dict[str, Any]]:
    procedures = session.scalars(select(Procedure).where(Procedure.case_id == case.id))
    return [
        _event(
            p.occur_date,
            "Procedure",
            "Procedure",
            p.id,
            {"patternId": p.pattern_id, "tactic": p.tactic, "description": p.description},
        )
        for p in procedures
    ]


def _custom_events(session: Session, case: Case) -> list[dict[str, Any]]:
    rows = session.scalars(select(CustomEvent).where(CustomEvent.case_id == case.id))
    return [
        _event(
            e.date,
            "CustomEvent",
            "CustomEvent",
            e.id,
            {"title": e.title, "description": e.description},
            e.end_date,
        )
        for e in rows
    ]


# --------------------------------------------------------------------------- custom events


API_NAMES = {"end_date": "endDate"}


def _values(data: dict[str, Any], creating: bool) -> dict[str, Any]:
    """The custom event's fields the client sent, checked by the schema, by column."""
    values = check(CustomEventCreate if creating else CustomEventUpdate, data).known()
    if "endDate" in values:
        values["end_date"] = values.pop("endDate")
    return values


def _check_dates(event: CustomEvent) -> None:
    if event.end_date is not None and event.end_date < event.date:
        raise invalid("endDate", "must not be before date", event.end_date)


def create_custom_event(
    session: Session, actor: Actor, case: Case, data: dict[str, Any]
) -> CustomEvent:
    service.require_case_permission(session, actor, case, PERMISSION)
    event = CustomEvent(
        case_id=case.id, created_by=actor.login, created_at=now_ms(), **_values(data, True)
    )
    _check_dates(event)
    session.add(event)
    session.flush()
    events.record(
        session,
        actor.login,
        actor.org_id,
        "create",
        "CustomEvent",
        event.id,
        {"title": event.title, "date": event.date},
        root_id=case.id,
    )
    return event


def get_custom_event(session: Session, actor: Actor, ref: str) -> tuple[CustomEvent, Case]:
    event_id = parse_id(ref)
    row = None
    if event_id is not None:
        row = session.execute(
            select(CustomEvent, Case)
            .join(Case, Case.id == CustomEvent.case_id)
            .where(CustomEvent.id == event_id, access.case_visible(actor, Case.id))
        ).first()
    if row is None:
        raise missing("CustomEvent", ref)
    return row[0], row[1]


def update_custom_event(session: Session, actor: Actor, ref: str, data: dict[str, Any]) -> None:
    event, case = get_custom_event(session, actor, ref)
    service.require_case_permission(session, actor, case, PERMISSION)
    values = _values(data, False)
    # Recorded under the API's field names ("endDate"), set on the columns ("end_date").
    changed = {API_NAMES.get(k, k): v for k, v in values.items() if getattr(event, k) != v}
    if not changed:
        return
    for key, value in values.items():
        setattr(event, key, value)
    _check_dates(event)
    event.touch(actor.login)
    events.record(
        session,
        actor.login,
        actor.org_id,
        "update",
        "CustomEvent",
        event.id,
        changed,
        root_id=case.id,
    )


def delete_custom_event(session: Session, actor: Actor, ref: str) -> None:
    event, case = get_custom_event(session, actor, ref)
    service.require_case_permission(session, actor, case, PERMISSION)
    events.record(
        session,
        actor.login,
        actor.org_id,
        "delete",
        "CustomEvent",
        event.id,
        {"title": event.title},
        root_id=case.id,
    )
    session.delete(event)
    session.flush()
