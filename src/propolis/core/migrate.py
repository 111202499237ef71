"""Schema migrations (Alembic), applied on every start; the same revisions run on SQLite
and PostgreSQL.

``python -m propolis.core.migrate revision "message"`` autogenerates a new revision against a
scratch SQLite database brought up to the current head.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine

from propolis.core.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def _config(engine_connection: object | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = engine_connection
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Run the revisions up to ``revision``, in one transaction.

    On SQLite, foreign keys are off meanwhile, as SQLite's procedure for a table rebuild
    asks: Alembic's batch mode changes a table by copying it, dropping the old one and
    renaming the copy, and with foreign keys on, the DROP would first delete the old rows -
    firing the ``ON DELETE CASCADE`` of every row that references them (a case's shares, an
    analyzer's jobs...). What the revisions leave is checked (``foreign_key_check``) before
    the commit."""
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            _sqlite_foreign_keys(connection, on=False)
        try:
            with connection.begin():
                command.upgrade(_config(connection), revision)
                if sqlite:
                    _check_foreign_keys(connection)
        finally:
            if sqlite:
                _sqlite_foreign_keys(connection, on=True)


def _sqlite_foreign_keys(connection: Connection, on: bool) -> None:
    # Outside any transaction, or SQLite ignores it: on the driver's connection, which
    # runs it at once (the engine begins its transactions itself, core.db.make_engine).
    driver = connection.connection.driver_connection
    assert driver is not None
    driver.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


def _check_foreign_keys(connection: Connection) -> None:
    orphans = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if orphans:
        raise RuntimeError(f"the migration left rows without their parent: {orphans[:10]}")


def autogenerate(message: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/scratch.db")
        upgrade(db.engine)
        with db.engine.begin() as connection:
            command.revision(_config(connection), message=message, autogenerate=True)
        db.dispose()


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "revision":
        autogenerate(sys.argv[2])
    else:
        print("usage: python -m propolis.core.migrate revision MESSAGE")
