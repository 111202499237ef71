"""The live stream and its history: the audit record as an analyst sees it.

One rule (:func:`visible_branches`) says which events a caller sees; the live stream, its resume
(``Last-Event-ID``) and the history pages all ask it.

* Its organisation's events, except where the event's case or alert is one the caller may
  not see (a restricted case, a case no longer shared with it), and except the events about
  users, profiles, organisations and analyzer configuration, shown only to callers who may
  manage them. Entries never show an event's details, only words chosen here, so no secret
  (even a masked one) can travel through the stream.
* On a case shared between organisations, what the partner does: the owner organisation
  sees all of it; the other organisations see what is about the tasks, logs, observables
  and analyses that their share lets them see.

The live part follows the audit table itself by id (the primary key), not an in-memory
hand-off: every server process runs one :class:`Follower` that polls for new rows and fans
them out to its subscribers, so an event written through any process sharing the database
reaches every stream.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, func, or_, select, true
from sqlalchemy.orm import Session, aliased

from propolis.access import case_visible, visible_observable_filter, visible_task_filter
from propolis.alerts.models import Alert
from propolis.analysis.models import AnalysisWorker, AnalyzerJob
from propolis.cases.models import Case, Share
from propolis.casetemplates.models import CaseTemplate
from propolis.core.db import Database
from propolis.core.events import AuditEvent
from propolis.core.security import Actor
from propolis.fields.models import CaseMetric, CustomField
from propolis.observables.models import Observable, ObservableType
from propolis.orgs.models import Organisation
from propolis.tasks.models import Task, TaskLog
from propolis.users.models import Profile, User

log = logging.getLogger(__name__)

RESUME_LIMIT = 500  # events replayed to a reconnecting stream (the newest ones)
HISTORY_PAGE = 50
POLL_BATCH = 500
QUEUE_SIZE = 1000  # entries waiting for one client; beyond, the client is dropped
GAP_WAIT_SECONDS = 30.0
MAX_GAPS = 10_000

# Events about these objects are for the people who administer them.
MANAGED_TYPES = {
    "User": "manageUser",
    "Profile": "manageProfile",
    "Organisation": "manageOrganisation",
    "AnalysisWorker": "manageConfig",
}


# --------------------------------------------------------------------------- visibility


def visible_branches(
    session: Session, actor: Actor, roots: Iterable[int] | None = None
) -> list[ColumnElement[bool]]:
    """The rule, as SQL conditions on ``AuditEvent`` (an event is visible when one holds):
    the caller organisation's events, and partners' events on the cases it shares with
    them. Those cases are read first (among ``roots`` when given): most organisations
    share none, and a list lets the database walk only their events (``ix_audit_root``).
    Kept apart so that each branch reads along its own index; an ``OR`` of the two would
    walk the whole table."""
    branches = [_own_organisation(actor)]
    partner_cases = shared_cases(session, actor, roots)
    if partner_cases:
        branches.append(_partner_on_shared_case(actor, partner_cases))
    return branches


def shared_cases(session: Session, actor: Actor, among: Iterable[int] | None = None) -> list[int]:
    """The cases the caller's organisation shares with another one: those with a guest
    share (``ix_share_guest``, few) where the caller's organisation holds a share too."""
    guest, mine = aliased(Share), aliased(Share)
    stmt = select(guest.case_id).where(
        guest.owner == false(),
        exists(select(mine.id).where(mine.case_id == guest.case_id, mine.org_id == actor.org_id)),
    )
    if among is not None:
        among = {root for root in among if root is not None}
        if not among:
            return []
        stmt = stmt.where(guest.case_id.in_(among))
    return list(set(session.scalars(stmt)))


