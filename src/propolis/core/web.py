"""What every HTTP front door shares: the request context, the unit of work, body parsing,
TheHive-shaped responses and errors.

Each request runs in one database transaction. :class:`UnitOfWorkRoute` commits it *before*
the response is sent (so an acknowledged write is durable) and then publishes the events it
recorded; any error rolls everything back, so a rejected request changes nothing.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
from fastapi import Request
from fastapi import routing as fastapi_routing
from fastapi.dependencies.models import Dependant
from fastapi.responses import Response
from fastapi.routing import APIRoute
from pydantic import BaseModel
from sqlalchemy.orm import Session
from starlette.datastructures import Headers, UploadFile
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from propolis.core import events, validate
from propolis.core.errors import BadRequest, PayloadTooLarge, PropolisError
from propolis.core.lane import WriterLane
from propolis.core.schemas import ErrorOut, check
from propolis.core.security import Actor
from propolis.users.auth import authenticate, remembered_caller

log = logging.getLogger(__name__)
T = TypeVar("T")

_READ_ONLY_PATHS = ("/api/v1/query", "/api/v1/query/")

# The synchronous work of requests (endpoints, commits, authentication) runs in these
# threads. Starlette's run_in_threadpool goes through anyio's worker threads: ~85 us of
# CPU per call on this machine, against ~30 us for an executor of the event loop.
# 40 threads, as anyio's default limit.
_POOL = ThreadPoolExecutor(max_workers=40, thread_name_prefix="propolis-request")


async def in_thread(function: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """``function(*args, **kwargs)`` in a worker thread, with the caller's context
    variables. A cancelled caller still waits for the call to end before the cancellation
    goes on (as anyio does): its unit of work must not be closed while the thread uses it."""
    call = functools.partial(contextvars.copy_context().run, function, *args, **kwargs)
    return await _to_the_end(asyncio.get_running_loop().run_in_executor(_POOL, call))


async def _to_the_end(future: asyncio.Future[T]) -> T:
    """The result of work running elsewhere; cancelled, the caller still waits for it."""
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        while not future.done():
            try:
                await asyncio.wait({future})
            except asyncio.CancelledError:
                continue
        raise


async def in_lane(lane: WriterLane, function: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """``function(*args, **kwargs)`` in the database's writer lane (core.lane), with the
    caller's context variables; answered once the batch holding its writes is durable. A
    cancelled caller still waits for the call, as with :func:`in_thread`."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def done(value: Any, failure: BaseException | None) -> None:
        loop.call_soon_threadsafe(_settle, future, value, failure)

    lane.submit(functools.partial(contextvars.copy_context().run, function, *args, **kwargs), done)
    return await _to_the_end(future)


def _settle(future: asyncio.Future, value: Any, failure: BaseException | None) -> None:
    if future.done():
        return
    if failure is None:
        future.set_result(value)
    else:
        future.set_exception(failure)


def hot_write(endpoint: Callable[..., T]) -> Callable[..., T]:
    """Marks a synchronous write route whose work is quick (database rows, no files, no
    outbound call): on SQLite it runs in the writer lane (core.lane) rather than the pool.
    A request that carries files keeps the pool: storing them would stall the lane."""
    endpoint.propolis_hot_write = True  # type: ignore[attr-defined]
    return endpoint


def _runs_in_lane(request: Request) -> WriterLane | None:
    lane = request.app.state.db.lane
    if lane is None:
        return None
    content_type = request.headers.get("content-type", "")
    return None if content_type.startswith("multipart/") else lane


@dataclass
class Ctx:
    """Everything a route needs: the transaction, the caller and the running app's services."""

    session: Session
    actor: Actor
    request: Request

    @property
    def app_state(self) -> Any:
        return self.request.app.state


def open_session(request: Request) -> Session:
    """The request's unit of work (created once, committed by :class:`UnitOfWorkRoute`)."""
    session = getattr(request.state, "db_session", None)
    if session is None:
        db = request.app.state.db
        # The scope's path: ``request.url`` would build a URL object on every request.
        write = request.method not in ("GET", "HEAD", "OPTIONS") and (
            request.scope["path"] not in _READ_ONLY_PATHS
        )
        session = (db.sessions if write else db.read_sessions)()
        # Services that store files (attachments) find the file store and its limits here.
        session.info["storage"] = getattr(request.app.state, "storage", None)
        session.info["settings"] = request.app.state.settings
        request.state.db_session = session
    return session


