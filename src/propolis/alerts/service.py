"""Alerts (spec §4): incoming signals owned by one organisation, triaged, then promoted to a
new case, merged or imported into an existing one (:mod:`propolis.flows.alert_case`), or
closed.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from propolis import access
from propolis.alerts.models import Alert
from propolis.alerts.schemas import AlertCreate, AlertUpdate
from propolis.cases.models import StatusValue
from propolis.core import events, moves, validate
from propolis.core.db import HotInsert, allocate_ids, now_ms, parse_id
from propolis.core.errors import BadRequest, CreateError, invalid, missing
from propolis.core.schemas import check
from propolis.core.security import Actor
from propolis.fields.service import apply_update, insert_values, parse_values
from propolis.observables.service import (
    NewObservable,
    insert_new_alert_observables,
    new_alert_observables,
    similar_in,
)
from propolis.procedures.service import create_procedures
from propolis.users.models import Membership, User

CREATE, UPDATE, DELETE, IMPORT, REOPEN = (
    "manageAlert/create",
    "manageAlert/update",
    "manageAlert/delete",
    "manageAlert/import",
    "manageAlert/reopen",
)

# --------------------------------------------------------------------------- visibility


def visible_alerts(actor: Actor):  # noqa: ANN201
    return select(Alert).where(Alert.org_id == actor.org_id)


def find_alert(session: Session, actor: Actor, ref: str) -> Alert | None:
    """By ``~id`` or by the name form ``type;source;sourceRef``, in the caller's organisation."""
    alert_id = parse_id(ref)
    stmt = visible_alerts(actor)
    if alert_id is not None:
        return session.scalar(stmt.where(Alert.id == alert_id))
    parts = ref.split(";", 2)
    if len(parts) != 3:
        return None
    type_, source, source_ref = parts
    return session.scalar(
        stmt.where(Alert.type == type_, Alert.source == source, Alert.source_ref == source_ref)
    )


def get_alert(session: Session, actor: Actor, ref: str) -> Alert:
    alert = find_alert(session, actor, ref)
    if alert is None:
        raise missing("Alert", ref)
    return alert


def get_alerts(session: Session, actor: Actor, refs: list[str]) -> list[Alert]:
    """All the listed alerts (once each), or 404 naming the first one that is not visible."""
    refs = list(dict.fromkeys(refs))
    ids = [parse_id(ref) for ref in refs]
    wanted = [i for i in ids if i is not None]
    found = {a.id: a for a in session.scalars(visible_alerts(actor).where(Alert.id.in_(wanted)))}
    out = []
    for ref, alert_id in zip(refs, ids, strict=True):
        alert = found.get(alert_id) if alert_id is not None else find_alert(session, actor, ref)
        if alert is None:
            raise missing("Alert", ref)
        if alert not in out:
            out.append(alert)
    return out


def alert_statuses(session: Session) -> list[tuple[str, str, str | None]]:
    """The configured alert statuses as (value, stage, colour), in their configured order."""
    rows = session.execute(
        select(StatusValue.value, StatusValue.stage, StatusValue.color)
        .where(StatusValue.kind == "alert")
        .order_by(StatusValue.position, StatusValue.id)
    )
    return [(value, stage, color) for value, stage, color in rows]


# --------------------------------------------------------------------------- input checks


# Alert status -> stage, as found in the database. Status values are written by bootstrap
# only (no route changes or removes one), so a value once found keeps its stage.
_STAGES: dict[str, str] = {}


def _stage_of(session: Session, status: str) -> str:
    stage = _STAGES.get(status)
    if stage is None:
        table = StatusValue.__table__
        stage = session.scalar(
            select(table.c.stage).where(table.c.kind == "alert", table.c.value == status)
        )
        if stage is not None:
            _STAGES[status] = stage
    if stage is None:
        raise invalid("status", f"unknown alert status {status}", status)
    if stage == "Imported":
        raise invalid("status", "an alert becomes Imported by importing it into a case", status)
    return stage


def _assignee(session: Session, org_id: int, login: str | None) -> str | None:
    """The login of a member of the organisation (404 otherwise); None unassigns."""
    if not login:
        return None
    login = login.lower()
    member = session.scalar(
        select(User.id)
        .join(Membership, Membership.user_id == User.id)
        .where(User.login == login, Membership.org_id == org_id)
    )
    if member is None:
        raise missing("User", login)
    return login


IDENTITY = (("type", "type"), ("source", "source"), ("sourceRef", "source_ref"))


