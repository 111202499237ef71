"""The Cortex REST API (cortex.md §6), the part ``cortex4py`` and a real TheHive (§6.12) use:
list and enable analyzers, run them on a value or a file, run responders on an object sent
by the caller, read jobs, reports and the files they reference (datastore).

It is another front door over the same services: an analyzer enabled here is the one the
TheHive connector lists, and the caller's organisation is the Cortex organisation. A Cortex
job is an analyzer job or a responder action (their ids are global, so they never clash).
Not served yet: users/organisations administration, base configs, worker updates, the
password-protected datastore zip and the MISP module emulation.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
import time
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from propolis.analysis import catalog as catalog_mod
from propolis.analysis import service, workers
from propolis.analysis.catalog import ANALYZER, RESPONDER
from propolis.analysis.config import masked
from propolis.analysis.models import AnalysisWorker, AnalyzerJob, ResponderAction
from propolis.analysis.render import render_definitions
from propolis.analysis.schemas import (
    CortexArtifactOut,
    CortexJobOut,
    CortexUserOut,
    CortexWorkerOut,
    DefinitionOut,
)
from propolis.attachments.downloads import content_disposition
from propolis.core import events
from propolis.core.errors import BadRequest, NotFound
from propolis.core.security import Actor
from propolis.core.web import (
    JSON,
    Ctx,
    Multipart,
    UnitOfWorkRoute,
    body,
    caller,
    context,
    created,
    download,
    in_thread,
    is_multipart,
    json_body,
    multipart_body,
    no_content,
    ok,
    parse_bool,
)
from propolis.users.models import User

router = APIRouter(prefix="/api", route_class=UnitOfWorkRoute)

MAX_WAIT_SECONDS = 300.0  # "atMost=Inf" waits at most this long
_UNITS = {
    "ms": 0.001, "milli": 0.001, "millis": 0.001, "millisecond": 0.001, "milliseconds": 0.001,
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
}  # fmt: skip


def _catalog(ctx: Ctx) -> catalog_mod.Catalog:
    return catalog_mod.load(ctx.app_state.settings)


def _page(items: list[Any], value: str | None, default: int = 10) -> list[Any]:
    """Cortex's ``range``: ``all`` or ``from-to``; absent or malformed -> the first ten."""
    if value == "all":
        return items
    match = re.fullmatch(r"(\d+)-(\d+)", value or "")
    if not match:
        return items[:default]
    return items[int(match.group(1)) : int(match.group(2))]


# A Cortex list: the items (or one page of them); the header counts them all.
LISTED: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The items; where a range applies (from-to or all), one page of them",
        "headers": {"X-Total": {"description": "How many in all", "schema": {"type": "integer"}}},
    }
}


def _listed(items: list[dict[str, Any]], total: int) -> JSON:
    return JSON(items, status_code=200, headers={"X-Total": str(total)})


# --------------------------------------------------------------------------- rendering


def render_worker(worker: AnalysisWorker, with_config: bool) -> dict[str, Any]:
    definition = worker.definition or {}
    out = {
        "_id": worker.eid,
        "id": worker.eid,
        "_type": "worker",
        "name": worker.name,
        "workerDefinitionId": worker.definition_id,
        "analyzerDefinitionId": worker.definition_id,
        "version": worker.version,
        "description": worker.description,
        "author": definition.get("author", ""),
        "url": definition.get("url", ""),
        "license": definition.get("license", ""),
        "dataTypeList": list(worker.data_types or []),
        "baseConfig": definition.get("baseConfig", worker.name),
        "type": worker.kind,
        "rate": worker.rate,
        "rateUnit": worker.rate_unit,
        "jobCache": worker.job_cache,
        "jobTimeout": worker.job_timeout,
        "createdAt": worker.created_at,
        "createdBy": worker.created_by,
    }
    out["maxTlp"], out["maxPap"] = service.max_levels(worker)
    if worker.updated_at is not None:
        out.update(updatedAt=worker.updated_at, updatedBy=worker.updated_by)
    if with_config:
        out["configuration"] = masked(worker.configuration or {})
    return out


