"""The platform's state, for ``GET /api/v1/status`` (TheHive's shape) and the platform
administrator's status page (everything known): versions, database, analysis queue and its
consumers, jobs waiting and running, the file store's size, the planner's statistics.

Each figure is read cheaply: counts along indexes, the database's own size functions, the
attachment rows' sizes rather than a walk of the disk.
"""

from __future__ import annotations

import os
import platform
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from propolis import __version__
from propolis.analysis import runtime
from propolis.analysis.models import AnalyzerJob, ResponderAction
from propolis.attachments import service as attachments
from propolis.core.db import STATISTICS_STAMP
from propolis.core.security import Actor

THEHIVE_VERSION = "5.5.13-1"  # the API Propolis answers as
OPEN_STATUSES = ("Waiting", "InProgress")


def connectors(analysis: dict[str, Any]) -> dict[str, Any]:
    """The built-in analysis service is TheHive's Cortex connector with one server."""
    state = analysis["status"]
    return {
        "cortex": {
            "enabled": True,
            "status": state,
            "servers": [{"name": "local", "status": state}],
        },
        "misp": {"enabled": False, "status": "OK", "servers": []},
    }


def analysis_health() -> dict[str, Any]:
    """This process's view of the analysis queue and of the consumers that run its jobs."""
    return runtime.health()


def platform_status(session: Session, actor: Actor, settings: Any) -> dict[str, Any]:
    """Everything the status page shows; for the platform administrator (``managePlatform``)."""
    actor.require("managePlatform")
    analysis = analysis_health()
    files, stored_bytes = attachments.stored_usage(session)
    return {
        "version": __version__,
        "theHiveVersion": THEHIVE_VERSION,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "system": f"{platform.system()} {platform.release()}",
        "database": database(session),
        "httpProcesses": settings.workers or 1,
        "thisProcess": os.getpid(),
        "analysis": analysis,
        "connectors": connectors(analysis),
        "jobs": open_jobs(session),
        "attachments": {"files": files, "bytes": stored_bytes},
        "statisticsRefreshedAt": statistics_refreshed_at(session, Path(settings.data_dir)),
    }


def database(session: Session) -> dict[str, Any]:
    """Backend, server version and size on disk (the WAL included on SQLite)."""
    engine = session.get_bind()
    if engine.dialect.name == "postgresql":
        row = session.execute(
            text("SELECT current_setting('server_version'), pg_database_size(current_database())")
        ).one()
        return {"backend": "PostgreSQL", "version": row[0], "bytes": int(row[1])}
    pages = session.execute(text("PRAGMA page_count")).scalar_one()
    page_size = session.execute(text("PRAGMA page_size")).scalar_one()
    path = engine.url.database or ""
    wal = Path(path + "-wal")
    wal_bytes = wal.stat().st_size if path and wal.exists() else 0
    return {
        "backend": "SQLite",
        "version": sqlite3.sqlite_version,
        "bytes": int(pages) * int(page_size) + wal_bytes,
        "walBytes": wal_bytes,
    }


def open_jobs(session: Session) -> dict[str, dict[str, int]]:
    """Analyzer jobs and responder actions waiting and running, platform-wide (counted along
    their ``status`` indexes)."""
    out: dict[str, dict[str, int]] = {}
    for name, model in (("analyzers", AnalyzerJob), ("responders", ResponderAction)):
        counts = dict(
            session.execute(
                select(model.status, func.count())
                .where(model.status.in_(OPEN_STATUSES))
                .group_by(model.status)
            ).all()
        )
        out[name] = {status: int(counts.get(status, 0)) for status in OPEN_STATUSES}
    return out


def statistics_refreshed_at(session: Session, data_dir: Path) -> int | None:
    """When the planner's statistics were last refreshed (ms): SQLite's ``ANALYZE`` run by
    the server (its stamp file), PostgreSQL's latest (auto)analyze of a table."""
    if session.get_bind().dialect.name == "postgresql":
        latest = session.execute(
            text("SELECT max(greatest(last_analyze, last_autoanalyze)) FROM pg_stat_user_tables")
        ).scalar_one()
        return int(latest.timestamp() * 1000) if latest is not None else None
    stamp = data_dir / STATISTICS_STAMP
    return int(stamp.stat().st_mtime * 1000) if stamp.exists() else None
