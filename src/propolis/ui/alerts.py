"""The alert queue (``/alerts``) and an alert's preview (``/alerts/~123``): triage, import
into a new case, merge into an existing one.

Lists come from the query engine (``listAlert`` with the API's filters and extraData); every
write calls the function the matching API route calls (alerts service, ``flows.alert_case``,
``flows.deletion``), so the rules, permissions and audit events are the API's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from starlette.datastructures import QueryParams

from propolis import access
from propolis.alerts import service
from propolis.core.errors import BadRequest
from propolis.flows import alert_case, deletion
from propolis.ui import lists
from propolis.ui.web import Page, UiRoute, page, redirect, render, safe_next

router = APIRouter(route_class=UiRoute)

# The stage filter: what an analyst picks up by default is what waits for someone.
STAGES: dict[str, list[str] | None] = {
    "waiting": ["New", "InProgress"],
    "New": ["New"],
    "InProgress": ["InProgress"],
    "Imported": ["Imported"],
    "Closed": ["Closed"],
    "all": None,
}
STAGE_LABELS = {
    "waiting": "Waiting (New + In progress)",
    "New": "New",
    "InProgress": "In progress",
    "Imported": "Imported",
    "Closed": "Closed",
    "all": "Any stage",
}
DEFAULT_STAGE = "waiting"
# Sortable columns are those an index walks in order inside an organisation (with the
# date, then the id, breaking ties): sorting 100k alerts by title or source means reading
# and sorting all of them (~150 ms on SQLite), so those columns filter instead of sorting.
SORTABLE = {
    "date": "Date",
    "_createdAt": "Created",
    "severity": "Severity",
    "status": "Status",
}
DEFAULT_SORT = "-date"
LIST_EXTRA_DATA = ["status", "relatedCase", "read", "similarCaseCount"]
# Similar cases shown in a preview: the most recent ones, then ordered by what they share.
SIMILAR_CASES_SHOWN = 100
OBSERVABLES_SHOWN = 200
# New alerts are looked for this often (seconds): see _poll_url.
POLL_SECONDS = 5


# --------------------------------------------------------------------------- filters


@dataclass(frozen=True)
class AlertFilters:
    """The list's filters, read from the address bar (so a filtered list is a link)."""

    stage: str = DEFAULT_STAGE
    status: str = ""
    severity: str = ""
    source: str = ""
    tags: str = ""
    assignee: str = ""
    date_from: str = ""
    date_to: str = ""
    q: str = ""

    @classmethod
    def from_params(cls, params: QueryParams) -> AlertFilters:
        stage = params.get("stage", DEFAULT_STAGE)
        return cls(
            stage=stage if stage in STAGES else DEFAULT_STAGE,
            status=params.get("status", "").strip(),
            severity=params.get("severity", "").strip(),
            source=params.get("source", "").strip(),
            tags=params.get("tags", "").strip(),
            assignee=params.get("assignee", "").strip(),
            date_from=params.get("from", "").strip(),
            date_to=params.get("to", "").strip(),
            q=params.get("q", "").strip(),
        )

    @property
    def tag_list(self) -> list[str]:
        return [t.strip() for t in self.tags.split(",") if t.strip()]

    def conditions(self, me: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        stages = STAGES[self.stage]
        if stages is not None:
            found.append({"_in": {"_field": "stage", "_values": stages}})
        if self.status:
            found.append({"_eq": {"_field": "status", "_value": self.status}})
        if self.severity.isdigit():
            found.append({"_eq": {"_field": "severity", "_value": int(self.severity)}})
        if self.source:
            found.append({"_like": {"_field": "source", "_value": self.source}})
        found.extend({"_eq": {"_field": "tags", "_value": tag}} for tag in self.tag_list)
        found.extend(self._assignee(me))
        found.extend(self._dates())
        if self.q:
            found.append({"_like": {"_field": "title", "_value": self.q}})
        return found

    def _assignee(self, me: str) -> list[dict[str, Any]]:
        if self.assignee == "_me":
            return [{"_eq": {"_field": "assignee", "_value": me}}]
        if self.assignee == "_none":
            return [{"_not": {"_has": "assignee"}}]
        if self.assignee:
            return [{"_eq": {"_field": "assignee", "_value": self.assignee}}]
        return []

    def _dates(self) -> list[dict[str, Any]]:
        """The alert's date (when it happened) from the start of ``from`` to the end of
        ``to`` (whole UTC days)."""
        found = []
        start = _day_ms(self.date_from)
        if start is not None:
            found.append({"_gte": {"_field": "date", "_value": start}})
        end = _day_ms(self.date_to, days_after=1)
        if end is not None:
            found.append({"_lt": {"_field": "date", "_value": end}})
        return found

    def operations(self, me: str) -> list[dict[str, Any]]:
        ops: list[dict[str, Any]] = [{"_name": "listAlert"}]
        conditions = self.conditions(me)
        if conditions:
            ops.append({"_name": "filter", "_and": conditions})
        return ops


def _day_ms(text: str, days_after: int = 0) -> int | None:
    """``2026-11-28`` as epoch ms at 00:00 UTC (plus some days); anything else is None (a
    malformed date in a link is ignored rather than an error page)."""
    try:
        day = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        return None
    return int((day + timedelta(days=days_after)).timestamp() * 1000)


def _sort(value: str | None) -> str:
    value = value or DEFAULT_SORT
    return value if value.lstrip("-") in SORTABLE else DEFAULT_SORT


def _sort_fields(sort: str) -> list[dict[str, str]]:
    """The sort, then the alert's date and id in the same direction: equal values list the
    newest first (when descending), paging neither skips nor repeats rows, and the order
    follows the (org, field, date) indexes instead of sorting every matching alert."""
    field = sort.lstrip("-")
    direction = "desc" if sort.startswith("-") else "asc"
    fields = [field] + [f for f in ("date", "_id") if f != field]
    return [{f: direction} for f in fields]


# --------------------------------------------------------------------------- the list


@router.get("/alerts")
def alert_list(p: Page = Depends(page)) -> Response:
    params = p.request.query_params
    filters = AlertFilters.from_params(params)
    ops = filters.operations(p.actor.login)
    sort = _sort(params.get("sort"))
    result = lists.paged(
        p,
        ops,
        _sort_fields(sort),
        lists.int_param(params.get("page"), 1),
        lists.int_param(params.get("size"), lists.PAGE_SIZES[0]),
        LIST_EXTRA_DATA,
    )
    return render(
        p,
        "alerts/list.html",
        alerts=result,
        filters=filters,
        sort=sort,
        stages=STAGE_LABELS,
        statuses=service.alert_statuses(p.session),
        users=_users(p),
        poll_url=_poll_url(params, _newest(p, ops)),
        can_update=p.can(service.UPDATE),
        can_import=p.can(service.IMPORT),
        can_delete=p.can(service.DELETE),
        poll_seconds=POLL_SECONDS,
        request=p.request,
        list_url=_current_url(p),
    )


def _newest(p: Page, ops: list[dict[str, Any]]) -> int:
    """When the newest alert matching the filters was created, as the page was drawn."""
    newest = lists.run(
        p,
        [
            *ops,
            {"_name": "sort", "_fields": [{"_createdAt": "desc"}]},
            {"_name": "page", "from": 0, "to": 1},
        ],
    )
    return int(newest[0]["_createdAt"]) if newest else 0


def _poll_url(params: QueryParams, newest: int) -> str:
    """New alerts: a poll every few seconds of a tiny count (alerts matching the list's
    filters created after the newest one drawn: a range of the (org, created) index),
    answered by a "N new alerts — show" banner. A poll rather than the SSE stream: it needs
    the list's filters (the stream carries audit events of every kind), it costs one
    indexed count, and it works unchanged behind any number of server processes. The rows
    themselves are never replaced by the poll, so nothing moves under the analyst's cursor
    while they select; they click the banner when they are ready."""
    return "/alerts/new?" + urlencode([*_list_params(params), ("after", newest)])


def _list_params(params: QueryParams) -> list[tuple[str, str]]:
    """The list's filters, sort and size: what the poll and its "Show" link keep."""
    return [(k, v) for k, v in params.multi_items() if k not in ("page", "after")]


@router.get("/alerts/new")
def new_alerts(p: Page = Depends(page)) -> Response:
    params = p.request.query_params
    ops = AlertFilters.from_params(params).operations(p.actor.login)
    after = lists.int_param(params.get("after"), 0)
    newer = {"_name": "filter", "_gt": {"_field": "_createdAt", "_value": after}}
    count = lists.count(p, [*ops, newer])
    kept = _list_params(params)
    show_url = "/alerts" + ("?" + urlencode(kept) if kept else "")
    return render(p, "alerts/_new.html", count=count, show_url=show_url)


def _users(p: Page) -> list[dict[str, Any]]:
    """The organisation's users, for the assignee pickers."""
    return lists.run(
        p,
        [
            {"_name": "listUser"},
            {"_name": "sort", "_fields": [{"login": "asc"}]},
            {"_name": "page", "from": 0, "to": 200},
        ],
    )


# --------------------------------------------------------------------------- bulk actions


@router.post("/alerts/bulk")
def bulk_action(p: Page = Depends(page)) -> Response:
    """One action on the selected alerts, through the same functions as the API's bulk
    routes; all or nothing (one unit of work)."""
    ids = p.values("ids")
    if not ids:
        raise BadRequest("Select at least one alert first")
    action = p.value("action")
    s, actor = p.session, p.actor
    if action == "assign":
        service.bulk_update(s, actor, {"ids": ids, "assignee": p.value("assignee") or None})
    elif action == "status":
        service.bulk_update(s, actor, {"ids": ids, "status": _required(p, "status", "a status")})
    elif action in ("follow", "ignore"):
        service.bulk_update(s, actor, {"ids": ids, "follow": action == "follow"})
    elif action in ("read", "unread"):
        for alert in service.get_alerts(s, actor, ids):
            service.mark_read(s, actor, alert, action == "read")
    elif action == "merge":
        number = _required(p, "case", "the number of the case to merge into")
        alert_case.bulk_merge(s, actor, {"caseId": number, "alertIds": ids})
    elif action == "delete":
        deletion.delete_alerts(s, actor, service.get_alerts(s, actor, ids))
    else:
        raise BadRequest("Choose an action for the selected alerts")
    return redirect(_back_to_list(p), p)


def _required(p: Page, name: str, what: str) -> str:
    value = p.value(name).strip()
    if not value:
        raise BadRequest(f"Give {what}")
    return value


def _back_to_list(p: Page) -> str:
    target = safe_next(p.value("next"))
    return target if target.startswith("/alerts") else "/alerts"


# --------------------------------------------------------------------------- one alert

ALERT_EXTRA_DATA = ["status", "relatedCase", "read", "procedureCount"]


def load_alert(p: Page, ref: str) -> dict[str, Any]:
    """The alert as the API renders it, or 404 when it is not in the caller's
    organisation (the same answer as a missing one)."""
    return lists.one(p, "getAlert", ref, ALERT_EXTRA_DATA, "Alert")


def _similar_cases(p: Page, alert_id: str) -> tuple[list[dict[str, Any]], int]:
    """The visible cases sharing observables with the alert, most shared first (ties: the
    larger share of the case's observables), and how many there are in all."""
    ops = [{"_name": "getAlert", "idOrName": alert_id}, {"_name": "similarCasesLight"}]
    total = lists.count(p, ops)
    cases = lists.run(
        p,
        [
            *ops,
            {"_name": "sort", "_fields": [{"_createdAt": "desc"}]},
            {"_name": "page", "from": 0, "to": SIMILAR_CASES_SHOWN},
        ],
    )
    for case in cases:
        case["similarRatio"] = _ratio(
            case.get("similarObservableCount"), case.get("observableCount")
        )
        case["iocRatio"] = _ratio(case.get("similarIocCount"), case.get("iocCount"))
    cases.sort(key=lambda c: (c.get("similarObservableCount", 0), c["similarRatio"]), reverse=True)
    return cases, total


def _ratio(part: int | None, whole: int | None) -> int:
    """A percentage, rounded (0 when there is nothing to compare)."""
    return round(100 * (part or 0) / whole) if whole else 0


@router.get("/alerts/{ref}")
def alert_page(ref: str, p: Page = Depends(page)) -> Response:
    alert = load_alert(p, ref)
    observables = lists.run(
        p,
        [
            {"_name": "getAlert", "idOrName": alert["_id"]},
            {"_name": "observables"},
            {"_name": "sort", "_fields": [{"dataType": "asc"}, {"data": "asc"}]},
            {"_name": "page", "from": 0, "to": OBSERVABLES_SHOWN},
        ],
    )
    similar, similar_total = _similar_cases(p, alert["_id"])
    # A chip per case status (TheHive 5: the resolution is the status of a closed case)
    # narrows the similar cases to one of them.
    chips: dict[str, int] = {}
    for case in similar:
        chips[case["status"]] = chips.get(case["status"], 0) + 1
    chosen = p.request.query_params.get("similar", "")
    shown = [c for c in similar if c["status"] == chosen] if chosen in chips else similar
    templates = lists.run(
        p,
        [
            {"_name": "listCaseTemplate"},
            {"_name": "sort", "_fields": [{"displayName": "asc"}]},
            {"_name": "page", "from": 0, "to": 200},
        ],
    )
    return render(
        p,
        "alerts/preview.html",
        alert=alert,
        observables=observables,
        similar=shown,
        similar_total=similar_total,
        similar_chips=chips,
        similar_chosen=chosen if chosen in chips else "",
        request=p.request,
        templates=templates,
        statuses=service.alert_statuses(p.session),
        users=_users(p),
        can_update=p.can(service.UPDATE),
        can_import=p.can(service.IMPORT),
        can_delete=p.can(service.DELETE),
    )


@router.get("/alerts/{ref}/similar/{case_ref}")
def similar_observables(ref: str, case_ref: str, p: Page = Depends(page)) -> Response:
    """Which of the alert's observables the case also holds ("see which observables")."""
    alert = service.get_alert(p.session, p.actor, ref)
    found = service.similar_observables(p.session, p.actor, alert, case_ref)
    return render(p, "alerts/_similar_observables.html", observables=found)


@router.post("/alerts/{ref}/import")
def import_alert(ref: str, p: Page = Depends(page)) -> Response:
    """A new case from the alert ("Import alert as: Empty case | <template>"), assigned to
    the analyst who imports it; then the case."""
    alert = service.get_alert(p.session, p.actor, ref)
    # An empty value means "Empty case", even when the alert names a template of its own.
    data = {"caseTemplate": p.value("caseTemplate"), "assignee": p.actor.login}
    case = alert_case.promote_to_case(p.session, p.actor, alert, data)
    return redirect(f"/cases/{case.number}", p)


@router.post("/alerts/{ref}/merge")
def merge_alert(ref: str, p: Page = Depends(page)) -> Response:
    """Into an existing case, named by its number (typed, or the similar case's button)."""
    alert = service.get_alert(p.session, p.actor, ref)
    number = _required(p, "case", "the number of the case to merge into")
    case = alert_case.merge_into_case(
        p.session, p.actor, alert, access.get_case(p.session, p.actor, number)
    )
    return redirect(f"/cases/{case.number}", p)


@router.post("/alerts/{ref}/status")
def set_status(ref: str, p: Page = Depends(page)) -> Response:
    """Start (In progress, taken by the analyst unless someone else has it) or close (a
    status of the Closed stage and an optional summary)."""
    alert = service.get_alert(p.session, p.actor, ref)
    changes: dict[str, Any] = {"status": _required(p, "status", "a status")}
    if p.value("summary").strip():
        changes["summary"] = p.value("summary").strip()
    if p.value("take") and not alert.assignee:
        changes["assignee"] = p.actor.login
    service.update_alert(p.session, p.actor, alert, changes)
    return redirect(f"/alerts/{alert.eid}", p)


@router.post("/alerts/{ref}/assign")
def assign(ref: str, p: Page = Depends(page)) -> Response:
    alert = service.get_alert(p.session, p.actor, ref)
    service.update_alert(p.session, p.actor, alert, {"assignee": p.value("assignee") or None})
    return redirect(f"/alerts/{alert.eid}", p)


@router.post("/alerts/{ref}/read")
def read_flag(ref: str, p: Page = Depends(page)) -> Response:
    alert = service.get_alert(p.session, p.actor, ref)
    service.mark_read(p.session, p.actor, alert, p.value("read") != "false")
    return redirect(f"/alerts/{alert.eid}", p)


@router.post("/alerts/{ref}/follow")
def follow_flag(ref: str, p: Page = Depends(page)) -> Response:
    alert = service.get_alert(p.session, p.actor, ref)
    service.set_follow(p.session, p.actor, alert, p.value("follow") != "false")
    return redirect(f"/alerts/{alert.eid}", p)


@router.post("/alerts/{ref}/delete")
def delete_alert(ref: str, p: Page = Depends(page)) -> Response:
    alert = service.get_alert(p.session, p.actor, ref)
    deletion.delete_alerts(p.session, p.actor, [alert])
    return redirect("/alerts", p)


def _current_url(p: Page) -> str:
    url = p.request.url
    return url.path + ("?" + url.query if url.query else "")
