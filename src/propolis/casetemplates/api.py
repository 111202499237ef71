"""Case template routes (spec §12); ``idOrName`` is an id or the template's name."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from propolis.casetemplates import service
from propolis.casetemplates.render import render_template
from propolis.casetemplates.schemas import (
    CaseTemplateCreate,
    CaseTemplateOut,
    CaseTemplateUpdate,
    PageTemplateLinks,
)
from propolis.core.web import (
    JSON,
    Ctx,
    UnitOfWorkRoute,
    context,
    created,
    no_content,
    ok,
    parsed,
)

router = APIRouter(prefix="/api/v1", route_class=UnitOfWorkRoute)


@router.post("/caseTemplate", response_model=CaseTemplateOut, status_code=201)
def create_case_template(
    data: dict = Depends(parsed(CaseTemplateCreate, required=True)), ctx: Ctx = Depends(context)
) -> JSON:
    template = service.create_template(ctx.session, ctx.actor, data)
    return created(render_template(ctx.session, ctx.actor, template))


@router.get("/caseTemplate/{ref}", response_model=CaseTemplateOut, status_code=200)
def get_case_template(ref: str, ctx: Ctx = Depends(context)) -> JSON:
    template = service.get_template(ctx.session, ctx.actor, ref)
    return ok(render_template(ctx.session, ctx.actor, template))


@router.patch("/caseTemplate/{ref}", status_code=204)
def update_case_template(
    ref: str, data: dict = Depends(parsed(CaseTemplateUpdate)), ctx: Ctx = Depends(context)
) -> Response:
    template = service.get_template(ctx.session, ctx.actor, ref)
    service.update_template(ctx.session, ctx.actor, template, data)
    return no_content()


@router.delete("/caseTemplate/{ref}", status_code=204)
def delete_case_template(ref: str, ctx: Ctx = Depends(context)) -> Response:
    service.delete_template(
        ctx.session, ctx.actor, service.get_template(ctx.session, ctx.actor, ref)
    )
    return no_content()


@router.put("/caseTemplate/{ref}/pageTemplate/link", status_code=204)
def link_page_templates(
    ref: str, data: dict = Depends(parsed(PageTemplateLinks)), ctx: Ctx = Depends(context)
) -> Response:
    template = service.get_template(ctx.session, ctx.actor, ref)
    service.link_page_templates(ctx.session, ctx.actor, template, data)
    return no_content()
