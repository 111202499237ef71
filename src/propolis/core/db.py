"""Engine, sessions, SQLite pragmas, the declarative base and the id scheme.

Every entity carries an integer primary key drawn from one platform-wide counter, so that
ids are unique across entity kinds (TheHive's ``~123`` ids are graph vertex ids and some
routes accept "an alert or a case" by id). The API renders them as ``"~" + str(id)``.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import orjson
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    event,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    SessionTransaction,
    mapped_column,
    sessionmaker,
)

T = TypeVar("T")
log = logging.getLogger(__name__)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# JSON stored as JSONB on PostgreSQL (indexable, containment operators), JSON text on SQLite.
JsonType = JSON().with_variant(JSONB(), "postgresql")


def now_ms() -> int:
    return int(time.time() * 1000)


# 64-bit integers everywhere. On SQLite (whose integers are all 64-bit) they are declared
# INTEGER, so that an integer primary key *is* the table's rowid: no second index on id,
# and every secondary index ends with it (indexes serve "ORDER BY x, id" and id ranges).
Int64 = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {int: Int64}


class Entity(Base):
    """Common meta fields of every TheHive-visible object (rendered as ``_id``, ``_createdBy``...)."""

    __abstract__ = True

    id: Mapped[int] = mapped_column(Int64, primary_key=True, autoincrement=False)
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_by: Mapped[str | None] = mapped_column(String(255))
    updated_at: Mapped[int | None] = mapped_column(BigInteger)

    @property
    def eid(self) -> str:
        return f"~{self.id}"

    def touch(self, login: str, at: int | None = None) -> None:
        self.updated_by = login
        self.updated_at = at if at is not None else now_ms()


# The one platform-wide id counter: a single-row table on SQLite (writes are serialised
# anyway), a sequence on PostgreSQL (no row lock shared by all writers).
id_counter = Table(
    "id_counter",
    Base.metadata,
    Column("id", Integer, primary_key=True),
    Column("value", BigInteger, nullable=False),
)


# Ids are reserved from the counter in blocks and handed out from memory: one statement
# every ID_BLOCK ids instead of one per flush.
ID_BLOCK = 256


@dataclass
class _IdBlock:
    ids: list[int]
    # SQLite: the session transaction (or savepoint) whose counter update reserved them. If
    # it rolls back, so does the update, and the ids left must not be handed out (they
    # would be reserved again). PostgreSQL's sequence never gives a value twice: None.
    holder: SessionTransaction | None


_id_blocks: weakref.WeakKeyDictionary[Any, _IdBlock] = weakref.WeakKeyDictionary()
_id_blocks_lock = threading.Lock()


def allocate_ids(session: Session, count: int) -> list[int]:
    """``count`` new ids, increasing within one process (not across processes)."""
    if count <= 0:
        return []
    connection = session.connection()
    key = connection.engine.pool  # one per database, whatever the execution options
    with _id_blocks_lock:
        block = _id_blocks.get(key)
        if block is not None and block.holder is not None:
            # Reserved by a transaction not yet committed: usable by that transaction only.
            # Another one asking means it ended without committing (SQLite's writers take
            # turns), and its reservation is gone with it.
            if not within(block.holder, session.get_transaction()):
                block = None
        if block is None or len(block.ids) < count:
            block = _reserve_ids(session, connection, max(count, ID_BLOCK))
            _id_blocks[key] = block
        ids, block.ids = block.ids[:count], block.ids[count:]
    return ids


def _reserve_ids(session: Session, connection: Connection, count: int) -> _IdBlock:
    if connection.dialect.name == "postgresql":
        rows = connection.execute(
            text("SELECT nextval('propolis_ids') FROM generate_series(1, :n)"), {"n": count}
        )
        return _IdBlock([r[0] for r in rows], None)
    last = connection.execute(
        text("UPDATE id_counter SET value = value + :n WHERE id = 1 RETURNING value"),
        {"n": count},
    ).scalar_one()
    holder = session.get_nested_transaction() or session.get_transaction()
    return _IdBlock(list(range(last - count + 1, last + 1)), holder)


def forget_id_blocks(pool: Any) -> None:
    """The transaction that reserved the ids in memory is lost (a failed group commit)."""
    with _id_blocks_lock:
        _id_blocks.pop(pool, None)


def within(transaction: SessionTransaction | None, ended: SessionTransaction) -> bool:
    """Is ``transaction`` ``ended`` or a savepoint inside it?"""
    while transaction is not None:
        if transaction is ended:
            return True
        transaction = transaction.parent
    return False


@event.listens_for(Session, "after_commit")
def _keep_committed_ids(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: the reservation still depends on the transaction
    root = session.get_transaction()
    with _id_blocks_lock:
        for block in _id_blocks.values():
            if block.holder is not None and within(block.holder, root):
                block.holder = None


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back_ids(session: Session, previous_transaction: SessionTransaction) -> None:
    with _id_blocks_lock:
        for key, block in list(_id_blocks.items()):
            if block.holder is not None and within(block.holder, previous_transaction):
                del _id_blocks[key]


@event.listens_for(Session, "before_flush")
def _assign_ids(session: Session, flush_context, instances) -> None:  # noqa: ANN001
    pending = [o for o in session.new if isinstance(o, Entity) and o.id is None]
    for obj, new_id in zip(pending, allocate_ids(session, len(pending)), strict=True):
        obj.id = new_id


MAX_ID = 2**63 - 1


def find_by_ref(session: Session, model: type[T], name: Any, ref: str) -> T | None:
    """A platform-wide definition by ``~id`` or by its unique ``name`` column (custom
    fields, case metrics, observable types, profiles, patterns all answer to both)."""
    entity_id = parse_id(ref)
    if entity_id is not None:
        return session.get(model, entity_id)
    return session.scalar(select(model).where(name == ref))


def parse_id(value: object) -> int | None:
    """``"~123"`` -> 123; anything else -> None (it is a name, or matches nothing)."""
    digits = value[1:] if isinstance(value, str) and value.startswith("~") else ""
    if digits.isascii() and digits.isdigit():
        number = int(digits)
        # Beyond a BIGINT it cannot be an id (and the database would reject the parameter).
        return number if number <= MAX_ID else None
    return None


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    # FULL: a commit acknowledged to a client survives a power loss (WAL + NORMAL would not).
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA busy_timeout=30000")
    # The journal of a SAVEPOINT (every unit of the group commit runs in one) is a temp
    # file once it passes 64 KiB - an alert's unit touches some 25 B-trees: each page it
    # changed was written there first, ~200 KB and ~100 write() calls per alert. In
    # memory it costs no system call and is freed at the unit's RELEASE. Temporary
    # tables and sorts go to memory too: every list query is indexed and paged.
    cur.execute("PRAGMA temp_store=MEMORY")
    cur.close()


# Touched after each refresh, in the data folder: when it last ran, for every process.
STATISTICS_STAMP = "statistics.refreshed"


def refresh_statistics(engine: Engine, stamp: Path | None = None) -> None:
    """Let SQLite's planner know the tables' shapes. It plans from statistics only ANALYZE
    writes; without them it may walk 80 000 rows of an index to return one. A bounded
    ANALYZE (``analysis_limit``) costs milliseconds even on large tables. PostgreSQL's
    autovacuum keeps its own statistics: nothing to do there. ``stamp`` (a file) is touched
    once done: the platform status reads when statistics were last refreshed from it."""
    if engine.dialect.name != "sqlite":
        return
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("PRAGMA analysis_limit=1000")
        cursor.execute("ANALYZE")
        cursor.close()
    finally:
        raw.close()
    if stamp is not None:
        stamp.touch()


def json_text(value: Any) -> str:
    """JSON columns' serialiser: orjson (several times faster than ``json.dumps`` on the hot
    write paths); the standard library for what orjson refuses (integers beyond 64 bits)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return json.dumps(value)


