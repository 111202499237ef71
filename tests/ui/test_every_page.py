"""Rules every web page follows, checked on every page route of the app (generated from the
route table, so a new page is held to them without a new test):

- nobody reaches a page without signing in, and an anonymous write changes nothing;
- a write without the session's CSRF token is refused and changes nothing;
- a write holding a NUL character is refused and changes nothing (PostgreSQL cannot store
  one; every backend refuses it alike);
- another organisation's object is not found, by any page, and nothing changes;
- every page renders for the analyst's own objects (no 5xx, HTML).

"Changes nothing" is read from the audit log (every mutation writes one event) as the
platform administrator sees it: the count of events does not move.
"""

from __future__ import annotations

import pytest
import requests

from tests.routetable import Objects, Route, member
from tests.ui.pages import (
    PLATFORM_WIDE,
    Browser,
    admin_routes,
    is_download,
    page_routes,
    param_kinds,
    path_for,
    platform_only,
)

ROUTES = page_routes()
WRITES = [r for r in ROUTES if r.mutating]
# The platform administrator's pages refuse an organisation's admin outright (403, see
# test_admin_rules.py): the rules below about one organisation's objects are for the others.
PLATFORM_PAGES = {r for r, permissions in admin_routes().items() if platform_only(permissions)}
WITH_OBJECTS = [
    r
    for r in ROUTES
    if r.params
    and r not in PLATFORM_PAGES
    and not PLATFORM_WIDE.intersection(param_kinds(r).values())
]
PASSWORD = "page rules password"
# The live stream is not a page: an anonymous stream gets a plain 401.
STREAMS = {Route("GET", "/ui/stream")}


@pytest.fixture(scope="module")
def world(server):
    """main-org's objects, those of another organisation, and a signed-in org-admin of
    main-org (the widest rights a page can give inside one organisation)."""
    server.create_org("page-rules-other")
    ours = Objects(server, "main-org", member(server, "main-org", "org-admin"))
    theirs = Objects(server, "page-rules-other", member(server, "page-rules-other", "org-admin"))
    login = "page-rules-admin@example.com"
    answer = server.http("main-org").post(
        server.url + "/api/v1/user",
        json={"login": login, "name": "Page Rules", "profile": "org-admin", "password": PASSWORD},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    return ours, theirs, Browser(server, login, PASSWORD)


def audit_count(server) -> int:
    answer = server.http("admin").post(
        server.url + "/api/v1/query",
        json={"query": [{"_name": "listAudit"}, {"_name": "count"}]},
        timeout=30,
    )
    assert answer.ok, answer.text
    return answer.json()


def test_every_page_parameter_names_a_known_kind_of_object():
    for route in ROUTES:
        param_kinds(route)  # fails naming the route when a kind is unknown


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_no_page_without_signing_in(server, world, route: Route):
    ours, _theirs, _browser = world
    path = path_for(route, ours)  # made before counting: making an object is audited
    before = audit_count(server)
    answer = requests.request(
        route.method,
        server.url + path,
        data={"title": "anonymous"} if route.mutating else None,
        allow_redirects=False,
        timeout=30,
    )
    if route in STREAMS:
        assert answer.status_code == 401
    else:
        assert answer.status_code == 303, answer.text[:300]
        assert answer.headers["location"].startswith("/login?next=")
    assert audit_count(server) == before


@pytest.mark.parametrize("route", WRITES, ids=str)
def test_no_write_without_the_csrf_token(server, world, route: Route):
    ours, _theirs, browser = world
    path = path_for(route, ours)
    before = audit_count(server)
    answer = browser.request(route.method, path, csrf=False)
    assert answer.status_code == 403, answer.text[:300]
    assert audit_count(server) == before


@pytest.mark.parametrize("route", WRITES, ids=str)
def test_no_write_with_a_nul_character(server, world, route: Route):
    ours, _theirs, browser = world
    path = path_for(route, ours)
    before = audit_count(server)
    answer = browser.request(route.method, path, data={"title": "nul\x00", "message": "\x00"})
    assert answer.status_code == 400, answer.text[:300]
    assert "NUL" in answer.text
    assert audit_count(server) == before


@pytest.mark.parametrize("route", WITH_OBJECTS, ids=str)
def test_another_organisations_object_is_not_found(server, world, route: Route):
    ours, theirs, browser = world
    for kind in param_kinds(route).values():
        ours[kind], theirs[kind]  # noqa: B018 (made before counting: making one is audited)
    before = audit_count(server)
    path = route.path
    for name, kind in param_kinds(route).items():
        # Every parameter at once names the other organisation's object: no mixing of a
        # visible parent with a foreign child can reach it either (each is tried alone too).
        path = path.replace("{" + name + "}", theirs[kind])
    answer = browser.request(route.method, path)
    assert answer.status_code == 404, f"{route}: {answer.status_code} {answer.text[:300]}"
    for name in route.params:
        kind = param_kinds(route)[name]
        mixed = path_for(route, ours).replace(ours[kind], theirs[kind])
        answer = browser.request(route.method, mixed)
        assert answer.status_code == 404, f"{route} ({name}): {answer.status_code}"
    assert audit_count(server) == before


@pytest.mark.parametrize(
    "route", [r for r in ROUTES if r.method == "GET" and r not in PLATFORM_PAGES], ids=str
)
def test_every_page_renders_for_the_analysts_own_objects(server, world, route: Route):
    ours, _theirs, browser = world
    if route in STREAMS:
        pytest.skip("the stream is an endless answer: tests/ui/test_stream.py reads it")
    answer = browser.request("GET", path_for(route, ours))
    assert answer.status_code in (200, 303), f"{route}: {answer.status_code} {answer.text[:500]}"
    if answer.status_code == 200 and not is_download(answer):
        assert answer.headers["content-type"].startswith("text/html")
        assert "Traceback" not in answer.text