def _own_organisation(actor: Actor) -> ColumnElement[bool]:
    hidden = [kind for kind, permission in MANAGED_TYPES.items() if not actor.can(permission)]
    root_is_a_case = exists(select(Case.id).where(Case.id == AuditEvent.root_id))
    return and_(
        AuditEvent.org_id == actor.org_id,
        AuditEvent.object_type.notin_(hidden),
        # Alerts belong to one organisation; a case may be restricted or unshared since.
        or_(
            AuditEvent.root_id.is_(None),
            ~root_is_a_case,
            case_visible(actor, AuditEvent.root_id),
        ),
    )


def _partner_on_shared_case(actor: Actor, cases: list[int]) -> ColumnElement[bool]:
    owner = exists(
        select(Share.id).where(
            Share.case_id == AuditEvent.root_id, Share.org_id == actor.org_id, Share.owner
        )
    )
    return and_(
        AuditEvent.org_id != actor.org_id,
        AuditEvent.root_id.in_(cases),
        case_visible(actor, AuditEvent.root_id),
        or_(owner, _object_visible(actor)),
    )


def _object_visible(actor: Actor) -> ColumnElement[bool]:
    """The event's task, log, observable or analysis is visible through the caller's share."""
    kind, object_id = AuditEvent.object_type, AuditEvent.object_id
    task = select(Task.id).where(Task.id == object_id, visible_task_filter(actor))
    task_log = (
        select(TaskLog.id)
        .join(Task, Task.id == TaskLog.task_id)
        .where(TaskLog.id == object_id, visible_task_filter(actor))
    )
    observable = select(Observable.id).where(
        Observable.id == object_id, visible_observable_filter(actor)
    )
    job = (
        select(AnalyzerJob.id)
        .join(Observable, Observable.id == AnalyzerJob.observable_id)
        .where(AnalyzerJob.id == object_id, visible_observable_filter(actor))
    )
    return or_(
        and_(kind == "Task", exists(task)),
        and_(kind == "Log", exists(task_log)),
        and_(kind == "Observable", exists(observable)),
        and_(kind == "AnalyzerJob", exists(job)),
    )


def visible_ids(session: Session, actor: Actor, events: list[tuple[int, int | None]]) -> set[int]:
    """Which of these events (``(id, root_id)``, a batch of the live stream) the caller may
    see."""
    if not events:
        return set()
    branches = visible_branches(session, actor, {root for _, root in events})
    stmt = select(AuditEvent.id).where(AuditEvent.id.in_([i for i, _ in events]), or_(*branches))
    return set(session.scalars(stmt))


# --------------------------------------------------------------------------- entries


@dataclass(frozen=True)
class Entry:
    """One line of the stream: who did what to which object, when."""

    id: int
    created_at: int  # ms since the epoch
    actor: str
    verb: str  # "started task", "added observable" ...
    label: str  # the object in words: a task's title, "#12 Phishing", "ip 1.2.3.4"
    href: str | None  # the object's page
    context: str | None  # the case or alert it belongs to, when not the object itself
    context_href: str | None


NOUNS = {
    "Case": "case",
    "Alert": "alert",
    "Task": "task",
    "Log": "task log",
    "Observable": "observable",
    "AnalyzerJob": "analysis",
    "ResponderAction": "responder action",
    "Attachment": "attachment",
    "Comment": "comment",
    "Page": "page",
    "Procedure": "procedure",
    "CustomEvent": "timeline event",
    "CaseTemplate": "case template",
    "PageTemplate": "page template",
    "CustomField": "custom field",
    "CaseMetric": "case metric",
    "ObservableType": "observable type",
    "AnalysisWorker": "analyzer configuration",
    "User": "user",
    "Profile": "profile",
    "Organisation": "organisation",
    "Pattern": "ATT&CK patterns",
}
# Objects of the administration pages: (their name's column, the page that shows them;
# "{id}" is the object's id). Types without a page of their own link to their list.
_ADMIN_OBJECTS: dict[str, tuple[Any, str]] = {
    "User": (User.login, "/admin/users/~{id}"),
    "Organisation": (Organisation.name, "/admin/organisations/~{id}"),
    "Profile": (Profile.name, "/admin/profiles/~{id}"),
    "CaseTemplate": (CaseTemplate.name, "/admin/case-templates/~{id}"),
    "CustomField": (CustomField.name, "/admin/custom-fields/~{id}"),
    "CaseMetric": (CaseMetric.name, "/admin/case-metrics/~{id}"),
    "ObservableType": (ObservableType.name, "/admin/observable-types"),
    "AnalysisWorker": (AnalysisWorker.name, "/admin/{kind}s/~{id}"),
}
_ACTIONS = {"create": "added", "update": "updated", "delete": "deleted", "merge": "merged"}
_TASK_STATUS = {"InProgress": "started", "Completed": "closed", "Cancel": "cancelled"}


