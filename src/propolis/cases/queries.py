"""Query-language registration for cases and shares: ``listCase``, ``getCase``,
``listShare``, ``getShare`` and the traversals case -> ``alerts`` / ``shares`` and
share -> ``case``. (Case -> tasks, observables... are registered by those domains.)"""

from __future__ import annotations

from typing import Any

from sqlalchemy import case as sql_case
from sqlalchemy import select

from propolis import access
from propolis.alerts.models import Alert
from propolis.cases.models import Case, Share
from propolis.cases.render import render_cases, render_shares
from propolis.core.db import parse_id
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
from propolis.orgs.models import Organisation
from propolis.users.models import Profile


def _render_cases(ctx: QueryContext, rows: list[Case], extra: list[str]) -> list[dict[str, Any]]:
    return render_cases(ctx.session, ctx.actor, rows, extra)


def _custom_field(name: str) -> Field | None:
    """``customFields.<name>`` filters and sorts, compiled by the custom fields package."""
    if not name.startswith("customFields."):
        return None
    return custom_field_resolver(CustomFieldValue.case_id)(name)


# timeToDetect as rendered (see render.time_metrics), so that it can be filtered and sorted.
_TIME_TO_DETECT = sql_case(
    (
        Case.alert_date.isnot(None) & Case.alert_new_date.isnot(None),
        Case.alert_new_date - Case.alert_date,
    ),
    (Case.new_date > Case.start_date, Case.new_date - Case.start_date),
    else_=0,
)

CASE = register_entity(
    EntitySpec(
        name="Case",
        model=Case,
        fields={
            **meta_fields(Case),
            "number": Field(Case.number, INT),
            "title": Field(Case.title),
            "description": Field(Case.description),
            "severity": Field(Case.severity, INT),
            "severityLabel": Field(sql_case(SEVERITY_LABELS, value=Case.severity)),
            "startDate": Field(Case.start_date, INT),
            "endDate": Field(Case.end_date, INT),
            "tags": Field(Case.tags, LIST),
            "flag": Field(Case.flag, BOOL),
            "tlp": Field(Case.tlp, INT),
            "tlpLabel": Field(sql_case(TLP_LABELS, value=Case.tlp)),
            "pap": Field(Case.pap, INT),
            "papLabel": Field(sql_case(PAP_LABELS, value=Case.pap)),
            "status": Field(Case.status),
            "stage": Field(Case.stage),
            "summary": Field(Case.summary),
            "impactStatus": Field(Case.impact_status),
            "assignee": Field(Case.assignee),
            "owner": Field(Case.assignee),  # TheHive 4 name of the assignee
            "caseTemplate": Field(Case.case_template),
            "access._kind": Field(Case.access_kind),
            "access.users": Field(Case.access_users, LIST),
            "newDate": Field(Case.new_date, INT),
            "inProgressDate": Field(Case.in_progress_date, INT),
            "closedDate": Field(Case.closed_date, INT),
            "alertDate": Field(Case.alert_date, INT),
            "alertNewDate": Field(Case.alert_new_date, INT),
            "alertInProgressDate": Field(Case.alert_in_progress_date, INT),
            "alertImportedDate": Field(Case.alert_imported_date, INT),
            "timeToDetect": Field(_TIME_TO_DETECT, INT),
            "timeToTriage": Field(Case.alert_in_progress_date - Case.alert_new_date, INT),
            "timeToQualify": Field(Case.alert_imported_date - Case.alert_new_date, INT),
            "timeToAcknowledge": Field(Case.alert_in_progress_date - Case.alert_date, INT),
            "timeToResolve": Field(
                Case.closed_date
                - sql_case(
                    (Case.alert_in_progress_date.isnot(None), Case.alert_in_progress_date),
                    else_=Case.new_date,
                ),
                INT,
            ),
        },
        render=_render_cases,
        dynamic=_custom_field,
    )
)
CASE.fields["handlingDuration"] = CASE.fields["timeToResolve"]


def visible_cases(ctx: QueryContext) -> ResultSet:
    return ResultSet(CASE, select(Case).where(access.case_visible(ctx.actor, Case.id)))


@initial("listCase")
def list_case(ctx: QueryContext, op: dict[str, Any]) -> ResultSet:
    return visible_cases(ctx)


@initial("getCase")
def get_case(ctx: QueryContext, op: dict[str, Any]) -> ResultSet:
    found = access.find_case(ctx.session, ctx.actor, str(op.get("idOrName", "")))
    return ResultSet(CASE, select(Case).where(Case.id == (found.id if found else -1)))


@traversal("Case", "alerts")
def case_alerts(ctx: QueryContext, result: ResultSet, op: dict[str, Any]) -> ResultSet:
    """Alerts linked to the cases, those of the caller's organisation only."""
    stmt = select(Alert).where(Alert.case_id.in_(ids_of(result)), Alert.org_id == ctx.actor.org_id)
    return ResultSet(ENTITIES["Alert"], stmt)


# --------------------------------------------------------------------------- shares


def _render_shares(ctx: QueryContext, rows: list[Share], extra: list[str]) -> list[dict]:
    return render_shares(ctx.session, rows)


SHARE = register_entity(
    EntitySpec(
        name="Share",
        model=Share,
        fields={
            **meta_fields(Share),
            "caseId": Field(Share.case_id, ID),
            "owner": Field(Share.owner, BOOL),
            "taskRule": Field(Share.task_rule),
            "observableRule": Field(Share.observable_rule),
            "organisationName": Field(
                select(Organisation.name).where(Organisation.id == Share.org_id).scalar_subquery()
            ),
            "profileName": Field(
                select(Profile.name).where(Profile.id == Share.profile_id).scalar_subquery()
            ),
        },
        render=_render_shares,
    )
)


def visible_shares(ctx: QueryContext) -> ResultSet:
    stmt = select(Share).where(access.case_visible(ctx.actor, Share.case_id))
    return ResultSet(SHARE, stmt)


@initial("listShare")
def list_share(ctx: QueryContext, op: dict[str, Any]) -> ResultSet:
    return visible_shares(ctx)


@initial("getShare")
def get_share(ctx: QueryContext, op: dict[str, Any]) -> ResultSet:
    share_id = parse_id(str(op.get("idOrName", "")))
    return ResultSet(SHARE, visible_shares(ctx).stmt.where(Share.id == (share_id or -1)))


@traversal("Case", "shares")
def case_shares(ctx: QueryContext, result: ResultSet, op: dict[str, Any]) -> ResultSet:
    return ResultSet(SHARE, select(Share).where(Share.case_id.in_(ids_of(result))))


@traversal("Share", "case")
def share_case(ctx: QueryContext, result: ResultSet, op: dict[str, Any]) -> ResultSet:
    stmt = select(Case).where(
        Case.id.in_(result.stmt.with_only_columns(Share.case_id).order_by(None)),
        access.case_visible(ctx.actor, Case.id),
    )
    return ResultSet(CASE, stmt)
