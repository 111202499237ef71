"""Engine, sessions, SQLite pragmas, the declarative base and the id scheme.

Every entity carries an integer primary key drawn from one platform-wide counter, so that
ids are unique across entity kinds (TheHive's ``~123`` ids are graph vertex ids and some
routes accept "an alert or a case" by id). The API renders them as ``"~" + str(id)``.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    event,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

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


def allocate_ids(session: Session, count: int) -> list[int]:
    if count <= 0:
        return []
    if session.get_bind().dialect.name == "postgresql":
        rows = session.execute(
            text("SELECT nextval('propolis_ids') FROM generate_series(1, :n)"), {"n": count}
        )
        return [r[0] for r in rows]
    last = session.execute(
        text("UPDATE id_counter SET value = value + :n WHERE id = 1 RETURNING value"),
        {"n": count},
    ).scalar_one()
    return list(range(last - count + 1, last + 1))


@event.listens_for(Session, "before_flush")
def _assign_ids(session: Session, flush_context, instances) -> None:  # noqa: ANN001
    pending = [o for o in session.new if isinstance(o, Entity) and o.id is None]
    for obj, new_id in zip(pending, allocate_ids(session, len(pending)), strict=True):
        obj.id = new_id


MAX_ID = 2**63 - 1


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
    cur.close()


def refresh_statistics(engine: Engine) -> None:
    """Let SQLite's planner know the tables' shapes. It plans from statistics only ANALYZE
    writes; without them it may walk 80 000 rows of an index to return one. A bounded
    ANALYZE (``analysis_limit``) costs milliseconds even on large tables. PostgreSQL's
    autovacuum keeps its own statistics: nothing to do there."""
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


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)

        # pysqlite's own transaction handling defers BEGIN until the first write, which lets
        # two writers deadlock on lock upgrade; BEGIN IMMEDIATE serialises writers cleanly.
        @event.listens_for(engine, "connect")
        def _no_pysqlite_begin(dbapi_conn, _record) -> None:  # noqa: ANN001
            dbapi_conn.isolation_level = None

        _serialise_writers(engine)
        return engine
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


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


def _serialise_writers(engine: Engine) -> None:
    """Writers take :class:`WriterLock` before ``BEGIN IMMEDIATE`` and give it back at
    commit or rollback."""
    write_lock = WriterLock(_lock_path(engine))
    holds = "propolis_holds_write_lock"

    @event.listens_for(engine, "begin")
    def _begin(conn) -> None:  # noqa: ANN001
        if not conn.get_execution_options().get("sqlite_immediate"):
            conn.exec_driver_sql("BEGIN")
            return
        write_lock.acquire()
        conn.info[holds] = True
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            _release(conn)
            raise

    def _release(conn) -> None:  # noqa: ANN001
        if conn.info.pop(holds, False):
            write_lock.release()

    event.listen(engine, "commit", _release)
    event.listen(engine, "rollback", _release)

    @event.listens_for(engine.pool, "checkin")
    def _checkin(_dbapi_conn, record) -> None:  # noqa: ANN001
        # A connection returned without commit/rollback (an interrupted request).
        if record is not None and record.info.pop(holds, False):
            write_lock.release()


class Database:
    """Owns the engine and the session factory of one running Propolis."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        # Readers never block each other (WAL); writers take SQLite's write lock up front so
        # that two writers queue on busy_timeout instead of failing on a lock upgrade.
        self.read_sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.sessions = sessionmaker(
            self.engine.execution_options(sqlite_immediate=True), expire_on_commit=False
        )

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
        self.engine.dispose()
