"""HTTP routes: TheHive's Cortex connector (spec §21), served under both
``/api/connector/cortex/...`` (where thehive4py calls most of them) and
``/api/v1/connector/cortex/...`` (TheHive 5's documented location), and Propolis'
administration of the analysis engine under ``/api/v1/analysis/...``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends

from propolis.analysis import catalog as catalog_mod
from propolis.analysis import service, workers
from propolis.analysis.catalog import ANALYZER, KINDS, RESPONDER
from propolis.analysis.render import (
    render_actions,
    render_connector_workers,
    render_definitions,
    render_job,
    render_jobs,
    render_workers,
)
from propolis.analysis.schemas import (
    ActionCreate,
    ActionOut,
    CatalogProblemsOut,
    CatalogScanOut,
    ConnectorWorkerOut,
    DefinitionOut,
    JobCreate,
    JobOut,
    JobsCreate,
    WorkerEnable,
    WorkerOut,
    WorkerUpdate,
)
from propolis.core.errors import BadRequest, NotFound
from propolis.core.web import JSON, Ctx, UnitOfWorkRoute, context, created, no_content, ok, parsed

router = APIRouter(route_class=UnitOfWorkRoute)
PREFIXES = ("/api/connector/cortex", "/api/v1/connector/cortex")


def connector(method: str, path: str, **kwargs: Any) -> Callable:
    """Register one handler under both connector prefixes."""

    def register(handler: Callable) -> Callable:
        for prefix in PREFIXES:
            router.add_api_route(prefix + path, handler, methods=[method], **kwargs)
        return handler

    return register


def _catalog(ctx: Ctx) -> catalog_mod.Catalog:
    return catalog_mod.load(ctx.app_state.settings)


def _range(items: list[Any], value: str | None) -> list[Any]:
    """Cortex paging: ``all`` or ``from-to`` (to exclusive); TheHive lists everything when
    no range is given."""
    if value is None or value == "all":
        return items
    start, _, end = value.partition("-")
    try:
        return items[int(start) : int(end)] if end else items[int(start) :]
    except ValueError as exc:
        raise BadRequest(f"Invalid range {value!r}") from exc


# --------------------------------------------------------------------------- analyzer jobs


@connector("POST", "/job", response_model=JobOut, status_code=201)
def create_job(
    data: dict = Depends(parsed(JobCreate, required=True)), ctx: Ctx = Depends(context)
) -> JSON:
    job = service.create_job(ctx.session, ctx.actor, data, ctx.app_state.settings)
    return created(render_job(job))


@connector("POST", "/job/_bulk", response_model=list[JobOut], status_code=201)
def create_jobs(
    data: dict = Depends(parsed(JobsCreate, required=True)), ctx: Ctx = Depends(context)
) -> JSON:
    jobs = service.create_jobs(ctx.session, ctx.actor, data, ctx.app_state.settings)
    return created(render_jobs(jobs))


@connector("GET", "/job/{job_id}", response_model=JobOut)
def get_job(job_id: str, ctx: Ctx = Depends(context)) -> JSON:
    return ok(render_job(service.get_job(ctx.session, ctx.actor, job_id)))


# --------------------------------------------------------------------------- analyzers


@connector("GET", "/analyzer", response_model=list[ConnectorWorkerOut])
def list_analyzers(range: str | None = None, ctx: Ctx = Depends(context)) -> JSON:  # noqa: A002
    found = workers.list_workers(ctx.session, ctx.actor, ANALYZER)
    return ok(render_connector_workers(_range(found, range)))


@connector("GET", "/analyzer/type/{data_type}", response_model=list[ConnectorWorkerOut])
def analyzers_by_type(data_type: str, ctx: Ctx = Depends(context)) -> JSON:
    found = workers.list_workers(ctx.session, ctx.actor, ANALYZER, data_type)
    return ok(render_connector_workers(found))


@connector("GET", "/analyzer/{analyzer_id}", response_model=ConnectorWorkerOut)
def get_analyzer(analyzer_id: str, ctx: Ctx = Depends(context)) -> JSON:
    worker = workers.get_worker(ctx.session, ctx.actor, ANALYZER, analyzer_id)
    return ok(render_connector_workers([worker])[0])


# --------------------------------------------------------------------------- responders


@connector("GET", "/responder/{object_type}/{object_id}", response_model=list[ConnectorWorkerOut])
def responders_for(object_type: str, object_id: str, ctx: Ctx = Depends(context)) -> JSON:
    found = service.responders_for(ctx.session, ctx.actor, object_type, object_id)
    return ok(render_connector_workers(found))


@connector("POST", "/action", response_model=ActionOut)
def create_action(
    data: dict = Depends(parsed(ActionCreate, required=True)), ctx: Ctx = Depends(context)
) -> JSON:
    action = service.create_action(ctx.session, ctx.actor, data)
    return ok(render_actions([action])[0])


@connector("GET", "/action/{object_type}/{object_id}", response_model=list[ActionOut])
def actions_of(object_type: str, object_id: str, ctx: Ctx = Depends(context)) -> JSON:
    found = service.actions_of(ctx.session, ctx.actor, object_type, object_id)
    return ok(render_actions(found))


@connector("GET", "/action/{action_id}", response_model=ActionOut)
def get_action(action_id: str, ctx: Ctx = Depends(context)) -> JSON:
    return ok(render_actions([service.get_action(ctx.session, ctx.actor, action_id)])[0])


# --------------------------------------------------------------------------- administration


def _kind(value: str | None) -> str:
    if value not in KINDS:
        raise BadRequest(f"kind must be one of {', '.join(KINDS)}")
    return value


@router.get("/api/v1/analysis/definition", response_model=list[DefinitionOut])
def list_definitions(kind: str = ANALYZER, ctx: Ctx = Depends(context)) -> JSON:
    return ok(render_definitions(_catalog(ctx).all(_kind(kind))))


@router.get("/api/v1/analysis/definition/_invalid", response_model=CatalogProblemsOut)
def invalid_definitions(ctx: Ctx = Depends(context)) -> JSON:
    found = _catalog(ctx)
    return ok(
        {
            "invalid": [i.to_json() for i in found.invalid],
            "warnings": [w.to_json() for w in found.warnings],
        }
    )


@router.post("/api/v1/analysis/definition/_scan", response_model=CatalogScanOut)
def scan_definitions(ctx: Ctx = Depends(context)) -> JSON:
    found = workers.rescan_catalog(ctx.actor, ctx.app_state.settings)
    return ok(
        {
            ANALYZER: len(found.definitions[ANALYZER]),
            RESPONDER: len(found.definitions[RESPONDER]),
            "invalid": [i.to_json() for i in found.invalid],
            "warnings": [w.to_json() for w in found.warnings],
        }
    )


@router.post("/api/v1/analysis/worker", response_model=WorkerOut, status_code=201)
def enable_worker(
    data: dict = Depends(parsed(WorkerEnable, required=True)), ctx: Ctx = Depends(context)
) -> JSON:
    definition_id = data.get("definitionId")
    if not isinstance(definition_id, str) or not definition_id:
        raise BadRequest("definitionId is required")
    worker = workers.enable_worker(
        ctx.session,
        ctx.actor,
        _catalog(ctx),
        _kind(data.get("kind", ANALYZER)),
        definition_id,
        data,
        ctx.app_state.sealer,
        ctx.app_state.settings,
    )
    ctx.session.flush()
    return created(render_workers(_catalog(ctx), [worker])[0])


@router.get("/api/v1/analysis/worker", response_model=list[WorkerOut])
def list_workers(kind: str | None = None, ctx: Ctx = Depends(context)) -> JSON:
    kinds = KINDS if kind is None else (_kind(kind),)
    found = [w for k in kinds for w in workers.list_workers(ctx.session, ctx.actor, k)]
    return ok(render_workers(_catalog(ctx), found))


def _worker(ctx: Ctx, ref: str) -> Any:
    for kind in KINDS:
        found = workers.find_worker(ctx.session, ctx.actor.org_id, kind, ref)
        if found is not None:
            return found
    raise NotFound(f"Worker {ref} not found")


@router.get("/api/v1/analysis/worker/{ref}", response_model=WorkerOut)
def get_worker(ref: str, ctx: Ctx = Depends(context)) -> JSON:
    return ok(render_workers(_catalog(ctx), [_worker(ctx, ref)])[0])


@router.patch("/api/v1/analysis/worker/{ref}", status_code=204)
def update_worker(
    ref: str, data: dict = Depends(parsed(WorkerUpdate)), ctx: Ctx = Depends(context)
):  # noqa: ANN201
    worker = _worker(ctx, ref)
    workers.update_worker(
        ctx.session,
        ctx.actor,
        _catalog(ctx),
        worker,
        data,
        ctx.app_state.sealer,
        ctx.app_state.settings,
    )
    return no_content()


@router.delete("/api/v1/analysis/worker/{ref}", status_code=204)
def disable_worker(ref: str, ctx: Ctx = Depends(context)):  # noqa: ANN201
    workers.disable_worker(ctx.session, ctx.actor, _worker(ctx, ref))
    return no_content()
