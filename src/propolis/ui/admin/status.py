"""Platform status (``/admin/status``, ``managePlatform``): versions, database, analysis queue
and consumers, jobs waiting and running, the file store, the planner's statistics. The
figures come from ``misc.status``, which ``GET /api/v1/status`` shares."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from propolis.misc import status
from propolis.ui.admin import admin_page
from propolis.ui.web import Page, UiRoute, render

router = APIRouter(route_class=UiRoute)


@router.get("/admin/status")
def platform_status(p: Page = Depends(admin_page("managePlatform"))) -> Response:
    found = status.platform_status(p.session, p.actor, p.app_state.settings)
    return render(p, "admin/status.html", section="status", status=found)
