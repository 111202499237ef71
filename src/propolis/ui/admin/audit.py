"""The audit log (``/admin/audit``, ``manageConfig``): who did what and when, filtered by user,
kind of object, action and date range, paged without a depth limit.

The list is the query engine's ``listAudit`` (``POST /api/v1/query`` answers the same): an
organisation's administrators see their organisation's events, the platform administrator
every organisation's. The filters only narrow that list, whatever the address says. Each
entry is worded and linked like the live stream's (``audit.stream.describe``), and its
details, as recorded, unfold on demand.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from sqlalchemy import select

from propolis.audit.stream import NOUNS, Entry, describe
from propolis.core.db import parse_id
from propolis.core.events import AuditEvent
from propolis.orgs.models import Organisation
from propolis.ui import lists
from propolis.ui.admin import admin_page
from propolis.ui.web import Page, UiRoute, render

router = APIRouter(route_class=UiRoute)
MANAGE = admin_page("manageConfig")

OBJECT_TYPES = sorted(NOUNS)
ACTIONS = ["create", "update", "delete", "merge", "login", "logout", "loginFailure"]
DAY_MS = 86_400_000


@dataclass(frozen=True)
class Filters:
    """The filters of the address bar (anything malformed is ignored, never an error)."""

    user: str
    object_type: str
    action: str
    since: date | None
    until: date | None

    @classmethod
    def of(cls, params: Any) -> Filters:
        return cls(
            user=params.get("user", "").strip(),
            object_type=params.get("type", "").strip(),
            action=params.get("action", "").strip(),
            since=_day(params.get("from")),
            until=_day(params.get("to")),
        )

    def operations(self) -> list[dict[str, Any]]:
        """``listAudit`` narrowed by the filters (dates are whole UTC days, both included)."""
        conditions: list[dict[str, Any]] = []
        for field, value in (
            ("_createdBy", self.user),
            ("objectType", self.object_type),
            ("action", self.action),
        ):
            if value:
                conditions.append({"_eq": {"_field": field, "_value": value}})
        if self.since is not None:
            conditions.append({"_gte": {"_field": "_createdAt", "_value": _ms(self.since)}})
        if self.until is not None:
            end = _ms(self.until + timedelta(days=1))
            conditions.append({"_lt": {"_field": "_createdAt", "_value": end}})
        ops: list[dict[str, Any]] = [{"_name": "listAudit"}]
        if conditions:
            ops.append({"_name": "filter", "_and": conditions})
        return ops

    @property
    def any(self) -> bool:
        return bool(self.user or self.object_type or self.action or self.since or self.until)


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)


@dataclass(frozen=True)
class Row:
    """One event of the log: the entry in words, where it happened, what was recorded."""

    entry: Entry
    action: str
    object_type: str
    object_id: int | None
    organisation: str
    details: str


def rows_of(p: Page, items: list[dict[str, Any]]) -> list[Row]:
    """The page's events worded like the live stream: two queries for the page (the rows,
    the organisations' names) and the stream's batched look-ups of the objects' names."""
    ids = [parse_id(item["_id"]) for item in items]
    found = {
        event.id: event
        for event in p.session.scalars(select(AuditEvent).where(AuditEvent.id.in_(ids)))
    }
    events = [found[i] for i in ids if i in found]
    org_ids = {event.org_id for event in events if event.org_id is not None}
    org_names = dict(
        p.session.execute(
            select(Organisation.id, Organisation.name).where(Organisation.id.in_(org_ids))
        ).all()
    )
    return [
        Row(
            entry=entry,
            action=event.action,
            object_type=event.object_type,
            object_id=event.object_id,
            organisation=org_names.get(event.org_id, ""),
            details=json.dumps(event.details or {}, indent=2, sort_keys=True, ensure_ascii=False),
        )
        for event, entry in zip(events, describe(p.session, events), strict=True)
    ]


@router.get("/admin/audit")
def audit_log(p: Page = Depends(MANAGE)) -> Response:
    params = p.request.query_params
    filters = Filters.of(params)
    paged = lists.paged(
        p,
        filters.operations(),
        [{"_createdAt": "desc"}],
        lists.int_param(params.get("page"), 1),
        lists.int_param(params.get("size"), 50),
    )
    return render(
        p,
        "admin/audit.html",
        section="audit",
        paged=paged,
        rows=rows_of(p, paged.items),
        filters=filters,
        object_types=OBJECT_TYPES,
        actions=ACTIONS,
        all_organisations=p.actor.in_admin_org,
    )
