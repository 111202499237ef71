"""The web pages' route table and how to call each page, for the generic page tests.

Like ``tests/routetable.py`` for the API: the kind of object each path parameter names comes
from the segment before it (``/cases/{ref}`` is a case), ``PARAM_KINDS`` names the others. A
page route whose parameter has no known kind fails the generic tests: describe it here.
"""

from __future__ import annotations

import re

import requests
from fastapi.routing import iter_route_contexts

from propolis.core.security import ADMIN_ONLY
from propolis.ui.web import UiRoute
from tests.routetable import PARAM, Objects, Route, route_app, ui_routes

SEGMENT_KINDS = {
    "cases": "case",
    "alerts": "alert",
    "tasks": "task",
    "observables": "observable",
    "logs": "log",
    "jobs": "job",
    "actions": "action",
    # administration
    "users": "user",
    "organisations": "organisation",
    "profiles": "profile",
    "case-templates": "caseTemplate",
    "custom-fields": "customField",
    "case-metrics": "caseMetric",
    "observable-types": "observableType",
    "analyzers": "analyzer",
    "responders": "responder",
}
# Kinds of object that belong to the platform, not to an organisation (the platform
# administrator manages them): "another organisation's" one does not exist.
PLATFORM_WIDE = {
    "organisation",
    "profile",
    "customField",
    "observableType",
    "caseMetric",
    "definition",  # analyzer and responder definitions: the server's catalogue
    "responderDefinition",
}
# Parameters whose kind the segment before them does not say: (route path, name) -> kind.
PARAM_KINDS: dict[tuple[str, str], str] = {
    ("/alerts/{ref}/similar/{case_ref}", "case_ref"): "case",
    ("/admin/analyzers/definitions/{definition_id}", "definition_id"): "definition",
    ("/admin/responders/definitions/{definition_id}", "definition_id"): "responderDefinition",
}

# Pages that are not behind the sign-in: the sign-in form itself.
PUBLIC = {Route("GET", "/login"), Route("POST", "/login")}

_META_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
_LOGIN_CSRF = re.compile(r'name="login_csrf" value="([^"]+)"')


def page_routes() -> list[Route]:
    return [route for route in ui_routes() if route not in PUBLIC]


def admin_routes() -> dict[Route, tuple[str, ...]]:
    """Every administration page route and the permissions that open it (read from its
    ``admin_page`` dependency; an admin route without one maps to ``()``)."""
    found: dict[Route, tuple[str, ...]] = {}
    for context in iter_route_contexts(route_app().router.routes):
        route = context.original_route
        if not isinstance(route, UiRoute) or not context.path.startswith("/admin"):
            continue
        permissions: tuple[str, ...] = ()
        for dependency in route.dependant.dependencies:
            permissions = getattr(dependency.call, "permissions", permissions)
        for method in sorted(context.methods or ()):
            found[Route(method, context.path)] = permissions
    return found


def platform_only(permissions: tuple[str, ...]) -> bool:
    """A page only the platform administrator (admin organisation) may open."""
    return bool(permissions) and all(p in ADMIN_ONLY for p in permissions)


def param_kinds(route: Route) -> dict[str, str]:
    kinds: dict[str, str] = {}
    segments = route.path.split("/")
    for index, segment in enumerate(segments):
        match = PARAM.fullmatch(segment)
        if not match:
            continue
        name = match.group(1)
        kind = PARAM_KINDS.get((route.path, name)) or SEGMENT_KINDS.get(segments[index - 1])
        assert kind is not None, f"{route}: what does {{{name}}} name? (add it to PARAM_KINDS)"
        kinds[name] = kind
    return kinds


def path_for(route: Route, objects: Objects) -> str:
    path = route.path
    for name, kind in param_kinds(route).items():
        path = path.replace("{" + name + "}", objects[kind])
    return path


class Browser:
    """A signed-in browser session made of plain HTTP requests: the cookie and the page's
    CSRF token, as a browser holds them."""

    def __init__(self, server, login: str, password: str) -> None:
        self.server = server
        self.http = requests.Session()
        form = self.http.get(server.url + "/login", timeout=30).text
        token = _LOGIN_CSRF.search(form).group(1)
        answer = self.http.post(
            server.url + "/login",
            data={"login_csrf": token, "login": login, "password": password},
            timeout=30,
        )
        assert answer.ok and answer.url.rstrip("/") == server.url, answer.text[:300]
        self.csrf = _META_CSRF.search(answer.text).group(1)

    def request(self, method: str, path: str, csrf: bool = True, **kwargs) -> requests.Response:
        data = dict(kwargs.pop("data", None) or {})
        if csrf and method != "GET":
            data["csrf_token"] = self.csrf
        return self.http.request(
            method,
            self.server.url + path,
            data=data or None,
            allow_redirects=False,
            timeout=60,
            **kwargs,
        )


def is_download(answer: requests.Response) -> bool:
    """A file the page offers to save (an export), not a page to render."""
    return answer.headers.get("content-disposition", "").startswith("attachment")