def verb(event: AuditEvent) -> str:
    """What the event did, in words."""
    kind, action, details = event.object_type, event.action, event.details or {}
    if kind == "AnalyzerJob":
        return _analysis_verb(action, details)
    if action == "update" and kind == "Task":
        if details.get("status") in _TASK_STATUS:
            return f"{_TASK_STATUS[details['status']]} task"
        if "assignee" in details:
            return "assigned task"
    if action == "update" and kind in ("Case", "Alert"):
        if kind == "Alert" and "caseId" in details:
            return "imported alert"
        if isinstance(details.get("status"), str):
            return f"changed {NOUNS[kind]} status to {details['status']}"
        if "assignee" in details:
            return f"assigned {NOUNS[kind]}"
        if kind == "Case" and "share" in details:
            return "shared case"
    if action == "create" and kind in ("Case", "Alert"):
        return f"created {NOUNS[kind]}"
    if kind == "User" and action in ("login", "logout", "loginFailure"):
        return {"login": "signed in", "logout": "signed out"}.get(action, "failed to sign in")
    noun = NOUNS.get(kind, kind)
    return f"{_ACTIONS.get(action, action)} {noun}"


def _analysis_verb(action: str, details: dict[str, Any]) -> str:
    status = details.get("status")
    if action == "delete":
        return "deleted analysis"
    if action == "create":
        return "ran analyzer" if details.get("queued", True) else "reused analysis"
    return {"Success": "analyzer finished", "Failure": "analyzer failed"}.get(
        status, "analysis updated"
    )


def describe(session: Session, rows: list[AuditEvent]) -> list[Entry]:
    """Entries for audit rows, with a handful of batched look-ups (no query per row)."""
    names = _Names(session, rows)
    return [names.entry(row) for row in rows]


