"""One object of each kind in an organisation, for tests that call every route."""

from __future__ import annotations

from typing import Any

import requests

from tests.harness import Server


def seed_objects(server: Server, org: str) -> dict[str, str]:
    """Create a case (and a second one), an alert, a task, a log, an observable, a comment,
    a page, a custom event in ``org``; a page template, a case template, a custom field, an
    organisation, a profile and a user. Returns path segment -> id of the object that
    follows that segment in a route (``/case/{ref}`` -> the case)."""
    http = server.http(organisation=org)
    admin = server.http(organisation="admin")
    ids: dict[str, str] = {}
    tag = org.replace("@", "")

    def make(
        segment: str, session: requests.Session, path: str, body: dict, key: str = "_id"
    ) -> Any:
        response = session.post(server.url + path, json=body, timeout=30)
        if response.status_code not in (200, 201):
            return None
        data = response.json()
        value = (data[0] if isinstance(data, list) else data).get(key)
        if value is not None:
            ids[segment] = str(value)
        return value

    case = make("case", http, "/api/v1/case", {"title": "seed", "description": "seed"})
    make("merge", http, "/api/v1/case", {"title": "seed 2", "description": "seed"})
    ids["import"] = ids.get("merge", "")
    alert = {"type": "seed", "source": tag, "sourceRef": "1", "title": "t", "description": "d"}
    make("alert", http, "/api/v1/alert", alert)
    task = make("task", http, f"/api/v1/case/{case}/task", {"title": "seed"})
    make("log", http, f"/api/v1/task/{task}/log", {"message": "seed"})
    observable = {"dataType": "domain", "data": "seed.example"}
    make("observable", http, f"/api/v1/case/{case}/observable", observable)
    make("comment", http, f"/api/v1/case/{case}/comment", {"message": "seed"})
    page = {"title": "seed", "category": "seed", "content": "seed"}
    make("page", http, f"/api/v1/case/{case}/page", page)
    make("pageTemplate", http, "/api/v1/pageTemplate", page)
    event = {"title": "seed", "date": 1_700_000_000_000}
    make("customEvent", http, f"/api/v1/case/{case}/customEvent", event)
    make("caseTemplate", http, "/api/v1/caseTemplate", {"name": f"seed-{tag}"})
    field = {"name": f"seed{tag}"[:60], "description": "seed", "type": "string"}
    make("customField", admin, "/api/v1/customField", field)
    org_body = {"name": f"seed-{tag}"[:60], "description": "seed"}
    make("organisation", admin, "/api/v1/organisation", org_body, "name")
    profile = {"name": f"seed-{tag}"[:60], "permissions": []}
    make("profile", admin, "/api/v1/profile", profile, "name")
    user = {"login": f"seed@{tag}.local", "name": "seed", "profile": "analyst"}
    make("user", http, "/api/v1/user", user, "login")
    return ids


def use_ids(path: str, params: dict[str, Any], ids: dict[str, str]) -> dict[str, Any]:
    """``params`` with each path id that follows a known segment replaced by the seeded id."""
    out = dict(params)
    segments = path.split("/")
    for before, segment in zip(segments, segments[1:], strict=False):
        name = segment.strip("{}")
        if segment.startswith("{") and before in ids:
            out[name] = ids[before]
    return out
