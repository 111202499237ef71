"""Query-language registration for organisations (``listOrganisation``, ``getOrganisation``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from propolis.core.query import (
    BOOL,
    EntitySpec,
    Field,
    QueryContext,
    ResultSet,
    initial,
    meta_fields,
    register_entity,
)
from propolis.orgs import service
from propolis.orgs.models import Organisation
from propolis.orgs.render import render_orgs


def _render(ctx: QueryContext, rows: list[Organisation], extra: list[str]) -> list[dict[str, Any]]:
    return render_orgs(ctx.session, rows)


ORGANISATION = register_entity(
    EntitySpec(
        name="Organisation",
        model=Organisation,
        fields={
            **meta_fields(Organisation),
            "name": Field(Organisation.name),
            "description": Field(Organisation.description),
            "taskRule": Field(Organisation.task_rule),
            "observableRule": Field(Organisation.observable_rule),
            "locked": Field(Organisation.locked, BOOL),
        },
        render=_render,
    )
)


def visible(ctx: QueryContext) -> ResultSet:
    stmt = select(Organisation).where(Organisation.id.in_(service.visible_ids_stmt(ctx.actor)))
    return ResultSet(ORGANISATION, stmt)


@initial("listOrganisation")
def list_organisation(ctx: QueryContext, op: dict[str, Any]) -> ResultSet:
    return visible(ctx)


@initial("getOrganisation")
def get_organisation(ctx: QueryContext, op: dict[str, Any]) -> ResultSet:
    org = service.find(ctx.session, str(op.get("idOrName", "")))
    result = visible(ctx)
    return ResultSet(ORGANISATION, result.stmt.where(Organisation.id == (org.id if org else -1)))
