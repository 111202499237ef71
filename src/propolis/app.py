"""``create_app(settings)``: the whole product as one ASGI application."""

from __future__ import annotations

import asyncio
import ctypes
import gc
import importlib
import logging
import os
import secrets
import signal
import threading
from collections.abc import Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from pydantic.json_schema import models_json_schema
from starlette.exceptions import HTTPException
from starlette.staticfiles import StaticFiles

from propolis import __version__
from propolis.analysis.runtime import Runtime
from propolis.analysis.runtime import start as start_analysis
from propolis.audit.stream import Follower
from propolis.bootstrap import bootstrap
from propolis.core import authepoch, events
from propolis.core.db import STATISTICS_STAMP, Database, refresh_statistics
from propolis.core.errors import AttributeCheckingError, PropolisError
from propolis.core.migrate import upgrade
from propolis.core.routing import add_routes, install_route_index
from propolis.core.security import Sealer
from propolis.core.storage import Storage
from propolis.core.web import BODY_SCHEMAS, JSON, BodyLimit, error_response
from propolis.flows import storage_gc
from propolis.settings import Settings
from propolis.ui import UI_MODULES
from propolis.ui.web import SecurityHeaders

log = logging.getLogger("propolis")

# Set by ``serve --workers N`` (N > 1) for the HTTP worker processes it starts: the
# supervisor has migrated and bootstrapped, and runs the background work itself.
HTTP_WORKER_ENV = "PROPOLIS_HTTP_WORKER"

# Every package with HTTP routes; each api.py exposes ``router``.
API_MODULES = [
    "propolis.misc.api",
    "propolis.query_api",
    "propolis.orgs.api",
    "propolis.users.api",
    "propolis.alerts.api",
    "propolis.cases.api",
    "propolis.tasks.api",
    "propolis.observables.api",
    "propolis.attachments.api",
    "propolis.comments.api",
    "propolis.casetemplates.api",
    "propolis.fields.api",
    "propolis.procedures.api",
    "propolis.pages.api",
    "propolis.analysis.api",
    "propolis.analysis.cortex_api",  # the Cortex REST API (cortex4py; TheHive as a client)
]


def _secret_key(settings: Settings) -> str:
    if settings.secret_key:
        return settings.secret_key.get_secret_value()
    path = Path(settings.data_dir) / "secret.key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


# The planner's statistics follow the data as it grows (see core.db.refresh_statistics).
STATISTICS_INTERVAL_SECONDS = 3600


