"""The one rendering of cases (OutputCase, spec §5.4), shares (OutputShare) and custom events.

Lists render in batch: custom fields and each requested extraData are one query for the
whole page, never one per case. Every value derives from stored data (no "now"), so the
create response, GET and query results of a case are equal.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, distinct, func, select
from sqlalchemy.orm import Session

from propolis import access
from propolis.alerts.models import Alert
from propolis.attachments.models import Attachment
from propolis.cases.models import (
    Case,
    CaseLink,
    CustomEvent,
    ExternalLink,
    Share,
    SharedTask,
    StatusValue,
)
from propolis.core.db import now_ms
from propolis.core.events import AuditEvent
from propolis.core.render import labels, meta, put
from propolis.core.security import Actor
from propolis.fields.metrics import metrics_for
from propolis.fields.service import values_for
from propolis.observables.models import Observable
from propolis.orgs.models import Organisation
from propolis.procedures.models import Procedure
from propolis.tasks.models import Task
from propolis.users.models import Profile


def render_cases(
    session: Session, actor: Actor, cases: list[Case], extra: list[str] | None = None
) -> list[dict[str, Any]]:
    if not cases:
        return []
    ids = [c.id for c in cases]
    custom = _custom_fields(session, ids)
    metrics = metrics_for(session, "case", ids)
    extras = _extra_data(session, actor, cases, extra or [])
    return [_render(c, custom.get(c.id, []), metrics[c.id], extras.get(c.id, {})) for c in cases]


def render_case(session: Session, actor: Actor, case: Case) -> dict[str, Any]:
    return render_cases(session, actor, [case])[0]


def _custom_fields(session: Session, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    return values_for(session, "case", ids)


def _render(
    case: Case, custom_fields: list[dict[str, Any]], metrics: dict[str, Any], extra: dict[str, Any]
) -> dict:
    out = meta(case, "Case")
    out.update(number=case.number, title=case.title, description=case.description)
    labels(out, case.severity, None, None)
    out["startDate"] = case.start_date
    put(out, "endDate", case.end_date)
    out["tags"] = list(case.tags or [])
    out["flag"] = bool(case.flag)
    labels(out, None, case.tlp, case.pap)
    out.update(status=case.status, stage=case.stage)
    put(out, "summary", case.summary)
    put(out, "impactStatus", case.impact_status)
    put(out, "assignee", case.assignee)
    out["access"] = render_access(case)
    out["customFields"] = custom_fields
    out["metrics"] = metrics  # TheHive 4's case metrics (TheHive 5 has none)
    out["extraData"] = extra
    out["newDate"] = case.new_date
    put(out, "inProgressDate", case.in_progress_date)
    put(out, "closedDate", case.closed_date)
    put(out, "alertDate", case.alert_date)
    put(out, "alertNewDate", case.alert_new_date)
    put(out, "alertInProgressDate", case.alert_in_progress_date)
    put(out, "alertImportedDate", case.alert_imported_date)
    out.update(time_metrics(case))
    return out


def render_access(case: Case) -> dict[str, Any]:
    access: dict[str, Any] = {"_kind": case.access_kind}
    if case.access_kind in ("UserAccessKind", "ExternalAccessKind"):
        access["users"] = list(case.access_users or [])
    return access


def time_metrics(case: Case) -> dict[str, int]:
    """TheHive 5's durations (ms), from the stored dates only."""
    out: dict[str, int] = {}
    if case.alert_date is not None and case.alert_new_date is not None:
        out["timeToDetect"] = case.alert_new_date - case.alert_date
    else:
        out["timeToDetect"] = max(0, case.new_date - case.start_date)
    if case.alert_new_date is not None:
        if case.alert_in_progress_date is not None:
            out["timeToTriage"] = case.alert_in_progress_date - case.alert_new_date
        if case.alert_imported_date is not None:
            out["timeToQualify"] = case.alert_imported_date - case.alert_new_date
    if case.alert_in_progress_date is not None and case.alert_date is not None:
        out["timeToAcknowledge"] = case.alert_in_progress_date - case.alert_date
    if case.closed_date is not None:
        start = case.alert_in_progress_date or case.new_date
        out["timeToResolve"] = out["handlingDuration"] = max(0, case.closed_date - start)
    return out


# --------------------------------------------------------------------------- extraData

ExtraFn = Callable[[Session, Actor, list[Case]], dict[int, Any]]


def _extra_data(
    session: Session, actor: Actor, cases: list[Case], names: list[str]
) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {c.id: {} for c in cases}
    for name in dict.fromkeys(names):  # keep order, drop duplicates
        compute = EXTRA_DATA.get(name)
        if compute is None:
            continue  # unknown names are ignored (spec §3.7)
        values = compute(session, actor, cases)
        for case in cases:
            out[case.id][name] = values.get(case.id)
    return out