def render_cortex_job(job: AnalyzerJob, org_name: str, with_report: bool = False) -> dict:
    out: dict[str, Any] = {
        "_id": job.eid,
        "id": job.eid,
        "_type": "job",
        "_parent": None,
        "workerId": job.analyzer_id,
        "workerName": job.analyzer_name,
        "workerDefinitionId": job.analyzer_definition or job.analyzer_name,
        "analyzerId": job.analyzer_id,
        "analyzerName": job.analyzer_name,
        "analyzerDefinitionId": job.analyzer_definition or job.analyzer_name,
        "organization": org_name,
        "type": ANALYZER,
        "status": job.status,
        "dataType": job.data_type,
        "tlp": job.tlp,
        "pap": job.pap,
        "message": job.message or "",
        "parameters": job.parameters or {},
        "cacheTag": job.cache_tag,
        "date": job.created_at,
        "createdAt": job.created_at,
        "createdBy": job.created_by,
        "startDate": job.start_date,
    }
    if job.data is not None:
        out["data"] = job.data
    if job.attachment:
        out["attachment"] = job.attachment
    if job.end_date is not None:
        out["endDate"] = job.end_date
    if job.updated_at is not None:
        out.update(updatedAt=job.updated_at, updatedBy=job.updated_by)
    if job.status == "Failure" and job.report:
        out["errorMessage"] = job.report.get("errorMessage")
        out["input"] = job.report.get("input")
    if with_report:
        out["report"] = _report(job)
    return out


def render_responder_job(
    action: ResponderAction, org_name: str, with_report: bool = False
) -> dict[str, Any]:
    """A responder action as a Cortex job; ``data`` is the object it was given (§6.8)."""
    request = action.request or {}
    out: dict[str, Any] = {
        "_id": action.eid,
        "id": action.eid,
        "_type": "job",
        "_parent": None,
        "workerId": action.responder_id,
        "workerName": action.responder_name,
        "workerDefinitionId": action.responder_definition or action.responder_name,
        "analyzerId": action.responder_id,
        "analyzerName": action.responder_name,
        "analyzerDefinitionId": action.responder_definition or action.responder_name,
        "organization": org_name,
        "type": RESPONDER,
        "status": action.status,
        "dataType": request.get("dataType") or f"thehive:{action.object_type}",
        "tlp": action.tlp,
        "pap": action.pap,
        "message": request.get("message") or "",
        "label": request.get("label") or "",
        "parameters": action.parameters or {},
        "date": action.created_at,
        "createdAt": action.created_at,
        "createdBy": action.created_by,
        "startDate": action.start_date,
    }
    if "data" in request:
        out["data"] = request["data"]
    if action.end_date is not None:
        out["endDate"] = action.end_date
    if action.updated_at is not None:
        out.update(updatedAt=action.updated_at, updatedBy=action.updated_by)
    if action.status == "Failure" and action.report:
        out["errorMessage"] = action.report.get("errorMessage")
        out["input"] = action.report.get("input")
    if with_report:
        out["report"] = _report(action)
    return out


def render_any_job(
    job: AnalyzerJob | ResponderAction, org_name: str, with_report: bool = False
) -> dict[str, Any]:
    if isinstance(job, ResponderAction):
        return render_responder_job(job, org_name, with_report)
    return render_cortex_job(job, org_name, with_report)


def _report(job: AnalyzerJob | ResponderAction) -> Any:
    """cortex.md §3.5: the report, or the status word while it is not finished."""
    if job.status == "Success":
        return job.report
    if job.status == "Failure":
        import json

        report = job.report or {}
        stored_input = report.get("input")
        return {
            "errorMessage": report.get("errorMessage"),
            "input": None if stored_input is None else json.dumps(stored_input),
            "success": False,
        }
    return {"InProgress": "Running"}.get(job.status, job.status)


# --------------------------------------------------------------------------- analyzers


def _analyzer(ctx: Ctx, ref: str) -> AnalysisWorker:
    return workers.get_worker(ctx.session, ctx.actor, ANALYZER, ref)


