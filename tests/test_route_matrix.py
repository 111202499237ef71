"""Cross-tenant matrix, generated from the app's route table.

Three organisations: A and B, strangers, and C, linked with B and holding a *read-only*
share of B's case (its tasks and observables included). For every route of every front
door and every id it takes (path parameters and ids inside the body, see
``tests/routetable.py``), an org-admin of A sends the call with that one id replaced by
B's object of the same kind:

* the answer is 403 or 404, and the same as for an id nobody has (no existence oracle);
* nothing is written (the audit table gains no row; every mutation writes one, see
  ``tests/audit/test_every_mutation.py``), and B's objects read back the same at the end.

Then every mutating route is sent by an org-admin of C with one id replaced by an object of
B's shared case: 403 or 404, nothing written. A route the registry does not describe fails.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import pytest
import requests

from tests.routetable import (
    FACTORIES,
    RECIPES,
    SHARED_KINDS,
    AuditLog,
    Objects,
    Refs,
    Route,
    api_routes,
    build,
    is_background,
    link,
    member,
    recipe_of,
)

ROUTES = api_routes()

# The objects of B's case that C sees through its read-only share.
SHARED_CASE_KINDS = {
    "case",
    "task",
    "log",
    "logAttachment",
    "observable",
    "observable2",
    "fileObservable",
    "observableAttachment",
    "comment",
    "page",
    "procedure",
    "customEvent",
    "caseAttachment",
    "job",
    "action",
    "share",
}

# Known findings, each fixed in another helper's area; strict, so that the day the fix lands
# the case passes, fails as XPASS, and whoever landed it removes the line.
KNOWN_CROSS_TENANT: dict[str, str] = {}
KNOWN_SHARE: dict[str, str] = {}

FINISHED = {"Success", "Failure", "Deleted"}

# Organisation names: a caller may name an organisation it is not linked with, and is told
# so (400 "not linked", 403 "not yours") where an unknown name is a 404. The call must still
# be refused and write nothing; the different answer is listed in the report, not failed.
ORG_NAME_KINDS = {"organisation", "partner", "stranger"}

# (route, kind) whose foreign id is handled exactly like an unknown one, by design.
SAME_AS_UNKNOWN = {
    # TheHive records a job or an action naming an analyzer/responder the caller's
    # organisation does not have, and the engine ends it as a Failure ("Analyzer X not
    # found", tests/analysis/test_connector.py): B's worker is never used.
    **{
        (f"POST {prefix}{path}", kind): "a job for an unknown analyzer is recorded and fails"
        for prefix in ("/api/connector/cortex", "/api/v1/connector/cortex")
        for path, kind in (
            ("/job", "analyzer"),
            ("/job/_bulk", "analyzer"),
            ("/action", "responder"),
        )
    },
}


class _Placeholder:
    """Stands for an organisation's objects when only the slots of a call are wanted."""

    def __getitem__(self, kind: str) -> str:
        return f"<{kind}>"


def _slots(route: Route, only: set[str] | None = None) -> list[str]:
    recipe = RECIPES.get(str(route))
    if recipe is None:
        return ["?"]  # not described: the test fails on it
    refs = Refs(_Placeholder(), only=only)  # type: ignore[arg-type]
    build(route, recipe, refs)
    return refs.slots


def _params(routes: list[Route], known: dict[str, str]) -> list:
    return [
        pytest.param(
            route,
            id=str(route),
            marks=[pytest.mark.xfail(strict=True, reason=known[str(route)])]
            if str(route) in known
            else [],
        )
        for route in routes
    ]


# POSTs that only read (queries, searches): a share lets C read B's case.
READ_ONLY_POSTS = {
    "/api/v1/query",
    "/api/analyzer/_search",
    "/api/responder/_search",
    "/api/job/_search",
}

# GETs first, deletions last: a refused call must not depend on what an earlier one did.
ORDER = {"GET": 0, "POST": 1, "PUT": 1, "PATCH": 1, "DELETE": 2}
WITH_IDS = sorted((r for r in ROUTES if _slots(r)), key=lambda r: ORDER[r.method])
SHARE_ROUTES = [
    r
    for r in ROUTES
    if r.mutating and _slots(r, SHARED_CASE_KINDS) and r.path not in READ_ONLY_POSTS
]


# --------------------------------------------------------------------------- the organisations


@dataclass
class Tenants:
    server: object
    audit: AuditLog
    a: Objects
    b: Objects
    c: Objects
    callers: dict[str, requests.Session]
    snapshot: dict


def _org(server, prefix: str) -> tuple[str, requests.Session]:
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    server.create_org(name)
    return name, member(server, name, "org-admin")


def _wait_for_jobs(objects: Objects) -> None:
    """B's jobs and actions finish before the snapshot (their completion changes them)."""
    for kind, path in (
        ("job", "/api/connector/cortex/job/"),
        ("action", "/api/connector/cortex/action/"),
    ):
        if kind not in objects.made:
            continue
        for _ in range(300):
            if objects.request("GET", path + objects.made[kind])["status"] in FINISHED:
                break
            time.sleep(0.1)


# What B reads back (as B) to tell that nothing changed: kind -> query.
SNAPSHOT_QUERIES = {
    "case": "getCase",
    "case2": "getCase",
    "alert": "getAlert",
    "alert2": "getAlert",
    "task": "getTask",
    "log": "getLog",
    "observable": "getObservable",
    "observable2": "getObservable",
    "comment": "getComment",
    "procedure": "getProcedure",
    "caseTemplate": "getCaseTemplate",
    "pageTemplate": "getPageTemplate",
    "user": "getUser",
    "organisation": "getOrganisation",
    "job": "getJob",
    "action": "getAction",
}
CHILDREN = ("tasks", "observables", "comments", "pages", "procedures", "attachments", "shares")


