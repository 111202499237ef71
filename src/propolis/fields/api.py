"""Custom field definition routes (spec §13.1). Values are set through their owners' routes."""

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
from propolis.fields import service
from propolis.fields.render import render_field, render_fields
from propolis.fields.schemas import CustomFieldCreate, CustomFieldOut, CustomFieldUpdate

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
