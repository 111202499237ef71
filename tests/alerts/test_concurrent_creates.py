"""Concurrent alert creation (group commit): many writers at once, some of them rejected.

Every valid alert is created exactly once with its observables, every invalid or duplicate
one gets its 4xx, a rejected request takes none of its neighbours with it, and the audit
log holds exactly one creation event per created alert."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

TOTAL = 200


def _payloads(run: str) -> list[tuple[str, dict]]:
    """(kind, body): kind is "valid", "invalid" or "twin" (two alerts with one identity)."""
    out: list[tuple[str, dict]] = []
    for n in range(TOTAL):
        body = {
            "type": "concurrent",
            "source": "pytest",
            "sourceRef": f"{run}-{n}",
            "title": f"alert {n}",
            "description": "created concurrently",
            "observables": [
                {"dataType": "ip", "data": f"10.1.{n // 250}.{n % 250}"},
                {"dataType": "domain", "data": f"host{n}.example.com"},
            ],
        }
        if n % 20 == 3:
            out.append(("invalid", {**body, "severity": 9}))
        elif n % 20 == 7:
            bad = [{"dataType": "no-such-type", "data": "x"}]
            out.append(("invalid", {**body, "observables": bad}))
        elif n % 20 == 11:
            out.append(("invalid", {**body, "title": None}))
        elif n % 20 == 14:
            out.append(("twin", body))
        elif n % 20 == 15:
            out.append(("twin", {**body, "sourceRef": f"{run}-{n - 1}", "title": "twin"}))
        else:
            out.append(("valid", body))
    return out


def _audit_creations(http, url: str) -> list[dict]:
    query = {
        "query": [
            {"_name": "listAudit"},
            {
                "_name": "filter",
                "_and": [
                    {"_eq": {"_field": "objectType", "_value": "Alert"}},
                    {"_eq": {"_field": "action", "_value": "create"}},
                ],
            },
            {"_name": "page", "from": 0, "to": 10 * TOTAL},
        ]
    }
    r = http.post(url + "/api/v1/query", json=query)
    assert r.status_code == 200, r.text
    return r.json()


def test_concurrent_creates_each_answered_on_its_own(server, fresh_org):
    org, _client = fresh_org
    run = uuid.uuid4().hex[:8]
    payloads = _payloads(run)

    def post(item: tuple[str, dict]) -> tuple[str, dict, int, dict]:
        kind, body = item
        r = server.http(organisation=org).post(server.url + "/api/v1/alert", json=body)
        return kind, body, r.status_code, r.json()

    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(post, payloads))

    created = {}
    twins: dict[str, list[tuple[int, dict]]] = {}
    for kind, body, status, answer in answers:
        if kind == "invalid":
            assert 400 <= status < 500, (body, answer)
            assert {"type", "message"} <= answer.keys()
            continue
        if kind == "twin":
            twins.setdefault(body["sourceRef"], []).append((status, answer))
        if status == 201:
            assert body["sourceRef"] not in created, body
            created[body["sourceRef"]] = answer["_id"]
            assert answer["observableCount"] == 2
        else:
            assert kind == "twin", (body, answer)
    # Two alerts with one identity race: whichever comes second is the duplicate.
    for pair in twins.values():
        assert sorted(status for status, _answer in pair) == [201, 400], pair
        assert [a["type"] for status, a in pair if status == 400] == ["CreateError"]

    http = server.http(organisation=org)
    listed = http.post(
        server.url + "/api/v1/query",
        json={"query": [{"_name": "listAlert"}, {"_name": "page", "from": 0, "to": 10 * TOTAL}]},
    ).json()
    assert sorted(a["sourceRef"] for a in listed) == sorted(created)
    assert {a["_id"] for a in listed} == set(created.values())
    assert all(a["observableCount"] == 2 for a in listed)

    creations = _audit_creations(http, server.url)
    assert sorted(e["objectId"] for e in creations) == sorted(created.values())