def _identity(values: dict[str, Any], alert: Alert | None = None) -> tuple[str, str, str]:
    """(type, source, sourceRef): from the input; for an update, the alert's own value for
    each one the input does not change."""
    found = [
        getattr(alert, attr) if alert is not None and key not in values else values[key]
        for key, attr in IDENTITY
    ]
    return found[0], found[1], found[2]


def _or(values: dict[str, Any], key: str, default: Any) -> Any:
    """The value sent, or ``default`` when it was not sent or sent as null."""
    value = values.get(key)
    return default if value is None else value


def _ensure_unique(
    session: Session, actor: Actor, identity: tuple[str, str, str], self_id: int | None = None
) -> None:
    type_, source, source_ref = identity
    stmt = select(Alert.id).where(
        Alert.org_id == actor.org_id,
        Alert.type == type_,
        Alert.source == source,
        Alert.source_ref == source_ref,
    )
    if self_id is not None:
        stmt = stmt.where(Alert.id != self_id)
    if session.scalar(stmt.limit(1)) is not None:
        raise _duplicate(actor, identity)


def _duplicate(actor: Actor, identity: tuple[str, str, str]) -> CreateError:
    return CreateError(
        f"Alert {':'.join(identity)} already exist in organisation {actor.org_name}",
        object={"type": identity[0], "source": identity[1], "sourceRef": identity[2]},
    )


# --------------------------------------------------------------------------- create


_INSERT_ALERT = HotInsert(Alert.__table__)


class WrittenAlert(SimpleNamespace):
    """An alert as written: the values of its row, read like an :class:`Alert` (the create
    answer is rendered from it). Not an ORM instance: building one costs ~50 us per alert
    on the ingest path, for an object nothing would ever load or change."""

    @property
    def eid(self) -> str:
        return f"~{self.id}"


def create_alert(
    session: Session, actor: Actor, data: dict[str, Any], files: dict[str, list] | None = None
) -> tuple[WrittenAlert, list[dict[str, Any]]]:
    """Create an alert with its custom fields, observables and procedures (one unit of work:
    any invalid part rejects the whole alert). Returns the alert as written (not attached to
    the session) and its rendered custom fields: the answer is rendered from what was
    written, nothing is read back.

    The hot path of ingestion: everything is checked first, then written with SQLAlchemy
    Core - one id allocation for the alert and its observables, the alert row (the dedup
    rule is the unique index: a twin is refused by the INSERT itself, with no read before),
    the observables in one executemany, and the creation events of the alert and of its
    observables in one more."""
    actor.require(CREATE)
    values = check(AlertCreate, data).known()
    identity = _identity(values)
    status = values.get("status") or "New"
    stage = _stage_of(session, status)
    assignee = _assignee(session, actor.org_id, values.get("assignee"))
    custom = parse_values(session, values.get("customFields"))
    observables = new_alert_observables(session, actor, values.get("observables") or [], files)
    ids = allocate_ids(session, 1 + len(observables))
    row = _alert_row(actor, ids[0], identity, values, status, stage, assignee, len(observables))
    try:
        _INSERT_ALERT.execute(session.connection(), [row])
    except IntegrityError as exc:  # the dedup index: this identity exists in the organisation
        raise _duplicate(actor, identity) from exc
    insert_new_alert_observables(session, observables, ids[0], ids[1:])
    events.record_many(
        session, actor.login, actor.org_id, _creation_events(row, observables, ids[1:])
    )
    alert = WrittenAlert(**row)
    rendered_custom = insert_values(session, actor, custom, alert_id=alert.id)
    if values.get("procedures"):
        create_procedures(session, actor, alert=alert, items=values["procedures"])
    return alert, rendered_custom


