"""The frame every tab of a case shares: the case as the analyst may see it, and its
title bar. Each tab (details, tasks, observables...) is a page of its own URL
(``/cases/42``, ``/cases/42/tasks``...) rendering ``cases/_layout.html``."""

from __future__ import annotations

from typing import Any

from propolis.ui import lists
from propolis.ui.web import Page

# What the title bar and the tab labels show (counts, the caller's rights on the case).
CASE_EXTRA_DATA = ["taskStats", "observableStats", "permissions", "alertCount", "links"]

TABS = [
    ("details", "Details", ""),
    ("tasks", "Tasks", "/tasks"),
    ("observables", "Observables", "/observables"),
]


def case_ref(ref: str) -> str:
    """``42`` (a case number) or ``~123`` (an id): both name a case in TheHive's API."""
    return ref.strip()


def load_case(p: Page, ref: str) -> dict[str, Any]:
    """The case rendered as the API renders it (with the title bar's extraData), or 404
    when it does not exist or is not visible to the caller (the same answer: no leak)."""
    return lists.one(p, "getCase", case_ref(ref), CASE_EXTRA_DATA, "Case")


def case_can(case: dict[str, Any], permission: str) -> bool:
    """The caller's right on this case (its share's profile), as the API computes it."""
    return permission in (case.get("extraData", {}).get("permissions") or [])
