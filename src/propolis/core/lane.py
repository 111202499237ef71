"""The writer lane: the hot writes of a SQLite database, back to back on one thread.

With :class:`~propolis.core.db.GroupCommit` alone, each write request is a thread of the
pool that waits for its turn on the writer connection, is woken when it comes, hands it
over, then sleeps again until its batch is durable: two thread wake-ups and a fight for
the GIL per request, about a fifth of an alert's CPU. The lane is one thread per process
that takes the queued calls of the hot routes (an alert's creation, an observable, a task
log...) one after the other while it *keeps* the turn: each call is still a unit of its
own (a SAVEPOINT: a rejected call never touches its neighbours), the batch is committed
when the queue is empty (or the batch full or old, or another thread of the process waits
for the turn), and each call is answered by a callback once its batch is durable - never
before, so an acknowledged write still survives a crash.

Only what is quick belongs here: a call in the lane delays the calls queued behind it.
Requests that carry files, and every route not marked as a hot write, keep the thread
pool. PostgreSQL has no lane: its writers run at once (MVCC).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from propolis.core.db import GroupCommit

log = logging.getLogger(__name__)

# done(value, failure): the call's answer, or why it failed (its own error, or its batch's).
Done = Callable[[Any, BaseException | None], None]

_STOP = object()


class WriterLane:
    """One thread that runs write calls as units of one process's group commit."""

    def __init__(self, group: GroupCommit) -> None:
        self._group = group
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._starting = threading.Lock()

    def submit(self, call: Callable[[], Any], done: Done) -> None:
        """Queue ``call``; ``done`` is called (from the lane's thread, or from the thread
        that ends the batch) with its answer once the batch holding its writes is durable,
        or with its error."""
        self._start()
        self._jobs.put((call, done))

    def close(self) -> None:
        """Run what is queued, commit it, then stop the thread."""
        with self._starting:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._jobs.put(_STOP)
            thread.join()

    def _start(self) -> None:
        if self._thread is not None:
            return
        with self._starting:
            if self._thread is None:
                thread = threading.Thread(target=self._serve, name="propolis-writer-lane")
                thread.daemon = True  # a stuck call must not keep a stopping server alive
                thread.start()
                self._thread = thread

    def _serve(self) -> None:
        group = self._group
        group.lane_thread = threading.get_ident()
        try:
            job = self._jobs.get()
            while job is not _STOP:
                try:
                    job = self._run_while_holding(job)
                finally:
                    group.let_go()
                if job is None:
                    job = self._jobs.get()
        finally:
            group.lane_thread = None

    def _run_while_holding(self, job: Any) -> Any:
        """Run queued calls while the turn is worth keeping. Returns the job taken but not
        run (the stop mark), or None once the queue is empty or the turn must go."""
        while True:
            self._run(job)
            if self._group.should_let_go():
                return None
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                return None
            if job is _STOP:
                return job

    def _run(self, job: tuple[Callable[[], Any], Done]) -> None:
        call, done = job
        group = self._group
        group.last_lane_batch = None
        try:
            value = call()
        except BaseException as exc:  # noqa: BLE001 - the caller's error, handed to the caller
            _answer(done, None, exc)
            return
        batch = group.last_lane_batch
        if batch is None:  # nothing written: nothing to wait for
            _answer(done, value, None)
        else:
            group.after_batch(batch, lambda failure: _answer(done, value, failure))


def _answer(done: Done, value: Any, failure: BaseException | None) -> None:
    try:
        done(value, failure)
    except Exception:  # noqa: BLE001 - the lane must outlive a broken callback
        log.exception("a writer lane callback failed")