def _alert_row(
    actor: Actor,
    alert_id: int,
    identity: tuple[str, str, str],
    values: dict[str, Any],
    status: str,
    stage: str,
    assignee: str | None,
    observable_count: int,
) -> dict[str, Any]:
    now = now_ms()
    return {
        "id": alert_id,
        "org_id": actor.org_id,
        "type": identity[0],
        "source": identity[1],
        "source_ref": identity[2],
        "title": values["title"],
        "description": values["description"],
        "external_link": values.get("externalLink") or None,
        "severity": _or(values, "severity", 2),
        "date": _or(values, "date", now),
        "last_sync_date": values.get("lastSyncDate"),
        "tags": _or(values, "tags", []),
        "flag": _or(values, "flag", False),
        "tlp": _or(values, "tlp", 2),
        "pap": _or(values, "pap", 2),
        "summary": values.get("summary"),
        "assignee": assignee,
        # Not checked here (spec §4.2): it is only used when the alert is promoted.
        "case_template": values.get("caseTemplate") or None,
        "status": status,
        "stage": stage,
        "follow": True,
        "read": False,
        "case_id": None,
        "observable_count": observable_count,
        "new_date": now,
        "in_progress_date": now if stage == "InProgress" else None,
        "closed_date": now if stage == "Closed" else None,
        "imported_date": None,
        "created_by": actor.login,
        "created_at": now,
        # Observables are attached after the alert (TheHive's order): an alert that has
        # some shows that update on later reads, though not in the create answer (§4.3).
        "updated_by": actor.login if observable_count else None,
        "updated_at": now if observable_count else None,
    }


def _creation_events(
    row: dict[str, Any], observables: list[NewObservable], observable_ids: list[int]
) -> list[dict]:
    alert_id = row["id"]
    alert_event = {
        "action": "create",
        "object_type": "Alert",
        "object_id": alert_id,
        "details": {"title": row["title"], "type": row["type"], "source": row["source"]},
        "root_id": alert_id,
    }
    return [alert_event] + [
        {
            "action": "create",
            "object_type": "Observable",
            "object_id": observable_id,
            "details": planned.summary,
            "root_id": alert_id,
        }
        for planned, observable_id in zip(observables, observable_ids, strict=True)
    ]


# --------------------------------------------------------------------------- update


def update_alert(session: Session, actor: Actor, alert: Alert, data: dict[str, Any]) -> None:
    actor.require(UPDATE)
    changes = _apply_update(session, actor, alert, data)
    if not changes:
        return
    alert.touch(actor.login)
    events.record(
        session, actor.login, actor.org_id, "update", "Alert", alert.id, changes, root_id=alert.id
    )


def bulk_update(session: Session, actor: Actor, data: dict[str, Any]) -> None:
    """The same update on several alerts (each as :func:`update_alert`), their update events
    written in one multi-row INSERT."""
    actor.require(UPDATE)
    alerts = get_alerts(session, actor, validate.id_list(data, "ids"))
    fields = {k: v for k, v in data.items() if k != "ids"}
    updated = []
    for alert in alerts:
        changes = _apply_update(session, actor, alert, fields)
        if changes:
            alert.touch(actor.login)
            updated.append(
                {
                    "action": "update",
                    "object_type": "Alert",
                    "object_id": alert.id,
                    "details": changes,
                    "root_id": alert.id,
                }
            )
    events.record_many(session, actor.login, actor.org_id, updated)


def _apply_update(
    session: Session, actor: Actor, alert: Alert, data: dict[str, Any]
) -> dict[str, Any]:
    """Apply an InputUpdateAlert (checked by the schema); returns what changed (for the
    event). Custom fields and tags are edited from what was sent."""
    values = check(AlertUpdate, data).known()
    changes: dict[str, Any] = {}

    def setf(key: str, attr: str, value: Any) -> None:
        if getattr(alert, attr) != value:
            setattr(alert, attr, value)
            changes[key] = value

    if {"type", "source", "sourceRef"} & values.keys():
        identity = _identity(values, alert)
        if identity != (alert.type, alert.source, alert.source_ref):
            _ensure_unique(session, actor, identity, alert.id)
            setf("type", "type", identity[0])
            setf("source", "source", identity[1])
            setf("sourceRef", "source_ref", identity[2])
    _update_scalars(session, alert, values, setf)
    tags = validate.apply_tag_changes(list(alert.tags), values)
    if tags is not None:
        setf("tags", "tags", tags)
    if "status" in values:
        _set_status(session, actor, alert, values["status"], changes)
    _update_custom_fields(session, actor, alert, data, changes)
    return changes


# API name -> column of the fields an update sets as sent (the schema refuses a null for
# the required ones; a null removes an optional one, spec §4.5).
SCALARS = {
    "title": "title",
    "description": "description",
    "severity": "severity",
    "tlp": "tlp",
    "pap": "pap",
    "date": "date",
    "follow": "follow",
    "flag": "flag",
    "summary": "summary",
    "lastSyncDate": "last_sync_date",
}


