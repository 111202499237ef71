"""The route index answers what the router's own walk answers, for every route of the app.

Generated from the route table: each route's path is filled in with sample values (ids,
names that look like fixed paths such as ``_bulk``, and values with dots or tildes), asked
with every method any route accepts, and with a trailing slash and without a leading
segment; the index must name the route the walk takes as a full match, or nothing where
the walk has no full match (the walk then answers a 405, a redirect or a 404 itself). A
method no route names is left to the walk.
"""

from __future__ import annotations

import re

import pytest
from starlette.routing import Match, Mount

from propolis.core.routing import RouteIndex
from tests.routetable import route_app

SAMPLES = ["~123", "_bulk", "42", "name.with.dots", "x"]
PARAM = re.compile(r"{([^}:]+)(:[^}]+)?}")


def walk(routes: list, scope: dict):
    """Starlette's walk: the first route that fully matches."""
    for route in routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return route
    return None


def scope_of(method: str, path: str) -> dict:
    return {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}


def paths_to_try(routes: list) -> list[str]:
    paths = set()
    for route in routes:
        template = route.path + "/{path:path}" if isinstance(route, Mount) else route.path
        for sample in SAMPLES:
            path = PARAM.sub(sample, template)
            paths.update({path, path + "/", path.rstrip("/") + "x", "/" + path.split("/", 2)[-1]})
    return sorted(paths)


def test_the_index_takes_the_route_the_walk_takes_for_every_route() -> None:
    app = route_app()
    routes = list(app.router.routes)
    index = RouteIndex(app.router, fallback=app.router.middleware_stack)
    methods = {m for route in routes for m in (getattr(route, "methods", None) or ())}
    checked = 0
    for path in paths_to_try(routes):
        for method in sorted(methods | {"PROPFIND"}):
            scope = scope_of(method, path)
            found, expected = index.route_of(scope), walk(routes, scope)
            if method in methods:
                assert found is expected, f"{method} {path}"
            else:  # a method no route names: left to the walk (a Mount takes it)
                assert found is None, f"{method} {path}"
            checked += 1
    assert checked > 5000  # every route, every method, several shapes of path


def test_the_app_is_routed_by_the_index() -> None:
    app = route_app()
    assert isinstance(app.router.middleware_stack, RouteIndex)
    assert len(app.router.routes) > 250  # every module's routes, in one flat list


@pytest.mark.parametrize("root_path", ["/propolis"])
def test_behind_a_path_prefix_the_walk_decides(root_path: str) -> None:
    app = route_app()
    index = RouteIndex(app.router, fallback=app.router.middleware_stack)
    scope = scope_of("GET", root_path + "/api/status") | {"root_path": root_path}
    assert index.route_of(scope) is None
