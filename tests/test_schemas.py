"""Schema tests: every route that takes a JSON body (the operations with a ``requestBody`` in
the app's own OpenAPI document) rejects wrong types, out-of-range numbers (1e300, 2**70,
below the minimum) and oversized strings with TheHive's 400 ``AttributeCheckingError``
naming the field, and changes nothing (every list the query API offers, and the audit log,
read the same before and after).

The bad values are derived from each property's JSON schema, on top of a valid body, so the
only thing wrong in each request is the field under test.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from propolis.app import create_app
from propolis.settings import Settings
from tests.harness import Server
from tests.seed import seed_objects, use_ids

DOCUMENT = create_app(Settings(data_dir="/nonexistent")).openapi()
SCHEMAS = DOCUMENT["components"]["schemas"]

# A valid body per model, so that a request is wrong only in the field under test.
VALID = {
    "AlertCreate": {"type": "t", "source": "s", "sourceRef": "r", "title": "t", "description": "d"},
    "CaseCreate": {"title": "t", "description": "d"},
    "TaskCreate": {"title": "t"},
    "LogCreate": {"message": "m"},
    "ObservableCreate": {"dataType": "domain", "data": "x.example"},
    "ObservableTypeCreate": {"name": "t"},
    "ProcedureCreate": {"patternId": "T1059", "occurDate": 1},
    "PageCreate": {"title": "t", "category": "c", "content": "c"},
    "CommentIn": {"message": "m"},
    "CaseTemplateCreate": {"name": "n"},
    "CustomFieldCreate": {"name": "n", "description": "d", "type": "string"},
    "OrganisationCreate": {"name": "n", "description": "d"},
    "UserCreate": {"login": "a@b.c", "name": "n", "profile": "analyst"},
    "ProfileCreate": {"name": "n"},
    "PasswordSet": {"password": "p"},
    "PasswordChange": {"password": "p", "currentPassword": "c"},
    "CustomEventCreate": {"title": "t", "date": 1},
    "ShareUpdate": {"profile": "analyst"},
    "CaseOwner": {"organisation": "o"},
    "CaseLinkUrl": {"url": "http://x"},
    "CaseLinkCase": {"caseId": "~1"},
    "CaseAccess": {"access": {"_kind": "OrganisationAccessKind"}},
}
# Lists in bulk bodies: a valid one is needed beside the field under test.
LISTS = {"ids": ["~1"], "alertIds": ["~1"], "procedures": [], "shares": [], "organisations": []}
LISTS |= {"links": [], "caseId": "~1", "caseTemplate": "x", "access": {"_kind": "x"}}
# Operations whose body is not checked here (sole required property covered elsewhere).
READ_ONLY = {"/api/v1/query"}


def _body_operations() -> list[tuple[str, str, str]]:
    found = []
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            content = operation.get("requestBody", {}).get("content", {})
            ref = content.get("application/json", {}).get("schema", {}).get("$ref")
            if ref and path not in READ_ONLY:
                found.append((method.upper(), path, ref.rsplit("/", 1)[1]))
    return found


OPERATIONS = _body_operations()


def _valid_body(model: str) -> dict[str, Any]:
    schema = SCHEMAS[model]
    body = dict(VALID.get(model, {}))
    for name in schema.get("required", []):
        body.setdefault(name, LISTS.get(name, "x"))
    return body


def _alternatives(prop: dict[str, Any]) -> list[dict[str, Any]]:
    options = prop.get("anyOf", [prop])
    return [o for o in options if o.get("type") != "null"]


def _bad_values(prop: dict[str, Any]) -> list[tuple[str, Any]]:
    """(what, value) pairs the property must refuse."""
    options = _alternatives(prop)
    if options and all("$ref" in o for o in options):
        return [("wrong type", "not-an-object")]
    types = {o.get("type") for o in options}
    if not types or None in types or types & {"object"}:
        return []  # free-form values: nothing to say about their shape
    bad: list[tuple[str, Any]] = []
    if "string" not in types and "array" not in types:
        bad.append(("wrong type", "not-a-number" if "integer" in types else []))
    else:
        bad.append(("wrong type", True))
    for option in options:
        kind = option.get("type")
        if kind == "integer":
            bad += [("1e300", 1e300), ("2**70", 2**70), ("-2**70", -(2**70))]
            low = option.get("minimum")
            if low is not None and low > -(2**63):
                bad.append(("below the minimum", low - 1))
        elif kind == "boolean":
            bad.append(("not a boolean", "maybe"))
        elif kind == "string":
            if "enum" in option:
                bad.append(("not in the enumeration", "NotAValue"))
            if option.get("maxLength") is not None and option["maxLength"] <= 2_000_000:
                bad.append(("oversized", "x" * (option["maxLength"] + 1)))
            if option.get("minLength"):
                bad.append(("empty", ""))
        elif kind == "array":
            items = option.get("items", {})
            if items.get("type") == "string" and items.get("maxLength"):
                bad.append(("oversized item", ["x" * (items["maxLength"] + 1)]))
    return bad


def _names_field(answer: dict[str, Any], field: str) -> bool:
    names = [e.get("name", "") for e in answer.get("errors", [])]
    return any(n == field or n.startswith(field + ".") for n in names) and field in answer.get(
        "message", ""
    )


LIST_OPERATIONS = [
    "listCase",
    "listAlert",
    "listTask",
    "listLog",
    "listObservable",
    "listComment",
    "listProcedure",
    "listCaseTemplate",
    "listCustomField",
    "listObservableType",
    "listPageTemplate",
    "listShare",
    "listAudit",
]
ADMIN_LIST_OPERATIONS = ["listOrganisation", "listUser", "listProfile", "listAudit"]


def _snapshot(server: Server, org: str) -> dict[str, Any]:
    """Everything the query API lists, in the test's organisation and in ``admin``."""
    state: dict[str, Any] = {}
    for organisation, operations in ((org, LIST_OPERATIONS), ("admin", ADMIN_LIST_OPERATIONS)):
        http = server.http(organisation=organisation)
        for name in operations:
            response = http.post(
                server.url + "/api/v1/query", json={"query": [{"_name": name}]}, timeout=30
            )
            state[f"{organisation}:{name}"] = (response.status_code, response.text)
    return state


