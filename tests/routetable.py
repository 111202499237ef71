"""The app's route table, and how to call every route of it with valid input.

The generic tests (the cross-tenant matrix in ``tests/test_route_matrix.py``, the audit
events of every mutation in ``tests/audit/test_every_mutation.py``) walk
``create_app(settings)``'s routes and ask this registry how to call each one:

* the *kind* of object each path parameter names: the path segment before the parameter
  (``/case/{ref}`` is a case) unless the route's :class:`Recipe` says otherwise;
* a :class:`Recipe` per route (method, path): its body, and for mutations the audit
  events it must write.

Objects are made through the real API by :class:`Objects`, one organisation's objects of
each kind, created on first use (a task inside that organisation's case, and so on). Ids
are handed out by :class:`Refs`, which counts every id a call uses (path parameters and ids
inside the body) as a *slot*: the matrix fills one slot at a time with another
organisation's object.

A route with no recipe, or a parameter whose kind is unknown, is an error: a new route must
be described here (or exempted with its reason) before the generic tests pass.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy import create_engine, text

from propolis.app import create_app
from propolis.settings import Settings
from propolis.ui.web import UiRoute

PASSWORD = "tenancy password"
MISSING_ID = "~999999999"
PARAM = re.compile(r"{(\w+)}")


# --------------------------------------------------------------------------- the route table


@dataclass(frozen=True)
class Route:
    method: str
    path: str

    @property
    def params(self) -> list[str]:
        return PARAM.findall(self.path)

    @property
    def mutating(self) -> bool:
        return self.method in ("POST", "PATCH", "PUT", "DELETE")

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def api_routes() -> list[Route]:
    """Every (method, path) of the application's API routes, in registration order."""
    return _routes(api=True)


def ui_routes() -> list[Route]:
    """Every (method, path) of the web pages (``propolis.ui``), in registration order."""
    return _routes(api=False)


@functools.cache
def route_app():
    return create_app(Settings(data_dir=Path(tempfile.mkdtemp(prefix="propolis-routes-"))))


