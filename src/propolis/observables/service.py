"""Observables (spec §6) and observable types (spec §7): every rule and every write.

An observable is a piece of evidence in exactly one case or one alert: a textual value of a
non-attachment type, or a file of an attachment type. Its ``fingerprint`` (sha256 of
``dataType + "\\0" + data``, or the file's sha256) is what "the same observable" means:
duplicates in one container, similarity between cases and alerts, and "seen elsewhere" are
all one indexed lookup on it.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Integer, cast, exists, false, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased
from starlette.datastructures import UploadFile

from propolis import access
from propolis.alerts.counts import observables_changed
from propolis.alerts.models import Alert
from propolis.attachments import service as attachments
from propolis.attachments.models import Attachment
from propolis.core import authepoch, events, validate
from propolis.core.db import HotInsert, find_by_ref, now_ms, parse_id
from propolis.core.errors import (
    AuthorizationError,
    BadRequest,
    CreateError,
    NotFound,
    invalid,
    missing,
)
from propolis.core.schemas import check
from propolis.core.security import SYSTEM_LOGIN, Actor
from propolis.observables import checks
from propolis.observables import files as observable_files
from propolis.observables.models import Observable, ObservableType
from propolis.observables.schemas import (
    ObservableBulkUpdate,
    ObservableCreate,
    ObservableTypeCreate,
    ObservableUpdate,
)

MAX_TAG = 128  # longer taxonomy tags are not shown as tags
ANALYSE_PERMISSION = "manageAnalyse"


# =========================================================================== observable types


def find_type(session: Session, ref: str) -> ObservableType | None:
    """By ``~id`` or by name."""
    return find_by_ref(session, ObservableType, ObservableType.name, ref)


def get_type(session: Session, ref: str) -> ObservableType:
    found = find_type(session, ref)
    if found is None:
        raise missing("ObservableType", ref)
    return found


def create_type(session: Session, actor: Actor, data: dict[str, Any]) -> ObservableType:
    _require_type_admin(actor)
    values = check(ObservableTypeCreate, data).known()
    name, is_attachment = values["name"], bool(values.get("isAttachment"))
    if find_type(session, name) is not None:
        raise CreateError(f"Observable type {name} already exists")
    observable_type = ObservableType(
        name=name, is_attachment=is_attachment, created_by=actor.login, created_at=now_ms()
    )
    session.add(observable_type)
    session.flush()
    events.record(
        session,
        actor.login,
        actor.org_id,
        "create",
        "ObservableType",
        observable_type.id,
        {"name": name, "isAttachment": is_attachment},
    )
    return observable_type


def delete_type(session: Session, actor: Actor, observable_type: ObservableType) -> None:
    """Types in use are kept (400), and so are the built-in ones: the server creates those
    again at its next start, and code relies on them (``file``)."""
    _require_type_admin(actor)
    if is_builtin_type(observable_type):
        raise BadRequest(
            f"Observable type {observable_type.name} is built in and cannot be deleted"
        )
    in_use = session.scalar(
        select(Observable.id).where(Observable.data_type == observable_type.name).limit(1)
    )
    if in_use is not None:
        raise BadRequest(
            f"Observable type {observable_type.name} is used by observables and cannot be deleted"
        )
    session.delete(observable_type)
    events.record(
        session,
        actor.login,
        actor.org_id,
        "delete",
        "ObservableType",
        observable_type.id,
        {"name": observable_type.name},
    )


def is_builtin_type(observable_type: ObservableType) -> bool:
    """Created by the server itself at its first start (TheHive's ``system@thehive.local``)."""
    return observable_type.created_by == SYSTEM_LOGIN


def types_in_use(session: Session) -> set[str]:
    """The names of the types some observable has: one probe of ``ix_observable_data_type``
    per type (a handful), never a walk of the observables."""
    used = select(Observable.id).where(Observable.data_type == ObservableType.name).exists()
    return set(session.scalars(select(ObservableType.name).where(used)))


def _require_type_admin(actor: Actor) -> None:
    if not actor.in_admin_org:
        raise AuthorizationError("Observable types are managed in the admin organisation")
    actor.require("manageObservableTemplate")


# =========================================================================== visibility


def visible_observable_condition(actor: Actor, model: Any = Observable) -> ColumnElement[bool]:
    """SQL condition: the observable is visible from the caller's organisation (observables
    of the organisation's alerts, and of the cases it sees, per the sharing rules)."""
    return access.visible_observable_filter(actor, model)


def require_write(
    session: Session, actor: Actor, *, case: Any = None, observable: Observable | None = None
) -> None:
    """``manageObservable``; in a case, as granted by the profile of the organisation's share
    (a read-only share of another organisation's case does not allow it)."""
    case_id = observable.case_id if case is None and observable is not None else None
    access.require_on_parent(session, actor, "manageObservable", case=case, case_id=case_id)


def get_observable(session: Session, actor: Actor, ref: str) -> Observable:
    observable_id = parse_id(ref)
    found = None
    if observable_id is not None:
        found = session.scalar(
            select(Observable).where(
                Observable.id == observable_id, visible_observable_condition(actor)
            )
        )
    if found is None:
        raise missing("Observable", ref)
    return found


# =========================================================================== creation


def fingerprint_of(data_type: str, data: str) -> str:
    return hashlib.sha256(f"{data_type}\0{data}".encode()).hexdigest()


def create_observables(
    session: Session,
    actor: Actor,
    *,
    case: Any = None,
    alert: Any = None,
    data: dict[str, Any],
    files: dict[str, list[UploadFile]] | None = None,
) -> list[Observable]:
    """One observable per value (or per file) of ``data`` in a case or an alert, in input
    order. A value already in the container is not an error: as in TheHive 5.5, the existing
    observable takes what was sent (tags merged) and is returned in its place. Invalid input
    raises (400) and changes nothing."""
    return create_many(session, actor, case=case, alert=alert, items=[data], files=files)


def create_many(
    session: Session,
    actor: Actor,
    *,
    case: Any = None,
    alert: Any = None,
    items: list[dict[str, Any]],
    files: dict[str, list[UploadFile]] | None = None,
) -> list[Observable]:
    """Several ``InputObservable`` documents at once (an alert arriving with its observables):
    one type lookup, one duplicate lookup, one flush and one alert update for all of them."""
    require_write(session, actor, case=case)
    if (case is None) == (alert is None):
        raise ValueError("an observable belongs to exactly one case or one alert")
    if not all(isinstance(item, dict) for item in items):
        raise BadRequest("An observable must be a JSON object")
    # What the client sent, validated and coerced (a single tag is a list...); the extra
    # fields (attachment part names, zip options) stay for the file readers.
    items = [check(ObservableCreate, item).sent() for item in items]
    types = _input_types(session, items)
    batches = []
    for item in items:
        observable_type = types[item["dataType"]]
        candidates = (
            _file_candidates(session, actor, observable_type, item, files)
            if observable_type.is_attachment
            else _data_candidates(observable_type, item, files)
        )
        sent = {key for key, value in item.items() if value is not None}
        batches.append(_Batch(observable_type, _common_fields(item), sent, candidates))
    container = {"case_id": case.id if case else None, "alert_id": alert.id if alert else None}
    observables, added = _insert_or_merge(session, actor, container, batches)
    if alert is not None and added:
        _alert_observables_changed(session, actor, alert, added)
    return observables


class _Batch(NamedTuple):
    """The observables of one ``InputObservable``: its type, the fields every value shares,
    the API keys the client sent, and ``(fingerprint, data, attachment)`` per value."""

    observable_type: Any  # a row with the type's name and is_attachment
    fields: dict[str, Any]
    sent: set[str]
    candidates: list[tuple[str, str | None, Any]]


def _input_types(session: Session, items: list[dict[str, Any]]) -> dict[str, Any]:
    names = set()
    for item in items:
        name = item.get("dataType")
        if not isinstance(name, str) or not name:
            raise invalid("dataType", "an existing observable type is required", name)
        names.add(name)
    found = TYPES.lookup(session, names)
    for name in names:
        if name not in found:
            raise NotFound(f"ObservableType {name} not found")
    return found


class _TypeCatalogue:
    """The observable types (name -> a row with ``name`` and ``is_attachment``), remembered
    per process: every observable created reads its type, and types change rarely (an
    administrator's create or delete). An entry is used while the epoch read before it was
    loaded is current (creating or deleting a type records an ``ObservableType`` event,
    which moves the epoch once committed: core.events), and for at most ``TTL_SECONDS``
    (the bound for processes on other hosts sharing the database, which do not share the
    epoch). A name the entry lacks is looked up again before it is refused, so a type
    created anywhere is usable at once."""

    TTL_SECONDS = 10.0

    def __init__(self) -> None:
        # (epoch, monotonic deadline, rows by name), replaced whole: no lock needed.
        self._entry: tuple[int, float, dict[str, Any]] | None = None

    def lookup(self, session: Session, names: set[str]) -> dict[str, Any]:
        entry = self._entry
        if (
            entry is not None
            and entry[0] == authepoch.current()
            and entry[1] > time.monotonic()
            and names <= entry[2].keys()
        ):
            return entry[2]
        epoch = authepoch.current()  # before the read: a change committed after it moves it
        table = ObservableType.__table__
        rows = {
            row.name: row
            for row in session.connection().execute(select(table.c.name, table.c.is_attachment))
        }
        self._entry = (epoch, time.monotonic() + self.TTL_SECONDS, rows)
        return rows


TYPES = _TypeCatalogue()


def _common_fields(data: dict[str, Any]) -> dict[str, Any]:
    """The fields shared by every observable created from one (validated) ``InputObservable``."""
    return {
        "message": data.get("message"),
        "start_date": data.get("startDate"),
        "tlp": _or(data, "tlp", 2),
        "pap": _or(data, "pap", 2),
        "tags": data.get("tags") or [],
        "ioc": bool(data.get("ioc")),
        "sighted": bool(data.get("sighted")),
        "sighted_at": data.get("sightedAt"),
        "ignore_similarity": bool(data.get("ignoreSimilarity")),
    }


def _or(data: dict[str, Any], key: str, default: Any) -> Any:
    value = data.get(key)
    return default if value is None else value


def _data_candidates(
    observable_type: Any,
    data: dict[str, Any],
    files: dict[str, list[UploadFile]] | None,
) -> list[tuple[str, str, Any]]:
    """``(fingerprint, data, None)`` per non-blank value; each value is checked first."""
    name = observable_type.name
    if data.get("attachment") or (files and "attachment" in files and "attachment" not in data):
        raise BadRequest(f"Observables of type {name} take a data value, not a file")
    raw = data.get("data")  # a string or a list of them (ObservableCreate)
    values = raw if isinstance(raw, list) else [raw]
    values = [v for v in values if v is not None and v.strip()]
    if not values:
        raise invalid("data", f"a value is required for observables of type {name}", raw)
    for value in values:
        checks.check_value(name, value)
    return [(fingerprint_of(name, v), v, None) for v in values]


def _file_candidates(
    session: Session,
    actor: Actor,
    observable_type: Any,
    data: dict[str, Any],
    uploads: dict[str, list[UploadFile]] | None,
) -> list[tuple[str, None, Any]]:
    """``(sha256, None, attachment)`` per file (one per uploaded file or zip member)."""
    raw = data.get("data")
    if raw not in (None, "", []):
        raise BadRequest(
            f"Observables of type {observable_type.name} are files: data is not allowed"
        )
    stored = observable_files.resolve_files(session, actor, data, uploads)
    return [(attachment.sha256, None, attachment) for attachment in stored]


def _insert_or_merge(
    session: Session, actor: Actor, container: dict[str, int | None], batches: list[_Batch]
) -> tuple[list[Observable], int]:
    """The container's observable for each value, in input order (each once), and how many
    were new. A value the container already holds is merged into the existing observable."""
    fingerprints = [fp for batch in batches for fp, _v, _a in batch.candidates]
    present = _existing_by_fingerprint(session, container, fingerprints)
    now = now_ms()
    out: list[Observable] = []
    created: list[tuple[Observable, Any]] = []
    for batch in batches:
        for fingerprint, value, attachment in batch.candidates:
            existing = present.get(fingerprint)
            if existing is not None:
                if attachment is not None:  # the same bytes are already stored for it
                    attachments.delete_observable_file(session, attachment.id)
                _merge_sent(session, actor, existing, batch)
                if existing not in out:
                    out.append(existing)
                continue
            observable = Observable(
                org_id=actor.org_id,
                data_type=batch.observable_type.name,
                data=value,
                fingerprint=fingerprint,
                attachment_id=attachment.id if attachment is not None else None,
                reports={},
                created_by=actor.login,
                created_at=now,
                **container,
                **{**batch.fields, "start_date": batch.fields["start_date"] or now},
            )
            session.add(observable)
            present[fingerprint] = observable
            created.append((observable, attachment))
            out.append(observable)
    # One flush for all: ids are allocated in the order the rows were added (input order).
    _flush_new(session)
    # The creation events in one multi-row INSERT (after the merges' update events, which
    # the flush above wrote: the same order as one event per row would give).
    events.record_many(
        session,
        actor.login,
        actor.org_id,
        [
            {
                "action": "create",
                "object_type": "Observable",
                "object_id": observable.id,
                "details": _summary(observable, attachment),
                "root_id": observable.case_id or observable.alert_id,
            }
            for observable, attachment in created
        ],
    )
    return out, len(created)


# --------------------------------------------------------------------------- a new alert's


class NewObservable(NamedTuple):
    """An observable of an alert being created: its row (without ``id`` and ``alert_id``,
    given once the alert's ids are allocated) and the details of its creation event."""

    row: dict[str, Any]
    summary: dict[str, Any]


def new_alert_observables(
    session: Session,
    actor: Actor,
    items: list[dict[str, Any]],
    files: dict[str, list[UploadFile]] | None = None,
) -> list[NewObservable]:
    """The observables of an alert being created, checked, before anything is written (a bad
    one is a 4xx and the alert is not created). ``items`` are ``InputObservable`` documents
    already validated by the alert's schema. A new alert holds nothing yet, so there is
    nothing to look up: a value repeated in the list is merged in memory, as
    :func:`create_many` merges into an existing observable (fields sent replace, tags add)."""
    require_write(session, actor)
    if not items:
        return []
    types = _input_types(session, items)
    now = now_ms()
    planned: dict[str, NewObservable] = {}
    for item in items:
        batch = _batch_of(session, actor, types[item["dataType"]], item, files)
        for fingerprint, value, attachment in batch.candidates:
            twin = planned.get(fingerprint)
            if twin is not None:
                if attachment is not None:  # the same bytes are already stored for it
                    attachments.delete_observable_file(session, attachment.id)
                _merge_into_row(twin.row, batch)
                continue
            row = {
                "org_id": actor.org_id,
                "case_id": None,
                "data_type": batch.observable_type.name,
                "data": value,
                "fingerprint": fingerprint,
                "attachment_id": attachment.id if attachment is not None else None,
                "reports": {},
                "created_by": actor.login,
                "created_at": now,
                "updated_by": None,
                "updated_at": None,
                **batch.fields,
                "start_date": batch.fields["start_date"] or now,
            }
            planned[fingerprint] = NewObservable(row, _summary_of(row, attachment))
    return list(planned.values())


def _batch_of(
    session: Session,
    actor: Actor,
    observable_type: Any,
    item: dict[str, Any],
    files: dict[str, list[UploadFile]] | None,
) -> _Batch:
    candidates = (
        _file_candidates(session, actor, observable_type, item, files)
        if observable_type.is_attachment
        else _data_candidates(observable_type, item, files)
    )
    if observable_type.is_attachment:
        session.flush()  # the stored files' rows get their ids
    sent = {key for key, value in item.items() if value is not None}
    return _Batch(observable_type, _common_fields(item), sent, candidates)


def _merge_into_row(row: dict[str, Any], batch: _Batch) -> None:
    """A value repeated in a new alert's list: as :func:`_merge_sent`, on the planned row."""
    for key, column in MERGED_FIELDS.items():
        if key in batch.sent:
            row[column] = batch.fields[column]
    row["tags"] = list(row["tags"]) + [t for t in batch.fields["tags"] if t not in row["tags"]]


_INSERT_OBSERVABLES = HotInsert(Observable.__table__)


def insert_new_alert_observables(
    session: Session, observables: list[NewObservable], alert_id: int, ids: list[int]
) -> None:
    """Write the planned observables of a new alert (its row is written): one executemany.
    Their creation events are recorded by the caller with the alert's own."""
    rows = [
        {**planned.row, "id": new_id, "alert_id": alert_id}
        for planned, new_id in zip(observables, ids, strict=True)
    ]
    if rows:
        _INSERT_OBSERVABLES.execute(session.connection(), rows)


def _summary_of(row: dict[str, Any], attachment: Any = None) -> dict[str, Any]:
    out: dict[str, Any] = {"dataType": row["data_type"]}
    if row["data"] is not None:
        out["data"] = row["data"]
    if attachment is not None:
        out["attachment"] = {"name": attachment.name, "sha256": attachment.sha256}
    return out


# API name -> column of what a re-added observable takes from the new input (TheHive 5.5)
MERGED_FIELDS = {
    "message": "message",
    "tlp": "tlp",
    "pap": "pap",
    "ioc": "ioc",
    "sighted": "sighted",
    "sightedAt": "sighted_at",
    "ignoreSimilarity": "ignore_similarity",
}


def _merge_sent(session: Session, actor: Actor, existing: Observable, batch: _Batch) -> None:
    """The fields the client sent replace the existing observable's, its tags are added to
    the existing ones; one update event when anything changed."""
    changes: dict[str, Any] = {}
    for key, column in MERGED_FIELDS.items():
        value = batch.fields[column]
        if key in batch.sent and getattr(existing, column) != value:
            setattr(existing, column, value)
            changes[key] = value
    tags = list(existing.tags or [])
    tags += [t for t in batch.fields["tags"] if t not in tags]
    if tags != list(existing.tags or []):
        existing.tags = changes["tags"] = tags
    if changes and existing.id is not None:  # not one this request is creating
        existing.touch(actor.login)
        _record(session, actor, "update", existing, changes)


def _flush_new(session: Session) -> None:
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent request added the same value first
        raise CreateError("Observable already exists") from exc


def _existing_by_fingerprint(
    session: Session, container: dict[str, int | None], fingerprints: list[str]
) -> dict[str, Observable]:
    if not fingerprints:
        return {}
    return {
        observable.fingerprint: observable
        for observable in session.scalars(
            select(Observable).where(
                Observable.fingerprint.in_(set(fingerprints)), _in_container(container)
            )
        )
    }


def _in_container(container: dict[str, int | None]) -> ColumnElement[bool]:
    if container["case_id"] is not None:
        return Observable.case_id == container["case_id"]
    return Observable.alert_id == container["alert_id"]


def _summary(observable: Observable, attachment: Any = None) -> dict[str, Any]:
    out: dict[str, Any] = {"dataType": observable.data_type}
    if observable.data is not None:
        out["data"] = observable.data
    if attachment is not None:
        out["attachment"] = {"name": attachment.name, "sha256": attachment.sha256}
    return out


def _record(
    session: Session, actor: Actor, action: str, observable: Observable, details: dict[str, Any]
) -> None:
    events.record(
        session,
        actor.login,
        actor.org_id,
        action,
        "Observable",
        observable.id,
        details,
        root_id=observable.case_id or observable.alert_id,
    )


def _alert_observables_changed(session: Session, actor: Actor, alert: Any, delta: int) -> None:
    """The alert keeps its observable count (and its _updatedAt) through its own domain."""
    observables_changed(session, actor, alert, delta)


# =========================================================================== update / delete


# API name -> column of the boolean flags an update may set
FLAGS = {"ioc": "ioc", "sighted": "sighted", "ignoreSimilarity": "ignore_similarity"}


def update_observable(
    session: Session, actor: Actor, observable: Observable, data: dict[str, Any]
) -> None:
    """``InputUpdateObservable``; ``data`` and ``attachment`` are immutable (ignored)."""
    require_write(session, actor, observable=observable)
    values = check(ObservableUpdate, data).known()
    changes: dict[str, Any] = {}
    if values.get("dataType", observable.data_type) != observable.data_type:
        _change_type(session, observable, values)
        changes["dataType"] = observable.data_type
    if "message" in values:
        observable.message = changes["message"] = values["message"]
    for key in ("tlp", "pap"):
        if key in values:
            setattr(observable, key, values[key])
            changes[key] = values[key]
    tags = validate.apply_tag_changes(list(observable.tags or []), values)
    if tags is not None:
        observable.tags = changes["tags"] = tags
    for key, attribute in FLAGS.items():
        if key in values:
            setattr(observable, attribute, values[key])
            changes[key] = values[key]
    if "sightedAt" in values:
        observable.sighted_at = changes["sightedAt"] = values["sightedAt"]
    if changes:
        observable.touch(actor.login)
        _record(session, actor, "update", observable, changes)


def _change_type(session: Session, observable: Observable, data: dict[str, Any]) -> None:
    """A new dataType must exist and be a file type exactly when the old one is."""
    new_type = _input_types(session, [data])[data["dataType"]]
    old_type = session.scalar(
        select(ObservableType).where(ObservableType.name == observable.data_type)
    )
    if old_type is not None and old_type.is_attachment != new_type.is_attachment:
        raise BadRequest("Can not update dataType: isAttachment does not match")
    if observable.data is not None:
        checks.check_value(new_type.name, observable.data)
        fingerprint = fingerprint_of(new_type.name, observable.data)
        container = {"case_id": observable.case_id, "alert_id": observable.alert_id}
        if _existing_by_fingerprint(session, container, [fingerprint]):
            raise CreateError(
                f"Observable {new_type.name} {observable.data} already exists in this "
                f"{'case' if observable.case_id else 'alert'}"
            )
        observable.fingerprint = fingerprint
    observable.data_type = new_type.name


def bulk_update(session: Session, actor: Actor, data: dict[str, Any]) -> list[Observable]:
    """``InputUpdateObservable`` + ``ids``: all of them, or none when one is not found."""
    refs = check(ObservableBulkUpdate, data).ids
    observables = [get_observable(session, actor, ref) for ref in refs]
    fields = {k: v for k, v in data.items() if k != "ids"}
    for observable in observables:
        update_observable(session, actor, observable, fields)
    return observables


def delete_observable(session: Session, actor: Actor, observable: Observable) -> None:
    require_write(session, actor, observable=observable)
    alert = None
    if observable.alert_id is not None:
        alert = session.get(Alert, observable.alert_id)
    _record(session, actor, "delete", observable, _summary(observable))
    attachment_id = observable.attachment_id
    session.delete(observable)
    session.flush()
    attachments.delete_observable_file(session, attachment_id)
    if alert is not None:
        _alert_observables_changed(session, actor, alert, -1)


def record_analysis(
    session: Session,
    actor: Actor,
    observable: Observable,
    analyzer: str,
    summary: dict[str, Any],
    *,
    drop_tags: set[str],
    add_tags: list[str],
) -> None:
    """An analyzer's result: the observable keeps the last summary per analyzer
    (``reports``), and its taxonomy tags replace those of that analyzer's previous run.
    Recorded only for a caller who may still analyse the observable (``manageAnalyse``, as
    its case's share grants it): the user who started the job, as they are now."""
    access.require_may_act(session, actor, observable, ANALYSE_PERMISSION)
    reports = dict(observable.reports or {})
    reports[analyzer] = summary
    observable.reports = reports
    tags = [t for t in (observable.tags or []) if t not in drop_tags]
    for tag in add_tags:
        if tag not in tags and len(tag) <= MAX_TAG:
            tags.append(tag)
    observable.tags = tags
    observable.touch(actor.login)
    events.record(
        session,
        actor.login,
        observable.org_id,
        "update",
        "Observable",
        observable.id,
        {"reports": analyzer, "tags": tags},
        root_id=observable.case_id or observable.alert_id,
    )


# =========================================================================== similarity / copy


def _container_column(model: Any, kind: str) -> Any:
    kind = kind.lower()
    if kind == "case":
        return model.case_id
    if kind == "alert":
        return model.alert_id
    raise ValueError(f"unknown container kind {kind}")


def similar_in(
    session: Session,
    actor: Actor,
    base_kind: str,
    base_id: int,
    other_kind: str,
    other_id: int,
) -> list[Observable]:
    """Observables of one case/alert that have a similar observable (same fingerprint) in
    another; observables marked ``ignoreSimilarity`` on either side do not count. The caller
    has already resolved both containers through their visibility rules."""
    other = aliased(Observable)
    similar_exists = exists(
        select(other.id).where(
            _container_column(other, other_kind) == other_id,
            other.fingerprint == Observable.fingerprint,
            other.ignore_similarity == false(),
            other.id != Observable.id,
        )
    )
    stmt = (
        select(Observable)
        .where(
            _container_column(Observable, base_kind) == base_id,
            Observable.ignore_similarity == false(),
            similar_exists,
        )
        .order_by(Observable.created_at, Observable.id)
    )
    return list(session.scalars(stmt))


def in_containers(
    session: Session, *, alert_ids: list[int] | None = None, case_ids: list[int] | None = None
) -> list[Observable]:
    """The observables of these alerts or cases, oldest first (the order copies keep)."""
    column, ids = (Observable.alert_id, alert_ids) if alert_ids else (Observable.case_id, case_ids)
    return list(
        session.scalars(
            select(Observable)
            .where(column.in_(ids or []))
            .order_by(Observable.created_at, Observable.id)
        )
    )


def file_ids_in(
    session: Session, *, alert_ids: list[int] | None = None, case_ids: list[int] | None = None
) -> list[int]:
    """The attachment rows of the file observables of these alerts or cases: deleting the
    containers removes the observables (cascade), and these rows must go with them."""
    return [
        o.attachment_id
        for o in in_containers(session, alert_ids=alert_ids, case_ids=case_ids)
        if o.attachment_id is not None
    ]


def merge_similar(session: Session, actor: Actor, case: Any) -> dict[str, int]:
    """Collapse the case's observables with the same fingerprint into the oldest one (spec
    §5.9): tags united, ioc/sighted OR-ed, messages concatenated."""
    access.require_case_permission(session, actor, case, "manageObservable")
    groups: dict[str, list[Observable]] = {}
    for observable in in_containers(session, case_ids=[case.id]):
        groups.setdefault(observable.fingerprint, []).append(observable)
    result = {"untouched": 0, "updated": 0, "deleted": 0}
    for group in groups.values():
        if len(group) == 1:
            result["untouched"] += 1
            continue
        _merge_group(session, actor, group)
        result["updated"] += 1
        result["deleted"] += len(group) - 1
    if result["updated"]:
        case.touch(actor.login)
        events.record(
            session,
            actor.login,
            actor.org_id,
            "update",
            "Case",
            case.id,
            {"mergedObservables": result},
            root_id=case.id,
        )
    session.flush()
    return result


def _merge_group(session: Session, actor: Actor, group: list[Observable]) -> None:
    keep, *others = group
    tags = list(keep.tags or [])
    messages = [keep.message] if keep.message else []
    files = []
    for other in others:
        tags.extend(t for t in other.tags or [] if t not in tags)
        if other.message and other.message not in messages:
            messages.append(other.message)
        keep.ioc = keep.ioc or other.ioc
        keep.sighted = keep.sighted or other.sighted
        keep.sighted_at = keep.sighted_at or other.sighted_at
        files.append(other.attachment_id)
        session.delete(other)
    keep.tags = tags
    keep.message = "\n\n".join(messages) or None
    keep.touch(actor.login)
    session.flush()
    attachments.delete_unused_observable_files(session, [f for f in files if f is not None])


def copy_to_case(session: Session, actor: Actor, observable: Observable, case: Any) -> Observable:
    """Put an observable (usually an alert's) into a case. When the case already has the
    same observable, its tags are merged into that one instead of creating a duplicate.
    Called by alert promotion/merge, whose own permission check covers it."""
    return copy_all_to_case(session, actor, [observable], case)[0]


def copy_all_to_case(
    session: Session, actor: Actor, observables: list[Observable], case: Any
) -> list[Observable]:
    """:func:`copy_to_case` for a whole list in a fixed number of queries (an alert with
    hundreds of observables is promoted in one go). Returns the case's observable for each."""
    fingerprints = {o.fingerprint for o in observables}
    in_case: dict[str, Observable] = {}
    if fingerprints:
        for found in session.scalars(
            select(Observable)
            .where(Observable.case_id == case.id, Observable.fingerprint.in_(fingerprints))
            .order_by(Observable.created_at, Observable.id)
        ):
            in_case.setdefault(found.fingerprint, found)
    file_ids = {o.attachment_id for o in observables if o.attachment_id is not None}
    sources = (
        {a.id: a for a in session.scalars(select(Attachment).where(Attachment.id.in_(file_ids)))}
        if file_ids
        else {}
    )
    out: list[Observable] = []
    for observable in observables:
        existing = in_case.get(observable.fingerprint)
        if existing is None:
            existing = in_case[observable.fingerprint] = _copy_into(
                session, actor, observable, case, sources.get(observable.attachment_id)
            )
        else:
            _merge_tags(session, actor, existing, observable.tags or [])
        out.append(existing)
    return out


def _merge_tags(session: Session, actor: Actor, target: Observable, tags: list[str]) -> None:
    merged = list(target.tags or [])
    merged += [t for t in tags if t not in merged]
    if merged != list(target.tags or []):
        target.tags = merged
        target.touch(actor.login)
        _record(session, actor, "update", target, {"tags": merged})


def _copy_into(
    session: Session, actor: Actor, observable: Observable, case: Any, source_file: Any
) -> Observable:
    copy = Observable(
        org_id=actor.org_id,
        case_id=case.id,
        alert_id=None,
        data_type=observable.data_type,
        data=observable.data,
        fingerprint=observable.fingerprint,
        message=observable.message,
        start_date=observable.start_date,
        tlp=observable.tlp,
        pap=observable.pap,
        tags=list(observable.tags or []),
        ioc=observable.ioc,
        sighted=observable.sighted,
        sighted_at=observable.sighted_at,
        ignore_similarity=observable.ignore_similarity,
        reports=dict(observable.reports or {}),
        created_by=actor.login,
        created_at=now_ms(),
    )
    attachment = None
    if source_file is not None:
        attachment = attachments.copy_attachment(session, actor, source_file, for_observable=True)
        copy.attachment_id = attachment.id
    session.add(copy)
    session.flush()
    _record(session, actor, "create", copy, {**_summary(copy, attachment), "from": observable.eid})
    return copy


# =========================================================================== extra data


def seen_summaries(
    session: Session, actor: Actor, observables: list[Observable]
) -> dict[int, dict[str, Any]]:
    """How often each observable was seen elsewhere in what the organisation can see: one
    aggregate query over the fingerprint index for the whole list. ``count`` is the number
    of other observables, ``cases``/``alerts`` how many of them are in cases/alerts (a
    container holds a value once, so it is also the number of other cases/alerts)."""
    fingerprints = {o.fingerprint for o in observables}
    if not fingerprints:
        return {}
    rows = session.execute(
        select(
            Observable.fingerprint,
            func.count(Observable.id),
            func.sum(cast(Observable.ioc, Integer)),
            func.min(Observable.created_at),
            func.max(Observable.created_at),
            func.count(Observable.case_id),
        )
        .where(
            Observable.fingerprint.in_(fingerprints),
            Observable.ignore_similarity == false(),
            visible_observable_condition(actor),
        )
        .group_by(Observable.fingerprint)
    ).all()
    stats = {row[0]: (row[1], int(row[2] or 0), row[3], row[4], row[5]) for row in rows}
    out: dict[int, dict[str, Any]] = {}
    for observable in observables:
        count, iocs, first, last, in_cases = stats.get(
            observable.fingerprint, (0, 0, None, None, 0)
        )
        counted_self = 0 if observable.ignore_similarity else 1
        others = max(0, count - counted_self)
        other_iocs = max(0, iocs - (1 if observable.ioc and counted_self else 0))
        other_cases = max(0, in_cases - (counted_self if observable.case_id else 0))
        summary: dict[str, Any] = {
            "ioc": other_iocs > 0,
            "count": others,
            "cases": other_cases,
            "alerts": others - other_cases,
        }
        if others:
            summary["firstSeen"] = first
            summary["lastSeen"] = last
        out[observable.id] = summary
    return out
