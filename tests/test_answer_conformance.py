"""Every route's success answer matches what ``/openapi.json`` says of it, generated from
the route table.

Each route of every front door is called with valid input on fresh objects of a fresh
organisation (the recipes of ``tests/routetable.py``, as ``tests/audit/test_every_mutation.py``
does for mutations); the answer must be a 2xx that the document lists for the operation,
and a JSON answer must validate against that status' schema (its component models
resolved). The schemathesis run (``tests/test_openapi_fuzz.py``) reaches few successful
answers with random ids; this one reaches them all, so a model that does not say what
the route really answers fails here.
"""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tests.audit.test_every_mutation import UNREACHABLE, Org
from tests.routetable import RECIPES, Recipe, Refs, Route, api_routes, build

ROUTES = api_routes()
# Routes this test does not reach with a success, and why (none of them answers JSON).
SKIPPED = {
    "GET /": "the landing page is not part of the API document",
    "POST /api/v1/logout": "ends the session the other calls use",
    "GET /api/v1/organisation/{ref}/avatar/{file_hash}": "the recipe's organisation has no avatar",
    "GET /api/v1/user/{ref}/avatar/{file_hash}": "the recipe's user has no avatar",
    "GET /api/v1/user/{ref}/key": "the recipe's user has no API key",
    "GET /api/datastore/{sha256}": "the recipe names no stored job file",
}


@pytest.fixture(scope="module")
def document(server) -> dict[str, Any]:
    response = server.http().get(server.url + "/openapi.json")
    assert response.status_code == 200
    return response.json()


@pytest.fixture(scope="module")
def shared_org(server) -> Org:
    return Org(server)


@pytest.fixture
def org(server, shared_org, route) -> Org:
    recipe = RECIPES.get(str(route))
    return Org(server) if recipe is not None and recipe.isolated else shared_org


def _answer_schema(document: dict[str, Any], route: Route, status: int) -> dict[str, Any]:
    """The JSON schema the document gives the route's ``status`` answer (``{}``: none)."""
    operation = document["paths"][route.path][route.method.lower()]
    answer = operation["responses"].get(str(status))
    assert answer is not None, f"{route} answered {status}, which its document does not list"
    schema = answer.get("content", {}).get("application/json", {}).get("schema")
    return {} if schema is None else {**schema, "components": document["components"]}


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_the_answer_is_what_the_document_says(document, org, route: Route) -> None:
    if str(route) in UNREACHABLE or str(route) in SKIPPED:
        pytest.skip(UNREACHABLE.get(str(route)) or SKIPPED[str(route)])
    recipe = RECIPES.get(str(route), Recipe())
    call = build(route, recipe, Refs(org.objects()))
    response = call.send(org.caller(recipe), org.server.url)
    assert response.status_code < 300, f"{call}: {response.status_code} {response.text}"
    schema = _answer_schema(document, route, response.status_code)
    if response.headers.get("content-type", "").startswith("application/json"):
        assert schema, f"{route} answers JSON its document gives no schema"
        errors = sorted(
            Draft202012Validator(schema).iter_errors(response.json()), key=lambda e: e.path
        )
        assert not errors, f"{route}: " + "; ".join(
            f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:5]
        )