@pytest.fixture(scope="module")
def schema_org(server: Server):
    name = "schemas-" + uuid.uuid4().hex[:8]
    server.create_org(name)
    return name, seed_objects(server, name)


def test_every_body_route_is_covered() -> None:
    """The app documents the bodies of its create and update routes."""
    paths = {(m, p) for m, p, _ in OPERATIONS}
    for expected in [
        ("POST", "/api/v1/alert"),
        ("PATCH", "/api/v1/alert/{ref}"),
        ("POST", "/api/v1/case"),
        ("PATCH", "/api/v1/case/{ref}"),
        ("POST", "/api/v1/case/{case_ref}/task"),
        ("PATCH", "/api/v1/task/{ref}"),
        ("POST", "/api/v1/task/{ref}/log"),
        ("POST", "/api/v1/case/{case_id}/observable"),
        ("PATCH", "/api/v1/observable/{ref}"),
        ("POST", "/api/v1/organisation"),
        ("POST", "/api/v1/user"),
    ]:
        assert expected in paths
    assert len(OPERATIONS) >= 60


def _untyped_answers(operation: dict[str, Any]) -> list[str]:
    """What is wrong with the documented success answers of one operation (nothing: [])."""
    answers = {c: r for c, r in operation.get("responses", {}).items() if c.startswith("2")}
    if not answers:
        return ["no 2xx answer documented"]
    wrong = []
    for code, answer in answers.items():
        content = answer.get("content")
        if content is None:
            # An empty body: 204, or another code whose description says so (not FastAPI's
            # default text, which a route gets when it forgot its response_model).
            if code != "204" and answer.get("description") == "Successful Response":
                wrong.append(f"{code}: empty body not documented")
            continue
        for media_type, entry in content.items():
            schema = entry.get("schema") or {}
            if media_type == "application/json":
                if not schema or schema == {"type": "object"}:
                    wrong.append(f"{code} {media_type}: no schema")
            elif schema.get("type") != "string":  # a file download or a text answer
                wrong.append(f"{code} {media_type}: not documented as bytes or text")
    return wrong


def test_every_answer_is_typed() -> None:
    """Every operation documents its success answer: a JSON schema (a model, a list of
    models, or the union the query API answers), a file download or text under its media
    type, or an empty body said to be one. A new route without a ``response_model`` fails."""
    untyped = {
        f"{method.upper()} {path}": wrong
        for path, item in DOCUMENT["paths"].items()
        for method, operation in item.items()
        if (wrong := _untyped_answers(operation))
    }
    assert untyped == {}
    operations = sum(len(item) for item in DOCUMENT["paths"].values())
    assert operations >= 200


def test_answers_are_models_not_free_form() -> None:
    """A JSON answer names its fields (a component model) except where the shape truly
    depends on the request: the query API, a task's per-organisation flags, link types."""
    free_form = {("POST", "/api/v1/query"), ("GET", "/api/v1/task/{ref}/actionRequired")}
    free_form.add(("GET", "/api/v1/case/link/types"))
    found = set()
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            for code, answer in operation.get("responses", {}).items():
                schema = answer.get("content", {}).get("application/json", {}).get("schema")
                if code.startswith("2") and schema and "$ref" not in str(schema):
                    found.add((method.upper(), path))
    assert found == free_form


@pytest.mark.parametrize(("method", "path", "model"), OPERATIONS, ids=lambda v: str(v))
def test_bad_values_are_refused_and_change_nothing(
    server: Server, schema_org: tuple[str, dict[str, str]], method: str, path: str, model: str
) -> None:
    org, ids = schema_org
    http = server.http(organisation=org)
    params = {name: "~0" for name in _path_names(path)}
    url = server.url + path.format(**use_ids(path, params, ids))
    properties = SCHEMAS[model].get("properties", {})
    before = _snapshot(server, org)
    tried = 0
    for field, prop in properties.items():
        for what, value in _bad_values(prop):
            body = _valid_body(model) | {field: value}
            response = http.request(method, url, json=body, timeout=60)
            assert response.status_code == 400, (field, what, response.status_code, response.text)
            answer = response.json()
            assert answer["type"] == "AttributeCheckingError", answer
            assert _names_field(answer, field), (field, what, answer)
            assert len(response.content) < 10_000  # the value is not echoed whole
            tried += 1
    if SCHEMAS[model].get("required"):
        response = http.request(method, url, json={}, timeout=30)
        assert response.status_code == 400, response.text
        assert response.json()["errors"][0]["type"] == "MissingAttributeError"
    assert _snapshot(server, org) == before
    assert tried or not properties


def _path_names(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]