def _list_workers(ctx: Ctx, kind: str, page: str | None, query: Any = None) -> JSON:
    """The enabled analyzers or responders, optionally filtered by a Cortex search query."""
    found = workers.list_workers(ctx.session, ctx.actor, kind)
    if query is not None:
        found = [w for w in found if _matches(query, render_worker(w, False))]
    admin = ctx.actor.can(workers.CONFIG_PERMISSION)
    return _listed([render_worker(w, admin) for w in _page(found, page)], len(found))


def _by_type(ctx: Ctx, kind: str, data_type: str) -> JSON:
    found = workers.list_workers(ctx.session, ctx.actor, kind, data_type)
    return _listed([render_worker(w, False) for w in found], len(found))


def _definitions(ctx: Ctx, kind: str) -> JSON:
    ctx.actor.require(workers.CONFIG_PERMISSION)
    found = _catalog(ctx).all(kind)
    return _listed(render_definitions(found), len(found))


def _enable(ctx: Ctx, kind: str, definition_id: str, data: dict) -> JSON:
    worker = workers.enable_worker(
        ctx.session,
        ctx.actor,
        _catalog(ctx),
        kind,
        definition_id,
        data,
        ctx.app_state.sealer,
        ctx.app_state.settings,
    )
    return created(render_worker(worker, False))


def _search_workers(ctx: Ctx, kind: str, request: Request, data: dict) -> JSON:
    page = request.query_params.get("range") or data.get("range")
    return _list_workers(ctx, kind, page, data.get("query") or {})


@router.get("/analyzer", response_model=list[CortexWorkerOut], responses=LISTED)
def list_analyzers(range: str | None = None, ctx: Ctx = Depends(context)) -> JSON:  # noqa: A002
    return _list_workers(ctx, ANALYZER, range)


@router.post("/analyzer/_search", response_model=list[CortexWorkerOut], responses=LISTED)
def search_analyzers(
    request: Request, data: dict = Depends(body), ctx: Ctx = Depends(context)
) -> JSON:
    return _search_workers(ctx, ANALYZER, request, data)


def _matches(query: Any, item: dict[str, Any]) -> bool:
    """The search forms cortex4py sends: field equality, ``_and``/``_or``/``_not``, all."""
    if not isinstance(query, dict) or not query:
        return True
    if "_field" in query:
        value = item.get(str(query["_field"]))
        wanted = query.get("_value")
        return wanted in value if isinstance(value, list) else value == wanted
    if "_and" in query:
        return all(_matches(q, item) for q in query["_and"] or [])
    if "_or" in query:
        return any(_matches(q, item) for q in query["_or"] or [])
    if "_not" in query:
        return not _matches(query["_not"], item)
    if "_any" in query:
        return True
    if len(query) == 1:
        ((key, value),) = query.items()
        if not key.startswith("_"):
            return _matches({"_field": key, "_value": value}, item)
    raise BadRequest(f"Unsupported search query {query!r}")


@router.get("/analyzer/type/{data_type}", response_model=list[CortexWorkerOut], responses=LISTED)
def analyzers_by_type(data_type: str, ctx: Ctx = Depends(context)) -> JSON:
    return _by_type(ctx, ANALYZER, data_type)


@router.get("/analyzer/{worker_id}", response_model=CortexWorkerOut)
def get_analyzer(worker_id: str, ctx: Ctx = Depends(context)) -> JSON:
    admin = ctx.actor.can(workers.CONFIG_PERMISSION)
    return ok(render_worker(_analyzer(ctx, worker_id), admin))


@router.delete("/analyzer/{worker_id}", status_code=204)
def delete_analyzer(worker_id: str, ctx: Ctx = Depends(context)):  # noqa: ANN201
    workers.disable_worker(ctx.session, ctx.actor, _analyzer(ctx, worker_id))
    return no_content()


@router.get("/analyzerdefinition", response_model=list[DefinitionOut], responses=LISTED)
def list_definitions(ctx: Ctx = Depends(context)) -> JSON:
    return _definitions(ctx, ANALYZER)


