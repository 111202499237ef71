"""Query-language registration for case pages and page templates: ``listPageTemplate``,
``getPageTemplate``, ``getPage``, and the traversals ``pages`` (case -> its pages) and
``caseTemplates`` (page template -> the case templates linking it)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from propolis.access import case_visible
from propolis.casetemplates.models import CaseTemplate
from propolis.casetemplates.models import CaseTemplatePageTemplate as Link
from propolis.core.db import parse_id
from propolis.core.query import (
    ENTITIES,
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
from propolis.pages.models import Page, PageTemplate
from propolis.pages.render import render_page_templates, render_pages


def _document_fields(model: Any) -> dict[str, Field]:
    return {
        **meta_fields(model),
        "title": Field(model.title),
        "content": Field(model.content),
        "category": Field(model.category),
        "order": Field(model.order, INT),
    }


PAGE = register_entity(
    EntitySpec(
        name="Page",
        model=Page,
        fields=_document_fields(Page),
        render=lambda ctx, rows, extra: render_pages(rows),
        default_sort=[Page.order.asc(), Page.created_at.asc(), Page.id.asc()],
    )
)

PAGE_TEMPLATE = register_entity(
    EntitySpec(
        name="PageTemplate",
        model=PageTemplate,
        fields=_document_fields(PageTemplate),
        render=lambda ctx, rows, extra: render_page_templates(ctx.session, rows, extra),
    )
)


def _by_id(op: dict[str, Any]) -> int:
    found = parse_id(str(op.get("idOrName", "")))
    return found if found is not None else -1


@initial("listPageTemplate")
def list_page_template(ctx: QueryContext, op: dict[str, Any]) -> ResultSet:
    return ResultSet(
        PAGE_TEMPLATE, select(PageTemplate).where(PageTemplate.org_id == ctx.actor.org_id)
    )


@initial("getPageTemplate")
def get_page_template(ctx: QueryContext, op: dict[str, Any]) -> ResultSet:
    result = list_page_template(ctx, op)
    return ResultSet(PAGE_TEMPLATE, result.stmt.where(PageTemplate.id == _by_id(op)))


@initial("getPage")
def get_page(ctx: QueryContext, op: dict[str, Any]) -> ResultSet:
    stmt = select(Page).where(Page.id == _by_id(op), case_visible(ctx.actor, Page.case_id))
    return ResultSet(PAGE, stmt)


@traversal("Case", "pages")
def case_pages(ctx: QueryContext, result: ResultSet, op: dict[str, Any]) -> ResultSet:
    return ResultSet(PAGE, select(Page).where(Page.case_id.in_(ids_of(result))))


@traversal("PageTemplate", "caseTemplates")
def page_template_case_templates(
    ctx: QueryContext, result: ResultSet, op: dict[str, Any]
) -> ResultSet:
    linked = select(Link.case_template_id).where(Link.page_template_id.in_(ids_of(result)))
    stmt = select(CaseTemplate).where(
        CaseTemplate.id.in_(linked), CaseTemplate.org_id == ctx.actor.org_id
    )
    # By name: the case templates' queries module registers it and imports this one.
    return ResultSet(ENTITIES["CaseTemplate"], stmt)
