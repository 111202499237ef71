"""Query-language registration for Cortex jobs and responder actions (spec §21.1)."""

from __future__ import annotations

from typing import Any

from propolis.analysis import service
from propolis.analysis.models import AnalyzerJob, ResponderAction
from propolis.analysis.render import render_actions, render_jobs
from propolis.core.db import parse_id
from propolis.core.query import (
    INT,
    EntitySpec,
    Field,
    QueryContext,
    ResultSet,
    ids_of,
    initial,
    meta_fields,
    register_entity,
    traversal,
)

JOB = register_entity(
    EntitySpec(
        name="case_artifact_job",
        model=AnalyzerJob,
        fields={
            **meta_fields(AnalyzerJob),
            "analyzerId": Field(AnalyzerJob.analyzer_id),
            "analyzerName": Field(AnalyzerJob.analyzer_name),
            "analyzerDefinition": Field(AnalyzerJob.analyzer_definition),
            "status": Field(AnalyzerJob.status),
            "startDate": Field(AnalyzerJob.start_date, INT),
            "endDate": Field(AnalyzerJob.end_date, INT),
            "cortexId": Field(AnalyzerJob.cortex_id),
            "cortexJobId": Field(AnalyzerJob.cortex_job_id),
        },
        render=lambda ctx, rows, extra: render_jobs(rows),
    )
)

ACTION = register_entity(
    EntitySpec(
        name="action",
        model=ResponderAction,
        fields={
            **meta_fields(ResponderAction),
            "responderId": Field(ResponderAction.responder_id),
            "responderName": Field(ResponderAction.responder_name),
            "responderDefinition": Field(ResponderAction.responder_definition),
            "objectType": Field(ResponderAction.object_type),
            "status": Field(ResponderAction.status),
            "startDate": Field(ResponderAction.start_date, INT),
            "endDate": Field(ResponderAction.end_date, INT),
            "cortexId": Field(ResponderAction.cortex_id),
            "cortexJobId": Field(ResponderAction.cortex_job_id),
        },
        render=lambda ctx, rows, extra: render_actions(rows),
    )
)


@initial("listJob")
def list_job(ctx: QueryContext, op: dict[str, Any]) -> ResultSet:
    return ResultSet(JOB, service.visible_jobs(ctx.actor))


@initial("getJob")
def get_job(ctx: QueryContext, op: dict[str, Any]) -> ResultSet:
    job_id = parse_id(op.get("idOrName"))
    stmt = service.visible_jobs(ctx.actor).where(AnalyzerJob.id == (job_id or -1))
    return ResultSet(JOB, stmt)


@initial("listAction")
def list_action(ctx: QueryContext, op: dict[str, Any]) -> ResultSet:
    return ResultSet(ACTION, service.visible_actions(ctx.actor))


@initial("getAction")
def get_action(ctx: QueryContext, op: dict[str, Any]) -> ResultSet:
    action_id = parse_id(op.get("idOrName"))
    stmt = service.visible_actions(ctx.actor).where(ResponderAction.id == (action_id or -1))
    return ResultSet(ACTION, stmt)


@traversal("Observable", "jobs")
def observable_jobs(ctx: QueryContext, result: ResultSet, op: dict[str, Any]) -> ResultSet:
    """The analyzer jobs of visible observables run by the caller's organisation."""
    stmt = service.visible_jobs(ctx.actor).where(AnalyzerJob.observable_id.in_(ids_of(result)))
    return ResultSet(JOB, stmt)