async def caller(request: Request) -> Actor:
    """The authenticated caller, once per request. Body readers call it before reading a
    byte, so an anonymous request never costs more than its headers."""
    actor = getattr(request.state, "actor", None)
    if actor is None:
        # A caller this process knows is answered from memory, on the event loop (no
        # database read, no thread hop); otherwise the full check runs in the pool.
        actor = remembered_caller(request) or await in_thread(_authenticate, request)
        request.state.actor = actor
    return actor


def _authenticate(request: Request) -> Actor:
    # A short read transaction of its own: a writer must not hold SQLite's write lock
    # while the caller is being authenticated.
    with request.app.state.db.read_sessions() as auth_session:
        return authenticate(auth_session, request)


async def context(request: Request) -> Ctx:
    """FastAPI dependency: authenticate the caller and open the unit of work."""
    actor = await caller(request)
    return Ctx(open_session(request), actor, request)


# The errors every route may answer, in TheHive's error JSON (documented once, here).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "Invalid input (AttributeCheckingError, BadRequest)"},
    401: {"model": ErrorOut, "description": "Not authenticated"},
    403: {"model": ErrorOut, "description": "Not allowed"},
    404: {"model": ErrorOut, "description": "No such object (or not visible)"},
    413: {"model": ErrorOut, "description": "Body over the size limit"},
}


class UnitOfWorkRoute(APIRoute):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["responses"] = {**ERROR_RESPONSES, **(kwargs.get("responses") or {})}
        if "endpoint" in kwargs:
            kwargs["endpoint"] = _committing(kwargs["endpoint"])
        else:
            args = (args[0], _committing(args[1]), *args[2:])
        super().__init__(*args, **kwargs)
        # A body read through parsed(Model) is documented as the request body.
        for model, required, multipart in body_models(self.dependant)[:1]:
            extra = request_body_doc(model, required, multipart)
            self.openapi_extra = {**extra, **(self.openapi_extra or {})}
            BODY_SCHEMAS.add(model)

    def get_route_handler(self):  # noqa: ANN201
        dependant = _effective_dependant(self)
        direct = _direct_handler(dependant) if dependant is not None else None
        hot = getattr(self.endpoint, "propolis_hot_write", False)
        if hot and dependant is not None and direct is None:
            raise TypeError(f"hot write {self.path}: the lane serves direct routes only")
        handler = direct or super().get_route_handler()

        async def run(request: Request) -> Response:
            _REQUEST.set(request)
            try:
                response = await handler(request)
            except BaseException:
                await _finish(request, commit=False)
                raise
            await _finish(request, commit=True)
            return response

        return run


def _effective_dependant(route: APIRoute) -> Dependant | None:
    """The dependant FastAPI builds this handler for. Propolis adds routes as they are
    (``core.routing.add_routes``), so this is the route's own; were a route ever included
    with ``include_router``, FastAPI builds a copy with the including router's dependencies,
    said by a private name. None when this FastAPI no longer says: the route then keeps
    FastAPI's own handler rather than risk missing a router's dependencies."""
    context_var = getattr(fastapi_routing, "_effective_route_context_var", None)
    if context_var is None:
        return None
    context = context_var.get()
    if context is not None and getattr(context, "original_route", None) is route:
        return context.dependant
    return route.dependant