@router.post(
    "/organization/analyzer/{definition_id}", response_model=CortexWorkerOut, status_code=201
)
def enable_analyzer(
    definition_id: str, data: dict = Depends(body), ctx: Ctx = Depends(context)
) -> JSON:
    return _enable(ctx, ANALYZER, definition_id, data)


async def json_or_form(request: Request) -> Multipart:
    """A JSON body, or multipart with a ``_json`` part and file parts (cortex.md §6.1)."""
    if is_multipart(request):
        return await multipart_body(request)
    return Multipart(await json_body(request), {}, {})


def _run_fields(form: Multipart) -> dict[str, Any]:
    """The run fields of every accepted body form, Cortex 1's ``attributes`` included."""
    data = dict(form.json)
    attributes = data.get("attributes", form.fields.get("attributes"))
    if isinstance(attributes, str):
        import orjson

        try:
            attributes = orjson.loads(attributes)
        except orjson.JSONDecodeError as exc:
            raise BadRequest(f"Invalid JSON in attributes: {exc}") from exc
    if isinstance(attributes, dict):  # Cortex 1's form
        data = {**attributes, "data": data.get("data")}
    return data


@router.post("/analyzer/{worker_id}/run", response_model=CortexJobOut)
def run_analyzer(
    worker_id: str,
    request: Request,
    form: Multipart = Depends(json_or_form),
    ctx: Ctx = Depends(context),
) -> JSON:
    worker = _analyzer(ctx, worker_id)
    data = _run_fields(form)
    uploads = form.files.get("data") or form.files.get("attachment") or []
    force = parse_bool(request.query_params.get("force"), False) or data.get("force") is True
    attachment = None
    if uploads:  # TheHive and cortex4py send the file as the part "data"
        settings = ctx.app_state.settings
        attachment = service.store_job_file(
            request.app.state.storage, uploads[0], settings.max_upload_bytes
        )
    job, from_cache = service.run_analyzer(
        ctx.session,
        ctx.actor,
        worker,
        data,
        ctx.app_state.settings,
        force=force,
        attachment=attachment,
    )
    out = render_cortex_job(job, ctx.actor.org_name)
    if from_cache:
        out["fromCache"] = True
    return ok(out)


# --------------------------------------------------------------------------- jobs


def _job(ctx: Ctx, ref: str) -> AnalyzerJob | ResponderAction:
    return service.get_cortex_job(ctx.session, ctx.actor, ref)


@router.get("/job/{job_id}", response_model=CortexJobOut)
def get_job(job_id: str, ctx: Ctx = Depends(context)) -> JSON:
    return ok(render_any_job(_job(ctx, job_id), ctx.actor.org_name))


@router.get("/job/{job_id}/report", response_model=CortexJobOut)
def get_report(job_id: str, ctx: Ctx = Depends(context)) -> JSON:
    return ok(render_any_job(_job(ctx, job_id), ctx.actor.org_name, with_report=True))


def parse_duration(value: str | None) -> float:
    """Scala duration syntax (``1minute``, ``1 second``, ``30s``, ``Inf``) -> seconds."""
    if value is None:
        return 60.0
    if value.strip().lower() in ("inf", "infinity", "plusinf"):
        return MAX_WAIT_SECONDS
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", value)
    if not match or (match.group(2) and match.group(2).lower() not in _UNITS):
        raise BadRequest(f"Invalid duration {value!r}")
    seconds = float(match.group(1)) * _UNITS.get(match.group(2).lower() or "ms", 0.001)
    return min(seconds, MAX_WAIT_SECONDS)


# ``waitreport`` waits on the event loop, holding no worker thread and no database session:
# a job that ends in this process wakes its waiters at once (an event subscriber, called from
# the thread that committed it); jobs of other processes (Redis workers) are seen at the next
# short read, every POLL_SECONDS.
ENDED = ("Success", "Failure")
POLL_SECONDS = 0.5
_waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
_waiters_lock = threading.Lock()


def _notify_job_end(event: events.Event) -> None:
    if (
        event.object_type in ("AnalyzerJob", "ResponderAction")
        and event.details.get("status") in ENDED
    ):
        with _waiters_lock:
            waiting = list(_waiters)
        for loop, woken in waiting:
            with contextlib.suppress(RuntimeError):  # that loop has closed meanwhile
                loop.call_soon_threadsafe(woken.set)


