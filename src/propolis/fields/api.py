"""Custom field definition routes (spec §13.1) and case metric definition routes (TheHive 4's
case metrics, in the custom field routes' style). Values are set through their owners' routes."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from propolis.core.web import (
    JSON,
    Ctx,
    UnitOfWorkRoute,
    context,
    created,
    no_content,
    ok,
    parse_bool,
    parsed,
)
from propolis.fields import metrics, service
from propolis.fields.render import render_field, render_fields, render_metric, render_metrics
from propolis.fields.schemas import (
    CaseMetricCreate,
    CaseMetricOut,
    CaseMetricUpdate,
    CustomFieldCreate,
    CustomFieldOut,
    CustomFieldUpdate,
)

router = APIRouter(prefix="/api/v1", route_class=UnitOfWorkRoute)


@router.get("/customField", response_model=list[CustomFieldOut])
def list_custom_fields(ctx: Ctx = Depends(context)) -> JSON:
    return ok(render_fields(service.list_fields(ctx.session)))


@router.post("/customField", response_model=CustomFieldOut, status_code=201)
def create_custom_field(
    data: dict = Depends(parsed(CustomFieldCreate, required=True)), ctx: Ctx = Depends(context)
) -> JSON:
    return created(render_field(service.create_field(ctx.session, ctx.actor, data)))


@router.get("/customField/{ref}", response_model=CustomFieldOut)
def get_custom_field(ref: str, ctx: Ctx = Depends(context)) -> JSON:
    return ok(render_field(service.get_field(ctx.session, ref)))


@router.patch("/customField/{ref}", status_code=204)
def update_custom_field(
    ref: str, data: dict = Depends(parsed(CustomFieldUpdate)), ctx: Ctx = Depends(context)
) -> Response:
    service.update_field(ctx.session, ctx.actor, service.get_field(ctx.session, ref), data)
    return no_content()


@router.delete("/customField/{ref}", status_code=204)
def delete_custom_field(
    ref: str, force: str | None = None, ctx: Ctx = Depends(context)
) -> Response:
    field = service.get_field(ctx.session, ref)
    service.delete_field(ctx.session, ctx.actor, field, parse_bool(force))
    return no_content()


# --------------------------------------------------------------------------- case metrics


@router.get("/caseMetric", response_model=list[CaseMetricOut])
def list_case_metrics(ctx: Ctx = Depends(context)) -> JSON:
    return ok(render_metrics(metrics.list_metrics(ctx.session)))


@router.post("/caseMetric", response_model=CaseMetricOut, status_code=201)
def create_case_metric(
    data: dict = Depends(parsed(CaseMetricCreate, required=True)), ctx: Ctx = Depends(context)
) -> JSON:
    return created(render_metric(metrics.create_metric(ctx.session, ctx.actor, data)))


@router.get("/caseMetric/{ref}", response_model=CaseMetricOut)
def get_case_metric(ref: str, ctx: Ctx = Depends(context)) -> JSON:
    return ok(render_metric(metrics.get_metric(ctx.session, ref)))


@router.patch("/caseMetric/{ref}", status_code=204)
def update_case_metric(
    ref: str, data: dict = Depends(parsed(CaseMetricUpdate)), ctx: Ctx = Depends(context)
) -> Response:
    metrics.update_metric(ctx.session, ctx.actor, metrics.get_metric(ctx.session, ref), data)
    return no_content()


@router.delete("/caseMetric/{ref}", status_code=204)
def delete_case_metric(ref: str, force: str | None = None, ctx: Ctx = Depends(context)) -> Response:
    metric = metrics.get_metric(ctx.session, ref)
    metrics.delete_metric(ctx.session, ctx.actor, metric, parse_bool(force))
    return no_content()
