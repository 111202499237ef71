"""The one event record.

Every service mutation calls :func:`record` in the same transaction as the change. The row
is the audit log (queryable with ``listAudit``); after commit, the same record is handed to
in-process subscribers (live stream, automation, webhooks) by :func:`publish_pending`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Index, event, inspect
from sqlalchemy.orm import Mapped, Session, SessionTransaction

from propolis.core import authepoch
from propolis.core.columns import json_obj, ms, serial_pk, string
from propolis.core.db import Base, HotInsert, now_ms, when_durable, within


class AuditEvent(Base):
    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_org_id", "org_id", "id"),
        Index("ix_audit_object", "object_id"),
        Index("ix_audit_root", "root_id", "id"),
        # The audit log (/admin/audit, listAudit sorted by date): one organisation's events,
        # or those of one user, kind of object or action in it, newest first, each read
        # along its own index (the date range is a range of the same index); the platform
        # administrator's list spans the organisations.
        Index("ix_audit_org_created", "org_id", "created_at", "id"),
        Index("ix_audit_org_actor", "org_id", "actor", "created_at", "id"),
        Index("ix_audit_org_type", "org_id", "object_type", "created_at", "id"),
        Index("ix_audit_org_action", "org_id", "action", "created_at", "id"),
        Index("ix_audit_created", "created_at", "id"),
    )

    id: Mapped[int] = serial_pk()
    created_at: Mapped[int] = ms(nullable=False)
    actor: Mapped[str] = string(255, nullable=False)
    org_id: Mapped[int | None] = ms()
    action: Mapped[str] = string(32, nullable=False)  # create | update | delete | merge ...
    object_type: Mapped[str] = string(32, nullable=False)
    object_id: Mapped[int | None] = ms()
    # The case or alert the object belongs to, so a case's history is one indexed range.
    root_id: Mapped[int | None] = ms()
    details: Mapped[dict] = json_obj()


@dataclass(frozen=True)
class Event:
    id: int
    created_at: int
    actor: str
    org_id: int | None
    action: str
    object_type: str
    object_id: int | None
    root_id: int | None
    details: dict[str, Any]


Subscriber = Callable[[Event], None]
_subscribers: list[Subscriber] = []
_PENDING_KEY = "propolis_pending_events"

# Changes that end remembered callers (users.auth): every change to a user (password, API
# key, lock, memberships, deletion, a failed password: its backoff), an organisation or
# a profile records one of these, so the auth epoch follows the audit log. A login opens
# a new session and ends nothing. The observable types are remembered per process the
# same way (observables.service.TYPES): a type created or deleted moves the epoch too.
_AUTH_OBJECTS = frozenset({"User", "Organisation", "Profile", "ObservableType"})
_AUTH_CHANGED_KEY = "propolis_auth_changed"


def subscribe(callback: Subscriber) -> None:
    _subscribers.append(callback)


def unsubscribe(callback: Subscriber) -> None:
    if callback in _subscribers:
        _subscribers.remove(callback)


def record(
    session: Session,
    actor: str,
    org_id: int | None,
    action: str,
    object_type: str,
    object_id: int | None,
    details: dict[str, Any] | None = None,
    root_id: int | None = None,
) -> AuditEvent:
    row = AuditEvent(
        created_at=now_ms(),
        actor=actor,
        org_id=org_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        root_id=root_id,
        details=_jsonable(details or {}),
    )
    session.add(row)
    session.info.setdefault(_PENDING_KEY, []).append(row)
    if object_type in _AUTH_OBJECTS and action != "login":
        session.info[_AUTH_CHANGED_KEY] = True
    return row


@event.listens_for(Session, "after_commit")
def _end_remembered_callers(session: Session) -> None:
    # After the commit, not before: a process that reads the new epoch then reads the
    # committed change (entries carry the epoch read before their database read). A
    # change rolled back leaves the flag: the next commit of the session bumps for
    # nothing, which only costs a few database reads.
    # On SQLite, a unit's commit only releases it into its batch: the epoch moves once the
    # batch is durable (core.db.when_durable).
    if session.info.pop(_AUTH_CHANGED_KEY, False):
        when_durable(session, authepoch.bump)


_INSERT_EVENTS = HotInsert(AuditEvent.__table__, returning_id=True)


def record_many(session: Session, actor: str, org_id: int | None, items: list[dict]) -> None:
    """Several events of one unit of work in one statement (an alert and its observables).
    Each item has ``action``, ``object_type``, ``object_id``, and optional ``details`` and
    ``root_id``. Written with SQLAlchemy Core (an executemany, ids returned in order): the
    hot write paths pay neither the ORM's unit of work nor a statement per event."""
    if not items:
        return
    now = now_ms()
    rows = [
        {
            "created_at": now,
            "actor": actor,
            "org_id": org_id,
            "action": item["action"],
            "object_type": item["object_type"],
            "object_id": item["object_id"],
            "root_id": item.get("root_id"),
            "details": _jsonable(item.get("details") or {}),
        }
        for item in items
    ]
    # One multi-row INSERT ... RETURNING: the ids come in the order of the rows.
    ids = _INSERT_EVENTS.execute(session.connection(), rows)
    # Published after commit unless the transaction (or savepoint) holding them rolls back.
    holder = session.get_nested_transaction() or session.get_transaction()
    pending = session.info.setdefault(_PENDING_KEY, [])
    pending.extend(
        _Written(Event(id=new_id, **row), holder) for new_id, row in zip(ids, rows, strict=True)
    )
    if any(item["object_type"] in _AUTH_OBJECTS for item in items):
        session.info[_AUTH_CHANGED_KEY] = True


@dataclass
class _Written:
    """An event written with Core, and the session transaction that holds it."""

    event: Event
    holder: SessionTransaction | None


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    """Events written inside a transaction or savepoint that rolled back never happened."""
    pending = session.info.get(_PENDING_KEY)
    if pending:
        pending[:] = [
            item
            for item in pending
            if not (isinstance(item, _Written) and within(item.holder, previous_transaction))
        ]


def _event_of(item: Any) -> Event | None:
    if isinstance(item, _Written):
        return item.event
    if not inspect(item).has_identity:
        return None  # an ORM row rolled back with its savepoint: it never happened
    return Event(
        item.id,
        item.created_at,
        item.actor,
        item.org_id,
        item.action,
        item.object_type,
        item.object_id,
        item.root_id,
        item.details,
    )


def publish_pending(session: Session) -> None:
    """Hand the events of a committed unit of work to the subscribers."""
    for item in session.info.pop(_PENDING_KEY, []):
        event = _event_of(item)
        if event is None:
            continue
        for callback in list(_subscribers):
            try:
                callback(event)
            except Exception:  # a broken subscriber must not fail the writer
                import logging

                logging.getLogger(__name__).exception("event subscriber failed")


def discard_pending(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)
