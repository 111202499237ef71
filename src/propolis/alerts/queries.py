"""Query-language registration for alerts: ``listAlert``, ``getAlert``, and the traversals
from alerts to their case and to similar cases and alerts (``similarCasesLight``,
``similarAlertsLight``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from propolis.access import case_visible
from propolis.alerts import service
from propolis.alerts.models import Alert
from propolis.alerts.render import render_alerts
from propolis.cases.models import Case
from propolis.core.errors import BadRequest
from propolis.core.query import (
    BOOL,
    ENTITIES,
    ID,
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
from propolis.core.render import PAP_LABELS, SEVERITY_LABELS, TLP_LABELS
from propolis.fields.models import CustomFieldValue
from propolis.fields.queries import custom_field_resolver
from propolis.observables.models import Observable


def _render(ctx: QueryContext, rows: list[Alert], extra: list[str]) -> list[dict[str, Any]]:
    return render_alerts(ctx.session, ctx.actor, rows, extra)


def _custom_field(name: str) -> Field | None:
    """``customFields.<name>`` filters and sorts, compiled by the custom fields package."""
    if not name.startswith("customFields."):
        return None
    return custom_field_resolver(CustomFieldValue.alert_id)(name)


ALERT = register_entity(
    EntitySpec(
        name="Alert",
        model=Alert,
        fields={
            **meta_fields(Alert),
            "type": Field(Alert.type),
            "source": Field(Alert.source),
            "sourceRef": Field(Alert.source_ref),
            "title": Field(Alert.title),
            "description": Field(Alert.description),
            "externalLink": Field(Alert.external_link),
            "severity": Field(Alert.severity, INT),
            "severityLabel": Field(case(SEVERITY_LABELS, value=Alert.severity)),
            "date": Field(Alert.date, INT),
            "lastSyncDate": Field(Alert.last_sync_date, INT),
            "tags": Field(Alert.tags, LIST),
            "flag": Field(Alert.flag, BOOL),
            "tlp": Field(Alert.tlp, INT),
            "tlpLabel": Field(case(TLP_LABELS, value=Alert.tlp)),
            "pap": Field(Alert.pap, INT),
            "papLabel": Field(case(PAP_LABELS, value=Alert.pap)),
            "follow": Field(Alert.follow, BOOL),
            "read": Field(Alert.read, BOOL),
            "caseTemplate": Field(Alert.case_template),
            "observableCount": Field(Alert.observable_count, INT),
            "caseId": Field(Alert.case_id, ID),
            "status": Field(Alert.status),
            "stage": Field(Alert.stage),
            "assignee": Field(Alert.assignee),
            "summary": Field(Alert.summary),
            "newDate": Field(Alert.new_date, INT),
            "inProgressDate": Field(Alert.in_progress_date, INT),
            "closedDate": Field(Alert.closed_date, INT),
            "importedDate": Field(Alert.imported_date, INT),
            "timeToDetect": Field(Alert.new_date - Alert.date, INT),
            "timeToTriage": Field(Alert.in_progress_date - Alert.new_date, INT),
            "timeToAcknowledge": Field(Alert.in_progress_date - Alert.date, INT),
            "timeToQualify": Field(
                func.coalesce(Alert.imported_date, Alert.closed_date) - Alert.new_date, INT
            ),
        },
        render=_render,
        dynamic=_custom_field,
    )
)


@initial("listAlert")
def list_alert(ctx: QueryContext, op: dict[str, Any]) -> ResultSet:
    return ResultSet(ALERT, service.visible_alerts(ctx.actor))


@initial("getAlert")
def get_alert(ctx: QueryContext, op: dict[str, Any]) -> ResultSet:
    alert = service.find_alert(ctx.session, ctx.actor, str(op.get("idOrName", "")))
    return ResultSet(ALERT, select(Alert).where(Alert.id == (alert.id if alert else -1)))


def _entity(name: str) -> EntitySpec:
    spec = ENTITIES.get(name)
    if spec is None:
        raise BadRequest(f"{name} queries are not available")
    return spec


@traversal("Alert", "case")
def alert_case(ctx: QueryContext, result: ResultSet, op: dict[str, Any]) -> ResultSet:
    linked = select(Alert.case_id).where(Alert.id.in_(ids_of(result)))
    stmt = select(Case).where(Case.id.in_(linked), case_visible(ctx.actor, Case.id))
    return ResultSet(_entity("Case"), stmt)


# --------------------------------------------------------------------------- similarity


def _source_fingerprints(result: ResultSet):  # noqa: ANN202
    """Fingerprints of the observables of the alerts in ``result`` that take part in
    similarity."""
    return select(Observable.fingerprint).where(
        Observable.alert_id.in_(ids_of(result)), Observable.ignore_similarity.is_(False)
    )


@traversal("Alert", "similarCasesLight")
def similar_cases(ctx: QueryContext, result: ResultSet, op: dict[str, Any]) -> ResultSet:
    """Visible cases sharing at least one observable (by fingerprint) with the alerts."""
    fingerprints = _source_fingerprints(result)
    matching = select(Observable.case_id).where(
        Observable.fingerprint.in_(fingerprints),
        Observable.ignore_similarity.is_(False),
        Observable.case_id.isnot(None),
    )
    stmt = select(Case).where(Case.id.in_(matching), case_visible(ctx.actor, Case.id))
    return ResultSet(_with_similarity(_entity("Case"), Observable.case_id, fingerprints), stmt)


@traversal("Alert", "similarAlertsLight")
def similar_alerts(ctx: QueryContext, result: ResultSet, op: dict[str, Any]) -> ResultSet:
    """Other alerts of the organisation sharing at least one observable with the alerts."""
    fingerprints = _source_fingerprints(result)
    matching = select(Observable.alert_id).where(
        Observable.fingerprint.in_(fingerprints),
        Observable.ignore_similarity.is_(False),
        Observable.org_id == ctx.actor.org_id,
        Observable.alert_id.isnot(None),
    )
    stmt = service.visible_alerts(ctx.actor).where(
        Alert.id.in_(matching), Alert.id.notin_(ids_of(result))
    )
    return ResultSet(_with_similarity(ALERT, Observable.alert_id, fingerprints), stmt)


def _with_similarity(base: EntitySpec, owner_column: Any, fingerprints: Any) -> EntitySpec:
    """``base`` whose rendering adds the similarity statistics of each entity."""

    def render(ctx: QueryContext, rows: list[Any], extra: list[str]) -> list[dict[str, Any]]:
        rendered = base.render(ctx, rows, extra)
        stats = _similarity_stats(ctx.session, owner_column, [r.id for r in rows], fingerprints)
        for item, row in zip(rendered, rows, strict=True):
            item.update(stats.get(row.id) or _empty_stats())
        return rendered

    return EntitySpec(base.name, base.model, base.fields, render, base.dynamic, base.default_sort)


def _empty_stats() -> dict[str, Any]:
    return {
        "similarObservableCount": 0,
        "similarIocCount": 0,
        "observableCount": 0,
        "iocCount": 0,
        "observableTypes": {},
    }


def _similarity_stats(
    session: Session, owner_column: Any, ids: list[int], fingerprints: Any
) -> dict[int, dict[str, Any]]:
    """Per entity: its observable and IOC counts, how many of them are similar to the source's
    and the data types of those (two grouped queries for the whole page)."""
    if not ids:
        return {}
    similar = and_(
        Observable.fingerprint.in_(fingerprints), Observable.ignore_similarity.is_(False)
    )
    ioc = Observable.ioc.is_(True)
    totals = session.execute(
        select(
            owner_column,
            func.count(),
            func.sum(case((ioc, 1), else_=0)),
            func.sum(case((similar, 1), else_=0)),
            func.sum(case((and_(similar, ioc), 1), else_=0)),
        )
        .where(owner_column.in_(ids))
        .group_by(owner_column)
    )
    stats: dict[int, dict[str, Any]] = {}
    for owner, count, iocs, similar_count, similar_iocs in totals:
        stats[owner] = {
            "similarObservableCount": int(similar_count or 0),
            "similarIocCount": int(similar_iocs or 0),
            "observableCount": int(count),
            "iocCount": int(iocs or 0),
            "observableTypes": {},
        }
    types = session.execute(
        select(owner_column, Observable.data_type, func.count())
        .where(owner_column.in_(ids), similar)
        .group_by(owner_column, Observable.data_type)
    )
    for owner, data_type, count in types:
        stats[owner]["observableTypes"][data_type] = count
    return stats
