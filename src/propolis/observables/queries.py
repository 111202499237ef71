"""Query-language registration for observables and observable types (spec §3):
``listObservable``/``getObservable``, ``listObservableType``/``getObservableType``, the
``observables`` traversal from cases and alerts, and ``similar``/``case``/``alert`` from
observables."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, false, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import JSON

from propolis import access
from propolis.alerts.models import Alert
from propolis.attachments.models import Attachment
from propolis.cases.models import Case
from propolis.core.db import parse_id
from propolis.core.errors import BadRequest
from propolis.core.query import (
    BOOL,
    ENTITIES,
    ID,
    INT,
    LIST,
    STR,
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
from propolis.core.render import PAP_LABELS, TLP_LABELS
from propolis.observables import service
from propolis.observables.models import Observable, ObservableType
from propolis.observables.render import render_observable_type, render_observables


class hash_array(FunctionElement):  # noqa: N801 (SQL function style)
    """The JSON array of an attachment's digests, so ``attachment.hashes`` filters like any
    multi-valued field (``json_array`` on SQLite, ``jsonb_build_array`` on PostgreSQL)."""

    type = JSON()
    inherit_cache = True


@compiles(hash_array)
def _hash_array_sqlite(element: hash_array, compiler: Any, **kw: Any) -> str:
    return f"json_array({compiler.process(element.clauses, **kw)})"


@compiles(hash_array, "postgresql")
def _hash_array_pg(element: hash_array, compiler: Any, **kw: Any) -> str:
    return f"jsonb_build_array({compiler.process(element.clauses, **kw)})"


def attachment_fields(owner_attachment_id: Any) -> dict[str, Field]:
    """``attachment.*`` fields of an entity pointing to one attachment (correlated lookups)."""

    def of(column: Any) -> Any:
        return select(column).where(Attachment.id == owner_attachment_id).scalar_subquery()

    return {
        "attachment._id": Field(owner_attachment_id, ID),
        "attachment.name": Field(of(Attachment.name)),
        "attachment.size": Field(of(Attachment.size), INT),
        "attachment.contentType": Field(of(Attachment.content_type)),
        "attachment.id": Field(of(Attachment.sha256)),
        "attachment.hashes": Field(
            of(hash_array(Attachment.sha256, Attachment.sha1, Attachment.md5)), LIST
        ),
    }


def _label(column: Any, names: dict[int, str]) -> Any:
    return case(*((column == value, label) for value, label in names.items()), else_=None)


def _render_observables(
    ctx: QueryContext, rows: list[Observable], extra: list[str]
) -> list[dict[str, Any]]:
    return render_observables(ctx.session, ctx.actor, rows, extra)


OBSERVABLE = register_entity(
    EntitySpec(
        name="Observable",
        model=Observable,
        fields={
            **meta_fields(Observable),
            "dataType": Field(Observable.data_type),
            "data": Field(Observable.data),
            "startDate": Field(Observable.start_date, INT),
            "tlp": Field(Observable.tlp, INT),
            "tlpLabel": Field(_label(Observable.tlp, TLP_LABELS), STR),
            "pap": Field(Observable.pap, INT),
            "papLabel": Field(_label(Observable.pap, PAP_LABELS), STR),
            "tags": Field(Observable.tags, LIST),
            "ioc": Field(Observable.ioc, BOOL),
            "sighted": Field(Observable.sighted, BOOL),
            "sightedAt": Field(Observable.sighted_at, INT),
            "message": Field(Observable.message),
            "ignoreSimilarity": Field(Observable.ignore_similarity, BOOL),
            # sha256 of type and value (observables.service.fingerprint_of), indexed: finding
            # a value among many observables is an index lookup, not a scan of ``data``.
            "fingerprint": Field(Observable.fingerprint),
            **attachment_fields(Observable.attachment_id),
        },
        render=_render_observables,
    )
)

OBSERVABLE_TYPE = register_entity(
    EntitySpec(
        name="ObservableType",
        model=ObservableType,
        fields={
            **meta_fields(ObservableType),
            "name": Field(ObservableType.name),
            "isAttachment": Field(ObservableType.is_attachment, BOOL),
        },
        render=lambda ctx, rows, extra: [render_observable_type(t) for t in rows],
    )
)


# --------------------------------------------------------------------------- initial operations


def visible(ctx: QueryContext) -> ResultSet:
    stmt = select(Observable).where(service.visible_observable_condition(ctx.actor))
    return ResultSet(OBSERVABLE, stmt)


@initial("listObservable")
def list_observable(ctx: QueryContext, op: dict[str, Any]) -> ResultSet:
    return visible(ctx)


@initial("getObservable")
def get_observable(ctx: QueryContext, op: dict[str, Any]) -> ResultSet:
    observable_id = parse_id(op.get("idOrName"))
    return ResultSet(OBSERVABLE, visible(ctx).stmt.where(Observable.id == (observable_id or -1)))


@initial("listObservableType")
def list_observable_type(ctx: QueryContext, op: dict[str, Any]) -> ResultSet:
    return ResultSet(OBSERVABLE_TYPE, select(ObservableType))


@initial("getObservableType")
def get_observable_type(ctx: QueryContext, op: dict[str, Any]) -> ResultSet:
    found = service.find_type(ctx.session, str(op.get("idOrName", "")))
    stmt = select(ObservableType).where(ObservableType.id == (found.id if found else -1))
    return ResultSet(OBSERVABLE_TYPE, stmt)


# --------------------------------------------------------------------------- traversals


@traversal("Case", "observables")
def case_observables(ctx: QueryContext, result: ResultSet, op: dict[str, Any]) -> ResultSet:
    stmt = visible(ctx).stmt.where(Observable.case_id.in_(ids_of(result)))
    return ResultSet(OBSERVABLE, stmt)


@traversal("Alert", "observables")
def alert_observables(ctx: QueryContext, result: ResultSet, op: dict[str, Any]) -> ResultSet:
    stmt = visible(ctx).stmt.where(Observable.alert_id.in_(ids_of(result)))
    return ResultSet(OBSERVABLE, stmt)


@traversal("Observable", "similar")
def similar_observables(ctx: QueryContext, result: ResultSet, op: dict[str, Any]) -> ResultSet:
    """Other visible observables with the same fingerprint (ignoreSimilarity excluded)."""
    source_ids = ids_of(result)
    fingerprints = select(Observable.fingerprint).where(
        Observable.id.in_(source_ids), Observable.ignore_similarity == false()
    )
    stmt = visible(ctx).stmt.where(
        Observable.fingerprint.in_(fingerprints),
        Observable.ignore_similarity == false(),
        Observable.id.not_in(source_ids),
    )
    return ResultSet(OBSERVABLE, stmt)


@traversal("Observable", "case")
def observable_case(ctx: QueryContext, result: ResultSet, op: dict[str, Any]) -> ResultSet:
    parents = select(Observable.case_id).where(Observable.id.in_(ids_of(result)))
    stmt = select(Case).where(Case.id.in_(parents), access.case_visible(ctx.actor, Case.id))
    return ResultSet(_spec("Case"), stmt)


@traversal("Observable", "alert")
def observable_alert(ctx: QueryContext, result: ResultSet, op: dict[str, Any]) -> ResultSet:
    parents = select(Observable.alert_id).where(Observable.id.in_(ids_of(result)))
    stmt = select(Alert).where(Alert.id.in_(parents), Alert.org_id == ctx.actor.org_id)
    return ResultSet(_spec("Alert"), stmt)


def _spec(name: str) -> EntitySpec:
    spec = ENTITIES.get(name)
    if spec is None:
        raise BadRequest(f"Operation not available: {name} is not queryable")
    return spec
