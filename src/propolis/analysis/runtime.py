"""The running analysis engine of one process: its queue, consumers and housekeeping.

Jobs go through Huey. Embedded mode (the default) keeps the queue in a SQLite file of the
data folder and runs consumer threads inside ``propolis serve``; with
``PROPOLIS_QUEUE_URL=redis://...`` the queue is in Redis and ``propolis worker`` processes,
on any machine sharing the database and data folder, run the jobs.

``serve --workers N`` (N > 1) runs one consumer set, in its supervising process; the HTTP
worker processes only enqueue (Huey's SQLite storage dequeues in an exclusive transaction,
and the job claim below makes a duplicate harmless anyway). They wake the consumers with a
datagram on an abstract Unix socket named after the queue file, and read the consumers'
health from the presence record those announce in the queue, as ``propolis worker``
processes do in Redis.

A job is enqueued after the transaction that created it commits (an event subscriber), so a
consumer never looks for a job that is not there yet. Every process that runs jobs also runs
the *reaper*: jobs whose worker stopped sending heartbeats are retried once (analyzers) or
marked ``Failure`` (responders, whose side effects must not happen twice).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
from huey import Huey, RedisHuey
from huey.constants import EmptyData
from huey.consumer import Consumer, Worker
from huey.storage import SqliteStorage

from propolis.analysis import engine, forkserver
from propolis.analysis.engine import ACTION, JOB
from propolis.core import events
from propolis.core.db import Database
from propolis.core.security import Sealer
from propolis.core.storage import Storage

log = logging.getLogger(__name__)

QUEUED_TYPES = {"AnalyzerJob": JOB, "ResponderAction": ACTION}
# Redis keys (with a time-to-live) by which each `propolis worker` process announces itself
PRESENCE_PREFIX = "propolis:worker:"
# The embedded queue's one presence record (its consumers run in one process)
EMBEDDED_PRESENCE = "propolis:consumers"


# Set when this process enqueues a job, so an idle embedded worker picks it up at once
# instead of at its next poll of the SQLite queue (polling backs off up to max_delay).
_wakeup = threading.Event()


def _wakeup_address(settings: Any) -> bytes:
    """The abstract Unix socket (no file; Linux) on which the consumers of this data
    folder's embedded queue are woken by other processes."""
    queue = os.path.realpath(Path(settings.data_dir) / "queue.db")
    return b"\0propolis-queue-" + hashlib.sha256(queue.encode()).hexdigest()[:24].encode()


def _listen_for_wakeups(address: bytes, stop: threading.Event) -> threading.Thread | None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        sock.bind(address)
    except OSError as exc:  # another server consumes this queue: polling still works
        log.warning("analysis wake-up socket unavailable (%s); consumers poll", exc)
        sock.close()
        return None
    sock.settimeout(1.0)

    def loop() -> None:
        with sock:
            while not stop.is_set():
                try:
                    sock.recv(16)
                except TimeoutError:
                    continue
                _wakeup.set()

    thread = threading.Thread(target=loop, name="propolis-queue-wakeup", daemon=True)
    thread.start()
    return thread


def _send_wakeup(address: bytes) -> None:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.setblocking(False)
            sock.sendto(b"!", address)
    except OSError:  # nobody listening, or its buffer full: the consumers poll anyway
        pass


class _WakeableWorker(Worker):
    def sleep(self) -> None:
        self.delay = min(self.delay, self.max_delay)
        if _wakeup.wait(self.delay):
            _wakeup.clear()
            self.delay = self.default_delay
        else:
            self.delay *= self.backoff


class _EmbeddedConsumer(Consumer):
    """Huey's consumer without its signal handlers (inside ``serve``, uvicorn owns them),
    with workers woken by local enqueues."""

    worker_class = _WakeableWorker

    def _set_signal_handlers(self) -> None:
        pass


def pool_size(settings: Any) -> int:
    """Cortex ≤ 4.0's rule: min(max, max(min, ceil(cores × factor))) (cortex.md §8)."""
    cores = os.cpu_count() or 1
    wanted = math.ceil(cores * settings.analyzer_parallelism_factor)
    return max(
        1, min(settings.analyzer_parallelism_max, max(settings.analyzer_parallelism_min, wanted))
    )


class _QueueStorage(SqliteStorage):
    """The embedded queue without an fsync per enqueue and dequeue (WAL + ``synchronous
    NORMAL`` cannot corrupt the file): the queue only mirrors the database, and the jobs a
    crash would lose from it are ``Waiting`` ones, queued again at start-up."""

    def _create_connection(self):  # noqa: ANN202
        connection = super()._create_connection()
        connection.execute("pragma synchronous=NORMAL")
        return connection


