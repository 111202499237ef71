"""Lists and counts for the pages, through the API's query engine (``core/query.py``).

A page asks the same question ``POST /api/v1/query`` answers, in-process: the same
visibility rules, the same filters, the same rendering (TheHive-shaped objects), the same
limits. A list page never writes its own SQL for what the query language can say."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from propolis.core.errors import missing
from propolis.core.query import QueryContext, QueryLimits, run_query
from propolis.query_api import load_query_modules
from propolis.ui.web import Page

load_query_modules()

PAGE_SIZES = (15, 30, 50, 100, 200)


@dataclass(frozen=True)
class Paged:
    """One page of a list: the rendered objects, the total, where we are."""

    items: list[dict[str, Any]]
    total: int
    page: int
    size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def first_index(self) -> int:
        return (self.page - 1) * self.size + 1 if self.total else 0

    @property
    def last_index(self) -> int:
        return min(self.total, self.page * self.size)


def run(p: Page, operations: list[dict[str, Any]]) -> Any:
    """The value of a query run as the page's analyst."""
    limits = QueryLimits.from_settings(p.app_state.settings)
    return run_query(QueryContext(p.session, p.actor, limits), operations).value


def count(p: Page, operations: list[dict[str, Any]]) -> int:
    value = run(p, [*operations, {"_name": "count"}])
    return int(value)


def paged(
    p: Page,
    operations: list[dict[str, Any]],
    sort: list[dict[str, str]],
    page: int,
    size: int,
    extra_data: list[str] | None = None,
) -> Paged:
    """``operations`` (the initial operation and its filters), sorted, one page of it."""
    size = size if size in PAGE_SIZES else PAGE_SIZES[0]
    page = max(1, page)
    total = count(p, operations)
    ops = [
        *operations,
        {"_name": "sort", "_fields": sort},
        {
            "_name": "page",
            "from": (page - 1) * size,
            "to": page * size,
            "extraData": extra_data or [],
        },
    ]
    return Paged(run(p, ops), total, page, size)


def one(p: Page, initial: str, ref: str, extra_data: list[str], entity: str) -> dict[str, Any]:
    """The object ``ref`` as the API renders it (``getCase``, ``getAlert``...), or 404 when
    it does not exist or is not visible to the caller: the same answer, so nothing leaks."""
    found = run(
        p,
        [
            {"_name": initial, "idOrName": ref},
            {"_name": "page", "from": 0, "to": 1, "extraData": extra_data},
        ],
    )
    if not found:
        raise missing(entity, ref)
    return found[0]


def int_param(value: str | None, default: int) -> int:
    """A number from the address bar; anything else is the default (never an error page)."""
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default
