"""Garbage collection of the file store: bytes are stored once per sha256 and shared by
every row that uses them (attachments, observable files, the Cortex datastore), so they
are removed only when no row references them any more. ``propolis storage gc`` runs it, and
``propolis serve`` runs it on a schedule (``PROPOLIS_STORAGE_GC_INTERVAL``)."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from propolis.analysis import service as analysis
from propolis.attachments import service as attachments
from propolis.core.db import Database
from propolis.core.storage import Storage

log = logging.getLogger(__name__)

# A file is written before the row that uses it is committed: younger files are never taken
# (PROPOLIS_STORAGE_GC_GRACE).
GRACE_SECONDS = 3600.0


@dataclass(frozen=True)
class Collected:
    removed: int
    freed_bytes: int
    kept: int


def collect(db: Database, storage: Storage, grace_seconds: float = GRACE_SECONDS) -> Collected:
    with db.session(write=False) as session:  # a read: SQLite's writers go on meanwhile
        referenced = attachments.stored_digests(session) | analysis.stored_digests(session)
    removed, freed = storage.collect(referenced, grace_seconds)
    return Collected(removed, freed, len(referenced))


def schedule(
    db: Database, storage: Storage, interval_seconds: float, grace_seconds: float = GRACE_SECONDS
) -> threading.Event:
    """Collect every ``interval_seconds`` in a daemon thread; set the returned event to stop."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(interval_seconds):
            try:
                done = collect(db, storage, grace_seconds)
                if done.removed:
                    log.info(
                        "storage gc: %d files removed (%d bytes)", done.removed, done.freed_bytes
                    )
            except Exception:  # the next run tries again
                log.exception("storage gc failed")

    threading.Thread(target=loop, name="propolis-storage-gc", daemon=True).start()
    return stop
