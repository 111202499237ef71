"""The top bar's quick search: a case number jumps to the case; any other text finds the
observables holding exactly that value, and the cases and alerts whose title contains it.

Everything goes through the query engine as the analyst: only what the organisation sees
(cases through their shares, its own alerts, the observables the share rules let through)."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from propolis.core.errors import NotFound
from propolis.observables.service import fingerprint_of
from propolis.ui import lists
from propolis.ui.casepage import load_case
from propolis.ui.web import Page, UiRoute, page, redirect, render

router = APIRouter(route_class=UiRoute)

CASE_NUMBER = re.compile(r"#?(\d{1,18})")
LIMIT = 25  # rows per section: the search is a way in, the lists filter further
MAX_QUERY = 512
ALERT_WINDOW = 10_000  # newest alerts whose titles the quick search reads


@router.get("/search")
def search(q: str = "", p: Page = Depends(page)) -> Response:
    text = q.strip()[:MAX_QUERY]
    number = CASE_NUMBER.fullmatch(text)
    if number:
        try:
            case = load_case(p, number.group(1))
        except NotFound:
            case = None
        if case is not None:
            return redirect(f"/cases/{case['number']}", p)
    results = find(p, text) if text else None
    return render(p, "search.html", q=text, results=results, limit=LIMIT, alert_window=ALERT_WINDOW)


def find(p: Page, text: str) -> dict[str, list[dict[str, Any]]]:
    with_value = observables_with_value(p, text)
    newest = {"_name": "sort", "_fields": [{"_createdAt": "desc"}]}
    return {
        "observables": lists.run(p, [*with_value, newest, first(LIMIT)]),
        "value_cases": lists.run(p, [*with_value, {"_name": "case"}, newest, first(LIMIT)]),
        "value_alerts": lists.run(p, [*with_value, {"_name": "alert"}, newest, first(LIMIT)]),
        "cases": lists.run(p, [*title_contains("listCase", text), first(LIMIT)]),
        "alerts": lists.run(p, [*recent_alerts_titled(p, text), first(LIMIT)]),
    }


def recent_alerts_titled(p: Page, text: str) -> list[dict[str, Any]]:
    """Alerts whose title contains ``text``, among the newest ``ALERT_WINDOW`` ones: a title
    is no indexed value, so the search walks the creation index over a bounded window
    instead of every alert of the organisation (the alert list's filter covers them all)."""
    operations = title_contains("listAlert", text)
    oldest = lists.run(
        p,
        [
            {"_name": "listAlert"},
            {"_name": "sort", "_fields": [{"_createdAt": "desc"}]},
            {"_name": "page", "from": ALERT_WINDOW - 1, "to": ALERT_WINDOW},
        ],
    )
    if oldest:
        since = {"_gte": {"_field": "_createdAt", "_value": oldest[0]["_createdAt"]}}
        operations.insert(2, {"_name": "filter", **since})
    return operations


def observables_with_value(p: Page, value: str) -> list[dict[str, Any]]:
    """Observables whose value is exactly ``value``, whatever their type: one indexed
    lookup on the fingerprints of (type, value) for every observable type."""
    types = lists.run(p, [{"_name": "listObservableType"}, first(1000)])
    prints = [fingerprint_of(t["name"], value) for t in types]
    return [
        {"_name": "listObservable"},
        {"_name": "filter", "_in": {"_field": "fingerprint", "_values": prints}},
    ]


def title_contains(initial: str, text: str) -> list[dict[str, Any]]:
    return [
        {"_name": initial},
        {"_name": "filter", "_like": {"_field": "title", "_value": text}},
        {"_name": "sort", "_fields": [{"_createdAt": "desc"}]},
    ]


def first(count: int, extra: list[str] | None = None) -> dict[str, Any]:
    return {"_name": "page", "from": 0, "to": count, "extraData": extra or []}
