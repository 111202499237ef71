"""How a request finds its route: every route in one flat list, and an index in front of it.

FastAPI's ``include_router`` keeps each included router as a unit that is matched, and
matched again to be handled, request after request; with some thirty routers that walk
cost ~0.1-0.2 ms per request, and a 404 (which also tries each route with a trailing slash
added or removed) over 1 ms. Propolis' routers carry no prefix or dependencies of their own
at inclusion (their routes already hold their full path and dependencies), so their routes
are added to the application as they are (:func:`add_routes`), and :class:`RouteIndex`
finds a request's route in one regular-expression match per request.

The index gives the answer the router's own walk would give, by construction: for each
HTTP method, one alternation of the path patterns of the routes that accept it, in the
router's order. Python's alternation tries its branches left to right, so the first route
whose path matches is the first the walk would have taken as a full match. Whatever the
index does not find (a 405, a redirect for a trailing slash, a 404) goes to the router's
own walk, unchanged.
"""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.routing import APIRouter
from starlette.routing import BaseRoute, Match, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

# Routes whose matching depends on the path and the method alone: the index can stand in
# for their walk. (APIRoute is a Route.)
INDEXABLE = (Route, Mount)
_GROUP = re.compile(r"\(\?P<([A-Za-z_][A-Za-z0-9_]*)>")


def add_routes(app: FastAPI, router: APIRouter) -> None:
    """Add ``router``'s routes to the application as they are. A router that includes
    another is refused at start-up: its routes would not be in the one flat list."""
    for route in router.routes:
        if not isinstance(route, INDEXABLE):
            raise TypeError(
                f"{route!r} in a router of {router.routes[0]!r}: add each router with "
                "add_routes, not router.include_router"
            )
        app.router.routes.append(route)


def install_route_index(app: FastAPI) -> None:
    """Put the index in front of the application's router (after every route is added)."""
    router = app.router
    router.middleware_stack = RouteIndex(router, fallback=router.middleware_stack)


class RouteIndex:
    """ASGI: the route of an HTTP request in one match; anything else to ``fallback``."""

    def __init__(self, router: APIRouter, fallback: ASGIApp) -> None:
        self.router = router
        self.fallback = fallback
        self.routes = list(router.routes)
        self.by_method = {
            method: re.compile("|".join(branches))
            for method, branches in _branches_by_method(self.routes).items()
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = self.route_of(scope)
        if route is not None:
            match, child_scope = route.matches(scope)
            if match is Match.FULL:  # always, unless the index were wrong: then the walk
                scope.setdefault("router", self.router)  # for url_for, as the walk sets it
                scope.update(child_scope)
                await route.handle(scope, receive, send)
                return
        await self.fallback(scope, receive, send)

    def route_of(self, scope: Scope) -> BaseRoute | None:
        """The first route (in the router's order) that fully matches, or None."""
        if scope["type"] != "http" or scope.get("root_path"):
            return None  # behind a path prefix: the walk knows how to strip it
        pattern = self.by_method.get(scope["method"])
        found = pattern.fullmatch(scope["path"]) if pattern is not None else None
        if found is None:
            return None
        return self.routes[int(found.lastgroup[1:])]


def _branches_by_method(routes: list[BaseRoute]) -> dict[str, list[str]]:
    """Each route's path pattern, its groups renamed apart and the whole wrapped in a group
    named after its position (the outermost group closes last: ``lastgroup`` names it),
    under every method it accepts. The first route the index cannot stand for ends the
    lists: the routes after it are left to the walk."""
    methods = {m for route in routes for m in (getattr(route, "methods", None) or ())}
    branches: dict[str, list[str]] = {method: [] for method in methods}
    for position, route in enumerate(routes):
        if not isinstance(route, INDEXABLE):
            break
        body = route.path_regex.pattern.removeprefix("^").removesuffix("$")
        body = _GROUP.sub(lambda m, p=position: f"(?P<p{p}_{m.group(1)}>", body)
        branch = f"(?P<r{position}>{body})"
        accepted = getattr(route, "methods", None) or methods  # a Mount takes them all
        for method in accepted:
            branches[method].append(branch)
    return {method: found for method, found in branches.items() if found}