events.subscribe(_notify_job_end)


def _read_job(db: Any, actor: Actor, job_id: str) -> tuple[bool, dict[str, Any]]:
    """One short read: has the job ended, and its rendering with the report."""
    with db.read_sessions() as session:
        job = service.get_cortex_job(session, actor, job_id)
        return job.status not in ("Waiting", "InProgress"), render_any_job(
            job, actor.org_name, with_report=True
        )


@router.get("/job/{job_id}/waitreport", response_model=CortexJobOut)
async def wait_report(
    job_id: str,
    request: Request,
    atMost: str | None = None,  # noqa: N803
    actor: Actor = Depends(caller),
) -> JSON:
    deadline = time.monotonic() + parse_duration(atMost)
    db = request.app.state.db
    waiter = (asyncio.get_running_loop(), asyncio.Event())
    with _waiters_lock:
        _waiters.add(waiter)
    try:
        while True:
            waiter[1].clear()
            ended, rendered = await in_thread(_read_job, db, actor, job_id)
            remaining = deadline - time.monotonic()
            if ended or remaining <= 0:
                return ok(rendered)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter[1].wait(), min(POLL_SECONDS, remaining))
    finally:
        with _waiters_lock:
            _waiters.discard(waiter)


@router.get("/job/{job_id}/artifacts", response_model=list[CortexArtifactOut], responses=LISTED)
def job_artifacts(job_id: str, ctx: Ctx = Depends(context)) -> JSON:
    job = _job(ctx, job_id)
    artifacts = []  # a responder reports none (§4.3)
    if isinstance(job, AnalyzerJob) and job.status == "Success":
        artifacts = (job.report or {}).get("artifacts") or []
    out = [
        {"_id": f"{job.eid}-{i}", "id": f"{job.eid}-{i}", "_type": "artifact",
         "createdAt": job.end_date, "createdBy": job.created_by, **artifact}
        for i, artifact in enumerate(artifacts)
    ]  # fmt: skip
    return _listed(out, len(out))


@router.post("/job/_search", response_model=list[CortexJobOut], responses=LISTED)
def search_jobs(request: Request, data: dict = Depends(body), ctx: Ctx = Depends(context)):  # noqa: ANN201
    jobs: list[Any] = []
    for query, model in (
        (service.visible_jobs(ctx.actor), AnalyzerJob),
        (service.cortex_jobs(ctx.actor), ResponderAction),
    ):
        jobs += ctx.session.scalars(
            query.where(model.status != "Deleted")
            .order_by(model.created_at.desc(), model.id.desc())
            .limit(10_000)
        ).all()
    jobs.sort(key=lambda j: (j.created_at, j.id), reverse=True)  # Cortex's -createdAt
    rendered = [render_any_job(j, ctx.actor.org_name) for j in jobs]
    found = [j for j in rendered if _matches(data.get("query") or {}, j)]
    page = request.query_params.get("range") or data.get("range")
    return _listed(_page(found, page), len(found))


@router.delete("/job/{job_id}", status_code=204)
def delete_job(job_id: str, ctx: Ctx = Depends(context)):  # noqa: ANN201
    service.delete_job(ctx.session, ctx.actor, _job(ctx, job_id))
    return no_content()


# --------------------------------------------------------------------------- responders


def _responder(ctx: Ctx, ref: str) -> AnalysisWorker:
    return workers.get_worker(ctx.session, ctx.actor, RESPONDER, ref)


@router.get("/responder", response_model=list[CortexWorkerOut], responses=LISTED)
def list_responders(range: str | None = None, ctx: Ctx = Depends(context)) -> JSON:  # noqa: A002
    return _list_workers(ctx, RESPONDER, range)


@router.post("/responder/_search", response_model=list[CortexWorkerOut], responses=LISTED)
def search_responders(
    request: Request, data: dict = Depends(body), ctx: Ctx = Depends(context)
) -> JSON:
    """TheHive asks ``{"_field": "dataTypeList", "_value": "thehive:case"}``, range all."""
    return _search_workers(ctx, RESPONDER, request, data)


