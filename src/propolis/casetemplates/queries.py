"""Query-language registration for case templates: ``listCaseTemplate``,
``getCaseTemplate`` (id or name) and the ``pageTemplates`` traversal (the ``tasks``
traversal lives with tasks)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from propolis.casetemplates import service
from propolis.casetemplates.models import CaseTemplate, CaseTemplatePageTemplate
from propolis.casetemplates.render import render_templates
from propolis.core.query import (
    BOOL,
    INT,
    LIST,
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
from propolis.fields.models import CustomFieldValue
from propolis.fields.queries import custom_field_resolver
from propolis.pages.models import PageTemplate
from propolis.pages.queries import PAGE_TEMPLATE

CASE_TEMPLATE = register_entity(
    EntitySpec(
        name="CaseTemplate",
        model=CaseTemplate,
        fields={
            **meta_fields(CaseTemplate),
            "name": Field(CaseTemplate.name),
            "displayName": Field(CaseTemplate.display_name),
            "titlePrefix": Field(CaseTemplate.title_prefix),
            "description": Field(CaseTemplate.description),
            "severity": Field(CaseTemplate.severity, INT),
            "tags": Field(CaseTemplate.tags, LIST),
            "flag": Field(CaseTemplate.flag, BOOL),
            "tlp": Field(CaseTemplate.tlp, INT),
            "pap": Field(CaseTemplate.pap, INT),
            "summary": Field(CaseTemplate.summary),
        },
        render=lambda ctx, rows, extra: render_templates(ctx.session, ctx.actor, rows, extra),
        dynamic=custom_field_resolver(CustomFieldValue.case_template_id),
    )
)


def _org_templates(ctx: QueryContext) -> Any:
    return select(CaseTemplate).where(CaseTemplate.org_id == ctx.actor.org_id)


@initial("listCaseTemplate")
def list_case_template(ctx: QueryContext, op: dict[str, Any]) -> ResultSet:
    return ResultSet(CASE_TEMPLATE, _org_templates(ctx))


@initial("getCaseTemplate")
def get_case_template(ctx: QueryContext, op: dict[str, Any]) -> ResultSet:
    template = service.find_template(ctx.session, ctx.actor, str(op.get("idOrName", "")))
    stmt = _org_templates(ctx).where(CaseTemplate.id == (template.id if template else -1))
    return ResultSet(CASE_TEMPLATE, stmt)


@traversal("CaseTemplate", "pageTemplates")
def case_template_page_templates(
    ctx: QueryContext, result: ResultSet, op: dict[str, Any]
) -> ResultSet:
    linked = select(CaseTemplatePageTemplate.page_template_id).where(
        CaseTemplatePageTemplate.case_template_id.in_(ids_of(result))
    )
    return ResultSet(PAGE_TEMPLATE, select(PageTemplate).where(PageTemplate.id.in_(linked)))