def _links(session: Session, actor: Actor, cases: list[Case]) -> dict[int, Any]:
    ids = [c.id for c in cases]
    out: dict[int, dict[str, list]] = {i: {"caseLinks": [], "externalLinks": []} for i in ids}
    rows = session.execute(
        select(CaseLink.case_id, CaseLink.type, Case.id, Case.number, Case.title)
        .join(Case, Case.id == CaseLink.linked_case_id)
        .where(CaseLink.case_id.in_(ids), access.case_visible(actor, Case.id))
        .order_by(CaseLink.id)
    )
    for case_id, link_type, other_id, number, title in rows:
        out[case_id]["caseLinks"].append(
            {"caseId": f"~{other_id}", "type": link_type, "number": number, "title": title}
        )
    urls = session.execute(
        select(ExternalLink.case_id, ExternalLink.url, ExternalLink.type)
        .where(ExternalLink.case_id.in_(ids))
        .order_by(ExternalLink.id)
    )
    for case_id, url, link_type in urls:
        out[case_id]["externalLinks"].append({"url": url, "type": link_type})
    return out


def _observable_stats(session: Session, actor: Actor, cases: list[Case]) -> dict[int, Any]:
    counts = _count_by_case(
        session,
        select(Observable.case_id, func.count())
        .where(
            Observable.case_id.in_([c.id for c in cases]),
            access.visible_observable_filter(actor),
        )
        .group_by(Observable.case_id),
    )
    return {c.id: {"total": counts.get(c.id, 0)} for c in cases}


def _task_stats(session: Session, actor: Actor, cases: list[Case]) -> dict[int, Any]:
    out: dict[int, dict[str, int]] = {c.id: {"total": 0} for c in cases}
    rows = session.execute(
        select(Task.case_id, Task.status, func.count())
        .where(Task.case_id.in_([c.id for c in cases]), access.visible_task_filter(actor))
        .group_by(Task.case_id, Task.status)
    )
    for case_id, status, count in rows:
        out[case_id][status] = count
        out[case_id]["total"] += count
    return out


def _case_alerts(actor: Actor, cases: list[Case]) -> list[ColumnElement[bool]]:
    """The caller's alerts linked to these cases, found through the case index. The
    organisation is compared as ``org_id + 0`` so that SQLite cannot pick an organisation
    index instead: its statistics count every alert without a case under one case_id
    value (NULL), which makes the case index look no better, and scanning the
    organisation's 100k alerts costs hundreds of milliseconds on every case page."""
    return [Alert.case_id.in_([c.id for c in cases]), (Alert.org_id + 0) == actor.org_id]


def _alerts(session: Session, actor: Actor, cases: list[Case]) -> dict[int, Any]:
    out: dict[int, list] = defaultdict(list)
    rows = session.execute(
        select(Alert.case_id, Alert.type, Alert.source)
        .where(*_case_alerts(actor, cases))
        .distinct()
        .order_by(Alert.case_id, Alert.type, Alert.source)
    )
    for case_id, alert_type, source in rows:
        out[case_id].append({"type": alert_type, "source": source})
    return {c.id: out.get(c.id, []) for c in cases}


def _alert_count(session: Session, actor: Actor, cases: list[Case]) -> dict[int, Any]:
    counts = _count_by_case(
        session,
        select(Alert.case_id, func.count())
        .where(*_case_alerts(actor, cases))
        .group_by(Alert.case_id),
    )
    return {c.id: counts.get(c.id, 0) for c in cases}


def _is_owner(session: Session, actor: Actor, cases: list[Case]) -> dict[int, Any]:
    return {c.id: c.org_id == actor.org_id for c in cases}


def _share_count(session: Session, actor: Actor, cases: list[Case]) -> dict[int, Any]:
    counts = _count_by_case(
        session,
        select(Share.case_id, func.count())
        .where(Share.case_id.in_([c.id for c in cases]), Share.owner.is_(False))
        .group_by(Share.case_id),
    )
    return {c.id: counts.get(c.id, 0) for c in cases}


def _permissions(session: Session, actor: Actor, cases: list[Case]) -> dict[int, Any]:
    rows = session.execute(
        select(Share.case_id, Profile.permissions)
        .join(Profile, Profile.id == Share.profile_id)
        .where(Share.case_id.in_([c.id for c in cases]), Share.org_id == actor.org_id)
    )
    granted = {case_id: set(perms or []) for case_id, perms in rows}
    return {c.id: sorted(actor.permissions & granted.get(c.id, set())) for c in cases}


