"""The one rendering of each analysis entity (jobs, actions, workers, definitions)."""

from __future__ import annotations

import json
from typing import Any

from propolis.analysis import service
from propolis.analysis.catalog import Catalog, Definition
from propolis.analysis.config import masked
from propolis.analysis.models import AnalysisWorker, AnalyzerJob, ResponderAction
from propolis.analysis.workers import is_obsolete
from propolis.core.render import meta, put

FINISHED = ("Success", "Failure")


def render_jobs(jobs: list[AnalyzerJob]) -> list[dict[str, Any]]:
    """TheHive's ``OutputAnalyzerJob`` (spec §21.2). Stored fields only: the create
    response and every later read are equal until the job changes."""
    return [_job(job) for job in jobs]


def render_job(job: AnalyzerJob) -> dict[str, Any]:
    return _job(job)


def _job(job: AnalyzerJob) -> dict[str, Any]:
    out = meta(job, "case_artifact_job")
    out.update(
        id=job.eid,
        analyzerId=job.analyzer_id,
        analyzerName=job.analyzer_name,
        analyzerDefinition=job.analyzer_definition or job.analyzer_name,
        status=job.status,
        startDate=job.start_date,
        cortexId=job.cortex_id,
        cortexJobId=job.cortex_job_id or "",
        operations=json.dumps(job.operations or []),
    )
    put(out, "endDate", job.end_date)
    if job.status in FINISHED and job.report is not None:
        out["report"] = job.report
    if (job.parameters or {}).get("fromCache"):
        out["fromCache"] = True
    return out


def render_actions(actions: list[ResponderAction]) -> list[dict[str, Any]]:
    return [_action(action) for action in actions]


def _action(action: ResponderAction) -> dict[str, Any]:
    out = meta(action, "action")
    out.update(
        responderId=action.responder_id,
        responderName=action.responder_name,
        responderDefinition=action.responder_definition or action.responder_name,
        objectType=action.object_type,
        objectId=f"~{action.object_id}",
        status=action.status,
        startDate=action.start_date,
        operations=json.dumps(action.operations or []),
        report=json.dumps(_action_report(action)),
    )
    put(out, "cortexId", action.cortex_id)
    put(out, "cortexJobId", action.cortex_job_id)
    put(out, "endDate", action.end_date)
    return out


def _action_report(action: ResponderAction) -> dict[str, Any]:
    """TheHive stores the report without its operations (those are rendered apart)."""
    return {k: v for k, v in (action.report or {}).items() if k != "operations"}


def render_connector_workers(workers: list[AnalysisWorker]) -> list[dict[str, Any]]:
    """``OutputAnalyzer`` / ``OutputResponder`` of the connector (with maxTlp/maxPap, which
    TheHive uses to filter what it offers, cortex.md §5.1)."""
    out = []
    for worker in workers:
        max_tlp, max_pap = service.max_levels(worker)
        out.append(
            {
                "id": worker.eid,
                "name": worker.name,
                "version": worker.version,
                "description": worker.description,
                "dataTypeList": list(worker.data_types or []),
                "cortexIds": [service.LOCAL_CORTEX],
                "maxTlp": max_tlp,
                "maxPap": max_pap,
            }
        )
    return out


def render_workers(catalog: Catalog, workers: list[AnalysisWorker]) -> list[dict[str, Any]]:
    """The administration view: configuration with secrets masked (write-only)."""
    out = []
    for worker in workers:
        item = meta(worker, "AnalysisWorker")
        max_tlp, max_pap = service.max_levels(worker)
        item.update(
            kind=worker.kind,
            name=worker.name,
            definitionId=worker.definition_id,
            version=worker.version,
            description=worker.description,
            dataTypeList=list(worker.data_types or []),
            configuration=masked(worker.configuration or {}),
            obsolete=is_obsolete(catalog, worker),
            maxTlp=max_tlp,
            maxPap=max_pap,
        )
        put(item, "jobCache", worker.job_cache)
        put(item, "jobTimeout", worker.job_timeout)
        put(item, "rate", worker.rate)
        put(item, "rateUnit", worker.rate_unit)
        out.append(item)
    return out


def render_definitions(definitions: list[Definition]) -> list[dict[str, Any]]:
    return [d.to_json() for d in definitions]