def _update_scalars(session: Session, alert: Alert, values: dict[str, Any], setf: Any) -> None:
    for key, column in SCALARS.items():
        if key in values:
            setf(key, column, values[key])
    # An empty string removes these too.
    if "externalLink" in values:
        setf("externalLink", "external_link", values["externalLink"] or None)
    if "caseTemplate" in values:
        setf("caseTemplate", "case_template", values["caseTemplate"] or None)
    if "assignee" in values:
        setf("assignee", "assignee", _assignee(session, alert.org_id, values["assignee"]))


def _set_status(
    session: Session, actor: Actor, alert: Alert, status: str, changes: dict[str, Any]
) -> None:
    """A status moves the alert to its stage and stamps the stage dates (§1.6, §4.4)."""
    if status == alert.status:
        return
    stage = _stage_of(session, status)
    now = now_ms()
    if alert.stage == "Closed" and stage != "Closed":
        actor.require(REOPEN)
        alert.closed_date = None
    alert.status, alert.stage = status, stage
    if stage == "InProgress" and alert.in_progress_date is None:
        alert.in_progress_date = now
    if stage == "Closed":
        alert.closed_date = now
    changes["status"] = status
    changes["stage"] = stage


def _update_custom_fields(
    session: Session, actor: Actor, alert: Alert, data: dict[str, Any], changes: dict[str, Any]
) -> None:
    changes.update(apply_update(session, actor, data, alert_id=alert.id))


def set_follow(session: Session, actor: Actor, alert: Alert, follow: bool) -> None:
    actor.require(UPDATE)
    alert.follow = follow
    alert.touch(actor.login)
    events.record(
        session,
        actor.login,
        actor.org_id,
        "update",
        "Alert",
        alert.id,
        {"follow": follow},
        root_id=alert.id,
    )


def mark_read(session: Session, actor: Actor, alert: Alert, read: bool = True) -> None:
    """TheHive's read flag (``markAsRead``/``markAsUnread``; the Cortex operation
    ``MarkAlertAsRead``). Not rendered by v1; the audit event shows the change."""
    actor.require(UPDATE)
    if alert.read == read:
        return
    alert.read = read
    alert.touch(actor.login)
    events.record(
        session,
        actor.login,
        actor.org_id,
        "update",
        "Alert",
        alert.id,
        {"read": read},
        root_id=alert.id,
    )


# --------------------------------------------------------------------------- delete


def delete_alerts(session: Session, actor: Actor, alerts: list[Alert]) -> None:
    """Delete alerts; their observables, comments, procedures, attachments and custom field
    values go with them (database cascades)."""
    actor.require(DELETE)
    for alert in alerts:
        events.record(
            session,
            actor.login,
            actor.org_id,
            "delete",
            "Alert",
            alert.id,
            {"title": alert.title, "sourceRef": alert.source_ref},
            root_id=alert.id,
        )
        session.delete(alert)
    session.flush()


# --------------------------------------------------------------------------- into cases


def ensure_not_imported(alert: Alert) -> None:
    if alert.case_id is not None:
        raise BadRequest("Alert is already imported")


def link_to_case(session: Session, actor: Actor, alert: Alert, case: Any, at: int) -> None:
    """The alert is Imported into ``case`` (promotion, merge or import)."""
    alert.case_id = case.id
    alert.status = alert.stage = "Imported"
    alert.imported_date = at
    alert.touch(actor.login, at)
    events.record(
        session,
        actor.login,
        actor.org_id,
        "update",
        "Alert",
        alert.id,
        {"caseId": case.eid, "status": "Imported"},
        root_id=alert.id,
    )
    session.flush()


def unlink_from_case(session: Session, actor: Actor, alert: Alert) -> None:
    """The alert is no longer linked to its case and goes back to status New."""
    alert.case_id = None
    alert.imported_date = None
    alert.status = alert.stage = "New"
    alert.touch(actor.login)


def move_to_case(session: Session, actor: Actor, source_ids: list[int], target: Any) -> None:
    """Alerts imported into merged cases are linked to the merged case ``target``."""
    moves.move_to_case(session, actor, Alert, "Alert", source_ids, target, own_root=True)


# --------------------------------------------------------------------------- similarity


def similar_observables(session: Session, actor: Actor, alert: Alert, other_ref: str) -> list:
    """Observables of ``alert`` that have a similar one in another alert or a case (§4.12)."""
    other = find_alert(session, actor, other_ref)
    if other is not None:
        return similar_in(session, actor, "alert", alert.id, "alert", other.id)
    case = access.get_case(session, actor, other_ref)
    return similar_in(session, actor, "alert", alert.id, "case", case.id)
