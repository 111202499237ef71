"""An alert goes into a case (spec §4.7-§4.9, §5.8): promoted to a new case, merged into an
existing one, or imported into one (observables and procedures only); and unlinked again.
The alert, the case, their observables, procedures and custom fields each change through
their own service."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from propolis import access
from propolis.alerts import service as alerts
from propolis.alerts.models import Alert
from propolis.cases import service as cases
from propolis.cases.models import Case
from propolis.casetemplates import service as casetemplates
from propolis.core import validate
from propolis.core.db import now_ms
from propolis.core.errors import NotFound, invalid, missing
from propolis.core.security import Actor
from propolis.fields import service as fields
from propolis.flows import case_create
from propolis.observables import service as observables
from propolis.procedures import service as procedures

# Fields of InputPromoteAlert that override what the new case takes from the alert (§4.7).
PROMOTE_OVERRIDES = (
    "title",
    "description",
    "severity",
    "startDate",
    "endDate",
    "tags",
    "flag",
    "tlp",
    "pap",
    "status",
    "summary",
    "assignee",
    "customFields",
    "metrics",
    "caseTemplate",
    "tasks",
    "pages",
    "sharingParameters",
    "taskRule",
    "observableRule",
)


def promote_to_case(session: Session, actor: Actor, alert: Alert, data: dict[str, Any]) -> Case:
    """Create a case from the alert (§4.7): its fields (overridable by ``data``), custom
    fields, observables and procedures; the alert is then Imported into it."""
    actor.require(alerts.IMPORT)
    alerts.ensure_not_imported(alert)
    case_data = _case_input(session, actor, alert, data)
    now = now_ms()
    # Set before the case is created: the case copies the alert's dates (alertImportedDate).
    alert.imported_date = now
    case = case_create.create_case(session, actor, case_data, alert=alert)
    _copy_into_case(session, actor, alert, case)
    alerts.link_to_case(session, actor, alert, case, now)
    return case


def merge_into_case(session: Session, actor: Actor, alert: Alert, case: Case) -> Case:
    """Merge the alert into an existing case (§4.8): observables (tags merged into similar
    ones), procedures, custom fields, tags and a description section; the alert is Imported."""
    actor.require(alerts.IMPORT)
    access.require_on_parent(session, actor, "manageCase/update", case=case)
    alerts.ensure_not_imported(alert)
    _copy_into_case(session, actor, alert, case)
    custom = _alert_custom_fields(session, alert)
    if custom:
        # "set or create": the alert's values replace the case's for the same fields.
        fields.set_custom_fields(session, actor, case_id=case.id, value=custom, replace=False)
    cases.merge_alert(session, actor, case, alert)
    alerts.link_to_case(session, actor, alert, case, now_ms())
    return case


def import_into_case(session: Session, actor: Actor, alert: Alert, case: Case) -> Case:
    """Copy the alert's observables and procedures into an existing case, and link them
    (§4.9); the case's description and tags stay as they are."""
    actor.require(alerts.IMPORT)
    access.require_on_parent(session, actor, "manageCase/update", case=case)
    alerts.ensure_not_imported(alert)
    _copy_into_case(session, actor, alert, case)
    cases.touch_case(session, actor, case)
    alerts.link_to_case(session, actor, alert, case, now_ms())
    return case


def bulk_merge(session: Session, actor: Actor, data: dict[str, Any]) -> Case:
    case_ref = validate.required(data, "caseId")
    if not isinstance(case_ref, (str, int)) or isinstance(case_ref, bool):
        raise invalid("caseId", "must be a case id or number", case_ref)
    found = alerts.get_alerts(session, actor, validate.id_list(data, "alertIds"))
    case = access.get_case(session, actor, str(case_ref))
    for alert in found:
        merge_into_case(session, actor, alert, case)
    return case


def unlink_alert(session: Session, actor: Actor, case: Case, alert_ref: str) -> None:
    """The alert is no longer linked to the case and goes back to status New (§5.8)."""
    access.require_case_permission(session, actor, case, "manageCase/update")
    alert = alerts.get_alert(session, actor, alert_ref)
    if alert.case_id != case.id:
        raise missing(f"Alert {alert.eid} in case", case.eid)
    alerts.unlink_from_case(session, actor, alert)
    cases.record_case_update(session, actor, case, {"unlinkAlert": alert.id})


def _case_input(session: Session, actor: Actor, alert: Alert, data: dict[str, Any]) -> dict:
    """The InputCase of a promotion: the alert's values, overridden by the request's."""
    case_data: dict[str, Any] = {
        "title": alert.title,
        "description": alert.description,
        "severity": alert.severity,
        "startDate": alert.date,
        "tags": list(alert.tags),
        "flag": alert.flag,
        "tlp": alert.tlp,
        "pap": alert.pap,
    }
    if alert.summary is not None:
        case_data["summary"] = alert.summary
    custom = _alert_custom_fields(session, alert)
    if custom:
        case_data["customFields"] = custom
    template = _alert_template(session, actor, alert)
    if template is not None:
        case_data["caseTemplate"] = template
    case_data.update({k: data[k] for k in PROMOTE_OVERRIDES if k in data})
    return case_data


def _alert_custom_fields(session: Session, alert: Alert) -> list[dict[str, Any]]:
    values = fields.values_for(session, "alert", [alert.id]).get(alert.id, [])
    return [
        {"name": v["name"], "value": v.get("value"), "order": v.get("order", 0)} for v in values
    ]


def _alert_template(session: Session, actor: Actor, alert: Alert) -> str | None:
    """The alert's case template, if it still exists: it was not checked when the alert came
    in (§4.2), and a feeder's stale template name must not make the promotion fail."""
    if not alert.case_template:
        return None
    try:
        casetemplates.get_template(session, actor, alert.case_template)
    except NotFound:
        return None
    return alert.case_template


def _copy_into_case(session: Session, actor: Actor, alert: Alert, case: Case) -> None:
    for observable in observables.in_containers(session, alert_ids=[alert.id]):
        observables.copy_to_case(session, actor, observable, case)
    procedures.copy_procedures(session, actor, alert, case)