def _direct_handler(dependant: Dependant) -> Callable[[Request], Awaitable[Response]] | None:
    """A cheaper handler for the usual Propolis route: every parameter is a dependency that
    takes the request alone (``context``, a body from ``parsed``...), a ``str`` path
    parameter or an optional ``str`` query parameter, and the endpoint returns a
    ``Response``. FastAPI's generic request handler (body sniffing, the dependency solver
    with its caches and exit stacks, response serialisation) costs ~0.2 ms per request;
    here the dependencies are awaited in order and the endpoint called, as FastAPI would.
    Any other route (typed or required query parameters, nested dependencies...) keeps
    FastAPI's handler. None: not such a route."""
    endpoint = dependant.call
    if not (endpoint and _plain_signature(dependant, query=True) and _answers_response(endpoint)):
        return None
    steps: list[tuple[str, Callable[[Request], Awaitable[Any]]]] = []
    for dep in dependant.dependencies:
        plain = _plain_signature(dep) and not dep.dependencies and not dep.path_params
        if not (plain and dep.request_param_name):
            return None
        if dep.name is None or not inspect.iscoroutinefunction(dep.call):
            return None
        steps.append((dep.name, dep.call))
    path_names = []
    for field in dependant.path_params:
        if field.field_info.annotation is not str:
            return None
        path_names.append((field.name, field.alias))
    query_names = []
    for field in dependant.query_params:  # optional text only: nothing to validate
        info = field.field_info
        if info.annotation != (str | None) or info.is_required() or info.default is not None:
            return None
        query_names.append((field.name, field.alias))
    request_name = dependant.request_param_name
    is_async = inspect.iscoroutinefunction(inspect.unwrap(endpoint))
    hot = getattr(endpoint, "propolis_hot_write", False)

    async def handle(request: Request) -> Response:
        values: dict[str, Any] = {name: request.path_params[key] for name, key in path_names}
        if query_names:
            query = request.query_params
            values.update((name, query.get(key)) for name, key in query_names)
        for name, dependency in steps:
            values[name] = await dependency(request)
        if request_name:
            values[request_name] = request
        lane = _runs_in_lane(request) if hot else None
        if is_async:
            response = await endpoint(**values)
        elif lane is not None:
            try:
                response = await in_lane(lane, endpoint, **values)
            except BaseException:
                _forget_commit(request)  # its batch failed: what it wrote never happened
                raise
        else:
            response = await in_thread(endpoint, **values)
        if not isinstance(response, Response):  # the annotation lied: a bug of the route
            raise TypeError(f"{endpoint.__name__} must return a Response")
        return response

    return handle


def _plain_signature(dependant: Dependant, query: bool = False) -> bool:
    """No parameter FastAPI would have to read or validate (header, cookie, body, query
    unless ``query``), no special parameter other than the request."""
    return not (
        (dependant.query_params and not query)
        or dependant.header_params
        or dependant.cookie_params
        or dependant.body_params
        or dependant.websocket_param_name
        or dependant.http_connection_param_name
        or dependant.response_param_name
        or dependant.background_tasks_param_name
        or dependant.security_scopes_param_name
    )


def _answers_response(endpoint: Callable[..., Any]) -> bool:
    try:
        answer = inspect.signature(inspect.unwrap(endpoint), eval_str=True).return_annotation
    except Exception:  # noqa: BLE001 - an annotation that does not resolve: FastAPI's way
        return False
    return isinstance(answer, type) and issubclass(answer, Response)


# The request being handled, for the committing wrapper of sync endpoints (which run in a
# worker thread that inherits the request task's context variables).
_REQUEST: ContextVar[Request] = ContextVar("propolis_request")
_COMMITTED = "db_committed_session"