def _action_required(session: Session, actor: Actor, cases: list[Case]) -> dict[int, Any]:
    rows = session.scalars(
        select(distinct(Task.case_id))
        .join(SharedTask, SharedTask.task_id == Task.id)
        .join(Share, Share.id == SharedTask.share_id)
        .where(
            Task.case_id.in_([c.id for c in cases]),
            Share.org_id == actor.org_id,
            SharedTask.action_required.is_(True),
        )
    )
    flagged = set(rows)
    return {c.id: c.id in flagged for c in cases}


def _procedure_count(session: Session, actor: Actor, cases: list[Case]) -> dict[int, Any]:
    counts = _count_by_case(
        session,
        select(Procedure.case_id, func.count())
        .where(Procedure.case_id.in_([c.id for c in cases]))
        .group_by(Procedure.case_id),
    )
    return {c.id: counts.get(c.id, 0) for c in cases}


def _attachment_count(session: Session, actor: Actor, cases: list[Case]) -> dict[int, Any]:
    counts = _count_by_case(
        session,
        select(Attachment.case_id, func.count())
        .where(Attachment.case_id.in_([c.id for c in cases]))
        .group_by(Attachment.case_id),
    )
    return {c.id: counts.get(c.id, 0) for c in cases}


def _contributors(session: Session, actor: Actor, cases: list[Case]) -> dict[int, Any]:
    """Users who changed the case or anything in it (from the audit trail)."""
    out: dict[int, list[str]] = defaultdict(list)
    rows = session.execute(
        select(AuditEvent.root_id, AuditEvent.actor)
        .where(AuditEvent.root_id.in_([c.id for c in cases]))
        .distinct()
        .order_by(AuditEvent.root_id, AuditEvent.actor)
    )
    for case_id, login in rows:
        out[case_id].append(login)
    return {c.id: out.get(c.id, []) for c in cases}


def _status(session: Session, actor: Actor, cases: list[Case]) -> dict[int, Any]:
    rows = session.execute(
        select(StatusValue.value, StatusValue.stage, StatusValue.color).where(
            StatusValue.kind == "case"
        )
    )
    colors = {value: (stage, color) for value, stage, color in rows}
    out = {}
    for case in cases:
        stage, color = colors.get(case.status, (case.stage, None))
        item = {"value": case.status, "stage": stage}
        put(item, "color", color)
        out[case.id] = item
    return out


def _handling_duration(unit_ms: int | None) -> ExtraFn:
    """How long the case has been handled: start to close (or to now while open)."""

    def compute(session: Session, actor: Actor, cases: list[Case]) -> dict[int, Any]:
        now = now_ms()
        out = {}
        for case in cases:
            duration = max(0, (case.closed_date or now) - case.start_date)
            out[case.id] = duration if unit_ms is None else duration // unit_ms
        return out

    return compute


def _count_by_case(session: Session, stmt: Any) -> dict[int, int]:
    return {case_id: int(count) for case_id, count in session.execute(stmt)}


EXTRA_DATA: dict[str, ExtraFn] = {
    "links": _links,
    "observableStats": _observable_stats,
    "taskStats": _task_stats,
    "alerts": _alerts,
    "alertCount": _alert_count,
    "isOwner": _is_owner,
    "shareCount": _share_count,
    "permissions": _permissions,
    "actionRequired": _action_required,
    "procedureCount": _procedure_count,
    "attachmentCount": _attachment_count,
    "contributors": _contributors,
    "status": _status,
    "computed.handlingDuration": _handling_duration(None),
    "computed.handlingDurationInSeconds": _handling_duration(1000),
    "computed.handlingDurationInMinutes": _handling_duration(60_000),
    "computed.handlingDurationInHours": _handling_duration(3_600_000),
    "computed.handlingDurationInDays": _handling_duration(86_400_000),
}


# --------------------------------------------------------------------------- shares, events


def render_shares(session: Session, shares: list[Share]) -> list[dict[str, Any]]:
    if not shares:
        return []
    orgs = dict(
        session.execute(
            select(Organisation.id, Organisation.name).where(
                Organisation.id.in_({s.org_id for s in shares})
            )
        ).all()
    )
    profiles = dict(
        session.execute(
            select(Profile.id, Profile.name).where(Profile.id.in_({s.profile_id for s in shares}))
        ).all()
    )
    return [
        _render_share(s, orgs.get(s.org_id, ""), profiles.get(s.profile_id, "")) for s in shares
    ]


def _render_share(share: Share, org_name: str, profile_name: str) -> dict[str, Any]:
    out = meta(share, "Share")
    out.update(
        caseId=f"~{share.case_id}",
        profileName=profile_name,
        organisationName=org_name,
        owner=bool(share.owner),
        taskRule=share.task_rule,
        observableRule=share.observable_rule,
    )
    return out


def render_custom_event(event: CustomEvent) -> dict[str, Any]:
    out = meta(event, "CustomEvent")
    out["date"] = event.date
    put(out, "endDate", event.end_date)
    out["title"] = event.title
    put(out, "description", event.description)
    return out