class HotInsert:
    """An INSERT of the hot write paths (an alert, its observables, their events).

    Its SQL text is rendered once per database, column set and row count, its values are
    converted by the columns' own types, and its rows go as one multi-row statement through
    ``exec_driver_sql``. A Core ``insert()`` pays at every execution for the compiled
    cache's look-up and a per-row walk of its parameters (a 6-row insert of audit events:
    125 us, of which ~40 us are that). Statement events and error wrapping (an
    ``IntegrityError`` for a unique index) stay SQLAlchemy's. Rows are dicts with the same
    keys; ``returning_id``: the new rows' ids, in the order of the rows."""

    # Bound parameters per statement: SQLite allows 32 766 (3.32+), PostgreSQL 65 535.
    MAX_PARAMETERS = 30_000

    def __init__(self, table: Table, *, returning_id: bool = False) -> None:
        self.table = table
        self.returning_id = returning_id
        self._prepared: dict[tuple[str, tuple[str, ...]], _PreparedInsert] = {}

    def execute(self, connection: Connection, rows: list[dict[str, Any]]) -> list[int]:
        if not rows:
            return []
        keys = tuple(rows[0])
        prepared = self._prepare(connection, keys)
        per_statement = max(1, self.MAX_PARAMETERS // len(keys))
        ids: list[int] = []
        run = _run_on_sqlite if connection.dialect.name == "sqlite" else _run_through_sqlalchemy
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            found = run(connection, prepared.sql(len(chunk)), prepared.values(chunk))
            if self.returning_id:
                ids.extend(row[0] for row in found)
        # One statement numbers its rows in the order of its VALUES (both databases).
        return sorted(ids)

    def _prepare(self, connection: Connection, keys: tuple[str, ...]) -> _PreparedInsert:
        dialect = connection.dialect
        found = self._prepared.get((dialect.name, keys))
        if found is None:
            found = _PreparedInsert(self.table, keys, dialect, self.returning_id)
            self._prepared[(dialect.name, keys)] = found
        return found


def _run_through_sqlalchemy(connection: Connection, sql: str, values: tuple) -> list:
    result = connection.exec_driver_sql(sql, values)
    return result.all() if result.returns_rows else []


def _run_on_sqlite(connection: Connection, sql: str, values: tuple) -> list:
    """The statement on the driver's cursor: SQLAlchemy's execution context (~20 us a
    statement) buys nothing here - the text is final, the values converted, the rows plain
    tuples. What it does that matters is kept: the statement events (``bench.statements``
    counts them) and errors as SQLAlchemy's (an ``IntegrityError`` is the dedup rule).
    SQLite has no lost connection to handle."""
    dispatch = connection.dispatch
    cursor = connection.connection.driver_connection.cursor()
    try:
        if dispatch.before_cursor_execute:
            dispatch.before_cursor_execute(connection, cursor, sql, values, None, False)
        try:
            found = cursor.execute(sql, values).fetchall()
        except connection.dialect.loaded_dbapi.Error as exc:
            raise DBAPIError.instance(
                sql, values, exc, connection.dialect.loaded_dbapi.Error, dialect=connection.dialect
            ) from exc
        if dispatch.after_cursor_execute:
            dispatch.after_cursor_execute(connection, cursor, sql, values, None, False)
        return found
    finally:
        cursor.close()


class _PreparedInsert:
    """The text and the value converters of one :class:`HotInsert` on one database."""

    def __init__(self, table: Table, keys: tuple[str, ...], dialect: Any, returning: bool) -> None:
        quote = dialect.identifier_preparer
        columns = [table.c[key] for key in keys]
        self.keys = keys
        self.converters = [
            column.type.dialect_impl(dialect).bind_processor(dialect) for column in columns
        ]
        marker = "?" if dialect.paramstyle == "qmark" else "%s"
        names = ", ".join(quote.format_column(column) for column in columns)
        self.head = f"INSERT INTO {quote.format_table(table)} ({names}) VALUES "
        self.one_row = "(" + ", ".join([marker] * len(keys)) + ")"
        self.tail = f" RETURNING {quote.format_column(table.c.id)}" if returning else ""
        self._texts: dict[int, str] = {}

    def sql(self, rows: int) -> str:
        text_ = self._texts.get(rows)
        if text_ is None:
            text_ = self.head + ", ".join([self.one_row] * rows) + self.tail
            if len(self._texts) < 64:  # the usual sizes; an odd one is rendered each time
                self._texts[rows] = text_
        return text_

    def values(self, rows: list[dict[str, Any]]) -> tuple[Any, ...]:
        pairs = list(zip(self.keys, self.converters, strict=True))
        out: list[Any] = []
        for row in rows:
            if len(row) != len(pairs):
                raise ValueError(f"row keys {sorted(row)} differ from {sorted(self.keys)}")
            for key, convert in pairs:
                value = row[key]
                out.append(value if convert is None else convert(value))
        return tuple(out)


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            json_serializer=json_text,
        )
        event.listen(engine, "connect", _sqlite_pragmas)

        # pysqlite's own transaction handling defers BEGIN until the first write, which lets
        # two writers deadlock on lock upgrade; the writer's BEGIN IMMEDIATE (below) takes
        # the write lock up front, readers get a plain BEGIN (a WAL snapshot).
        @event.listens_for(engine, "connect")
        def _no_pysqlite_begin(dbapi_conn, _record) -> None:  # noqa: ANN001
            dbapi_conn.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin(conn) -> None:  # noqa: ANN001
            immediate = conn.get_execution_options().get(WRITER_OPTION)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        _plain_savepoints(engine.dialect)
        return engine
    return create_engine(
        url, pool_size=10, max_overflow=20, pool_pre_ping=True, json_serializer=json_text
    )