@router.get("/responder/type/{data_type}", response_model=list[CortexWorkerOut], responses=LISTED)
def responders_by_type(data_type: str, ctx: Ctx = Depends(context)) -> JSON:
    return _by_type(ctx, RESPONDER, data_type)


@router.get("/responderdefinition", response_model=list[DefinitionOut], responses=LISTED)
def list_responder_definitions(ctx: Ctx = Depends(context)) -> JSON:
    return _definitions(ctx, RESPONDER)


@router.post(
    "/organization/responder/{definition_id}",
    response_model=CortexWorkerOut,
    status_code=201,
)
def enable_responder(
    definition_id: str, data: dict = Depends(body), ctx: Ctx = Depends(context)
) -> JSON:
    return _enable(ctx, RESPONDER, definition_id, data)


@router.delete("/responder/{worker_id}", status_code=204)
def delete_responder(worker_id: str, ctx: Ctx = Depends(context)):  # noqa: ANN201
    workers.disable_worker(ctx.session, ctx.actor, _responder(ctx, worker_id))
    return no_content()


@router.get("/responder/{worker_id}", response_model=CortexWorkerOut)
def get_responder(worker_id: str, ctx: Ctx = Depends(context)) -> JSON:
    admin = ctx.actor.can(workers.CONFIG_PERMISSION)
    return ok(render_worker(_responder(ctx, worker_id), admin))


@router.post("/responder/{worker_id}/run", response_model=CortexJobOut)
def run_responder(worker_id: str, data: dict = Depends(body), ctx: Ctx = Depends(context)) -> JSON:
    action = service.run_responder(ctx.session, ctx.actor, _responder(ctx, worker_id), data)
    return ok(render_responder_job(action, ctx.actor.org_name))


# --------------------------------------------------------------------------- datastore


@router.get(
    "/datastore/{sha256}",
    response_class=StreamingResponse,
    responses=download("The file, under the content type it was stored with"),
)
def datastore(
    sha256: str, request: Request, name: str | None = None, ctx: Ctx = Depends(context)
) -> StreamingResponse:
    """The bytes of a file of a job or report of the caller's organisation (§6.9)."""
    sha256 = sha256.lower()
    storage = request.app.state.storage
    found = None
    if re.fullmatch(r"[0-9a-f]{64}", sha256):
        found = service.datastore_file(ctx.session, ctx.actor, sha256)
    if found is None or not storage.exists(sha256):
        raise NotFound(f"{sha256} not found")
    if name is not None and (not name.strip() or any(c in name for c in "/\\\0")):
        raise BadRequest(f"Invalid file name {name!r}")
    headers = {
        "Content-Type": found[1],
        "Content-Disposition": content_disposition("attachment", name or sha256),
    }
    return StreamingResponse(storage.read_chunks(sha256), headers=headers)


# --------------------------------------------------------------------------- current user


@router.get("/user/current", response_model=CortexUserOut)
def current_user(ctx: Ctx = Depends(context)) -> JSON:
    """Cortex's user (TheHive reads ``id``), with TheHive 4's (v0) keys as well: one path,
    both clients."""
    user = ctx.session.get(User, ctx.actor.user_id)
    if user is None:
        raise NotFound("user not found")
    roles = ["read"]
    if ctx.actor.can(service.ANALYSE_PERMISSION):
        roles.append("analyze")
    if ctx.actor.can(workers.CONFIG_PERMISSION):
        roles.append("orgadmin")
    return ok(
        {
            "_id": user.login,
            "id": user.login,
            "_type": "user",
            "login": user.login,
            "name": user.name,
            "roles": roles,
            "status": "Locked" if user.locked else "Ok",
            "organization": ctx.actor.org_name,
            "organisation": ctx.actor.org_name,
            "permissions": sorted(ctx.actor.permissions),
            "hasKey": user.api_key_digest is not None,
            "hasPassword": user.password_hash is not None,
            "preferences": {},
            "createdAt": user.created_at,
            "createdBy": user.created_by,
        }
    )