def _committing(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """A synchronous endpoint that commits its unit of work in the worker thread it already
    runs in, once it has built its answer: one thread hop per request instead of two (the
    commit would otherwise take a second trip to the thread pool). Async endpoints are left
    to :func:`_finish`."""
    if inspect.iscoroutinefunction(inspect.unwrap(endpoint)):
        return endpoint

    @functools.wraps(endpoint)
    def run(*args: Any, **kwargs: Any) -> Any:
        request = _REQUEST.get(None)
        try:
            result = endpoint(*args, **kwargs)
        except BaseException:
            _end_in_this_thread(request, commit=False)
            raise
        _end_in_this_thread(request, commit=True)
        return result

    return run


def _end_in_this_thread(request: Request | None, commit: bool) -> None:
    """Commit (or roll back) the request's unit of work in the endpoint's own thread. A
    committed session is kept for :func:`_finish` to publish its events."""
    session = getattr(request.state, "db_session", None) if request is not None else None
    if session is None:
        return
    request.state.db_session = None
    _end_session(session, commit)
    if commit:
        setattr(request.state, _COMMITTED, session)


def _end_session(session: Session, commit: bool) -> None:
    committed = False
    try:
        if commit:
            session.commit()
            committed = True
    finally:
        if not committed:
            events.discard_pending(session)
        session.close()  # rolls back what was not committed


def _forget_commit(request: Request) -> None:
    committed: Session | None = getattr(request.state, _COMMITTED, None)
    if committed is not None:
        setattr(request.state, _COMMITTED, None)
        events.discard_pending(committed)


async def _finish(request: Request, commit: bool) -> None:
    committed: Session | None = getattr(request.state, _COMMITTED, None)
    if committed is not None:  # committed by the endpoint's own thread
        setattr(request.state, _COMMITTED, None)
        events.publish_pending(committed)
        return
    session: Session | None = getattr(request.state, "db_session", None)
    if session is None:
        return
    request.state.db_session = None
    await in_thread(_end_session, session, commit)
    if commit:
        events.publish_pending(session)


# --------------------------------------------------------------------------- responses


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def created(content: Any) -> JSON:
    return JSON(content, status_code=201)


def ok(content: Any) -> JSON:
    return JSON(content, status_code=200)


def no_content() -> Response:
    return Response(status_code=204)


def error_response(error: PropolisError) -> JSON:
    return JSON(error.to_json(), status_code=error.status)


def download(description: str, *media_types: str) -> dict[int | str, dict[str, Any]]:
    """``responses=`` of a route answering a file (with ``response_class=Response``): the
    bytes, under the media types they are sent with."""
    binary = {"schema": {"type": "string", "format": "binary"}}
    types = media_types or ("application/octet-stream",)
    return {200: {"description": description, "content": dict.fromkeys(types, binary)}}


# Stored files are sent with the content type they were stored with (any type).
STORED_FILE = download("The file's bytes, under the content type it was stored with")
STORED_FILE_OR_ZIP = download(
    "The file's bytes, under the content type it was stored with; with asZip=true a "
    "ZipCrypto zip of it (password: malware)",
    "application/octet-stream",
    "application/zip",
)


def text(description: str) -> dict[int | str, dict[str, Any]]:
    """``responses=`` of a route answering a plain-text string."""
    return {
        200: {"description": description, "content": {"text/plain": {"schema": {"type": "string"}}}}
    }


# --------------------------------------------------------------------------- request bodies


class BodyLimit:
    """ASGI middleware: every request body is counted as it is received, whoever reads it.

    The first read refuses a declared ``Content-Length`` over the limit before taking a
    byte; later reads fail as soon as the running total crosses it (chunked bodies
    included), so no reader ever holds more than the limit. Multipart bodies (spooled to
    disk by the parser) may reach ``max_upload_bytes``, every other body ``max_json_bytes``.
    Nothing is read before a route asks for the body, and the body readers below
    authenticate the caller first. A NUL in the address is refused here too (see
    :func:`_nul_in_address`); in a body, by the readers below.
    """

    def __init__(self, app: ASGIApp, settings: Any) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        multipart = headers.get("content-type", "").startswith("multipart/form-data")
        limit = self.settings.max_upload_bytes if multipart else self.settings.max_json_bytes
        declared = headers.get("content-length") or "0"
        declared_size = int(declared) if declared.isdigit() else 0
        received = 0

        async def limited() -> Message:
            nonlocal received
            if declared_size > limit:
                raise PayloadTooLarge(f"Request body larger than {limit} bytes")
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise PayloadTooLarge(f"Request body larger than {limit} bytes")
            return message

        if _nul_in_address(scope):
            await error_response(BadRequest(validate.NUL_MESSAGE))(scope, receive, send)
            return
        await self.app(scope, limited, send)


def _nul_in_address(scope: Scope) -> bool:
    """A NUL in the path or the query string (``%00``) would reach a filter or a lookup:
    refused before any route runs, like an oversized body."""
    return "\x00" in scope.get("path", "") or b"%00" in scope.get("query_string", b"")


async def read_json(request: Request, required: bool = False) -> dict[str, Any]:
    """The JSON object of the body, read *without* authenticating (for the login form only;
    routes use :func:`json_body`)."""
    raw = await request.body()
    if not raw.strip():
        if required:
            raise BadRequest("A JSON body is required")
        return {}
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"Invalid JSON: {exc}") from exc
    # JSON can only carry a NUL escaped: a body without the escape needs no walk.
    if b"\\u0000" in raw and validate.contains_nul(value):
        raise BadRequest(validate.NUL_MESSAGE)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadRequest("The JSON body must be an object")
    return value


async def json_body(request: Request, required: bool = False) -> dict[str, Any]:
    """The JSON object of the body. Many thehive4py calls send no body at all: that is ``{}``."""
    await caller(request)
    return await read_json(request, required)


@dataclass
class Multipart:
    json: dict[str, Any]
    files: dict[str, list[UploadFile]]
    fields: dict[str, str]


def is_multipart(request: Request) -> bool:
    return request.headers.get("content-type", "").startswith("multipart/form-data")