def _plain_savepoints(dialect: Any) -> None:
    """Every unit of a group commit but the first runs in a SAVEPOINT: the dialect's own
    way compiles a fresh ``SavepointClause`` for each SAVEPOINT and RELEASE (~40 us per
    unit on the ingest path); the same statements as text cost a driver call. The names
    are SQLAlchemy's own (``sa_savepoint_N``), quoted as it would quote them."""
    quote = dialect.identifier_preparer.quote

    def savepoint(connection: Connection, name: str) -> None:
        connection.exec_driver_sql(f"SAVEPOINT {quote(name)}")

    def release(connection: Connection, name: str) -> None:
        connection.exec_driver_sql(f"RELEASE SAVEPOINT {quote(name)}")

    def rollback_to(connection: Connection, name: str) -> None:
        connection.exec_driver_sql(f"ROLLBACK TO SAVEPOINT {quote(name)}")

    dialect.do_savepoint = savepoint
    dialect.do_release_savepoint = release
    dialect.do_rollback_to_savepoint = rollback_to


class WriterLock:
    """One SQLite writer at a time, handed over the moment the previous one commits.

    The threads of one process queue on a Python lock; the processes sharing the file
    (``serve --workers N``, the CLI) then queue on an ``flock`` of ``<database>.lock``,
    which the kernel hands to the next waiter at once and releases if its holder dies.
    Left to SQLite, waiting writers poll with sleeps of up to 100 ms (busy_timeout),
    which wrecks tail latency under concurrent writes; busy_timeout stays as the last
    resort for a writer that does not take this lock (an sqlite3 shell)."""

    def __init__(self, path: str | None) -> None:
        self._threads = threading.Lock()
        self._path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        self._threads.acquire()
        if self._path is None:
            return
        try:
            if self._fd is None:
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._threads.release()
            raise

    def release(self) -> None:
        try:
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()