def _every(seconds: float, work: Callable[[], None]) -> threading.Event:
    """Run ``work`` every ``seconds`` in a daemon thread; set the returned event to stop."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(seconds):
            try:
                work()
            except Exception:  # the next round tries again
                log.exception("periodic %s failed", getattr(work, "__name__", "work"))

    threading.Thread(target=loop, name="propolis-periodic", daemon=True).start()
    return stop


def prepare(settings: Settings) -> tuple[Database, str | None]:
    """Create the data folder, migrate the schema and bootstrap (idempotent)."""
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    authepoch.configure(Path(settings.data_dir))
    db = Database(settings.effective_database_url)
    upgrade(db.engine)
    with db.session() as session:
        admin_password = (
            settings.admin_password.get_secret_value() if settings.admin_password else None
        )
        generated = bootstrap(session, admin_password)
    refresh_statistics(db.engine, Path(settings.data_dir) / STATISTICS_STAMP)
    return db, generated


def _end_streams_on_exit_signal(follower: Follower) -> None:
    """Uvicorn waits for the open responses to end before it stops the app, and a live
    stream does not end by itself: on SIGINT/SIGTERM the streams end first, then Uvicorn's
    own handler (installed before the app starts) goes on as usual."""
    if threading.current_thread() is not threading.main_thread():
        return  # not under Uvicorn's signal handling (e.g. an in-process test client)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        previous = signal.getsignal(signum)
        if not callable(previous):
            continue

        def end_streams_then(number: int, frame: Any, previous: Any = previous) -> None:
            loop.call_soon_threadsafe(follower.close)
            previous(number, frame)

        signal.signal(signum, end_streams_then)


@dataclass
class Services:
    """What one process of a running server holds: the database, the file store, the
    sealer, the analysis engine and (with background work) the periodic housekeeping."""

    db: Database
    storage: Storage
    sealer: Sealer
    analysis: Runtime
    periodic: list[threading.Event] = field(default_factory=list)  # set: stop

    def stop(self) -> None:
        for timer in self.periodic:
            timer.set()
        self.analysis.stop()
        self.db.dispose()


def start_services(
    settings: Settings, db: Database, *, background: bool = True, announce: bool = False
) -> Services:
    """``background``: this process runs the server's one set of analysis consumers, the
    reaper, the storage gc and the statistics refresh (a single-process ``serve``, or the
    supervisor of ``serve --workers N``, which ``announce``s its consumers to its HTTP
    workers)."""
    storage = Storage(Path(settings.data_dir) / "attachments")
    sealer = Sealer(_secret_key(settings))
    analysis = start_analysis(settings, db, storage, sealer, background=background)
    services = Services(db, storage, sealer, analysis)
    if background and announce and analysis.consumer is not None:
        analysis.start_embedded_presence()
    if not background:
        return services
    stamp = Path(settings.data_dir) / STATISTICS_STAMP
    refresh = _every(STATISTICS_INTERVAL_SECONDS, lambda: refresh_statistics(db.engine, stamp))
    services.periodic.append(refresh)
    if settings.storage_gc_interval > 0:
        services.periodic.append(
            storage_gc.schedule(
                db, storage, settings.storage_gc_interval, settings.storage_gc_grace
            )
        )
    return services


def is_http_worker() -> bool:
    return os.environ.get(HTTP_WORKER_ENV) == "1"


def _die_with_supervisor() -> None:
    """An HTTP worker ends when its supervisor does (even killed): it must not go on
    serving without the analysis consumers and housekeeping the supervisor runs."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the supervisor's SIGTERM still ends it
        return
    if os.getppid() == 1:  # the supervisor was gone before the call
        os.kill(os.getpid(), signal.SIGTERM)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # noqa: ANN202
        worker = is_http_worker()
        if worker:
            _die_with_supervisor()
            authepoch.configure(Path(settings.data_dir))
            db = Database(settings.effective_database_url)
        else:
            db, generated = prepare(settings)
            if generated:
                print(f"Created admin@thehive.local with password: {generated}", flush=True)
        services = start_services(settings, db, background=not worker)
        app.state.db = db
        app.state.storage = services.storage
        app.state.sealer = services.sealer
        # The live stream: one follower of the audit table per HTTP process, started by the
        # first listener; woken by this process's commits, polling for the others'.
        app.state.stream = Follower(db, settings.stream_poll_ms / 1000)
        wake_stream = lambda _event: app.state.stream.notify()  # noqa: E731
        events.subscribe(wake_stream)
        _end_streams_on_exit_signal(app.state.stream)
        # Everything loaded at start-up (modules, routes, catalogues) lives as long as the
        # process: move it out of the collector's reach, or every full collection walks it
        # and stalls a request for 100-200 ms (measured with bench/ui.py).
        gc.collect()
        gc.freeze()
        yield
        events.unsubscribe(wake_stream)
        await app.state.stream.stop()
        services.stop()

    app = FastAPI(title="Propolis", version=__version__, lifespan=lifespan)
    app.state.settings = settings
    app.add_middleware(BodyLimit, settings=settings)
    app.add_middleware(SecurityHeaders)
    _install_error_handlers(app)
    for name in API_MODULES + UI_MODULES:
        # An import error propagates: a renamed or broken package must stop the start-up,
        # not make its routes vanish silently.
        add_routes(app, importlib.import_module(name).router)
    app.mount("/static", StaticFiles(packages=[("propolis.ui", "static")]), name="static")
    install_route_index(app)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict:
    """FastAPI's document plus the request-body models that routes read through
    ``core.web.parsed`` (FastAPI does not see them: it does not parse those bodies itself)."""
    if app.openapi_schema:
        return app.openapi_schema
    document = get_openapi(title=app.title, version=app.version, routes=app.routes)
    models = sorted(BODY_SCHEMAS, key=lambda m: m.__name__)
    _, defs = models_json_schema(
        [(m, "validation") for m in models], ref_template="#/components/schemas/{model}"
    )
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in defs.get("$defs", {}).items():
        schemas.setdefault(name, schema)
    app.openapi_schema = document
    return document


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(PropolisError)
    async def _domain_error(_request: Request, exc: PropolisError) -> JSON:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSON:
        errors = [
            {
                "name": ".".join(str(p) for p in e.get("loc", ())[1:]),
                "type": e.get("type"),
                "message": e.get("msg"),
            }
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"name": "body", "message": "invalid"}
        message = f"Invalid value for {first['name']}: {first.get('message')}"
        return error_response(AttributeCheckingError(message, errors=errors))

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> JSON:
        if exc.status_code in (404, 405):
            return JSON({"type": "NotFound", "message": request.url.path}, status_code=404)
        return JSON({"type": "BadRequest", "message": str(exc.detail)}, status_code=exc.status_code)
