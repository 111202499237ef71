"""``POST /api/v1/query``: the generic read API (spec §3), over :mod:`propolis.core.query`.

Importing this module imports every domain's ``queries`` module, which registers the
domain's entity specs, initial operations and traversals."""

from __future__ import annotations

import importlib
from typing import Any

from fastapi import APIRouter, Depends

from propolis.core.errors import BadRequest
from propolis.core.query import QueryContext, QueryLimits, run_query
from propolis.core.web import JSON, Ctx, UnitOfWorkRoute, context, required_body

QUERY_MODULES = [
    "propolis.orgs.queries",
    "propolis.users.queries",
    "propolis.alerts.queries",
    "propolis.cases.queries",
    "propolis.tasks.queries",
    "propolis.observables.queries",
    "propolis.attachments.queries",
    "propolis.comments.queries",
    "propolis.casetemplates.queries",
    "propolis.fields.queries",
    "propolis.procedures.queries",
    "propolis.pages.queries",
    "propolis.analysis.queries",
    "propolis.audit.queries",
]


def load_query_modules() -> None:
    for name in QUERY_MODULES:
        importlib.import_module(name)  # an import error propagates (see app.create_app)


load_query_modules()
router = APIRouter(route_class=UnitOfWorkRoute)

# The shape depends on the query: the rendered objects of the entity the operations end on
# (a case, an alert, a user... each with its extraData), or a number after count/limitedCount.
QueryOut = list[dict[str, Any]] | int


@router.post(
    "/api/v1/query",
    response_model=QueryOut,
    responses={
        200: {
            "description": "The objects the query selects (their entity's rendering), or a "
            "number when the last operation is count or limitedCount. With a page asking "
            "extraData total, the X-Total header gives the total."
        }
    },
)
def query(data: dict = Depends(required_body), ctx: Ctx = Depends(context)) -> JSON:
    exclude = data.get("excludeFields") or []
    if not isinstance(exclude, list):
        raise BadRequest("excludeFields must be a list")
    limits = QueryLimits.from_settings(ctx.app_state.settings)
    result = run_query(QueryContext(ctx.session, ctx.actor, limits), data.get("query"), exclude)
    headers = {"X-Total": str(result.total)} if result.total is not None else None
    return JSON(result.value, status_code=200, headers=headers)