def _routes(api: bool) -> list[Route]:
    app = route_app()
    found: list[Route] = []
    for context in iter_route_contexts(app.router.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and isinstance(route, UiRoute) != api:
            for method in sorted(context.methods or ()):
                route = Route(method, context.path)
                if route not in found:
                    found.append(route)
    return found


# --------------------------------------------------------------------------- sessions


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    json: Any = None
    files: Any = None
    data: Any = None
    params: Any = None

    def send(self, session: requests.Session, base: str) -> requests.Response:
        if self.files is not None or self.data is not None:
            return session.request(
                self.method,
                base + self.path,
                files=self.files,
                data=self.data,
                params=self.params,
                timeout=60,
            )
        return session.request(
            self.method, base + self.path, json=self.json, params=self.params, timeout=60
        )


def get(path: str) -> Call:
    return Call("GET", path)


def member(server, org: str, profile: str) -> requests.Session:
    """A new user of ``org`` with ``profile``, as a plain HTTP session acting in ``org``."""
    login = f"tenancy-{uuid.uuid4().hex[:10]}@example.com"
    admin = server.http(org)
    response = admin.post(
        server.url + "/api/v1/user",
        json={"login": login, "name": "Tenancy", "profile": profile, "password": PASSWORD},
    )
    assert response.status_code == 201, response.text
    return server.http(org, auth=(login, PASSWORD))


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def now_ms() -> int:
    return int(time.time() * 1000)


def link(server, one: str, other: str) -> None:
    """Link two organisations both ways (the platform administrator does it)."""
    admin = server.http("admin")
    response = admin.put(
        f"{server.url}/api/v1/organisation/{one}/link/{other}",
        json={"linkType": "default", "otherLinkType": "default"},
    )
    assert response.status_code in (200, 201, 204), response.text


# --------------------------------------------------------------------------- objects


def _first(value: Any) -> dict:
    return value[0] if isinstance(value, list) else value


class Objects:
    """One organisation's objects, made through the real API the first time a kind is asked.

    ``session`` is an org-admin of ``org``; ``admin`` the platform administrator (admin
    organisation) for what only it can make (organisation links, platform definitions)."""

    def __init__(self, server, org: str, session: requests.Session) -> None:
        self.server = server
        self.org = org
        self.session = session
        self.admin = server.http("admin")
        self.made: dict[str, str] = {}

    def __getitem__(self, kind: str) -> str:
        if kind not in self.made:
            factory = FACTORIES.get(kind)
            assert factory is not None, f"no factory for the kind {kind!r}"
            self.made[kind] = factory(self)
        return self.made[kind]

    def request(self, method: str, path: str, session=None, **kwargs) -> Any:
        response = (session or self.session).request(
            method, self.server.url + path, timeout=60, **kwargs
        )
        assert response.ok, f"{method} {path}: {response.status_code} {response.text}"
        return response.json() if response.content else None

    def post(self, path: str, json: Any = None, **kwargs) -> Any:
        return self.request("POST", path, json=json, **kwargs)


def _alert_body() -> dict:
    return {
        "type": "routes",
        "source": "routetable",
        "sourceRef": unique("ref"),
        "title": "route table alert",
        "description": "d",
    }


def _case(o: Objects) -> str:
    return o.post("/api/v1/case", {"title": unique("case"), "description": "d"})["_id"]


def _alert(o: Objects) -> str:
    return o.post("/api/v1/alert", _alert_body())["_id"]


def _observable(o: Objects, parent: str) -> str:
    data = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    body = {"dataType": "ip", "data": data}
    return _first(o.post(f"/api/v1/{parent}/observable", body))["_id"]


def _file_observable(o: Objects) -> dict:
    content = uuid.uuid4().hex.encode()
    created = o.post(
        f"/api/v1/case/{o['case']}/observable",
        data={"_json": '{"dataType": "file"}'},
        files={"attachment": ("evidence.txt", content, "text/plain")},
        json=None,
    )
    return _first(created)


def _attachment(o: Objects, path: str) -> str:
    created = o.post(path, files={"attachments": ("a.txt", uuid.uuid4().bytes, "text/plain")})
    items = created.get("attachments") if isinstance(created, dict) else created
    return items[0]["_id"]


def _log_attachment(o: Objects) -> str:
    created = o.post(
        f"/api/v1/log/{o['log']}/attachments",
        files={"attachments": ("l.txt", uuid.uuid4().bytes, "text/plain")},
    )
    log = _first(created) if created else None
    if isinstance(log, dict) and log.get("attachments"):
        return log["attachments"][0]["_id"]
    found = o.post(
        "/api/v1/query",
        {"query": [{"_name": "getLog", "idOrName": o["log"]}]},
    )
    return found[0]["attachments"][0]["_id"]


def _worker(o: Objects, prefix: str, kind: str, configuration: dict) -> str:
    for worker in o.request("GET", "/api/v1/analysis/worker"):
        if worker["definitionId"].startswith(prefix):
            return worker["_id"]
    definitions = o.request("GET", f"/api/v1/analysis/definition?kind={kind}")
    definition = next(d for d in definitions if d["id"].startswith(prefix))
    body = {"definitionId": definition["id"], "kind": kind, "configuration": configuration}
    return o.post("/api/v1/analysis/worker", body)["_id"]


def _job(o: Objects) -> str:
    run = {"analyzerId": o["analyzer"], "cortexId": "local", "artifactId": o["observable"]}
    job = o.post("/api/connector/cortex/job", run)["_id"]
    # Settled before it is used: a job ending later records events while a test counts them.
    o.request("GET", f"/api/job/{job}/waitreport?atMost=60seconds")
    return job


def _action(o: Objects) -> str:
    body = {
        "responderId": o["responder"],
        "cortexId": "local",
        "objectType": "case",
        "objectId": o["case"],
    }
    return o.post("/api/connector/cortex/action", body)["_id"]


def _partner(o: Objects) -> str:
    """A new organisation linked with this one (for shares and owner changes)."""
    name = unique("partner")
    o.post("/api/v1/organisation", {"name": name, "description": name}, session=o.admin)
    link(o.server, o.org, name)
    return name


def _stranger(o: Objects) -> str:
    """A new organisation linked with nobody."""
    name = unique("stranger")
    o.post("/api/v1/organisation", {"name": name, "description": name}, session=o.admin)
    return name


def _user_with_key(o: Objects) -> str:
    user = o["user"]
    response = o.session.post(f"{o.server.url}/api/v1/user/{user}/key/renew")
    assert response.ok, response.text
    return user


def _share(o: Objects) -> str:
    body = {"shares": [{"organisation": o["partner"], "profile": "analyst"}]}
    return o.post(f"/api/v1/case/{o['case']}/shares", body)[0]["_id"]


def _custom_field(o: Objects) -> str:
    name = unique("cf")
    o.post(
        "/api/v1/customField",
        {"name": name, "displayName": name, "type": "string", "description": "routes"},
        session=o.admin,
    )
    return name


def _case_metric(o: Objects) -> str:
    name = unique("metric")
    o.post("/api/v1/caseMetric", {"name": name, "title": "routes"}, session=o.admin)
    return name


def _case_custom_field(o: Objects) -> str:
    body = {
        "title": unique("case"),
        "description": "d",
        "customFields": {o["customField"]: "value"},
    }
    case = o.post("/api/v1/case", body)
    return case["customFields"][0]["_id"]


def _thar(o: Objects) -> bytes:
    response = o.session.get(f"{o.server.url}/api/v1/case/{o['case']}/export?password=pw")
    assert response.ok, response.text
    return response.content


def _user(o: Objects) -> str:
    body = {"login": unique("user") + "@example.com", "name": "U", "profile": "analyst"}
    return o.post("/api/v1/user", body)["_id"]


def _observable_type(o: Objects) -> str:
    name = unique("type")
    o.post("/api/v1/observable/type", {"name": name, "isAttachment": False}, session=o.admin)
    return name


def _profile(o: Objects) -> str:
    name = unique("profile")
    o.post("/api/v1/profile", {"name": name, "permissions": []}, session=o.admin)
    return name


FACTORIES: dict[str, Callable[[Objects], str]] = {
    "organisation": lambda o: o.org,
    "partner": _partner,
    "user": _user,
    "case": _case,
    "case2": _case,
    "alert": _alert,
    "alert2": _alert,
    "task": lambda o: o.post(f"/api/v1/case/{o['case']}/task", {"title": "t"})["_id"],
    "log": lambda o: o.post(f"/api/v1/task/{o['task']}/log", {"message": "m"})["_id"],
    "logAttachment": _log_attachment,
    "observable": lambda o: _observable(o, f"case/{o['case']}"),
    "observable2": lambda o: _observable(o, f"case/{o['case']}"),
    "alertObservable": lambda o: _observable(o, f"alert/{o['alert']}"),
    "fileObservable": lambda o: _file_observable(o)["_id"],
    "observableAttachment": lambda o: o.request("GET", f"/api/v1/observable/{o['fileObservable']}")[
        "attachment"
    ]["_id"],
    "comment": lambda o: o.post(f"/api/v1/case/{o['case']}/comment", {"message": "m"})["_id"],
    "alertComment": lambda o: o.post(f"/api/v1/alert/{o['alert']}/comment", {"message": "m"})[
        "_id"
    ],
    "page": lambda o: o.post(
        f"/api/v1/case/{o['case']}/page", {"title": unique("p"), "content": "c", "category": "k"}
    )["_id"],
    "procedure": lambda o: o.post(
        f"/api/v1/case/{o['case']}/procedure", {"patternId": "T1566", "occurDate": now_ms()}
    )["_id"],
    "customEvent": lambda o: o.post(
        f"/api/v1/case/{o['case']}/customEvent", {"date": now_ms(), "title": "e"}
    )["_id"],
    "caseAttachment": lambda o: _attachment(o, f"/api/v1/case/{o['case']}/attachments"),
    "alertAttachment": lambda o: _attachment(o, f"/api/v1/alert/{o['alert']}/attachments"),
    "orgAttachment": lambda o: _attachment(o, "/api/v1/attachment"),
    "caseTemplate": lambda o: o.post("/api/v1/caseTemplate", {"name": unique("template")})["_id"],
    "pageTemplate": lambda o: o.post(
        "/api/v1/pageTemplate", {"title": unique("page"), "content": "c", "category": "k"}
    )["_id"],
    "share": _share,
    "caseCustomField": _case_custom_field,
    "analyzer": lambda o: _worker(o, "Propolis_LocalList", "analyzer", {}),
    "responder": lambda o: _worker(
        o, "Propolis_Webhook", "responder", {"url": "http://127.0.0.1:9/routes"}
    ),
    "job": _job,
    "action": _action,
    "thar": _thar,
    # platform-wide definitions (the platform administrator makes them)
    "customField": _custom_field,
    "caseMetric": _case_metric,
    "observableType": _observable_type,
    "profile": _profile,
    "pattern": lambda o: "T1059.006",
    "definition": lambda o: next(
        d["id"]
        for d in o.request("GET", "/api/v1/analysis/definition")
        if d["id"].startswith("Propolis_LocalList")
    ),
    "responderDefinition": lambda o: next(
        d["id"]
        for d in o.request("GET", "/api/v1/analysis/definition?kind=responder")
        if d["id"].startswith("Propolis_Mailer")
    ),
    "dataType": lambda o: "ip",
    "objectType": lambda o: "case",
    "mispServer": lambda o: "no-such-misp",
    "sha256": lambda o: hashlib.sha256(b"routetable").hexdigest(),
}

# Kinds that are not an organisation's objects: the same for every caller, never a slot.
SHARED_KINDS = {
    "customField",
    "caseMetric",
    "observableType",
    "profile",
    "pattern",
    "definition",
    "responderDefinition",
    "dataType",
    "objectType",
    "mispServer",
    "sha256",
    "thar",
}

# What a parameter names when no recipe says otherwise: the segment before it.
SEGMENT_KINDS = {
    "case": "case",
    "alert": "alert",
    "task": "task",
    "log": "log",
    "observable": "observable",
    "comment": "comment",
    "customEvent": "customEvent",
    "procedure": "procedure",
    "page": "page",
    "caseTemplate": "caseTemplate",
    "pageTemplate": "pageTemplate",
    "user": "user",
    "organisation": "organisation",
    "profile": "profile",
    "customField": "customField",
    "caseMetric": "caseMetric",
    "share": "share",
    "pattern": "pattern",
    "job": "job",
    "action": "action",
    "analyzer": "analyzer",
    "worker": "analyzer",
    "responder": "responder",
    "type": "dataType",
}
# Attachments are named by the object holding them.
ATTACHMENT_KINDS = {
    None: "orgAttachment",
    "case": "caseAttachment",
    "alert": "alertAttachment",
    "log": "logAttachment",
    "observable": "observableAttachment",
}

# Ids nobody has, per kind (what a stranger's id must look like from outside).
MISSING = {
    "organisation": "no-such-organisation",
    "partner": "no-such-organisation",
    "user": "nobody-" + uuid.uuid4().hex[:6] + "@example.com",
}


def param_kinds(route: Route, recipe: Recipe) -> dict[str, str]:
    """The kind of each path parameter of ``route``."""
    kinds: dict[str, str] = {}
    segments = route.path.split("/")
    parent: str | None = None
    for index, segment in enumerate(segments):
        match = PARAM.fullmatch(segment)
        if not match:
            continue
        name = match.group(1)
        before = segments[index - 1]
        if name in recipe.params:
            kind = recipe.params[name]
        elif before in ("attachment", "attachments"):
            kind = ATTACHMENT_KINDS.get(parent)
        else:
            kind = SEGMENT_KINDS.get(before)
        assert kind is not None, f"{route}: what does {{{name}}} name? (add it to its Recipe)"
        kinds[name] = kind
        parent = kind
    return kinds


# --------------------------------------------------------------------------- ids for a call


class Refs:
    """Hands out the ids of one call. Each id of an organisation's object is a slot; slot
    ``foreign`` comes from ``other``'s objects and slot ``missing`` is an id nobody has."""

    def __init__(
        self,
        own: Objects,
        other: Objects | None = None,
        foreign: int | None = None,
        missing: int | None = None,
        only: set[str] | None = None,
    ) -> None:
        self.own, self.other = own, other
        self.foreign, self.missing = foreign, missing
        self.only = only  # kinds that are slots (None: every organisation's kind)
        self.slots: list[str] = []
        self.used: dict[str, str] = {}

    def __call__(self, kind: str) -> str:
        if kind in SHARED_KINDS or (self.only is not None and kind not in self.only):
            value = self.own[kind]
        else:
            index = len(self.slots)
            self.slots.append(kind)
            if index == self.foreign:
                assert self.other is not None
                value = self.other[kind]
            elif index == self.missing:
                value = MISSING.get(kind, MISSING_ID)
            else:
                value = self.own[kind]
        self.used.setdefault(kind, value)
        return value


Body = Callable[[Refs], Any]


@dataclass(frozen=True)
class Event:
    """An audit event a mutation must write: its object type and action, the kind of the
    object it is about (``response``: the object the call answered with; None: not checked),
    and whether the body's fields must be listed in its details (updates)."""

    object_type: str
    action: str
    about: str | None = None
    fields: bool = False


@dataclass(frozen=True)
class Recipe:
    params: dict[str, str] = field(default_factory=dict)
    body: Body | None = None
    files: Callable[[Refs], dict] | None = None
    form: Callable[[Refs], dict] | None = None  # multipart fields besides the files
    query: dict[str, str] | None = None
    # the caller: "member" (an org-admin of the organisation), "admin" (platform admin) or
    # "session" (the member logged in: session cookie and CSRF token)
    caller: str = "member"
    events: tuple[Event, ...] = ()
    # a mutating route that records nothing, and why
    no_event: str = ""
    # needs an organisation of its own (enables a worker the shared one may already have)
    isolated: bool = False
    # a bad input for the "rejected request writes nothing" check; default: a body that is
    # not an object, or a missing id when the route takes no body
    bad_body: Any = None


def build(route: Route, recipe: Recipe, refs: Refs) -> Call:
    path = route.path
    for name, kind in param_kinds(route, recipe).items():
        path = path.replace("{" + name + "}", refs(kind), 1)
    payload = recipe.body(refs) if recipe.body else None
    files = recipe.files(refs) if recipe.files else None
    data = recipe.form(refs) if recipe.form else None
    return Call(route.method, path, json=payload, files=files, data=data, params=recipe.query)


def slots_of(route: Route, recipe: Recipe, own: Objects, only: set[str] | None = None) -> list:
    """The kinds of the slots of a call (building it once with ``own``'s objects)."""
    refs = Refs(own, only=only)
    build(route, recipe, refs)
    return refs.slots


# --------------------------------------------------------------------------- recipes


def _thar_upload(r: Refs) -> dict:
    return {"file": ("case.thar", r("thar"), "application/octet-stream")}


def _misp_event(_r: Refs) -> dict:
    attribute = {"type": "ip-dst", "value": "203.0.113.5", "category": "Network activity"}
    event = {
        "uuid": str(uuid.uuid4()),
        "info": "routes",
        "date": "2024-03-01",
        "threat_level_id": "1",
        "Orgc": {"name": "CIRCL"},
        "Attribute": [attribute],
    }
    return {"file": ("event.json", json.dumps({"Event": event}).encode(), "application/json")}


def _attack_bundle(_r: Refs) -> dict:
    external = f"T9{uuid.uuid4().int % 900 + 100}"
    technique = {
        "type": "attack-pattern",
        "id": f"attack-pattern--{uuid.uuid4()}",
        "name": "Routes",
        "description": "d",
        "kill_chain_phases": [{"kill_chain_name": "mitre-attack", "phase_name": "execution"}],
        "external_references": [
            {
                "source_name": "mitre-attack",
                "external_id": external,
                "url": f"https://attack.mitre.org/techniques/{external}",
            }
        ],
    }
    bundle = {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": [technique]}
    return {"file": ("enterprise-attack.json", json.dumps(bundle).encode(), "application/json")}


def _one_file(name: str) -> Callable[[Refs], dict]:
    return lambda _r: {name: ("r.txt", uuid.uuid4().bytes, "text/plain")}


def _ip() -> str:
    n = uuid.uuid4().int
    return f"10.{n % 250}.{n // 250 % 250}.{n // 62500 % 250}"


E = Event
C = "Case"
NO_CHANGE = "reads or computes, changes nothing"

RECIPES: dict[str, Recipe] = {
    # ---------------------------------------------------------------- status, misc, query
    "GET /api/status": Recipe(),
    "GET /api/v1/status/public": Recipe(),
    "GET /api/v1/status": Recipe(),
    "GET /api/v1/license/current": Recipe(),
    "GET /api/v1/connector/misp/status": Recipe(),
    "GET /api/v1/connector/misp/_syncAlerts": Recipe(),
    "POST /api/v1/connector/misp/export/{case_ref}/{server}": Recipe(
        params={"case_ref": "case", "server": "mispServer"},
        no_event="no MISP server: refused before any change",
    ),
    "POST /api/v1/connector/misp/case/import": Recipe(
        files=_misp_event,
        form=lambda _r: {"_json": "{}"},
        events=(E(C, "create"), E("Observable", "create")),
    ),
    "POST /api/v1/query": Recipe(
        body=lambda r: {"query": [{"_name": "getCase", "idOrName": r("case")}]},
        no_event=NO_CHANGE,
    ),
    # ---------------------------------------------------------------- organisations
    "POST /api/v1/organisation": Recipe(
        body=lambda _r: {"name": unique("org"), "description": "d"},
        caller="admin",
        events=(E("Organisation", "create", "response"),),
    ),
    "GET /api/v1/organisation/{ref}": Recipe(),
    "PATCH /api/v1/organisation/{ref}": Recipe(
        body=lambda _r: {"description": unique("changed")},
        events=(E("Organisation", "update", fields=True),),
    ),
    "GET /api/v1/organisation/{ref}/avatar/{file_hash}": Recipe(params={"file_hash": "sha256"}),
    "PUT /api/v1/organisation/{ref}/link/{other}": Recipe(
        params={"ref": "partner", "other": "stranger"},
        body=lambda _r: {"linkType": "default", "otherLinkType": "default"},
        caller="admin",
        events=(E("Organisation", "update"),),
    ),
    "DELETE /api/v1/organisation/{ref}/link/{other}": Recipe(
        params={"ref": "partner", "other": "organisation"},
        caller="admin",
        events=(E("Organisation", "update"),),
    ),
    "GET /api/v1/organisation/{ref}/links": Recipe(),
    "PUT /api/v1/organisation/{ref}/links": Recipe(
        params={"ref": "partner"},
        body=lambda r: {
            "links": [
                {"toOrganisation": r("stranger"), "linkType": "default", "otherLinkType": "default"}
            ]
        },
        caller="admin",
        events=(E("Organisation", "update"),),
    ),
    "GET /api/v1/sharingProfile": Recipe(),
    # ---------------------------------------------------------------- users and profiles
    "GET /api/v1/user/current": Recipe(),
    "POST /api/v1/user": Recipe(
        body=lambda _r: {
            "login": unique("new") + "@example.com",
            "name": "N",
            "profile": "analyst",
        },
        events=(E("User", "create", "response"),),
    ),
    "GET /api/v1/user/{ref}": Recipe(),
    "PATCH /api/v1/user/{ref}": Recipe(
        body=lambda _r: {"name": unique("name")},
        events=(E("User", "update", "user", fields=True),),
    ),
    "DELETE /api/v1/user/{ref}/force": Recipe(events=(E("User", "delete", "user"),)),
    "DELETE /api/v1/user/{ref}": Recipe(events=(E("User", "update", "user"),)),
    "PUT /api/v1/user/{ref}/organisations": Recipe(
        body=lambda r: {
            "organisations": [
                {"organisation": r("organisation"), "profile": "read-only", "default": True}
            ]
        },
        events=(E("User", "update", "user"),),
    ),
    "POST /api/v1/user/{ref}/password/set": Recipe(
        body=lambda _r: {"password": unique("pw")}, events=(E("User", "update", "user"),)
    ),
    "POST /api/v1/user/{ref}/password/change": Recipe(
        params={"ref": "self"},
        body=lambda _r: {"currentPassword": PASSWORD, "password": PASSWORD},
        events=(E("User", "update", "self"),),
    ),
    "GET /api/v1/user/{ref}/key": Recipe(),
    "POST /api/v1/user/{ref}/key/renew": Recipe(events=(E("User", "update", "user"),)),
    "DELETE /api/v1/user/{ref}/key": Recipe(
        params={"ref": "userWithKey"}, events=(E("User", "update", "userWithKey"),)
    ),
    "GET /api/v1/user/{ref}/avatar/{file_hash}": Recipe(params={"file_hash": "sha256"}),
    "POST /api/v1/profile": Recipe(
        body=lambda _r: {"name": unique("profile"), "permissions": ["manageCase/create"]},
        caller="admin",
        events=(E("Profile", "create", "response"),),
    ),
    "GET /api/v1/profile/{ref}": Recipe(),
    "PATCH /api/v1/profile/{ref}": Recipe(
        body=lambda _r: {"permissions": ["manageAlert/create"]},
        caller="admin",
        events=(E("Profile", "update", None, fields=True),),
    ),
    "DELETE /api/v1/profile/{ref}": Recipe(caller="admin", events=(E("Profile", "delete"),)),
    "POST /api/v1/login": Recipe(
        body=lambda r: {"user": r("loginName"), "password": PASSWORD},
        events=(E("User", "login", "self"),),
    ),
    "POST /api/v1/logout": Recipe(caller="session", events=(E("User", "logout"),)),
    # ---------------------------------------------------------------- alerts
    "POST /api/v1/alert": Recipe(
        body=lambda _r: _alert_body(), events=(E("Alert", "create", "response"),)
    ),
    "PATCH /api/v1/alert/_bulk": Recipe(
        body=lambda r: {"ids": [r("alert"), r("alert2")], "title": unique("bulk")},
        events=(
            E("Alert", "update", "alert", fields=True),
            E("Alert", "update", "alert2", fields=True),
        ),
    ),
    "POST /api/v1/alert/delete/_bulk": Recipe(
        body=lambda r: {"ids": [r("alert"), r("alert2")]},
        events=(E("Alert", "delete", "alert"), E("Alert", "delete", "alert2")),
    ),
    "POST /api/v1/alert/merge/_bulk": Recipe(
        body=lambda r: {"caseId": r("case"), "alertIds": [r("alert")]},
        events=(E("Alert", "update", "alert"), E(C, "merge", "case")),
    ),
    "GET /api/v1/alert/{ref}": Recipe(),
    "PATCH /api/v1/alert/{ref}": Recipe(
        body=lambda _r: {"title": unique("changed"), "severity": 3},
        events=(E("Alert", "update", "alert", fields=True),),
    ),
    "DELETE /api/v1/alert/{ref}": Recipe(events=(E("Alert", "delete", "alert"),)),
    "POST /api/v1/alert/{ref}/follow": Recipe(events=(E("Alert", "update", "alert"),)),
    "POST /api/v1/alert/{ref}/unfollow": Recipe(events=(E("Alert", "update", "alert"),)),
    "POST /api/v1/alert/{ref}/case": Recipe(
        body=lambda _r: {},
        events=(E(C, "create", "response"), E("Alert", "update", "alert")),
    ),
    "POST /api/v1/alert/{ref}/merge/{case_ref}": Recipe(
        params={"case_ref": "case"},
        events=(E("Alert", "update", "alert"), E(C, "merge", "case")),
    ),
    "POST /api/v1/alert/{ref}/import/{case_ref}": Recipe(
        params={"case_ref": "case"},
        events=(E("Alert", "update", "alert"),),
    ),
    "GET /api/v1/alert/{ref}/similar/{other_ref}/observables": Recipe(
        params={"other_ref": "alert2"}
    ),
    # ---------------------------------------------------------------- cases
    "POST /api/v1/case": Recipe(
        body=lambda _r: {"title": unique("case"), "description": "d"},
        events=(E(C, "create", "response"),),
    ),
    "PATCH /api/v1/case/_bulk": Recipe(
        body=lambda r: {"ids": [r("case"), r("case2")], "title": unique("bulk")},
        events=(E(C, "update", "case", fields=True), E(C, "update", "case2", fields=True)),
    ),
    "POST /api/v1/case/_bulk/caseTemplate": Recipe(
        body=lambda r: {"ids": [r("case")], "caseTemplate": r("caseTemplate"), "tags": True},
        events=(E(C, "update", "case"),),
    ),
    "POST /api/v1/case/_bulk/access": Recipe(
        body=lambda r: {"ids": [r("case")], "access": {"_kind": "UserAccessKind", "users": []}},
        events=(E(C, "update", "case"),),
    ),
    "POST /api/v1/case/_merge/{refs}": Recipe(
        params={"refs": "caseList"},
        events=(
            E(C, "create", "response"),
            E(C, "merge", "response"),
            E(C, "delete", "case"),
            E(C, "delete", "case2"),
        ),
    ),
    "GET /api/v1/case/link/types": Recipe(),
    "POST /api/v1/case/import": Recipe(
        files=_thar_upload,
        form=lambda _r: {"_json": '{"password": "pw"}'},
        events=(E(C, "create"),),
    ),
    "DELETE /api/v1/case/customField/{ref}": Recipe(
        params={"ref": "caseCustomField"}, events=(E(C, "update"),)
    ),
    "DELETE /api/v1/case/shares": Recipe(
        body=lambda r: {"ids": [r("share")]}, events=(E(C, "update", "case"),)
    ),
    "DELETE /api/v1/case/share/{ref}": Recipe(events=(E(C, "update", "case"),)),
    "PATCH /api/v1/case/share/{ref}": Recipe(
        body=lambda _r: {"profile": "read-only"}, events=(E(C, "update", "case"),)
    ),
    "GET /api/v1/case/{ref}": Recipe(),
    "PATCH /api/v1/case/{ref}": Recipe(
        body=lambda _r: {"title": unique("changed"), "severity": 3},
        events=(E(C, "update", "case", fields=True),),
    ),
    "DELETE /api/v1/case/{ref}": Recipe(events=(E(C, "delete", "case"),)),
    "DELETE /api/v1/case/{ref}/alert/{alert_ref}": Recipe(
        params={"ref": "mergedCase", "alert_ref": "mergedAlert"},
        events=(E(C, "update", "mergedCase"),),
    ),
    "POST /api/v1/case/{ref}/observable/_merge": Recipe(
        no_event="nothing to merge in a case without similar observables"
    ),
    "GET /api/v1/case/{ref}/links": Recipe(),
    "GET /api/v1/case/{ref}/similar/{other_ref}/observables": Recipe(params={"other_ref": "case2"}),
    "GET /api/v1/case/{ref}/export": Recipe(query={"password": "pw"}),
    "POST /api/v1/case/{ref}/owner": Recipe(
        body=lambda r: {"organisation": r("partner"), "keepProfile": "analyst"},
        events=(E(C, "update", "case"),),
    ),
    "POST /api/v1/case/{ref}/access": Recipe(
        body=lambda _r: {"access": {"_kind": "UserAccessKind", "users": []}},
        events=(E(C, "update", "case"),),
    ),
    "POST /api/v1/case/{ref}/link/case/add": Recipe(
        body=lambda r: {"caseId": r("case2"), "type": "related"},
        events=(E(C, "update", "case"),),
    ),
    "POST /api/v1/case/{ref}/link/case/remove": Recipe(
        params={"ref": "linkedCase"},
        body=lambda r: {"caseId": r("case2"), "type": "related"},
        events=(E(C, "update", "linkedCase"),),
    ),
    "POST /api/v1/case/{ref}/link/external/add": Recipe(
        body=lambda _r: {"url": "https://example.com/" + unique("x"), "type": "ref"},
        events=(E(C, "update", "case"),),
    ),
    "POST /api/v1/case/{ref}/link/external/remove": Recipe(
        params={"ref": "urlLinkedCase"},
        body=lambda _r: {"url": "https://example.com/linked", "type": "ref"},
        events=(E(C, "update", "urlLinkedCase"),),
    ),
    "GET /api/v1/case/{ref}/timeline": Recipe(),
    "POST /api/v1/case/{ref}/customEvent": Recipe(
        body=lambda _r: {"date": now_ms(), "title": "e"},
        events=(E("CustomEvent", "create", "response"),),
    ),
    "GET /api/v1/customEvent/{ref}": Recipe(),
    "PATCH /api/v1/customEvent/{ref}": Recipe(
        body=lambda _r: {"title": unique("changed")},
        events=(E("CustomEvent", "update", "customEvent", fields=True),),
    ),
    "DELETE /api/v1/customEvent/{ref}": Recipe(events=(E("CustomEvent", "delete", "customEvent"),)),
    "GET /api/v1/case/{ref}/shares": Recipe(),
    "POST /api/v1/case/{ref}/shares": Recipe(
        body=lambda r: {"shares": [{"organisation": r("partner"), "profile": "read-only"}]},
        events=(E(C, "update", "case"),),
    ),
    "PUT /api/v1/case/{ref}/shares": Recipe(
        body=lambda r: {"shares": [{"organisation": r("partner"), "profile": "read-only"}]},
        events=(E(C, "update", "case"),),
    ),
    "DELETE /api/v1/case/{ref}/shares": Recipe(
        params={"ref": "sharedCase"},
        body=lambda r: {"organisations": [r("partner")]},
        events=(E(C, "update", "sharedCase"),),
    ),
    "GET /api/v1/task/{ref}/shares": Recipe(),
    "POST /api/v1/task/{ref}/shares": Recipe(
        params={"ref": "sharedTask"},
        body=lambda r: {"organisations": [r("partner")]},
        events=(E(C, "update"),),
    ),
    "DELETE /api/v1/task/{ref}/shares": Recipe(
        params={"ref": "partnerTask"},
        body=lambda r: {"organisations": [r("partner")]},
        events=(E(C, "update"),),
    ),
    "GET /api/v1/task/{ref}/actionRequired": Recipe(),
    "PUT /api/v1/task/{ref}/actionRequired/{org}": Recipe(
        params={"org": "organisation"}, events=(E(C, "update"),)
    ),
    "PUT /api/v1/task/{ref}/actionDone/{org}": Recipe(
        params={"org": "organisation"}, events=(E(C, "update"),)
    ),
    "GET /api/v1/observable/{ref}/shares": Recipe(),
    "POST /api/v1/observable/{ref}/shares": Recipe(
        params={"ref": "sharedObservable"},
        body=lambda r: {"organisations": [r("partner")]},
        events=(E(C, "update"),),
    ),
    "DELETE /api/v1/observable/{ref}/shares": Recipe(
        params={"ref": "partnerObservable"},
        body=lambda r: {"organisations": [r("partner")]},
        events=(E(C, "update"),),
    ),
    # ---------------------------------------------------------------- tasks and logs
    "POST /api/v1/case/{case_ref}/task": Recipe(
        body=lambda _r: {"title": unique("task")}, events=(E("Task", "create", "response"),)
    ),
    "PATCH /api/v1/task/_bulk": Recipe(
        body=lambda r: {"ids": [r("task")], "title": unique("bulk")},
        events=(E("Task", "update", "task", fields=True),),
    ),
    "GET /api/v1/task/{ref}": Recipe(),
    "PATCH /api/v1/task/{ref}": Recipe(
        body=lambda _r: {"title": unique("changed"), "status": "InProgress"},
        events=(E("Task", "update", "task", fields=True),),
    ),
    "DELETE /api/v1/task/{ref}": Recipe(events=(E("Task", "delete", "task"),)),
    "POST /api/v1/task/{ref}/log": Recipe(
        body=lambda _r: {"message": "m"}, events=(E("Log", "create", "response"),)
    ),
    "PATCH /api/v1/log/{ref}": Recipe(
        body=lambda _r: {"message": unique("changed")},
        events=(E("Log", "update", "log", fields=True),),
    ),
    "DELETE /api/v1/log/{ref}": Recipe(events=(E("Log", "delete", "log"),)),
    "POST /api/v1/log/{ref}/attachments": Recipe(
        files=_one_file("attachments"), events=(E("Attachment", "create"),)
    ),
    "DELETE /api/v1/log/{ref}/attachments/{attachment_ref}": Recipe(
        events=(E("Attachment", "delete", "logAttachment"),)
    ),
    "GET /api/v1/log/{ref}/attachment/{attachment_ref}/download": Recipe(),
    # ---------------------------------------------------------------- observables
    "POST /api/v1/observable/type": Recipe(
        body=lambda _r: {"name": unique("type"), "isAttachment": False},
        caller="admin",
        events=(E("ObservableType", "create", "response"),),
    ),
    "GET /api/v1/observable/type/{ref}": Recipe(params={"ref": "observableType"}),
    "DELETE /api/v1/observable/type/{ref}": Recipe(
        params={"ref": "observableType"},
        caller="admin",
        events=(E("ObservableType", "delete"),),
    ),
    "POST /api/v1/case/{case_id}/observable": Recipe(
        body=lambda _r: {"dataType": "ip", "data": _ip()},
        events=(E("Observable", "create", "response"),),
    ),
    "POST /api/v1/alert/{alert_id}/observable": Recipe(
        body=lambda _r: {"dataType": "ip", "data": _ip()},
        events=(E("Observable", "create", "response"),),
    ),
    "PATCH /api/v1/observable/_bulk": Recipe(
        body=lambda r: {"ids": [r("observable"), r("observable2")], "message": "bulk"},
        events=(
            E("Observable", "update", "observable", fields=True),
            E("Observable", "update", "observable2", fields=True),
        ),
    ),
    "GET /api/v1/observable/{ref}": Recipe(),
    "PATCH /api/v1/observable/{ref}": Recipe(
        body=lambda _r: {"message": unique("changed"), "ioc": True},
        events=(E("Observable", "update", "observable", fields=True),),
    ),
    "DELETE /api/v1/observable/{ref}": Recipe(events=(E("Observable", "delete", "observable"),)),
    "GET /api/v1/observable/{ref}/attachment/{attachment_ref}/download": Recipe(
        params={"ref": "fileObservable", "attachment_ref": "observableAttachment"}
    ),
    # ---------------------------------------------------------------- attachments
    "POST /api/v1/attachment": Recipe(
        files=_one_file("attachments"), events=(E("Attachment", "create"),)
    ),
    "GET /api/v1/attachment/{ref}/download": Recipe(),
    "GET /api/v1/attachment/{ref}": Recipe(),
    "DELETE /api/v1/attachment/{ref}": Recipe(events=(E("Attachment", "delete", "orgAttachment"),)),
    "POST /api/v1/alert/{alert_id}/attachments": Recipe(
        files=_one_file("attachments"), events=(E("Attachment", "create"),)
    ),
    "GET /api/v1/alert/{alert_id}/attachment/{ref}/download": Recipe(),
    "DELETE /api/v1/alert/{alert_id}/attachment/{ref}": Recipe(
        events=(E("Attachment", "delete", "alertAttachment"),)
    ),
    "POST /api/v1/case/{case_id}/attachments": Recipe(
        files=_one_file("attachments"), events=(E("Attachment", "create"),)
    ),
    "GET /api/v1/case/{case_id}/attachment/{ref}/download": Recipe(),
    "DELETE /api/v1/case/{case_id}/attachment/{ref}": Recipe(
        events=(E("Attachment", "delete", "caseAttachment"),)
    ),
    # ---------------------------------------------------------------- comments
    "POST /api/v1/case/{case_ref}/comment": Recipe(
        body=lambda _r: {"message": "m"}, events=(E("Comment", "create", "response"),)
    ),
    "POST /api/v1/alert/{alert_ref}/comment": Recipe(
        body=lambda _r: {"message": "m"}, events=(E("Comment", "create", "response"),)
    ),
    "GET /api/v1/comment/{ref}": Recipe(),
    "PATCH /api/v1/comment/{ref}": Recipe(
        body=lambda _r: {"message": unique("changed")},
        events=(E("Comment", "update", "comment", fields=True),),
    ),
    "DELETE /api/v1/comment/{ref}": Recipe(events=(E("Comment", "delete", "comment"),)),
    # ---------------------------------------------------------------- templates
    "POST /api/v1/caseTemplate": Recipe(
        body=lambda _r: {"name": unique("template")},
        events=(E("CaseTemplate", "create", "response"),),
    ),
    "GET /api/v1/caseTemplate/{ref}": Recipe(),
    "PATCH /api/v1/caseTemplate/{ref}": Recipe(
        body=lambda _r: {"description": unique("changed")},
        events=(E("CaseTemplate", "update", "caseTemplate", fields=True),),
    ),
    "DELETE /api/v1/caseTemplate/{ref}": Recipe(
        events=(E("CaseTemplate", "delete", "caseTemplate"),)
    ),
    "PUT /api/v1/caseTemplate/{ref}/pageTemplate/link": Recipe(
        body=lambda r: {"pageTemplateIds": [r("pageTemplate")]},
        events=(E("CaseTemplate", "update", "caseTemplate"),),
    ),
    "POST /api/v1/pageTemplate": Recipe(
        body=lambda _r: {"title": unique("page"), "content": "c", "category": "k"},
        events=(E("PageTemplate", "create", "response"),),
    ),
    "GET /api/v1/pageTemplate/{ref}": Recipe(),
    "PATCH /api/v1/pageTemplate/{ref}": Recipe(
        body=lambda _r: {"title": unique("changed")},
        events=(E("PageTemplate", "update", "pageTemplate", fields=True),),
    ),
    "DELETE /api/v1/pageTemplate/{ref}": Recipe(
        events=(E("PageTemplate", "delete", "pageTemplate"),)
    ),
    # ---------------------------------------------------------------- custom fields
    "GET /api/v1/customField": Recipe(),
    "POST /api/v1/customField": Recipe(
        body=lambda _r: {
            "name": unique("cf"),
            "displayName": "x",
            "type": "string",
            "description": "x",
        },
        caller="admin",
        events=(E("CustomField", "create", "response"),),
    ),
    "GET /api/v1/customField/{ref}": Recipe(),
    "PATCH /api/v1/customField/{ref}": Recipe(
        body=lambda _r: {"description": unique("changed")},
        caller="admin",
        events=(E("CustomField", "update", None, fields=True),),
    ),
    "DELETE /api/v1/customField/{ref}": Recipe(
        caller="admin", events=(E("CustomField", "delete"),)
    ),
    # ---------------------------------------------------------------- case metrics
    "GET /api/v1/caseMetric": Recipe(),
    "POST /api/v1/caseMetric": Recipe(
        body=lambda _r: {"name": unique("metric"), "title": "x", "description": "x"},
        caller="admin",
        events=(E("CaseMetric", "create", "response"),),
    ),
    "GET /api/v1/caseMetric/{ref}": Recipe(),
    "PATCH /api/v1/caseMetric/{ref}": Recipe(
        body=lambda _r: {"description": unique("changed")},
        caller="admin",
        events=(E("CaseMetric", "update", None, fields=True),),
    ),
    "DELETE /api/v1/caseMetric/{ref}": Recipe(caller="admin", events=(E("CaseMetric", "delete"),)),
    # ---------------------------------------------------------------- procedures, patterns
    "POST /api/v1/case/{case_ref}/procedure": Recipe(
        body=lambda _r: {"patternId": "T1566", "occurDate": now_ms()},
        events=(E("Procedure", "create", "response"),),
    ),
    "POST /api/v1/case/{case_ref}/procedures": Recipe(
        body=lambda _r: {"procedures": [{"patternId": "T1566", "occurDate": now_ms()}]},
        events=(E("Procedure", "create"),),
    ),
    "POST /api/v1/alert/{alert_ref}/procedure": Recipe(
        body=lambda _r: {"patternId": "T1566", "occurDate": now_ms()},
        events=(E("Procedure", "create", "response"),),
    ),
    "POST /api/v1/alert/{alert_ref}/procedures": Recipe(
        body=lambda _r: {"procedures": [{"patternId": "T1566", "occurDate": now_ms()}]},
        events=(E("Procedure", "create"),),
    ),
    "POST /api/v1/procedure/delete/_bulk": Recipe(
        body=lambda r: {"ids": [r("procedure")]},
        events=(E("Procedure", "delete", "procedure"),),
    ),
    "GET /api/v1/procedure/{ref}": Recipe(),
    "PATCH /api/v1/procedure/{ref}": Recipe(
        body=lambda _r: {"description": unique("changed")},
        events=(E("Procedure", "update", "procedure", fields=True),),
    ),
    "DELETE /api/v1/procedure/{ref}": Recipe(events=(E("Procedure", "delete", "procedure"),)),
    "POST /api/v1/pattern/import/attack": Recipe(
        files=_attack_bundle, caller="admin", events=(E("Pattern", "import"),)
    ),
    "GET /api/v1/pattern/case/{case_ref}": Recipe(params={"case_ref": "case"}),
    "GET /api/v1/pattern/{ref}": Recipe(),
    # ---------------------------------------------------------------- pages
    "POST /api/v1/case/{case_ref}/page": Recipe(
        body=lambda _r: {"title": unique("p"), "content": "c", "category": "k"},
        events=(E("Page", "create", "response"),),
    ),
    "GET /api/v1/case/{case_ref}/page/{page_ref}": Recipe(),
    "PATCH /api/v1/case/{case_ref}/page/{page_ref}": Recipe(
        body=lambda _r: {"title": unique("changed")},
        events=(E("Page", "update", "page", fields=True),),
    ),
    "DELETE /api/v1/case/{case_ref}/page/{page_ref}": Recipe(events=(E("Page", "delete", "page"),)),
    # ---------------------------------------------------------------- analysis (v1)
    "POST /api/v1/analysis/definition/_scan": Recipe(
        caller="admin", no_event="re-reads the catalogue folders: no data changes"
    ),
    "GET /api/v1/analysis/definition": Recipe(),
    "GET /api/v1/analysis/definition/_invalid": Recipe(),
    "POST /api/v1/analysis/worker": Recipe(
        isolated=True,
        body=lambda r: {
            "definitionId": r("responderDefinition"),
            "kind": "responder",
            "configuration": {"from": "soc@example.com"},
        },
        events=(E("AnalysisWorker", "create", "response"),),
    ),
    "GET /api/v1/analysis/worker": Recipe(),
    "GET /api/v1/analysis/worker/{ref}": Recipe(),
    "PATCH /api/v1/analysis/worker/{ref}": Recipe(
        body=lambda _r: {"jobTimeout": 7},
        events=(E("AnalysisWorker", "update", "analyzer", fields=True),),
    ),
    "DELETE /api/v1/analysis/worker/{ref}": Recipe(
        events=(E("AnalysisWorker", "delete", "analyzer"),)
    ),
    # ---------------------------------------------------------------- Cortex API
    "GET /api/analyzer": Recipe(),
    "POST /api/analyzer/_search": Recipe(
        body=lambda _r: {"query": {}, "range": "all"}, no_event=NO_CHANGE
    ),
    "GET /api/analyzer/type/{data_type}": Recipe(),
    "GET /api/analyzer/{worker_id}": Recipe(),
    "DELETE /api/analyzer/{worker_id}": Recipe(events=(E("AnalysisWorker", "delete", "analyzer"),)),
    "GET /api/analyzerdefinition": Recipe(),
    "POST /api/organization/analyzer/{definition_id}": Recipe(
        isolated=True,
        params={"definition_id": "definition"},
        body=lambda _r: {"configuration": {}},
        events=(E("AnalysisWorker", "create", "response"),),
    ),
    "POST /api/analyzer/{worker_id}/run": Recipe(
        body=lambda _r: {"data": _ip(), "dataType": "ip", "tlp": 1},
        events=(E("AnalyzerJob", "create", "response"),),
    ),
    "GET /api/job/{job_id}": Recipe(),
    "GET /api/job/{job_id}/report": Recipe(),
    "GET /api/job/{job_id}/waitreport": Recipe(query={"atMost": "1second"}),
    "GET /api/job/{job_id}/artifacts": Recipe(),
    "POST /api/job/_search": Recipe(
        body=lambda _r: {"query": {}, "range": "all"}, no_event=NO_CHANGE
    ),
    "DELETE /api/job/{job_id}": Recipe(events=(E("AnalyzerJob", "delete", "job"),)),
    "GET /api/responder": Recipe(),
    "POST /api/responder/_search": Recipe(
        body=lambda _r: {"query": {}, "range": "all"}, no_event=NO_CHANGE
    ),
    "GET /api/responder/type/{data_type}": Recipe(),
    "GET /api/responderdefinition": Recipe(),
    "POST /api/organization/responder/{definition_id}": Recipe(
        isolated=True,
        params={"definition_id": "responderDefinition"},
        body=lambda _r: {"configuration": {"from": "soc@example.com"}},
        events=(E("AnalysisWorker", "create", "response"),),
    ),
    "DELETE /api/responder/{worker_id}": Recipe(
        events=(E("AnalysisWorker", "delete", "responder"),)
    ),
    "GET /api/responder/{worker_id}": Recipe(),
    "POST /api/responder/{worker_id}/run": Recipe(
        body=lambda _r: {
            "dataType": "thehive:case",
            "data": {"_id": "~1", "title": "routes", "tlp": 1, "pap": 1},
            "tlp": 1,
            "pap": 1,
        },
        events=(E("ResponderAction", "create", "response"),),
    ),
    "GET /api/datastore/{sha256}": Recipe(params={"sha256": "sha256"}),
    "GET /api/user/current": Recipe(),
}

# TheHive's connector routes, the same under /api/connector/cortex and /api/v1/connector/cortex.
CONNECTOR = {
    "POST /job": Recipe(
        body=lambda r: {
            "analyzerId": r("analyzer"),
            "cortexId": "local",
            "artifactId": r("observable"),
        },
        events=(E("AnalyzerJob", "create", "response"),),
    ),
    "POST /job/_bulk": Recipe(
        body=lambda r: {
            "jobs": [
                {"analyzerId": r("analyzer"), "cortexId": "local", "artifactId": r("observable")}
            ]
        },
        events=(E("AnalyzerJob", "create"),),
    ),
    "GET /job/{job_id}": Recipe(),
    "GET /analyzer": Recipe(),
    "GET /analyzer/type/{data_type}": Recipe(),
    "GET /analyzer/{analyzer_id}": Recipe(),
    "GET /responder/{object_type}/{object_id}": Recipe(
        params={"object_type": "objectType", "object_id": "case"}
    ),
    "POST /action": Recipe(
        body=lambda r: {
            "responderId": r("responder"),
            "cortexId": "local",
            "objectType": "case",
            "objectId": r("case"),
        },
        events=(E("ResponderAction", "create", "response"),),
    ),
    "GET /action/{object_type}/{object_id}": Recipe(
        params={"object_type": "objectType", "object_id": "case"}
    ),
    "GET /action/{action_id}": Recipe(),
}
for _prefix in ("/api/connector/cortex", "/api/v1/connector/cortex"):
    for _key, _recipe in CONNECTOR.items():
        _method, _path = _key.split(" ", 1)
        RECIPES[f"{_method} {_prefix}{_path}"] = _recipe


def recipe_of(route: Route) -> Recipe:
    recipe = RECIPES.get(str(route))
    assert recipe is not None, (
        f"{route} is not in tests/routetable.py: add a Recipe (how to call it, which audit "
        "events it writes) so the generic tests cover it"
    )
    return recipe


# Kinds made from other kinds (a case with a merged alert, a linked case...).
def _merged_case(o: Objects) -> str:
    o.request("POST", f"/api/v1/alert/{o['mergedAlert']}/merge/{o['case']}")
    return o["case"]


def _linked_case(o: Objects) -> str:
    o.post(f"/api/v1/case/{o['case']}/link/case/add", {"caseId": o["case2"], "type": "related"})
    return o["case"]


def _url_linked_case(o: Objects) -> str:
    o.post(
        f"/api/v1/case/{o['case']}/link/external/add",
        {"url": "https://example.com/linked", "type": "ref"},
    )
    return o["case"]


def _shared_case(o: Objects) -> str:
    body = {
        "shares": [
            {
                "organisation": o["partner"],
                "profile": "analyst",
                "taskRule": "manual",
                "observableRule": "manual",
            }
        ]
    }
    o.post(f"/api/v1/case/{o['case']}/shares", body)
    return o["case"]


def _shared_task(o: Objects) -> str:
    o["sharedCase"]
    return o["task"]


def _partner_task(o: Objects) -> str:
    o.post(f"/api/v1/task/{o['sharedTask']}/shares", {"organisations": [o["partner"]]})
    return o["task"]


def _shared_observable(o: Objects) -> str:
    o["sharedCase"]
    return o["observable"]


def _partner_observable(o: Objects) -> str:
    o.post(f"/api/v1/observable/{o['sharedObservable']}/shares", {"organisations": [o["partner"]]})
    return o["observable"]


FACTORIES.update(
    {
        "mergedAlert": _alert,
        "mergedCase": _merged_case,
        "linkedCase": _linked_case,
        "urlLinkedCase": _url_linked_case,
        "sharedCase": _shared_case,
        "sharedTask": _shared_task,
        "partnerTask": _partner_task,
        "sharedObservable": _shared_observable,
        "partnerObservable": _partner_observable,
        "caseList": lambda o: f"{o['case']},{o['case2']}",
        "self": lambda o: o.request("GET", "/api/v1/user/current")["_id"],
        "loginName": lambda o: o.session.auth[0],
        "stranger": _stranger,
        "userWithKey": _user_with_key,
    }
)
SHARED_KINDS.update({"self", "loginName"})


# --------------------------------------------------------------------------- the audit table


class AuditLog:
    """The server's audit table, read directly from its database (every event, whichever
    organisation, including those ``listAudit`` would not show the caller)."""

    def __init__(self, server) -> None:
        url = server.database_url or f"sqlite:///{Path(server.data_dir) / 'propolis.db'}"
        self.engine = create_engine(url)

    def last_id(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(text("SELECT COALESCE(MAX(id), 0) FROM audit_event")).scalar()

    def since(self, last: int) -> list[dict]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT id, actor, org_id, action, object_type, object_id, details "
                    "FROM audit_event WHERE id > :last ORDER BY id"
                ),
                {"last": last},
            )
            return [dict(row._mapping) for row in rows]

    def settle(self) -> int:
        """Wait until background work (analysis jobs and actions of earlier calls) is over
        and stops writing events, so that what follows is the next call's own; the last
        event id."""
        last = self.last_id()
        for _ in range(600):
            time.sleep(0.05)
            newest = self.last_id()
            if newest == last and not self._running():
                break
            last = newest
        return last

    def _running(self) -> int:
        with self.engine.connect() as conn:
            return sum(
                conn.execute(
                    text(f"SELECT COUNT(*) FROM {table} WHERE status IN ('Waiting', 'InProgress')")
                ).scalar()
                for table in ("analyzer_job", "responder_action")
            )

    def close(self) -> None:
        self.engine.dispose()


def details_of(event: dict) -> dict:
    details = event["details"]
    return json.loads(details) if isinstance(details, str) else details or {}


def is_background(event: dict) -> bool:
    """The engine ending a job or an action of an earlier call (it may land while a later
    call runs, whatever the waiting before it): not that call's event."""
    return (
        event["object_type"] in ("AnalyzerJob", "ResponderAction")
        and event["action"] == "update"
        and set(details_of(event)) <= {"status", "reason", "attempts"}
    )
