"""``core.db.HotInsert`` writes what a Core ``insert()`` writes, on both databases: values
converted by the columns' types (JSON, booleans, NULLs), ids returned in the rows' order,
more rows than one statement may bind split across statements, and a unique index's
violation raised as SQLAlchemy's ``IntegrityError``."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import event, insert, select
from sqlalchemy.exc import IntegrityError

from propolis.core.db import Database, HotInsert
from propolis.core.events import AuditEvent
from propolis.core.migrate import upgrade
from propolis.observables.models import ObservableType
from tests.harness import new_postgres_database

EVENTS = AuditEvent.__table__
COLUMNS = [c.name for c in EVENTS.c if c.name != "id"]


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path):
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'hot.db'}")
    else:
        base = os.environ.get("PROPOLIS_TEST_POSTGRES_URL")
        if not base:
            if os.environ.get("CI"):
                pytest.fail("CI must provide PostgreSQL (PROPOLIS_TEST_POSTGRES_URL)")
            pytest.skip("PostgreSQL not configured")
        database = Database(new_postgres_database(base))
    upgrade(database.engine)
    yield database
    database.dispose()


def event_rows(count: int, marker: str) -> list[dict]:
    return [
        {
            "created_at": 1_700_000_000_000 + i,
            "actor": marker,
            "org_id": None,
            "action": "create",
            "object_type": "Observable",
            "object_id": i,
            "root_id": None if i % 2 else i,
            "details": {"n": i, "nested": [True, None, "é"]} if i % 3 else {},
        }
        for i in range(count)
    ]


def stored(database: Database, marker: str) -> list[tuple]:
    with database.engine.connect() as connection:
        rows = connection.execute(
            select(*[EVENTS.c[name] for name in COLUMNS], EVENTS.c.id)
            .where(EVENTS.c.actor == marker)
            .order_by(EVENTS.c.object_id)
        )
        return [tuple(row) for row in rows]


def test_it_writes_what_a_core_insert_writes(db) -> None:
    hot = HotInsert(EVENTS, returning_id=True)
    with db.engine.begin() as connection:
        ids = hot.execute(connection, event_rows(7, "hot"))
        connection.execute(insert(EVENTS), event_rows(7, "core"))
    by_hot, by_core = stored(db, "hot"), stored(db, "core")
    assert [row[:-1] for row in by_hot] == [
        row[:1] + ("hot",) + row[2:-1] for row in by_core
    ]  # every column alike but the actor
    assert ids == [row[-1] for row in by_hot]  # in the rows' order


def test_more_rows_than_one_statement_binds_are_all_written_in_order(db) -> None:
    hot = HotInsert(EVENTS, returning_id=True)
    statements = []
    rows = event_rows(2 * hot.MAX_PARAMETERS // len(COLUMNS) + 5, "many")
    with db.engine.begin() as connection:

        def count(*_args) -> None:  # noqa: ANN002
            statements.append(1)

        event.listen(connection, "before_cursor_execute", count)
        ids = hot.execute(connection, rows)
        event.remove(connection, "before_cursor_execute", count)
    written = stored(db, "many")
    assert len(written) == len(rows) and len(statements) == 3
    assert ids == [row[-1] for row in written] == sorted(ids)


def test_a_unique_index_violation_is_an_integrity_error_and_rows_must_match(db) -> None:
    hot = HotInsert(ObservableType.__table__)
    row = {
        "id": 9_000_001,
        "name": "twin-type",
        "is_attachment": True,
        "created_by": "test",
        "created_at": 1,
        "updated_by": None,
        "updated_at": None,
    }
    with db.engine.begin() as connection:
        hot.execute(connection, [row])
    with db.engine.connect() as connection:
        flag = connection.execute(
            select(ObservableType.__table__.c.is_attachment).where(
                ObservableType.__table__.c.id == row["id"]
            )
        ).scalar_one()
    assert flag is True
    with pytest.raises(IntegrityError), db.engine.begin() as connection:
        hot.execute(connection, [{**row, "id": 9_000_002}])
    with pytest.raises(ValueError), db.engine.begin() as connection:
        hot.execute(connection, [row, {**row, "id": 9_000_003, "extra": 1}])
