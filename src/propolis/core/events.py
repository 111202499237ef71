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
from sqlalchemy.orm import Mapped, Session

from propolis.core import authepoch
from propolis.core.columns import json_obj, ms, serial_pk, string
from propolis.core.db import Base, now_ms


class AuditEvent(Base):
    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_org_id", "org_id", "id"),
        Index("ix_audit_object", "object_id"),
        Index("ix_audit_root", "root_id", "id"),
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
# a new session and ends nothing.
_AUTH_OBJECTS = frozenset({"User", "Organisation", "Profile"})
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
    if session.info.pop(_AUTH_CHANGED_KEY, False):
        authepoch.bump()


def publish_pending(session: Session) -> None:
    """Hand the events of a committed unit of work to the subscribers."""
    rows = session.info.pop(_PENDING_KEY, [])
    for row in rows:
        if not inspect(row).has_identity:
            continue  # rolled back with its savepoint: it never happened
        event = Event(
            row.id,
            row.created_at,
            row.actor,
            row.org_id,
            row.action,
            row.object_type,
            row.object_id,
            row.root_id,
            row.details,
        )
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