def _lock_path(engine: Engine) -> str | None:
    """``<database>.lock`` beside a SQLite file (None for an in-memory database)."""
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return database + ".lock"


# Execution option of the one writer connection of a SQLite database (BEGIN IMMEDIATE).
WRITER_OPTION = "propolis_writer"


class GroupCommit:
    """Group commit on SQLite: the writers of one process share one connection and commits.

    SQLite allows one writer at a time, and with ``synchronous=FULL`` each commit waits for
    an fsync. Every write session of the process (requests, background jobs, the CLI) is a
    *unit* on the one writer connection: it takes its turn (a condition variable, so waiting
    writers are handed over to the moment the previous unit ends, without SQLite's
    busy-polling), runs inside a SAVEPOINT of the connection's open transaction, and releases
    it (or rolls back to it: a rejected unit never touches its neighbours). The unit that
    ends while no other writer waits for its turn - or when the batch is full or old enough
    - commits the transaction for every unit in it: one COMMIT and one fsync per batch.
    ``session.commit()`` returns only once the batch holding the unit is durable (and
    raises if that commit failed), so an acknowledged write survives a crash.

    Other processes (a second server, the CLI) meet SQLite's busy_timeout: the batch holds
    SQLite's write lock from its first unit to its COMMIT."""

    def __init__(self, engine: Engine, max_units: int = 64, max_age_s: float = 0.02) -> None:
        self.engine = engine.execution_options(**{WRITER_OPTION: True})
        # Held from a batch's BEGIN IMMEDIATE to its COMMIT/ROLLBACK: the processes sharing
        # the file queue on it (handed over by the kernel) instead of busy-polling SQLite.
        self._processes = WriterLock(_lock_path(engine))
        self.max_units = max_units
        self.max_age_s = max_age_s
        self.connection: Connection | None = None
        self._lock = threading.Lock()
        # Writers waiting for the turn, served first come first served: the turn is handed
        # to the head of the queue (no thundering herd, no writer overtaken indefinitely).
        self._queue: deque[_Waiter] = deque()
        self._durable_changed = threading.Condition(self._lock)
        self._busy = False  # a unit (or the end of a transaction) is using the connection
        self._batch = 0  # serial number of the open batch
        self._units = 0  # units released into the open batch
        self._opened_at = 0.0  # when the open batch's transaction began
        self._durable = -1  # the last batch whose transaction has ended
        self._failures: dict[int, BaseException] = {}
        # The writer lane's thread (core.lane): it keeps the turn from unit to unit, and its
        # units are told of their batch's end by callbacks instead of waiting for it.
        self.lane_thread: int | None = None
        self.holding = False  # the lane's thread holds the turn
        self.last_lane_batch: int | None = None  # the batch of the lane's last released unit
        self._after_batch: dict[int, list[Callable[[BaseException | None], None]]] = {}

    # ------------------------------------------------------------------ the turn

    def acquire(self) -> bool:
        """Wait for the turn; the connection is then in a transaction (BEGIN IMMEDIATE).
        True when this unit began that transaction (it is the first of its batch)."""
        with self._lock:
            if self._busy:
                waiter = _Waiter(threading.Condition(self._lock))
                self._queue.append(waiter)
                while not waiter.handed:
                    waiter.ready.wait()
            self._busy = True
        try:
            if self.connection is None:
                self.connection = self.engine.connect()
            first = not self.connection.in_transaction()
            if first:
                self._begin()
        except BaseException:
            with self._lock:
                self._hand_over()
            raise
        return first

    def _begin(self) -> None:
        assert self.connection is not None
        self._processes.acquire()
        try:
            self.connection.begin()
        except BaseException:
            self._processes.release()
            raise
        self._opened_at = time.monotonic()

    def _hand_over(self) -> None:
        """Give the turn to the next waiting writer (the lock is held)."""
        if self._queue:
            waiter = self._queue.popleft()
            waiter.handed = True
            waiter.ready.notify()
        else:
            self._busy = False

    def release(self, committed: bool) -> None:
        """The unit holding the turn has ended: released into the batch (``committed``) or
        rolled back to its savepoint. A released unit returns once its batch is durable.

        The unit that ends with no writer waiting for the turn (or with a full or old
        batch) ends the transaction: COMMIT when units were released into it, else a
        ROLLBACK of the empty transaction, which frees SQLite's lock for other processes."""
        if not committed and self._rolled_back_with_its_unit():
            return
        lost = not committed and self._transaction_lost()
        with self._lock:
            mine = self._batch
            if committed:
                self._units += 1
            if lost:
                ended = self._end_batch(mine, lost)
                self._hand_over()
            elif self._queue and not self._batch_due():
                # A writer is waiting: it (or a later one) ends this batch with its own.
                self._hand_over()
                if committed:
                    self._wait_durable(mine)
                return
            # Else keep the turn: ending the transaction below uses the connection.
        if lost:
            _tell(ended, lost)
            return
        failure = self._end_transaction(mine)
        if committed and failure is not None:
            raise failure

    def _batch_due(self) -> bool:
        """The open batch is full or old: end it now rather than let more units in (the
        lock is held)."""
        full = self._units >= self.max_units
        return full or time.monotonic() - self._opened_at >= self.max_age_s

    # ------------------------------------------------------------------ the writer lane

    def is_lane(self) -> bool:
        return self.lane_thread == threading.get_ident()

    def hold(self) -> bool:
        """The lane takes the turn for a run of units (its first unit's first statement).
        True when this began the batch's transaction (as :meth:`acquire`)."""
        first = self.acquire()
        self.holding = True
        return first

    def lane_unit_ended(self, committed: bool, callbacks: list[Callable[[], None]]) -> None:
        """A unit of the lane ended (it keeps the turn): counted into the batch when
        released, its after-durable ``callbacks`` kept for the batch's end. A unit whose
        error rolled the whole transaction back ends the batch at once, failed. The
        batch's first unit has no savepoint: its rollback ends the transaction, which held
        nothing else, and the turn goes with it."""
        if not committed and self._rolled_back_with_its_unit():
            return
        lost = not committed and self._transaction_lost()
        with self._lock:
            batch = self._batch
            if committed:
                self._units += 1
                self.last_lane_batch = batch
                if callbacks:
                    self._after_batch.setdefault(batch, []).extend(
                        _unless_failed(callback) for callback in callbacks
                    )
            ended = self._end_batch(batch, lost) if lost else []
        if lost:
            self.holding = False
            with self._lock:
                self._hand_over()
            _tell(ended, lost)

    def after_batch(self, batch: int, callback: Callable[[BaseException | None], None]) -> None:
        """``callback(failure)`` once ``batch`` has ended: committed (None) or failed."""
        with self._lock:
            if self._durable < batch:
                self._after_batch.setdefault(batch, []).append(callback)
                return
            failure = self._failures.get(batch)
        callback(failure)

    def should_let_go(self) -> bool:
        """The lane gives the turn back: another thread waits for it, the batch is full or
        old, or the transaction was lost."""
        if not self.holding:
            return True
        with self._lock:
            return bool(self._queue) or self._batch_due()

    def let_go(self) -> None:
        """The lane gives the turn back: to a waiting writer, whose units join the open
        batch, or by ending the batch (COMMIT, or ROLLBACK of an empty transaction)."""
        if not self.holding:
            return
        self.holding = False
        with self._lock:
            if self._queue and not self._batch_due():
                self._hand_over()
                return
            mine = self._batch
        self._end_transaction(mine)

    def _wait_durable(self, batch: int) -> None:
        while self._durable < batch:
            self._durable_changed.wait()
        failure = self._failures.get(batch)
        if failure is not None:
            raise failure

    def _end_transaction(self, batch: int) -> BaseException | None:
        failure: BaseException | None = None
        units = self._units
        try:
            assert self.connection is not None
            if units:
                self.connection.commit()
            else:
                self.connection.rollback()
        except BaseException as exc:  # noqa: BLE001 - handed to every unit of the batch
            failure = exc
            self._discard_connection()
        finally:
            self._processes.release()
        ended: list[Callable[[BaseException | None], None]] = []
        with self._lock:
            if units:
                ended = self._end_batch(batch, failure)
            self._hand_over()
        _tell(ended, failure)
        return failure

    def _end_batch(
        self, batch: int, failure: BaseException | None
    ) -> list[Callable[[BaseException | None], None]]:
        """The batch's transaction has ended (the lock is held): wake its units. Returns
        the lane's callbacks of the batch, for the caller to run once the lock is free."""
        if failure is not None:
            self._failures[batch] = failure
            forget_id_blocks(self.engine.pool)  # their reservation was lost with the batch
        self._failures.pop(batch - 1000, None)
        self._durable = batch
        self._batch = batch + 1
        self._units = 0
        self._durable_changed.notify_all()
        return self._after_batch.pop(batch, [])

    def _rolled_back_with_its_unit(self) -> bool:
        """The first unit of a batch runs without a savepoint: its rollback ended the
        batch's transaction, which held nothing else. The turn then goes to the next writer
        (the lane's too: its next unit begins a batch of its own)."""
        connection = self.connection
        if connection is None or connection.in_transaction():
            return False
        self._processes.release()
        self.holding = False
        with self._lock:
            self._hand_over()
        return True

    def _transaction_lost(self) -> BaseException | None:
        """Some SQLite errors (disk full, I/O) roll the whole transaction back, not just the
        failed unit's savepoint: the batch's released units are then lost, and told so."""
        connection = self.connection
        if connection is None or not connection.in_transaction():
            return None
        if connection.connection.driver_connection.in_transaction:
            return None
        self._discard_connection()
        self._processes.release()
        return RuntimeError("the database rolled back the transaction of this batch")

    def _discard_connection(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None:
            try:
                connection.invalidate()
                connection.close()
            except Exception:  # noqa: BLE001 - already broken
                pass

    def close(self) -> None:
        with self._lock:
            connection, self.connection = self.connection, None
        if connection is not None:
            if connection.in_transaction():  # an empty batch left open: give the lock back
                connection.rollback()
                self._processes.release()
            connection.close()


def _tell(callbacks: list[Callable[[BaseException | None], None]], failure: BaseException | None):
    for callback in callbacks:
        try:
            callback(failure)
        except Exception:  # noqa: BLE001 - one callback's bug must not cost the others
            log.exception("a callback of a batch's end failed")


def _unless_failed(callback: Callable[[], None]) -> Callable[[BaseException | None], None]:
    def after(failure: BaseException | None) -> None:
        if failure is None:
            callback()

    return after


@dataclass
class _Waiter:
    ready: threading.Condition
    handed: bool = False


_COMMITTED = "propolis_unit_committed"


class GroupSession(Session):
    """A write session of a SQLite database: one unit of :class:`GroupCommit`.

    The turn is taken when the session first needs the database (``get_bind``), its
    transaction is a SAVEPOINT on the shared writer connection (``join_transaction_mode=
    "create_savepoint"``), and the turn is given back when that transaction ends, by commit
    (after which this thread waits until the batch is durable) or rollback. The first unit
    of a batch needs no savepoint (``"rollback_only"``): its rollback is the rollback of
    the batch's transaction, which holds nothing else yet."""

    def __init__(self, *args: Any, group: GroupCommit, **kwargs: Any) -> None:
        super().__init__(*args, join_transaction_mode="create_savepoint", **kwargs)
        self.group = group
        self.holds_turn = False
        self.in_lane = False  # a unit of the writer lane, which keeps the turn after it

    def get_bind(self, *args: Any, **kwargs: Any) -> Any:
        if not self.holds_turn:
            group = self.group
            self.in_lane = group.is_lane()
            if self.in_lane:
                # Later units of the lane's run are savepoints: the batch outlives them.
                first = group.hold() if not group.holding else False
            else:
                first = group.acquire()
            self.holds_turn = True
            self.join_transaction_mode = "rollback_only" if first else "create_savepoint"
        return self.group.connection

    def end_unit(self, committed: bool, callbacks: list[Callable[[], None]]) -> None:
        """The unit's transaction ended: give the turn back (or, in the lane, keep it)."""
        self.holds_turn = False
        if self.in_lane:
            self.group.lane_unit_ended(committed, callbacks)
            return
        self.group.release(committed)
        if committed:
            for callback in callbacks:
                callback()

    def close(self) -> None:
        if self.holds_turn and self.in_transaction():
            self.rollback()  # closing never lets a unit's writes into the batch
        super().close()
        if self.holds_turn:  # the turn was taken but no transaction began
            self.end_unit(committed=False, callbacks=[])


_AFTER_DURABLE = "propolis_after_durable"


def when_durable(session: Session, callback: Callable[[], None]) -> None:
    """Run ``callback`` once what ``session`` committed is durable and visible to other
    connections: at once, or for a unit of a group commit, once its batch is committed."""
    if isinstance(session, GroupSession) and session.holds_turn:
        session.info.setdefault(_AFTER_DURABLE, []).append(callback)
    else:
        callback()


@event.listens_for(GroupSession, "after_commit")
def _unit_committed(session: Session) -> None:
    if not session.in_nested_transaction():  # the unit's own SAVEPOINT, not one inside it
        session.info[_COMMITTED] = True


@event.listens_for(GroupSession, "after_transaction_end")
def _unit_ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is not None or not isinstance(session, GroupSession):
        return
    committed = session.info.pop(_COMMITTED, False)
    callbacks = session.info.pop(_AFTER_DURABLE, [])
    if session.holds_turn:
        session.end_unit(committed, callbacks)
    elif committed:
        for callback in callbacks:
            callback()


class Database:
    """Owns the engine and the session factory of one running Propolis."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        # Readers never block each other (WAL snapshots). Writers on SQLite are units of
        # the process's group commit; on PostgreSQL each has its own transaction (MVCC row
        # locks let them run concurrently, and its WAL flushes already group commits).
        self.read_sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.group: GroupCommit | None = None
        self.lane: Any = None  # core.lane.WriterLane of the SQLite group commit
        if self.engine.dialect.name == "sqlite":
            from propolis.core.lane import WriterLane  # it builds on this module

            self.group = GroupCommit(self.engine)
            self.lane = WriterLane(self.group)
            self.sessions = sessionmaker(
                class_=GroupSession, group=self.group, expire_on_commit=False
            )
        else:
            self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self, write: bool = True) -> Iterator[Session]:
        """A unit of work: commits on success, rolls back on any error."""
        factory = self.sessions if write else self.read_sessions
        with factory() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def dispose(self) -> None:
        if self.lane is not None:
            self.lane.close()
        if self.group is not None:
            self.group.close()
        self.engine.dispose()