class _Names:
    """The labels and links of the objects a batch of events is about."""

    def __init__(self, session: Session, rows: list[AuditEvent]) -> None:
        def ids(*kinds: str) -> set[int]:
            return {r.object_id for r in rows if r.object_type in kinds and r.object_id}

        roots = {r.root_id for r in rows if r.root_id} | ids("Case", "Alert")
        self.cases = _rows(session, select(Case.id, Case.number, Case.title), Case.id, roots)
        self.alerts = _rows(session, select(Alert.id, Alert.title), Alert.id, roots)
        self.log_tasks = _rows(session, select(TaskLog.id, TaskLog.task_id), TaskLog.id, ids("Log"))
        self.jobs = _rows(
            session,
            select(AnalyzerJob.id, AnalyzerJob.analyzer_name, AnalyzerJob.observable_id),
            AnalyzerJob.id,
            ids("AnalyzerJob"),
        )
        task_ids = ids("Task") | {r.task_id for r in self.log_tasks.values()}
        self.tasks = _rows(session, select(Task.id, Task.title), Task.id, task_ids)
        self.admin_objects = {
            kind: _rows(
                session,
                select(column.class_.id, column, *_extra(kind)),
                column.class_.id,
                ids(kind),
            )
            for kind, (column, _url) in _ADMIN_OBJECTS.items()
        }
        observable_ids = ids("Observable") | {j.observable_id for j in self.jobs.values()}
        self.observables = _rows(
            session,
            select(Observable.id, Observable.data_type, Observable.data),
            Observable.id,
            {i for i in observable_ids if i},
        )

    def entry(self, row: AuditEvent) -> Entry:
        label, href = self._object(row)
        context, context_href = self._root(row.root_id)
        if context_href == href:
            context = context_href = None
        return Entry(
            id=row.id,
            created_at=row.created_at,
            actor=row.actor,
            verb=verb(row),
            label=label,
            href=href,
            context=context,
            context_href=context_href,
        )

    def _root(self, root_id: int | None) -> tuple[str | None, str | None]:
        if root_id in self.cases:
            case = self.cases[root_id]
            return f"#{case.number} {case.title}", f"/cases/~{root_id}"
        if root_id in self.alerts:
            return self.alerts[root_id].title, f"/alerts/~{root_id}"
        return None, None

    def _object(self, row: AuditEvent) -> tuple[str, str | None]:
        kind, object_id = row.object_type, row.object_id
        if kind in ("Case", "Alert"):
            label, href = self._root(object_id)
            return label or f"~{object_id}", href
        if kind == "Log" and object_id in self.log_tasks:
            return self._task(self.log_tasks[object_id].task_id)
        if kind == "Task":
            return self._task(object_id)
        if kind == "Observable":
            return self._observable(object_id)
        if kind == "AnalyzerJob" and object_id in self.jobs:
            job = self.jobs[object_id]
            label, href = self._observable(job.observable_id)
            return f"{job.analyzer_name} on {label}", href
        if kind in _ADMIN_OBJECTS:
            return self._admin_object(kind, object_id)
        # Objects without a page of their own: the case or alert they belong to.
        context, context_href = self._root(row.root_id)
        return context or "", context_href

    def _admin_object(self, kind: str, object_id: int | None) -> tuple[str, str | None]:
        found = self.admin_objects[kind].get(object_id)
        if found is None:
            return f"a deleted {NOUNS[kind]}", None
        kind_of_worker = found[2] if kind == "AnalysisWorker" else ""
        return found[1], _ADMIN_OBJECTS[kind][1].format(id=object_id, kind=kind_of_worker)

    def _task(self, task_id: int | None) -> tuple[str, str | None]:
        task = self.tasks.get(task_id)
        return (task.title, f"/tasks/~{task_id}") if task else ("a deleted task", None)

    def _observable(self, observable_id: int | None) -> tuple[str, str | None]:
        observable = self.observables.get(observable_id)
        if observable is None:
            return "a deleted observable", None
        value = observable.data if observable.data is not None else "file"
        return f"{observable.data_type} {_shortened(value)}", f"/observables/~{observable_id}"


def _extra(kind: str) -> list[Any]:
    return [AnalysisWorker.kind] if kind == "AnalysisWorker" else []


def _rows(session: Session, stmt: Any, key: Any, wanted: set[int]) -> dict[int, Any]:
    if not wanted:
        return {}
    return {row[0]: row for row in session.execute(stmt.where(key.in_(wanted)))}


def _shortened(value: str, limit: int = 80) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


# --------------------------------------------------------------------------- history


def history(
    session: Session, actor: Actor, before: int | None = None, limit: int = HISTORY_PAGE
) -> tuple[list[Entry], int | None]:
    """A page of visible events older than ``before``, newest first, and the ``before`` of
    the next page (None on the last one).

    Each branch of the rule is read along its own index, then merged."""
    older = AuditEvent.id < before if before is not None else true()
    ids: list[int] = []
    for branch in visible_branches(session, actor):
        stmt = select(AuditEvent.id).where(branch, older).order_by(AuditEvent.id.desc())
        ids.extend(session.scalars(stmt.limit(limit + 1)))
    ids = sorted(set(ids), reverse=True)[: limit + 1]
    page, more = ids[:limit], len(ids) > limit
    return _entries(session, page, newest_first=True), (page[-1] if more else None)