def _snapshot(b: Objects) -> dict:
    seen: dict = {}
    for kind, query in SNAPSHOT_QUERIES.items():
        ref = b.made.get(kind)
        if ref is not None:
            seen[kind] = b.post("/api/v1/query", {"query": [{"_name": query, "idOrName": ref}]})
    for child in CHILDREN:
        query = [{"_name": "getCase", "idOrName": b["case"]}, {"_name": child}]
        response = b.session.post(b.server.url + "/api/v1/query", json={"query": query})
        seen[f"case.{child}"] = response.json() if response.ok else response.status_code
    seen["workers"] = b.request("GET", "/api/v1/analysis/worker")
    links = b.request("GET", f"/api/v1/organisation/{b.org}/links")
    seen["links"] = sorted(
        (link["organisation"]["name"], link["linkType"], link["otherLinkType"]) for link in links
    )
    return seen


@pytest.fixture(scope="module")
def tenants(server):
    a_name, a_session = _org(server, "matrix-a")
    b_name, b_session = _org(server, "matrix-b")
    c_name, c_session = _org(server, "matrix-c")
    link(server, b_name, c_name)
    a, b, c = (
        Objects(server, a_name, a_session),
        Objects(server, b_name, b_session),
        Objects(server, c_name, c_session),
    )
    # Every kind of B's objects exists before the snapshot, and B's case is shared read-only
    # with C (tasks and observables included).
    for kind in FACTORIES:
        if kind not in SHARED_KINDS:
            b[kind]
    share = {
        "organisation": c_name,
        "profile": "read-only",
        "taskRule": "all",
        "observableRule": "all",
    }
    b.post(f"/api/v1/case/{b['case']}/shares", {"shares": [share]})
    _wait_for_jobs(b)
    audit = AuditLog(server)
    yield Tenants(
        server=server,
        audit=audit,
        a=a,
        b=b,
        c=c,
        callers={"a": a_session, "c": c_session},
        snapshot=_snapshot(b),
    )
    audit.close()


def _send(tenants: Tenants, who: str, route: Route, refs: Refs) -> tuple[requests.Response, list]:
    recipe = recipe_of(route)
    call = build(route, recipe, refs)  # makes the caller's own objects first
    before = tenants.audit.settle()
    response = call.send(tenants.callers[who], tenants.server.url)
    written = [e for e in tenants.audit.since(before) if not is_background(e)]
    return response, written


def _shape(response: requests.Response) -> str:
    return f"{response.status_code} {response.text[:300]}"


# --------------------------------------------------------------------------- the tests


def test_every_route_is_described():
    missing = [str(route) for route in ROUTES if str(route) not in RECIPES]
    assert not missing, f"routes missing from tests/routetable.py: {missing}"
    stale = set(RECIPES) - {str(route) for route in ROUTES}
    assert not stale, f"recipes of routes that no longer exist: {sorted(stale)}"


@pytest.mark.parametrize("route", _params(WITH_IDS, KNOWN_CROSS_TENANT))
def test_another_organisations_ids_reach_nothing(tenants, route):
    problems = []
    for slot, kind in enumerate(_slots(route)):
        foreign, written = _send(tenants, "a", route, Refs(tenants.a, tenants.b, foreign=slot))
        missing, _ = _send(tenants, "a", route, Refs(tenants.a, missing=slot))
        if (str(route), kind) in SAME_AS_UNKNOWN:
            if foreign.status_code != missing.status_code:
                problems.append(f"B's {kind}: {_shape(foreign)}, unknown: {_shape(missing)}")
            continue
        if kind in ORG_NAME_KINDS and 400 <= foreign.status_code < 500:
            pass  # refused; see ORG_NAME_KINDS
        elif foreign.status_code == missing.status_code == 200 and route.method == "POST":
            # queries: another organisation's ids find what unknown ids find (nothing)
            if foreign.json() != missing.json():
                problems.append(f"B's {kind}: {_shape(foreign)}, unknown: {_shape(missing)}")
        elif foreign.status_code not in (403, 404):
            problems.append(f"B's {kind}: {_shape(foreign)}")
        elif foreign.status_code != missing.status_code:
            problems.append(
                f"B's {kind}: {foreign.status_code}, an unknown id: {missing.status_code}"
            )
        if written:
            problems.append(f"B's {kind}: wrote {written}")
    assert not problems, f"{route}: " + "; ".join(problems)


@pytest.mark.parametrize("route", _params(SHARE_ROUTES, KNOWN_SHARE))
def test_a_read_only_share_changes_nothing(tenants, route):
    problems = []
    for slot, kind in enumerate(_slots(route, SHARED_CASE_KINDS)):
        refs = Refs(tenants.c, tenants.b, foreign=slot, only=SHARED_CASE_KINDS)
        response, written = _send(tenants, "c", route, refs)
        if response.status_code not in (403, 404):
            problems.append(f"B's shared {kind}: {_shape(response)}")
        if written:
            problems.append(f"B's shared {kind}: wrote {written}")
    assert not problems, f"{route}: " + "; ".join(problems)


def test_nothing_changed_in_the_other_organisation(tenants):
    """Runs last (file order): B's objects read back as they were before the matrix."""
    _wait_for_jobs(tenants.b)
    now = _snapshot(tenants.b)
    changed = {
        k: (tenants.snapshot.get(k), now.get(k))
        for k in now
        if now.get(k) != tenants.snapshot.get(k)
    }
    assert not changed, changed
