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
from sqlalchemy import Engine

from propolis.core.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def _config(engine_connection: object | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = engine_connection
    return cfg


def upgrade(engine: Engine) -> None:
    with engine.begin() as connection:
        command.upgrade(_config(connection), "head")


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