def events_after(session: Session, actor: Actor, after: int, limit: int = RESUME_LIMIT) -> list:
    """The visible events after ``after`` (the newest ``limit`` of them), oldest first."""
    ids: list[int] = []
    for branch in visible_branches(session, actor):
        stmt = select(AuditEvent.id).where(branch, AuditEvent.id > after)
        ids.extend(session.scalars(stmt.order_by(AuditEvent.id.desc()).limit(limit)))
    newest = sorted(set(ids), reverse=True)[:limit]
    return _entries(session, newest, newest_first=False)


def _entries(session: Session, ids: list[int], newest_first: bool) -> list[Entry]:
    order = AuditEvent.id.desc() if newest_first else AuditEvent.id
    rows = list(session.scalars(select(AuditEvent).where(AuditEvent.id.in_(ids)).order_by(order)))
    return describe(session, rows)


def last_id(session: Session) -> int:
    return session.scalar(select(func.max(AuditEvent.id))) or 0


# --------------------------------------------------------------------------- live


class Subscription:
    """One open stream: its caller and the entries waiting to be sent."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        self.queue: asyncio.Queue[Entry | None] = asyncio.Queue(QUEUE_SIZE)

    def offer(self, entry: Entry) -> bool:
        """Queue an entry; False when the client is too slow (it is then told to go)."""
        try:
            self.queue.put_nowait(entry)
            return True
        except asyncio.QueueFull:
            self.end()
            return False

    def end(self) -> None:
        """What is queued is dropped: the client reconnects with Last-Event-ID."""
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(None)


class Follower:
    """Follows the audit table for this process's streams.

    One background task polls ``id > last`` every ``poll_seconds`` (sooner when this
    process has just committed events) while somebody listens, describes the new rows once
    and hands each subscriber those it may see. On PostgreSQL ids are taken before commit,
    so a row can appear after a higher one: ids skipped over are looked for again for
    :data:`GAP_WAIT_SECONDS` (a rolled-back transaction leaves a gap for ever)."""

    def __init__(self, db: Database, poll_seconds: float) -> None:
        self._db = db
        self._poll_seconds = poll_seconds
        self._subscribers: set[Subscription] = set()
        self._task: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._started = asyncio.Event()
        self._last = 0
        self._gaps: dict[int, float] = {}

    @asynccontextmanager
    async def subscribe(
        self, actor: Actor, after: int | None = None, seconds: float | None = None
    ) -> AsyncIterator[AsyncIterator[Entry]]:
        """The entries the caller may see: first those after ``after`` (when given), then
        live ones, as an async iterator that ends when the client is too slow or after
        ``seconds`` (the client then reconnects: its rights are checked again)."""
        subscription = Subscription(actor)
        # Registered before the catch-up is read, so nothing falls between the two; and
        # the catch-up read waits until the follower knows where it starts: an event
        # committed between a catch-up read and that start would be in neither.
        self._subscribers.add(subscription)
        started = self._ensure_running()
        try:
            await started.wait()
            replayed: list[Entry] = []
            if after is not None:
                replayed = await asyncio.to_thread(self._read, events_after, actor, after)
            yield _entries_of(subscription, replayed, seconds)
        finally:
            self._subscribers.discard(subscription)

    def close(self) -> None:
        """End every stream now (the server is stopping); the browsers reconnect later."""
        for subscription in list(self._subscribers):
            subscription.end()
        self._subscribers.clear()

    def notify(self) -> None:
        """Wake the poller early (from any thread): this process has committed events."""
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None and not loop.is_closed():
            loop.call_soon_threadsafe(wake.set)

    async def stop(self) -> None:
        self._subscribers.clear()
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    def _read(self, function: Any, *args: Any) -> Any:
        with self._db.read_sessions() as session:
            return function(session, *args)

    def _ensure_running(self) -> asyncio.Event:
        """The follower's task, started if need be; the returned event is set once it
        knows the id it follows from."""
        if self._task is None or self._task.done():
            self._loop = asyncio.get_running_loop()
            self._wake = asyncio.Event()
            self._started = asyncio.Event()
            self._task = asyncio.create_task(self._run(), name="audit-stream-follower")
        return self._started

    async def _run(self) -> None:
        started = False
        while self._subscribers:
            try:
                if not started:  # from the newest event: listeners replay what they missed
                    self._last = await asyncio.to_thread(self._read, last_id)
                    self._gaps.clear()
                    started = True
                    self._started.set()
                await asyncio.wait_for(self._wake.wait(), self._poll_seconds)
            except TimeoutError:
                pass
            except Exception:
                log.exception("reading the newest audit event failed")
                await asyncio.sleep(self._poll_seconds)
                continue
            self._wake.clear()
            try:
                await self._poll_once()
            except Exception:  # a database hiccup must not end every stream for good
                log.exception("following the audit table failed")
                await asyncio.sleep(self._poll_seconds)

    async def _poll_once(self) -> None:
        actors = {s.actor for s in self._subscribers}
        batch = await asyncio.to_thread(self._read, self._fetch, actors)
        if batch is None:
            return
        entries, events, seen_by = batch
        # Streams opened while the batch was read: their catch-up read may have run before
        # the batch's rows were committed, so they are told what they may see of it too
        # (what both give is sent once).
        late = {s.actor for s in self._subscribers} - seen_by.keys()
        if late:
            seen_by |= await asyncio.to_thread(self._read, self._visibility, late, events)
        for subscription in list(self._subscribers):
            allowed = seen_by.get(subscription.actor, set())
            for entry in entries:
                if entry.id in allowed and not subscription.offer(entry):
                    self._subscribers.discard(subscription)
                    break

    def _fetch(
        self, session: Session, actors: set[Actor]
    ) -> tuple[list[Entry], list[tuple[int, int | None]], dict[Actor, set[int]]] | None:
        new = AuditEvent.id > self._last
        if self._gaps:
            new = or_(new, AuditEvent.id.in_(list(self._gaps)))
        stmt = select(AuditEvent).where(new).order_by(AuditEvent.id).limit(POLL_BATCH)
        rows = list(session.scalars(stmt))
        self._track_gaps([row.id for row in rows])
        if not rows:
            return None
        events = [(row.id, row.root_id) for row in rows]
        return describe(session, rows), events, self._visibility(session, actors, events)

    @staticmethod
    def _visibility(
        session: Session, actors: set[Actor], events: list[tuple[int, int | None]]
    ) -> dict[Actor, set[int]]:
        return {actor: visible_ids(session, actor, events) for actor in actors}

    def _track_gaps(self, ids: list[int]) -> None:
        now = time.monotonic()
        for found in ids:
            self._gaps.pop(found, None)
        expected = self._last + 1
        for found in ids:
            if found > self._last:
                if found - expected <= MAX_GAPS - len(self._gaps):
                    for missing in range(expected, found):
                        self._gaps.setdefault(missing, now)
                expected = found + 1
                self._last = found
        for missing, since in list(self._gaps.items()):
            if now - since > GAP_WAIT_SECONDS:
                del self._gaps[missing]


async def _entries_of(
    subscription: Subscription, replayed: list[Entry], seconds: float | None
) -> AsyncIterator[Entry]:
    ends = time.monotonic() + seconds if seconds is not None else None
    sent = {entry.id for entry in replayed}
    for entry in replayed:
        yield entry
    while True:
        try:
            left = ends - time.monotonic() if ends is not None else None
            entry = await asyncio.wait_for(subscription.queue.get(), left)
        except TimeoutError:
            return
        if entry is None:
            return
        if entry.id not in sent:  # live entries the catch-up read already had
            yield entry
