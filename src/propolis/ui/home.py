"""The home page and the top bar's counters."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from propolis.ui import lists
from propolis.ui.web import Page, UiRoute, page, render

router = APIRouter(route_class=UiRoute)

NEW_ALERTS = [{"_name": "listAlert"}, {"_name": "filter", "stage": "New"}]
MY_OPEN_TASKS = [
    {"_name": "myTasks"},
    {"_name": "filter", "_in": {"_field": "status", "_values": ["Waiting", "InProgress"]}},
]
WAITING_TASKS = [{"_name": "waitingTasks"}]


def counters(p: Page) -> dict[str, int]:
    """What the top bar shows next to Alerts, My tasks and Waiting tasks."""
    return {
        "alerts": lists.count(p, NEW_ALERTS),
        "my_tasks": lists.count(p, MY_OPEN_TASKS),
        "waiting_tasks": lists.count(p, WAITING_TASKS),
    }


@router.get("/ui/counters")
def counters_fragment(p: Page = Depends(page)) -> Response:
    return render(p, "_counters.html", counters=counters(p))


@router.get("/")
def home(p: Page = Depends(page)) -> Response:
    mine = [
        {"_name": "listCase"},
        {
            "_name": "filter",
            "_and": [{"assignee": p.actor.login}, {"stage": "Open"}],
        },
    ]
    cases = lists.paged(p, mine, [{"_updatedAt": "desc"}], 1, 15)
    tasks = lists.paged(p, MY_OPEN_TASKS, [{"_updatedAt": "desc"}], 1, 15, ["case"])
    alerts = lists.paged(p, NEW_ALERTS, [{"date": "desc"}], 1, 15)
    return render(p, "home.html", cases=cases, tasks=tasks, alerts=alerts)
