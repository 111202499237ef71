"""The one rendering of alerts (``OutputAlert``, spec §4.4).

Every value is a function of stored data (no "now"), so the create response, ``GET`` and
every query render an alert identically. A list costs a fixed number of queries: one for the
custom field values of all the alerts, plus one per requested extraData name.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from propolis.access import case_visible
from propolis.alerts.models import Alert
from propolis.cases.models import Case, StatusValue
from propolis.core.render import eid, labels, meta, put
from propolis.core.security import Actor
from propolis.fields.service import values_for
from propolis.observables.models import Observable
from propolis.procedures.models import Procedure


def render_alerts(
    session: Session, actor: Actor, alerts: list[Alert], extra: list[str] | None = None
) -> list[dict[str, Any]]:
    if not alerts:
        return []
    custom = values_for(session, "alert", [a.id for a in alerts])
    extras = _extra_data(session, actor, alerts, extra or [])
    return [_render(a, custom.get(a.id, []), extras.get(a.id, {})) for a in alerts]


def render_alert(session: Session, actor: Actor, alert: Alert) -> dict[str, Any]:
    return render_alerts(session, actor, [alert])[0]


def render_created_alert(alert: Alert, custom: list[dict[str, Any]]) -> dict[str, Any]:
    """The create response, rendered from what was written (``alerts.service.create_alert``
    returns the row and its rendered custom fields): a new alert has no extraData. TheHive
    answers before attaching the observables, so an alert created with observables shows
    ``_updatedAt``/``_updatedBy`` on later reads only (§4.3)."""
    out = _render(alert, custom, {})
    if alert.observable_count:
        out.pop("_updatedAt", None)
        out.pop("_updatedBy", None)
    return out


def _render(alert: Alert, custom: list[dict], extra: dict[str, Any]) -> dict[str, Any]:
    out = meta(alert, "Alert")
    out.update(
        type=alert.type,
        source=alert.source,
        sourceRef=alert.source_ref,
        title=alert.title,
        description=alert.description,
    )
    put(out, "externalLink", alert.external_link)
    labels(out, alert.severity, alert.tlp, alert.pap)
    out["date"] = alert.date
    out["tags"] = list(alert.tags or [])
    out["follow"] = alert.follow
    out["customFields"] = custom
    put(out, "caseTemplate", alert.case_template)
    out["observableCount"] = alert.observable_count
    put(out, "caseId", eid(alert.case_id))
    out["status"] = alert.status
    out["stage"] = alert.stage
    put(out, "assignee", alert.assignee)
    put(out, "summary", alert.summary)
    out["extraData"] = extra
    out["newDate"] = alert.new_date
    put(out, "inProgressDate", alert.in_progress_date)
    put(out, "closedDate", alert.closed_date)
    put(out, "importedDate", alert.imported_date)
    out.update(_time_metrics(alert))
    return out


def _time_metrics(alert: Alert) -> dict[str, int]:
    """Durations in ms, as observed in TheHive 5 data (§4.4)."""
    out = {"timeToDetect": alert.new_date - alert.date}
    if alert.in_progress_date is not None:
        out["timeToTriage"] = alert.in_progress_date - alert.new_date
        out["timeToAcknowledge"] = alert.in_progress_date - alert.date
    qualified = alert.imported_date if alert.imported_date is not None else alert.closed_date
    if qualified is not None:
        out["timeToQualify"] = qualified - alert.new_date
    return out


# --------------------------------------------------------------------------- extraData


def _extra_data(
    session: Session, actor: Actor, alerts: list[Alert], names: list[str]
) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {a.id: {} for a in alerts}
    if not names:
        return out
    if "importDate" in names:
        for alert in alerts:
            put(out[alert.id], "importDate", alert.imported_date)
    if "caseNumber" in names or "relatedCase" in names:
        _related_cases(session, actor, alerts, names, out)
    if "procedureCount" in names:
        counts = _procedure_counts(session, [a.id for a in alerts])
        for alert in alerts:
            out[alert.id]["procedureCount"] = counts.get(alert.id, 0)
    if "status" in names:
        _status_details(session, alerts, out)
    # Propolis additions for the alert list (TheHive clients ignore names they did not ask
    # for): the read flag v1 does not render, and how many visible cases share observables.
    if "read" in names:
        for alert in alerts:
            out[alert.id]["read"] = bool(alert.read)
    if "similarCaseCount" in names:
        counts = _similar_case_counts(session, actor, [a.id for a in alerts])
        for alert in alerts:
            out[alert.id]["similarCaseCount"] = counts.get(alert.id, 0)
    return out


def _similar_case_counts(session: Session, actor: Actor, alert_ids: list[int]) -> dict[int, int]:
    """Per alert, the visible cases holding an observable similar to one of the alert's
    (same rule as the ``similarCasesLight`` traversal): one grouped query for the page,
    probing the fingerprint index from the alerts' own observables only."""
    mine, theirs = aliased(Observable), aliased(Observable)
    rows = session.execute(
        select(mine.alert_id, func.count(theirs.case_id.distinct()))
        .join(theirs, theirs.fingerprint == mine.fingerprint)
        .where(
            mine.alert_id.in_(alert_ids),
            mine.ignore_similarity.is_(False),
            theirs.case_id.isnot(None),
            theirs.ignore_similarity.is_(False),
            case_visible(actor, theirs.case_id),
        )
        .group_by(mine.alert_id)
    )
    return {alert_id: count for alert_id, count in rows}


def _related_cases(
    session: Session,
    actor: Actor,
    alerts: list[Alert],
    names: list[str],
    out: dict[int, dict[str, Any]],
) -> None:
    case_ids = {a.case_id for a in alerts if a.case_id is not None}
    if not case_ids:
        return
    cases = {
        row.id: row
        for row in session.execute(
            select(Case.id, Case.number, Case.access_kind).where(Case.id.in_(case_ids))
        )
    }
    visible = set(
        session.scalars(select(Case.id).where(Case.id.in_(case_ids), case_visible(actor, Case.id)))
    )
    for alert in alerts:
        case = cases.get(alert.case_id)
        if case is None:
            continue
        if "caseNumber" in names:
            out[alert.id]["caseNumber"] = case.number
        if "relatedCase" in names:
            out[alert.id]["relatedCase"] = {
                "number": case.number,
                "accessKind": case.access_kind,
                "isVisible": case.id in visible,
            }


def _procedure_counts(session: Session, alert_ids: list[int]) -> dict[int, int]:
    rows = session.execute(
        select(Procedure.alert_id, func.count())
        .where(Procedure.alert_id.in_(alert_ids))
        .group_by(Procedure.alert_id)
    )
    return {alert_id: count for alert_id, count in rows}


def _status_details(session: Session, alerts: list[Alert], out: dict[int, dict[str, Any]]) -> None:
    statuses = {
        row.value: row
        for row in session.execute(
            select(StatusValue.value, StatusValue.stage, StatusValue.color).where(
                StatusValue.kind == "alert"
            )
        )
    }
    for alert in alerts:
        row = statuses.get(alert.status)
        details = {"value": alert.status, "stage": alert.stage}
        put(details, "color", row.color if row else None)
        out[alert.id]["status"] = details
