"""Every mutation records its events, generated from the route table.

Each POST/PATCH/PUT/DELETE route of every front door (TheHive v1, TheHive's Cortex
connector, the Cortex API) is called with valid input on fresh objects of a fresh
organisation; the audit table must then hold exactly the events its recipe in
``tests/routetable.py`` lists (object type, action, the object it is about, the changed
fields under their API names). The same route called with bad input must write nothing.
A route missing from the registry fails: a new route is covered without anyone adding a
test by hand, only its recipe.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from dataclasses import replace

import pytest
import requests

from tests.routetable import (
    MISSING_ID,
    NO_CHANGE,
    PASSWORD,
    RECIPES,
    AuditLog,
    Objects,
    Recipe,
    Refs,
    Route,
    api_routes,
    build,
    is_background,
    recipe_of,
)

MUTATIONS = [route for route in api_routes() if route.mutating]

# Known findings, each fixed in another helper's area; strict, so the day the fix lands the
# test passes, fails as XPASS, and whoever landed it removes the line.
KNOWN: dict[str, str] = {}
# Routes that cannot succeed in the test environment, and why.
UNREACHABLE = {
    "POST /api/v1/connector/misp/export/{case_ref}/{server}": "needs a MISP server",
}


def _cases(routes: list[Route]) -> list:
    return [pytest.param(route, id=str(route), marks=_known(route)) for route in routes]


def _known(route: Route) -> list:
    reason = KNOWN.get(str(route))
    return [pytest.mark.xfail(strict=True, reason=reason)] if reason else []


class Org:
    """A new organisation and an org-admin of it (made by the platform administrator)."""

    def __init__(self, server) -> None:
        self.server = server
        self.name = "audit-" + uuid.uuid4().hex[:10]
        self.admin = server.http("admin")
        login = f"audit-{uuid.uuid4().hex[:10]}@example.com"
        for path, body in (
            ("/api/v1/organisation", {"name": self.name, "description": "audit"}),
            (
                "/api/v1/user",
                {
                    "login": login,
                    "name": "Audit",
                    "profile": "org-admin",
                    "organisation": self.name,
                    "password": PASSWORD,
                },
            ),
        ):
            response = self.admin.post(server.url + path, json=body)
            assert response.status_code == 201, response.text
        self.member = server.http(self.name, auth=(login, PASSWORD))

    def caller(self, recipe: Recipe):
        if recipe.caller == "session":
            return self.logged_in()
        return self.admin if recipe.caller == "admin" else self.member

    def logged_in(self) -> requests.Session:
        """The member with a session cookie and its CSRF token, as the web UI calls."""
        session = requests.Session()
        login, password = self.member.auth
        response = session.post(
            self.server.url + "/api/v1/login", json={"user": login, "password": password}
        )
        assert response.ok, response.text
        session.headers["X-CSRF-Token"] = response.json()["csrfToken"]
        session.headers["X-Organisation"] = self.name
        return session

    def objects(self) -> Objects:
        return Objects(self.server, self.name, self.member)


@pytest.fixture(scope="module")
def shared_org(server) -> Org:
    return Org(server)


@pytest.fixture
def org(server, shared_org, route) -> Org:
    """The module's organisation (each route gets fresh objects in it), or a new one for a
    route whose recipe is ``isolated``."""
    recipe = RECIPES.get(str(route))
    return Org(server) if recipe is not None and recipe.isolated else shared_org


@pytest.fixture(scope="module")
def audit(server):
    log = AuditLog(server)
    yield log
    log.close()


def _details(event: dict) -> dict:
    details = event["details"]
    return json.loads(details) if isinstance(details, str) else details or {}


def _about(event: dict) -> str | None:
    return None if event["object_id"] is None else f"~{event['object_id']}"


def _response_id(response) -> str | None:
    try:
        answer = response.json()
    except ValueError:
        return None
    if isinstance(answer, list) and answer:
        answer = answer[0]
    return answer.get("_id") or answer.get("id") if isinstance(answer, dict) else None


@pytest.mark.parametrize("route", _cases(MUTATIONS))
def test_every_mutation_records_its_events(org, audit, route):
    recipe = recipe_of(route)
    if str(route) in UNREACHABLE:
        pytest.skip(UNREACHABLE[str(route)])
    refs = Refs(org.objects())
    call = build(route, recipe, refs)  # makes the objects the call needs
    caller = org.caller(recipe)  # a login, if any, is not the call's event
    before = audit.settle()
    response = call.send(caller, org.server.url)
    assert response.status_code < 300, f"{call}: {response.status_code} {response.text}"
    written = [e for e in audit.since(before) if not is_background(e)]
    seen = Counter((e["object_type"], e["action"]) for e in written)
    wanted = Counter((e.object_type, e.action) for e in recipe.events)
    assert seen == wanted, (
        f"{route} wrote {[(e['object_type'], e['action'], _details(e)) for e in written]}"
        + (f" (recorded nothing: {recipe.no_event})" if recipe.no_event else "")
    )
    body_fields = set(call.json or {}) - {"ids"} if isinstance(call.json, dict) else set()
    for expected in recipe.events:
        matching = [
            e
            for e in written
            if (e["object_type"], e["action"]) == (expected.object_type, expected.action)
        ]
        if expected.about == "response":
            assert _response_id(response) in {_about(e) for e in matching}, (route, matching)
        elif expected.about is not None:
            about = refs.used.get(expected.about) or refs.own[expected.about]
            assert about in {_about(e) for e in matching}, (route, expected, matching)
        if expected.fields:
            for event in matching:
                missing = body_fields - set(_details(event))
                assert not missing, f"{route}: {missing} not in the event's details {event}"


def _bad(route: Route, recipe: Recipe, refs: Refs):
    """The same call with bad input: a body that is not an object, or (without a body) an id
    nobody has."""
    call = build(route, recipe, refs)
    if recipe.bad_body is not None:
        return call.__class__(call.method, call.path, json=recipe.bad_body)
    if call.json is not None:
        return call.__class__(call.method, call.path, json="not an object")
    if call.files is not None:
        return call.__class__(call.method, call.path, data={"_json": "[1, 2]"}, files={"x": b""})
    if route.params:
        path = route.path
        for name in route.params:  # an id nobody has in the first parameter
            path = path.replace("{" + name + "}", MISSING_ID, 1)
            break
        filled = build(route, recipe, refs).path
        return call.__class__(call.method, _fill_rest(path, filled))
    return None


def _fill_rest(template: str, filled: str) -> str:
    """``template`` with its remaining parameters taken from ``filled`` (same route)."""
    out = []
    for mine, theirs in zip(template.split("/"), filled.split("/"), strict=True):
        out.append(theirs if mine.startswith("{") else mine)
    return "/".join(out)


def _with_nul(route: Route, recipe: Recipe, own) -> list:
    """The valid call with a NUL in every text it sends (PostgreSQL's text cannot hold one,
    SQLite's can: both refuse it at the door), and with one in its query string."""
    call = build(route, recipe, Refs(own))
    calls = [replace(call, params={**(call.params or {}), "nul": "\x00"})]
    if call.json is not None:
        calls.append(replace(call, json=_nul_texts(call.json)))
    if call.data:
        calls.append(replace(call, data=_nul_texts(call.data)))
    return calls


def _nul_texts(value):  # noqa: ANN001, ANN202
    """``value`` with a NUL after every text (``_json`` form fields decoded first), or with a
    NUL key when it holds no text at all."""
    if isinstance(value, str):
        return value + "\x00"
    if isinstance(value, list):
        return [_nul_texts(item) for item in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for key, item in value.items():
        if key == "_json" and isinstance(item, str):
            out[key] = json.dumps(_nul_texts(json.loads(item)))
        else:
            out[key] = _nul_texts(item)
    if out == value or not any(isinstance(v, (str, list, dict)) for v in value.values()):
        out["nul\x00"] = "nul\x00"
    return out


def _last_id_unknown(route: Route, recipe: Recipe, own) -> list:
    """The valid call with its *last* id (often the second of a bulk list, or an id in the
    body) replaced by one nobody has: refused once earlier parts may have been written, so
    the whole request must roll back."""
    count = len(_slots(route, recipe, own))
    if count == 0 or recipe.no_event == NO_CHANGE:  # a read finds nothing: not a refusal
        return []
    return [build(route, recipe, Refs(own, missing=count - 1))]


def _slots(route: Route, recipe: Recipe, own) -> list[str]:
    refs = Refs(own)
    build(route, recipe, refs)
    return refs.slots


@pytest.mark.parametrize("route", _cases(MUTATIONS))
def test_a_rejected_mutation_records_nothing(shared_org, audit, route):
    org = shared_org
    recipe = recipe_of(route)
    own = org.objects()
    calls = [c for c in [_bad(route, recipe, Refs(own))] if c is not None]
    calls += _last_id_unknown(route, recipe, own)
    calls += _with_nul(route, recipe, own)
    if not calls:
        pytest.skip(f"{route} takes no input that could be bad")
    caller = org.caller(recipe)  # a login, if any, is not the call's event
    for call in calls:
        before = audit.settle()
        response = call.send(caller, org.server.url)
        assert 400 <= response.status_code < 500, f"{call}: {response.status_code} {response.text}"
        assert {"type", "message"} <= set(response.json()), response.text
        written = [e for e in audit.since(before) if not is_background(e)]
        assert written == [], f"{call} rejected ({response.status_code}) but wrote {written}"
