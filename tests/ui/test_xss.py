"""Script payloads in everything an analyst or a detection tool can write — titles,
descriptions, tags, observable values, task logs, custom fields, alert sources — are shown
as text and never run, on every page that displays them (generated from the route table).

Two checks, because the Content-Security-Policy alone would hide an escaping bug: nothing
runs (no dialog, no CSP violation reported in the console), and the payload never becomes
markup (no element it would have created exists; its text is visible)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.harness import ADMIN_LOGIN, ADMIN_PASSWORD
from tests.routetable import Objects, member
from tests.ui.conftest import login, make_user
from tests.ui.pages import PARAM, admin_routes, page_routes, param_kinds, platform_only

PAYLOADS = [
    '<script>alert("xss-script")</script>',
    '<img src=x id=xss-img onerror=alert("xss-img")>',
    '"><svg id=xss-svg onload=alert("xss-svg")>',
    "[click](javascript:alert('xss-link'))",
    "{{ 7*7 }} {% raw %}",
]
TEXT = " ".join(PAYLOADS)
TITLE = " ".join(PAYLOADS[:2])  # titles are shorter (128 characters at most)
INJECTED = "#xss-img, #xss-svg, #xss-b, #xss-i, script:not([src]), a[href^='javascript:']"


def _first(value):
    return value[0] if isinstance(value, list) else value


@pytest.fixture(scope="module")
def hostile(server):
    """Objects of main-org whose every text field carries the payloads."""
    api = server.http("main-org")

    def post(path: str, body: dict) -> dict:
        answer = api.post(server.url + path, json=body, timeout=30)
        assert answer.status_code in (200, 201), f"{path}: {answer.text}"
        return _first(answer.json())

    admin = server.http("admin")
    field = admin.post(
        server.url + "/api/v1/customField",
        json={"name": "xssfield", "displayName": TEXT[:60], "type": "string", "description": TEXT},
        timeout=30,
    )
    assert field.status_code in (200, 201, 400), field.text
    case = post(
        "/api/v1/case",
        {
            "title": TITLE,
            "description": TEXT,
            "tags": PAYLOADS,
            "customFields": {"xssfield": TEXT},
            "summary": TEXT,
        },
    )
    task = post(f"/api/v1/case/{case['_id']}/task", {"title": TITLE, "description": TEXT})
    log = post(f"/api/v1/task/{task['_id']}/log", {"message": TEXT})
    observable = post(
        f"/api/v1/case/{case['_id']}/observable",
        {"dataType": "other", "data": TEXT, "tags": PAYLOADS, "message": TEXT},
    )
    alert = post(
        "/api/v1/alert",
        {
            "type": "<b id=xss-b>t</b>",  # type and source: 32 characters at most
            "source": "<i id=xss-i>s</i>",
            "sourceRef": "xss-ref",
            "title": TITLE,
            "description": TEXT,
            "tags": PAYLOADS,
            "observables": [{"dataType": "other", "data": TEXT, "tags": PAYLOADS}],
        },
    )
    # An analyzer and a responder enabled under a hostile name, and a job of that analyzer
    # on the hostile observable (the admin pages show the name and the job's value).
    analyzer = post(
        "/api/v1/analysis/worker",
        {"definitionId": "Propolis_LocalList_1_0", "kind": "analyzer", "name": TITLE},
    )
    responder = post(
        "/api/v1/analysis/worker",
        {
            "definitionId": "Propolis_Webhook_1_0",
            "kind": "responder",
            "name": TITLE,
            "configuration": {"url": "http://127.0.0.1:9/xss"},
        },
    )
    job = post(
        "/api/connector/cortex/job",
        {"analyzerId": analyzer["_id"], "cortexId": "local", "artifactId": observable["_id"]},
    )
    # What the administration pages show: an account, the organisation's description, a
    # profile, an observable type, a custom field (above), a case metric, a case template.
    user = post(
        "/api/v1/user", {"login": "xss-user@example.com", "name": TITLE, "profile": "analyst"}
    )
    described = admin.patch(
        server.url + "/api/v1/organisation/main-org", json={"description": TEXT}, timeout=30
    )
    assert described.status_code == 204, described.text
    for path, body in (
        ("/api/v1/profile", {"name": PAYLOADS[1], "permissions": ["manageCase/create"]}),
        ("/api/v1/observable/type", {"name": PAYLOADS[1], "isAttachment": False}),
        ("/api/v1/caseMetric", {"name": "xssmetric", "title": TITLE, "description": TEXT}),
    ):
        answer = admin.post(server.url + path, json=body, timeout=30)
        assert answer.status_code == 201, f"{path}: {answer.text}"
    template = post(
        "/api/v1/caseTemplate",
        {
            "name": "xss-template",
            "displayName": TITLE,
            "titlePrefix": PAYLOADS[1],
            "description": TEXT,
            "tags": PAYLOADS,
            "tasks": [{"title": TITLE, "group": PAYLOADS[1], "description": TEXT}],
        },
    )
    made = {
        "user": user["_id"],
        "organisation": "main-org",
        "profile": PAYLOADS[1],
        "customField": "xssfield",
        "caseMetric": "xssmetric",
        "caseTemplate": template["_id"],
        "case": case["_id"],
        "task": task["_id"],
        "log": log["_id"],
        "observable": observable["_id"],
        "alert": alert["_id"],
        "analyzer": analyzer["_id"],
        "responder": responder["_id"],
        "job": job["_id"],
    }
    fallback = Objects(server, "main-org", member(server, "main-org", "org-admin"))
    return made, fallback


def path_with_payload_objects(route, made: dict, fallback: Objects) -> str:
    path = route.path
    for name, kind in param_kinds(route).items():
        path = path.replace("{" + name + "}", made.get(kind) or fallback[kind])
    return path


# Pages, not files: an export answers with a download.
GET_PAGES = [
    r
    for r in page_routes()
    if r.method == "GET" and r.path != "/ui/stream" and not r.path.endswith("/export")
]
# The platform administrator's pages, opened by the platform administrator.
PLATFORM_PAGES = {r for r, permissions in admin_routes().items() if platform_only(permissions)}
# The payloads as they read once escaped (a profile's name can only hold the <img> one).
ESCAPED = ("&lt;script&gt;alert(", "&lt;img src=x id=xss-img")
# Pages of objects that hold no text a user or a tool writes: an analyzer or responder
# definition is a file of the server's catalogue (its name and description are the admin's).
NO_WRITTEN_TEXT = {
    "/admin/analyzers/definitions/{definition_id}",
    "/admin/responders/definitions/{definition_id}",
}
LIST_PAGES_WITH_QUERY = {"/search": "?q=xss-ref"}


def script_errors(message) -> list[str]:
    """A CSP violation or a script error; failed loads are checked by their answers."""
    if message.type != "error" or message.text.startswith("Failed to load resource"):
        return []
    return [f"console {message.text}"]


def failed_loads(response) -> list[str]:
    # A fragment (the top bar's counters) opened alone has no icon link: the browser asks.
    if response.status < 400 or response.url.endswith("/favicon.ico"):
        return []
    return [f"{response.status} {response.url}"]


@pytest.mark.parametrize("route", GET_PAGES, ids=str)
def test_payloads_are_text_on_every_page(page: Page, server, hostile, route) -> None:
    made, fallback = hostile
    if route in PLATFORM_PAGES:
        user, password = ADMIN_LOGIN, ADMIN_PASSWORD
    else:
        user, password = make_user(server, profile="org-admin")
    problems: list[str] = []
    page.on(
        "dialog", lambda dialog: (problems.append(f"dialog {dialog.message}"), dialog.dismiss())
    )
    page.on("console", lambda msg: problems.extend(script_errors(msg)))
    page.on("response", lambda r: problems.extend(failed_loads(r)))
    login(page, server, user, password)
    path = path_with_payload_objects(route, made, fallback)
    path += LIST_PAGES_WITH_QUERY.get(route.path, "")
    answer = page.goto(server.url + path)
    assert answer is not None and answer.status < 500
    page.wait_for_load_state("networkidle")
    assert page.locator(INJECTED).count() == 0, f"{route}: a payload became markup"
    assert problems == [], f"{route}: {problems}"
    assert PARAM.search(path) is None
    if route.params and route.path not in NO_WRITTEN_TEXT and page.locator("main#content").count():
        # The object's page (not a fragment of it) shows the payload, as text (serialised back, it is escaped).
        content = page.content()
        assert any(e in content for e in ESCAPED), f"{route}: the payload is not shown"