def make_huey(settings: Any) -> Any:
    if settings.queue_url:
        # Bounded socket waits: a Redis that stops answering makes the status report it
        # instead of hanging the caller (the blocking dequeue waits 1 s, under the timeout).
        pool = redis.ConnectionPool.from_url(
            settings.queue_url, socket_connect_timeout=3, socket_timeout=10
        )
        return RedisHuey("propolis", connection_pool=pool, results=False)
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    return Huey(
        "propolis",
        storage_class=_QueueStorage,
        filename=str(Path(settings.data_dir) / "queue.db"),
        results=False,
    )


@dataclass
class Runtime:
    settings: Any
    db: Database
    storage: Storage
    sealer: Sealer
    huey: Any = None
    consumer: Consumer | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.huey = make_huey(self.settings)
        self.run_task = self.huey.task(name="propolis.analysis.run")(_run_task)

    # ------------------------------------------------------------------ queue

    def enqueue(self, kind: str, item_id: int) -> None:
        try:
            self.run_task(kind, item_id)
        except Exception:  # the reaper and the start-up scan will enqueue it again
            log.exception("could not enqueue %s %s", kind, item_id)
            return
        if self.consumer is not None or self.settings.queue_url:
            _wakeup.set()
        else:  # the embedded consumers run in another process (serve --workers N)
            _send_wakeup(_wakeup_address(self.settings))

    def on_event(self, event: events.Event) -> None:
        kind = QUEUED_TYPES.get(event.object_type)
        if kind and event.action == "create" and event.details.get("queued"):
            self.enqueue(kind, int(event.object_id))

    # ------------------------------------------------------------------ health

    def health(self) -> dict[str, Any]:
        """The real state of the analysis service: is the queue answering, how many job
        workers are alive (this process's threads in embedded mode; in Redis mode the
        threads every ``propolis worker`` announces, expiring when one stops)."""
        kind = "redis" if self.settings.queue_url else "embedded"
        try:
            pending = int(self.huey.storage.queue_size())
            reachable = True
        except Exception as exc:  # any failure of the queue's storage is "unreachable"
            log.warning("analysis queue unreachable: %s", exc)
            pending, reachable = None, False
        workers = self._embedded_health() if kind == "embedded" else self._announced_health()
        healthy = reachable and workers["alive"] > 0
        return {
            "status": "OK" if healthy else "ERROR",
            "queue": {"kind": kind, "reachable": reachable, "pending": pending},
            "workers": workers,
        }

    def _embedded_health(self) -> dict[str, int]:
        if self.consumer is None and not self.settings.queue_url:
            return self._embedded_presence()
        return self._threads_health()

    def _threads_health(self) -> dict[str, int]:
        threads = [t for _w, t in self.consumer.worker_threads] if self.consumer else []
        return {"alive": sum(t.is_alive() for t in threads), "expected": len(threads)}

    def _embedded_presence(self) -> dict[str, int]:
        """The consumers of another process (``serve --workers N``), as they last announced
        themselves; an announcement older than three heartbeats counts as none."""
        try:
            raw = self.huey.storage.peek_data(EMBEDDED_PRESENCE)
        except Exception as exc:
            log.warning("consumer presence unreadable: %s", exc)
            raw = EmptyData
        if raw is EmptyData:
            return {"alive": 0, "expected": 0}
        announced = json.loads(bytes(raw))
        if time.time() - announced.get("at", 0) > self._presence_ttl_ms() / 1000:
            return {"alive": 0, "expected": announced.get("expected", 0)}
        return {"alive": announced.get("alive", 0), "expected": announced.get("expected", 0)}

    def _presence_ttl_ms(self) -> int:
        return int((3 * self._heartbeat() + 2) * 1000)

    def _heartbeat(self) -> float:
        return max(0.2, float(self.settings.job_heartbeat_seconds))

    def _announced_health(self) -> dict[str, int]:
        alive = processes = 0
        try:
            conn = self.huey.storage.conn
            for key in conn.scan_iter(match=PRESENCE_PREFIX + "*", count=100):
                raw = conn.get(key)
                if raw is not None:
                    processes += 1
                    alive += int(json.loads(raw).get("alive", 0))
        except Exception as exc:
            log.warning("worker presence unreadable: %s", exc)
        return {"alive": alive, "processes": processes}

    def start_presence(self) -> None:
        """``propolis worker``: announce this process's live worker threads in Redis every
        heartbeat, with a time-to-live, so a worker that stops disappears from the status."""
        interval = self._heartbeat()
        key = f"{PRESENCE_PREFIX}{socket.gethostname()}:{os.getpid()}"
        ttl_ms = self._presence_ttl_ms()

        def loop() -> None:
            # The first announcement waits one heartbeat: the consumer starts its threads
            # after this loop is started.
            while not self._stop.wait(interval):
                try:
                    alive = self._threads_health()["alive"]
                    self.huey.storage.conn.set(key, json.dumps({"alive": alive}), px=ttl_ms)
                except Exception:
                    log.exception("worker presence not published")
            try:
                self.huey.storage.conn.delete(key)
            except Exception:
                log.warning("worker presence not withdrawn; it expires in %s ms", ttl_ms)

        thread = threading.Thread(target=loop, name="propolis-presence", daemon=True)
        thread.start()
        self._threads.append(thread)

    def start_embedded_presence(self) -> None:
        """``serve --workers N``: the process running the embedded consumers announces
        them in the queue file every heartbeat (the HTTP workers' status reads it), and
        listens for the workers' wake-ups."""
        interval = self._heartbeat()

        def announce() -> None:
            health = self._threads_health()
            record = json.dumps({**health, "at": time.time(), "pid": os.getpid()})
            self.huey.storage.put_data(EMBEDDED_PRESENCE, record.encode())

        def loop() -> None:
            while True:
                try:
                    announce()
                except Exception:
                    log.exception("consumer presence not published")
                if self._stop.wait(interval):
                    break
            try:
                self.huey.storage.pop_data(EMBEDDED_PRESENCE)
            except Exception:
                log.warning("consumer presence not withdrawn; it goes stale by itself")

        thread = threading.Thread(target=loop, name="propolis-presence", daemon=True)
        thread.start()
        self._threads.append(thread)
        listener = _listen_for_wakeups(_wakeup_address(self.settings), self._stop)
        if listener is not None:
            self._threads.append(listener)

    # ------------------------------------------------------------------ consumers

    def start_consumers(self, embedded: bool = True, workers: int | None = None) -> None:
        engine.requeue_waiting(self)
        workers = workers or pool_size(self.settings)
        consumer_class = _EmbeddedConsumer if embedded else Consumer
        self.consumer = consumer_class(
            self.huey,
            workers=workers,
            worker_type="thread",
            periodic=False,
            initial_delay=0.02,
            backoff=1.5,
            max_delay=1.0,
            check_worker_health=True,
        )
        if embedded:
            self.consumer.start()
        forkserver.default().start()  # it preloads while the first jobs are being submitted

    def start_reaper(self) -> None:
        interval = max(0.2, float(self.settings.job_heartbeat_seconds))

        def loop() -> None:
            while not self._stop.wait(interval):
                try:
                    engine.reap(self)
                except Exception:
                    log.exception("reaper failed")

        thread = threading.Thread(target=loop, name="propolis-reaper", daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        if self.consumer is not None:
            self.consumer.stop(graceful=False)
        for thread in self._threads:
            thread.join(timeout=5)
        forkserver.default().stop()


_current: Runtime | None = None
_subscribed = False


def current() -> Runtime | None:
    return _current


def health() -> dict[str, Any]:
    """:meth:`Runtime.health` of this process's engine (not started: nothing runs jobs)."""
    if _current is None:
        return {"status": "ERROR", "queue": {"reachable": False}, "workers": {"alive": 0}}
    return _current.health()


def install(runtime: Runtime | None) -> None:
    """Make ``runtime`` this process's engine (and forward committed job events to it)."""
    global _current, _subscribed
    _current = runtime
    if not _subscribed:
        events.subscribe(_forward_event)
        _subscribed = True


def start(
    settings: Any, db: Database, storage: Storage, sealer: Sealer, *, background: bool = True
) -> Runtime:
    """Queue and subscriber; with ``background`` (one per server: the app's lifespan of a
    single-process ``serve``, or the supervisor of ``serve --workers N``) also the embedded
    consumers and the reaper. An HTTP worker of ``serve --workers N`` only enqueues."""
    runtime = Runtime(settings, db, storage, sealer)
    install(runtime)
    if not background:
        return runtime
    if settings.embedded_workers and not settings.queue_url:
        runtime.start_consumers(embedded=True)
    runtime.start_reaper()
    return runtime


def _forward_event(event: events.Event) -> None:
    runtime = _current
    if runtime is not None:
        runtime.on_event(event)


def _run_task(kind: str, item_id: int) -> None:
    runtime = _current
    if runtime is None:
        raise RuntimeError("the analysis runtime is not started in this process")
    engine.execute(runtime, kind, item_id)
