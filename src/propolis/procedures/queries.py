"""Query-language registration for procedures and patterns: ``listProcedure``,
``getProcedure``, ``listPattern``, ``getPattern`` and the ``procedures`` traversals from cases
and alerts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, select

from propolis.core.db import parse_id
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
from propolis.procedures.models import Pattern, Procedure
from propolis.procedures.patterns import find_pattern
from propolis.procedures.render import render_patterns, render_procedures
from propolis.procedures.service import TACTIC_LABELS, visible_procedures


def _render_procedures(ctx: QueryContext, rows: list[Procedure], extra: list[str]) -> list[dict]:
    return render_procedures(ctx.session, ctx.actor, rows, extra)


PROCEDURE = register_entity(
    EntitySpec(
        name="Procedure",
        model=Procedure,
        fields={
            **meta_fields(Procedure),
            "patternId": Field(Procedure.pattern_id),
            "occurDate": Field(Procedure.occur_date, INT),
            "tactic": Field(Procedure.tactic),
            "description": Field(Procedure.description),
            "patternName": Field(
                select(Pattern.name)
                .where(Pattern.pattern_id == Procedure.pattern_id)
                .correlate(Procedure)
                .scalar_subquery()
            ),
            "tacticLabel": Field(case(TACTIC_LABELS, value=Procedure.tactic)),
        },
        render=_render_procedures,
    )
)

PATTERN = register_entity(
    EntitySpec(
        name="Pattern",
        model=Pattern,
        fields={
            **meta_fields(Pattern),
            "patternId": Field(Pattern.pattern_id),
            "name": Field(Pattern.name),
            "description": Field(Pattern.description),
            "tactics": Field(Pattern.tactics, LIST),
            "url": Field(Pattern.url),
            "patternType": Field(Pattern.pattern_type),
            "revoked": Field(Pattern.revoked, BOOL),
            "platforms": Field(Pattern.platforms, LIST),
            "dataSources": Field(Pattern.data_sources, LIST),
            "version": Field(Pattern.version),
            "capecId": Field(Pattern.capec_id),
        },
        render=lambda ctx, rows, extra: render_patterns(rows),
        default_sort=[Pattern.pattern_id.asc()],
    )
)


@initial("listProcedure")
def list_procedure(ctx: QueryContext, op: dict[str, Any]) -> ResultSet:
    return ResultSet(PROCEDURE, visible_procedures(ctx.actor))


@initial("getProcedure")
def get_procedure(ctx: QueryContext, op: dict[str, Any]) -> ResultSet:
    procedure_id = parse_id(op.get("idOrName"))
    stmt = visible_procedures(ctx.actor).where(Procedure.id == (procedure_id or -1))
    return ResultSet(PROCEDURE, stmt)


@traversal("Case", "procedures")
def case_procedures(ctx: QueryContext, result: ResultSet, op: dict[str, Any]) -> ResultSet:
    return ResultSet(PROCEDURE, select(Procedure).where(Procedure.case_id.in_(ids_of(result))))


@traversal("Alert", "procedures")
def alert_procedures(ctx: QueryContext, result: ResultSet, op: dict[str, Any]) -> ResultSet:
    return ResultSet(PROCEDURE, select(Procedure).where(Procedure.alert_id.in_(ids_of(result))))


@traversal("Procedure", "pattern")
def procedure_pattern(ctx: QueryContext, result: ResultSet, op: dict[str, Any]) -> ResultSet:
    used = select(Procedure.pattern_id).where(Procedure.id.in_(ids_of(result)))
    return ResultSet(PATTERN, select(Pattern).where(Pattern.pattern_id.in_(used)))


@initial("listPattern")
def list_pattern(ctx: QueryContext, op: dict[str, Any]) -> ResultSet:
    return ResultSet(PATTERN, select(Pattern))


@initial("getPattern")
def get_pattern(ctx: QueryContext, op: dict[str, Any]) -> ResultSet:
    pattern = find_pattern(ctx.session, str(op.get("idOrName", "")))
    return ResultSet(PATTERN, select(Pattern).where(Pattern.id == (pattern.id if pattern else -1)))