async def multipart_body(request: Request) -> Multipart:
    """Parse a multipart request the way thehive4py builds them (spec §1.7): ``_json`` comes
    either as a form field or as a file part; other file parts are grouped by name."""
    await caller(request)
    try:
        form = await request.form(max_files=10000, max_fields=10000)
    except PropolisError:  # over the size limit (BodyLimit)
        raise
    except Exception as exc:  # malformed multipart
        raise BadRequest(f"Invalid multipart body: {exc}") from exc
    document: dict[str, Any] = {}
    files: dict[str, list[UploadFile]] = {}
    fields: dict[str, str] = {}
    for name, value in form.multi_items():
        if name == "_json":
            text = (await value.read()).decode("utf-8") if isinstance(value, UploadFile) else value
            try:
                parsed = orjson.loads(text) if text.strip() else {}
            except orjson.JSONDecodeError as exc:
                raise BadRequest(f"Invalid JSON in _json: {exc}") from exc
            if not isinstance(parsed, dict):
                raise BadRequest("_json must be a JSON object")
            document = parsed
        elif isinstance(value, UploadFile):
            files.setdefault(name, []).append(value)
        else:
            fields[name] = value
    names = [upload.filename for uploads in files.values() for upload in uploads]
    if validate.contains_nul([document, fields, names]):
        raise BadRequest(validate.NUL_MESSAGE)
    return Multipart(document, files, fields)


def parse_bool(value: Any, default: bool = False) -> bool:
    """Query-string and form booleans arrive as "True"/"False" (Python's str(bool))."""
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off", ""):
        return False
    raise BadRequest(f"Invalid boolean {value!r}")


async def body(request: Request) -> dict[str, Any]:
    """Dependency: the JSON body, ``{}`` when there is none. Lets handlers stay synchronous
    (FastAPI runs them in its thread pool, off the event loop)."""
    return await json_body(request)


async def required_body(request: Request) -> dict[str, Any]:
    return await json_body(request, required=True)


async def json_or_multipart(request: Request) -> Multipart:
    """Dependency for routes that take either a JSON document or a multipart upload."""
    if is_multipart(request):
        return await multipart_body(request)
    return Multipart(await json_body(request, required=True), {}, {})


# --------------------------------------------------------------------------- typed bodies
#
# A route that takes ``data: AlertIn = Depends(parsed(AlertIn))`` gets the body read by
# ``json_body`` / ``json_or_multipart`` (their size limits, after authentication) and then
# validated by the model; a ``ValidationError`` is TheHive's ``AttributeCheckingError`` (400).
# FastAPI's own body parsing is not used because it would read the body before the caller is
# authenticated; :class:`UnitOfWorkRoute` documents the model as the request body instead.

_BODY_MODEL = "__propolis_body_model__"
# Every model documented as a request body; app.py adds them to the OpenAPI components.
BODY_SCHEMAS: set[type[BaseModel]] = set()


def parsed(  # noqa: ANN201
    model: type[BaseModel],
    *,
    required: bool = False,
    multipart: bool = False,
    checked_by_service: bool = False,
):
    """Dependency factory: the JSON body validated with ``model``, as the dict of what the
    client sent (``model_dump(exclude_unset=True)``: an update changes only those fields).
    With ``multipart`` the dependency yields a :class:`Multipart` whose ``json`` is that dict.
    With ``checked_by_service`` the body is handed over as sent, for a service that
    validates it with ``model`` itself (every service checks its input, whoever calls it):
    the same 400 for the client, and a hot path (alert creation) validates once, not twice.
    The body readers authenticate the caller before reading a byte."""
    if multipart:

        async def from_upload(request: Request) -> Multipart:
            upload = await json_or_multipart(request)
            if not checked_by_service:
                upload.json = check(model, upload.json).sent()
            return upload

        setattr(from_upload, _BODY_MODEL, (model, True, True))
        return from_upload

    async def from_json(request: Request) -> dict[str, Any]:
        return check(model, await json_body(request, required=required)).sent()

    setattr(from_json, _BODY_MODEL, (model, required, False))
    return from_json


def body_models(dependant: Dependant) -> list[tuple[type[BaseModel], bool, bool]]:
    found = []
    for dep in dependant.dependencies:
        if hasattr(dep.call, _BODY_MODEL):
            found.append(getattr(dep.call, _BODY_MODEL))
        found.extend(body_models(dep))
    return found


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def request_body_doc(model: type[BaseModel], required: bool, multipart: bool) -> dict[str, Any]:
    content: dict[str, Any] = {"application/json": {"schema": _ref(model)}}
    if multipart:
        content["multipart/form-data"] = {
            "schema": {
                "type": "object",
                "properties": {"_json": {"type": "string", "description": model.__name__}},
                "additionalProperties": True,
            }
        }
    return {"requestBody": {"required": required, "content": content}}
