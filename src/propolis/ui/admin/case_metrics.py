"""Case metrics administration (``/admin/case-metrics``): the platform-wide metric definitions
(TheHive 4's case metrics), listed, created, edited and deleted through
:mod:`propolis.fields.metrics` like the API's ``/api/v1/caseMetric``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from propolis.fields import metrics
from propolis.fields.render import render_metric
from propolis.ui.admin import admin_page
from propolis.ui.web import Page, UiRoute, attempt, redirect, render

router = APIRouter(route_class=UiRoute)
PERMISSION = "manageCustomField"
FIELDS = ("name", "title", "description")


def list_page(
    p: Page, error: str | None = None, typed: dict[str, str] | None = None, status_code: int = 200
) -> Response:
    found = metrics.list_metrics(p.session)
    used = metrics.usage(p.session)
    rows = [{**render_metric(metric), "used": used.get(metric.id, 0)} for metric in found]
    return render(
        p,
        "admin/case_metrics.html",
        status_code=status_code,
        section="case-metrics",
        metrics=rows,
        error=error,
        typed=typed or {},
    )


@router.get("/admin/case-metrics")
def case_metrics(p: Page = Depends(admin_page(PERMISSION))) -> Response:
    return list_page(p)


@router.post("/admin/case-metrics")
def create_case_metric(p: Page = Depends(admin_page(PERMISSION))) -> Response:
    typed = {name: p.value(name) for name in FIELDS}
    data: dict[str, Any] = {"name": typed["name"].strip(), "description": typed["description"]}
    if typed["title"].strip():
        data["title"] = typed["title"].strip()
    error = attempt(p, lambda: metrics.create_metric(p.session, p.actor, data))
    if error is not None:
        return list_page(p, error, typed, 400)
    return redirect("/admin/case-metrics", p)


def edit_page(
    p: Page, metric: Any, error: str | None = None, typed: dict | None = None, status: int = 200
) -> Response:
    return render(
        p,
        "admin/case_metric.html",
        status_code=status,
        section="case-metrics",
        metric=render_metric(metric),
        used=metrics.value_count(p.session, metric),
        error=error,
        typed=typed or {},
    )


@router.get("/admin/case-metrics/{ref}")
def case_metric(ref: str, p: Page = Depends(admin_page(PERMISSION))) -> Response:
    return edit_page(p, metrics.get_metric(p.session, ref))


@router.post("/admin/case-metrics/{ref}")
def update_case_metric(ref: str, p: Page = Depends(admin_page(PERMISSION))) -> Response:
    metric = metrics.get_metric(p.session, ref)
    typed = {"title": p.value("title"), "description": p.value("description")}
    data = {"title": typed["title"].strip() or None, "description": typed["description"]}
    error = attempt(p, lambda: metrics.update_metric(p.session, p.actor, metric, data))
    if error is not None:
        return edit_page(p, metrics.get_metric(p.session, ref), error, typed, 400)
    return redirect("/admin/case-metrics", p)


@router.post("/admin/case-metrics/{ref}/delete")
def delete_case_metric(ref: str, p: Page = Depends(admin_page(PERMISSION))) -> Response:
    metric = metrics.get_metric(p.session, ref)
    force = p.value("force") == "true"
    error = attempt(p, lambda: metrics.delete_metric(p.session, p.actor, metric, force))
    if error is not None:
        return edit_page(p, metrics.get_metric(p.session, ref), error, None, 400)
    return redirect("/admin/case-metrics", p)
