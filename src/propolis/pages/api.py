"""Case page routes (``/case/{caseId}/page``) and page template routes (spec §11)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from propolis.cases.service import get_case
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
from propolis.pages import service
from propolis.pages.render import render_page, render_page_template
from propolis.pages.schemas import PageCreate, PageOut, PageUpdate

router = APIRouter(prefix="/api/v1", route_class=UnitOfWorkRoute)


def _case(ctx: Ctx, case_ref: str):  # noqa: ANN202
    return get_case(ctx.session, ctx.actor, case_ref)


@router.post("/case/{case_ref}/page", response_model=PageOut, status_code=201)
def create_case_page(
    case_ref: str,
    data: dict = Depends(parsed(PageCreate, required=True)),
    ctx: Ctx = Depends(context),
) -> JSON:
    page = service.create_page(ctx.session, ctx.actor, _case(ctx, case_ref), data)
    return created(render_page(page))


@router.get("/case/{case_ref}/page/{page_ref}", response_model=PageOut)
def get_case_page(case_ref: str, page_ref: str, ctx: Ctx = Depends(context)) -> JSON:
    return ok(render_page(service.get_case_page(ctx.session, _case(ctx, case_ref), page_ref)))


@router.patch("/case/{case_ref}/page/{page_ref}", status_code=204)
def update_case_page(
    case_ref: str,
    page_ref: str,
    data: dict = Depends(parsed(PageUpdate)),
    ctx: Ctx = Depends(context),
) -> Response:
    case = _case(ctx, case_ref)
    page = service.get_case_page(ctx.session, case, page_ref)
    service.update_page(ctx.session, ctx.actor, case, page, data)
    return no_content()


@router.delete("/case/{case_ref}/page/{page_ref}", status_code=204)
def delete_case_page(case_ref: str, page_ref: str, ctx: Ctx = Depends(context)) -> Response:
    case = _case(ctx, case_ref)
    page = service.get_case_page(ctx.session, case, page_ref)
    service.delete_page(ctx.session, ctx.actor, case, page)
    return no_content()


@router.post("/pageTemplate", response_model=PageOut, status_code=201)
def create_page_template(
    data: dict = Depends(parsed(PageCreate, required=True)), ctx: Ctx = Depends(context)
) -> JSON:
    template = service.create_page_template(ctx.session, ctx.actor, data)
    return created(render_page_template(ctx.session, template))


@router.get("/pageTemplate/{ref}", response_model=PageOut)
def get_page_template(ref: str, ctx: Ctx = Depends(context)) -> JSON:
    template = service.get_page_template(ctx.session, ctx.actor, ref)
    return ok(render_page_template(ctx.session, template))


@router.patch("/pageTemplate/{ref}", status_code=204)
def update_page_template(
    ref: str, data: dict = Depends(parsed(PageUpdate)), ctx: Ctx = Depends(context)
) -> Response:
    template = service.get_page_template(ctx.session, ctx.actor, ref)
    service.update_page_template(ctx.session, ctx.actor, template, data)
    return no_content()


@router.delete("/pageTemplate/{ref}", status_code=204)
def delete_page_template(ref: str, ctx: Ctx = Depends(context)) -> Response:
    template = service.get_page_template(ctx.session, ctx.actor, ref)
    service.delete_page_template(ctx.session, ctx.actor, template)
    return no_content()
