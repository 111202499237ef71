"""Who may open the administration pages, checked on every admin route of the app (generated
from the route table and each route's ``admin_page`` permissions, so a new admin page is held
to these rules without a new test):

- every admin route names the permissions that open it;
- a user holding none of them (an analyst) gets a 403 on every admin page and every admin
  write, whatever the URL, and nothing changes;
- every admin page renders for someone who holds its permission: the organisation's admin
  for an organisation's settings, the platform administrator for the platform's;
- the top bar's Admin menu lists exactly the sections the user may open.
"""

from __future__ import annotations

import pytest

from propolis.ui.admin import SECTIONS
from tests.harness import ADMIN_LOGIN, ADMIN_PASSWORD
from tests.routetable import Objects, Route, member
from tests.ui.pages import Browser, admin_routes, is_download, path_for, platform_only
from tests.ui.test_every_page import audit_count

ADMIN_ROUTES = admin_routes()
PASSWORD = "admin rules password"


def _browser(server, profile: str) -> Browser:
    login = f"admin-rules-{profile}@example.com"
    answer = server.http("main-org").post(
        server.url + "/api/v1/user",
        json={"login": login, "name": profile, "profile": profile, "password": PASSWORD},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    return Browser(server, login, PASSWORD)


@pytest.fixture(scope="module")
def people(server):
    """main-org's objects, and signed-in browsers: an analyst and an org-admin of main-org,
    and the platform administrator (acting in the admin organisation)."""
    objects = Objects(server, "main-org", member(server, "main-org", "org-admin"))
    return {
        "objects": objects,
        "analyst": _browser(server, "analyst"),
        "org-admin": _browser(server, "org-admin"),
        "platform": Browser(server, ADMIN_LOGIN, ADMIN_PASSWORD),
    }


def test_every_admin_route_names_who_may_open_it():
    assert ADMIN_ROUTES, "no admin page in the route table"
    unguarded = [str(route) for route, permissions in ADMIN_ROUTES.items() if not permissions]
    assert unguarded == [], "admin routes without admin_page(...): " + ", ".join(unguarded)


@pytest.mark.parametrize("route", list(ADMIN_ROUTES), ids=str)
def test_an_analyst_gets_no_admin_page_by_url(server, people, route: Route):
    path = path_for(route, people["objects"])  # made before counting: making one is audited
    before = audit_count(server)
    answer = people["analyst"].request(route.method, path, data={"name": "by an analyst"})
    assert answer.status_code == 403, f"{route}: {answer.status_code} {answer.text[:300]}"
    assert "Propolis" in answer.text and "Traceback" not in answer.text
    assert audit_count(server) == before


@pytest.mark.parametrize("route", [r for r in ADMIN_ROUTES if r.method == "GET"], ids=str)
def test_every_admin_page_renders_for_those_it_is_for(server, people, route: Route):
    permissions = ADMIN_ROUTES[route]
    holder = people["platform"] if platform_only(permissions) else people["org-admin"]
    answer = holder.request("GET", path_for(route, people["objects"]))
    assert answer.status_code in (200, 303), f"{route}: {answer.status_code} {answer.text[:500]}"
    if answer.status_code == 200 and not is_download(answer):
        assert answer.headers["content-type"].startswith("text/html")
        assert "Traceback" not in answer.text


@pytest.mark.parametrize(
    "route", [r for r in ADMIN_ROUTES if platform_only(ADMIN_ROUTES[r])], ids=str
)
def test_an_organisations_admin_gets_no_platform_page(server, people, route: Route):
    path = path_for(route, people["objects"])
    before = audit_count(server)
    answer = people["org-admin"].request(route.method, path, data={"name": "by an org-admin"})
    assert answer.status_code == 403, f"{route}: {answer.status_code} {answer.text[:300]}"
    assert audit_count(server) == before


@pytest.mark.parametrize("who", ["analyst", "org-admin", "platform"])
def test_the_admin_menu_lists_the_sections_one_may_open(server, people, who: str):
    browser = people[who]
    home = browser.request("GET", "/").text
    shown = [s.key for s in SECTIONS if f'data-admin-menu="{s.key}"' in home]
    if who == "analyst":
        assert shown == [] and 'href="/admin"' not in home
        assert browser.request("GET", "/admin").status_code == 403
        return
    if who == "org-admin":
        expected = [s.key for s in SECTIONS if not platform_only(s.permissions)]
    else:
        # The platform administrator: the platform's sections and those of an organisation
        # their admin profile grants (users, configuration), not the case templates.
        expected = [s.key for s in SECTIONS if s.key != "case-templates"]
    assert shown == expected
    first = browser.request("GET", "/admin")
    assert first.status_code == 303
    assert first.headers["location"] == next(s.url for s in SECTIONS if s.key == expected[0])
