"""Custom field definitions (spec §13.1, §13.2), through thehive4py and plain HTTP."""

from __future__ import annotations

import uuid

import pytest
from thehive4py.errors import TheHiveError


def unique(prefix: str = "cf") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def new_field(client, **overrides) -> dict:
    body = {"name": unique(), "group": "test", "description": "a field", "type": "string"}
    body.update(overrides)
    return client.custom_field.create(custom_field=body)


def by_name(client, name: str) -> dict | None:
    return next((f for f in client.custom_field.list() if f["name"] == name), None)


def test_created_field_is_listed_with_the_same_rendering(thehive_admin):
    field = new_field(thehive_admin, options=["a", "b"], mandatory=False)
    assert field["_type"] == "CustomField"
    assert field["displayName"] == field["name"]  # defaults to the name
    assert field["options"] == ["a", "b"]
    assert field in thehive_admin.custom_field.list()
    # any organisation can read the platform-wide definitions
    assert by_name(thehive_admin, field["name"]) == field


def test_update_display_name_and_type(thehive_admin):
    field = new_field(thehive_admin)
    thehive_admin.custom_field.update(
        custom_field_id=field["_id"], fields={"displayName": "Shown", "type": "integer"}
    )
    listed = by_name(thehive_admin, field["name"])
    assert listed["displayName"] == "Shown"
    assert listed["type"] == "integer"
    assert listed["_updatedBy"] == "admin@thehive.local"


def test_delete_then_delete_again_fails(thehive_admin):
    field = new_field(thehive_admin)
    thehive_admin.custom_field.delete(custom_field_id=field["_id"])
    assert by_name(thehive_admin, field["name"]) is None
    with pytest.raises(TheHiveError) as error:
        thehive_admin.custom_field.delete(custom_field_id=field["_id"])
    assert error.value.response.status_code == 404


def test_delete_by_name(thehive_admin):
    field = new_field(thehive_admin)
    thehive_admin.custom_field.delete(custom_field_id=field["name"], force=True)
    assert by_name(thehive_admin, field["name"]) is None


def test_duplicate_name_is_a_create_error(thehive_admin):
    field = new_field(thehive_admin)
    with pytest.raises(TheHiveError) as error:
        new_field(thehive_admin, name=field["name"], type="integer")
    assert error.value.response.status_code == 400
    assert error.value.response.json()["type"] == "CreateError"
    assert by_name(thehive_admin, field["name"]) == field


@pytest.mark.parametrize(
    "overrides",
    [
        {"type": "colour"},
        {"type": None},
        {"name": ""},
        {"name": "x" * 65},
        {"description": None},
        {"type": "integer", "options": ["one", "two"]},
        {"type": "boolean", "options": "yes"},
        {"mandatory": "sometimes"},
    ],
)
def test_bad_definitions_are_rejected_and_nothing_is_created(server, overrides):
    http = server.http("admin")
    name = unique("bad")
    body = {"name": name, "group": "g", "description": "d", "type": "string", **overrides}
    response = http.post(server.url + "/api/v1/customField", json=body)
    assert response.status_code == 400, response.text
    assert {"type", "message"} <= set(response.json())
    names = [f["name"] for f in http.get(server.url + "/api/v1/customField").json()]
    assert name not in names


def test_bad_update_changes_nothing(thehive_admin, server):
    field = new_field(thehive_admin, type="integer", options=[1, 2])
    response = server.http("admin").patch(
        server.url + f"/api/v1/customField/{field['_id']}",
        json={"displayName": "changed", "options": ["not a number"]},
    )
    assert response.status_code == 400
    assert by_name(thehive_admin, field["name"]) == field


def test_only_the_admin_organisation_manages_fields(thehive, thehive_admin):
    with pytest.raises(TheHiveError) as error:
        new_field(thehive)
    assert error.value.response.status_code == 403
    field = new_field(thehive_admin)
    with pytest.raises(TheHiveError) as error:
        thehive.custom_field.update(custom_field_id=field["_id"], fields={"displayName": "x"})
    assert error.value.response.status_code == 403
    with pytest.raises(TheHiveError):
        thehive.custom_field.delete(custom_field_id=field["_id"], force=True)
    assert by_name(thehive, field["name"]) == field


def test_query_list_and_get(thehive_admin):
    field = new_field(thehive_admin, type="float")
    found = thehive_admin.session.make_request(
        "POST",
        "/api/v1/query",
        json={
            "query": [
                {"_name": "listCustomField"},
                {"_name": "filter", "_eq": {"_field": "name", "_value": field["name"]}},
            ]
        },
    )
    assert found == [field]
    got = thehive_admin.session.make_request(
        "POST",
        "/api/v1/query",
        json={"query": [{"_name": "getCustomField", "idOrName": field["name"]}]},
    )
    assert got == [field]
