"""Custom field values on cases (spec §13.3): both input forms, typing, options, multi-values,
``null``, updates, and ``customFields.<name>`` filters and sorts."""

from __future__ import annotations

import uuid

import pytest
from thehive4py.errors import TheHiveError
from thehive4py.query.filters import Eq


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def fields(thehive_admin) -> dict[str, dict]:
    """One fresh field of every type; ``choice`` has options."""
    specs = {
        "text": {"type": "string"},
        "link": {"type": "url"},
        "count": {"type": "integer"},
        "ratio": {"type": "float"},
        "seen": {"type": "boolean"},
        "when": {"type": "date"},
        "choice": {"type": "string", "options": ["low", "high"]},
    }
    return {
        key: thehive_admin.custom_field.create(
            custom_field={"name": unique(key), "group": "g", "description": "d", **spec}
        )
        for key, spec in specs.items()
    }


def new_case(client, **fields) -> dict:
    return client.case.create(case={"title": unique("cf-case"), "description": "d", **fields})


def values_of(case: dict) -> list[tuple]:
    return [(c["name"], c.get("value"), c["type"]) for c in case["customFields"]]


def test_every_type_round_trips(thehive, fields):
    given = {
        "text": "hello",
        "link": "https://example.com/x",
        "count": 42,
        "ratio": 0.25,
        "seen": False,
        "when": 1_700_000_000_000,
        "choice": "high",
    }
    case = new_case(
        thehive, customFields=[{"name": fields[k]["name"], "value": v} for k, v in given.items()]
    )
    expected = [(fields[k]["name"], v, fields[k]["type"]) for k, v in given.items()]
    assert values_of(case) == expected
    assert all(isinstance(c["_id"], str) and c["_id"].startswith("~") for c in case["customFields"])
    assert thehive.case.get(case_id=case["_id"]) == case


def test_order_and_multi_values(thehive, fields):
    text, count = fields["text"]["name"], fields["count"]["name"]
    case = new_case(
        thehive,
        customFields=[
            {"name": text, "value": "Alice", "order": 5},
            {"name": count, "value": 1, "order": 1},
            {"name": text, "value": "Bob", "order": 5},
        ],
    )
    assert [(c["name"], c["value"], c["order"]) for c in case["customFields"]] == [
        (count, 1, 1),
        (text, "Alice", 5),
        (text, "Bob", 5),
    ]
    listed = new_case(thehive, customFields={text: ["x", "y"]})
    assert [c["value"] for c in listed["customFields"]] == ["x", "y"]


def test_null_keeps_the_field_without_value(thehive, fields):
    case = new_case(thehive, customFields={fields["text"]["name"]: None})
    [value] = case["customFields"]
    assert value["name"] == fields["text"]["name"] and "value" not in value


def test_integral_float_is_an_integer(thehive, fields):
    case = new_case(thehive, customFields={fields["count"]["name"]: 3.0})
    assert case["customFields"][0]["value"] == 3
    assert isinstance(case["customFields"][0]["value"], int)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("text", 5),
        ("link", ["ok", 3]),
        ("count", "12"),
        ("count", 1.5),
        ("count", True),
        ("count", 2**60),
        ("ratio", "0.5"),
        ("seen", "true"),
        ("when", "2024-01-01"),
        ("choice", "medium"),
    ],
)
def test_mistyped_values_are_rejected_and_create_nothing(server, thehive, fields, key, value):
    title = unique("bad")
    response = server.http().post(
        server.url + "/api/v1/case",
        json={"title": title, "description": "d", "customFields": {fields[key]["name"]: value}},
    )
    assert response.status_code == 400, response.text
    assert {"type", "message"} <= set(response.json())
    assert thehive.case.find(filters=Eq("title", title)) == []


def test_unknown_field_is_rejected(server, thehive):
    title = unique("bad")
    response = server.http().post(
        server.url + "/api/v1/case",
        json={"title": title, "description": "d", "customFields": [{"name": "nope", "value": 1}]},
    )
    assert 400 <= response.status_code < 500
    assert thehive.case.find(filters=Eq("title", title)) == []


@pytest.mark.parametrize("value", ["text", 5, [{"value": 1}], [["a"]]])
def test_malformed_custom_fields_are_rejected(server, value):
    response = server.http().post(
        server.url + "/api/v1/case",
        json={"title": unique("bad"), "description": "d", "customFields": value},
    )
    assert response.status_code == 400


def test_update_replaces_values(thehive, fields):
    text, count = fields["text"]["name"], fields["count"]["name"]
    case = new_case(thehive, customFields={text: "a", count: 1})
    thehive.case.update(
        case_id=case["_id"], fields={"customFields": [{"name": text, "value": "b"}]}
    )
    assert [(n, v) for n, v, _t in values_of(thehive.case.get(case_id=case["_id"]))] == [
        (text, "b")
    ]


def test_bad_update_changes_nothing(server, thehive, fields):
    case = new_case(thehive, customFields={fields["count"]["name"]: 1})
    response = server.http().patch(
        server.url + f"/api/v1/case/{case['_id']}",
        json={"title": "renamed", "customFields": {fields["count"]["name"]: "two"}},
    )
    assert response.status_code == 400
    assert thehive.case.get(case_id=case["_id"]) == case


def test_filters_and_sorts_on_case_custom_fields(fresh_org, fields):
    _org, client = fresh_org
    count, text, seen, when = (fields[k]["name"] for k in ("count", "text", "seen", "when"))
    small = new_case(client, customFields={count: 2, text: "alpha", seen: True, when: 1000})
    large = new_case(client, customFields={count: 30, text: "beta", seen: False, when: 5000})
    new_case(client)

    def titles(*operations) -> list[str]:
        result = client.session.make_request(
            "POST", "/api/v1/query", json={"query": [{"_name": "listCase"}, *operations]}
        )
        return [c["title"] for c in result]

    def where(expr: dict) -> list[str]:
        return titles({"_name": "filter", **expr})

    assert where({"_eq": {"_field": f"customFields.{count}", "_value": 2}}) == [small["title"]]
    assert where({"_gte": {"_field": f"customFields.{count}", "_value": 10}}) == [large["title"]]
    assert where({"_between": {"_field": f"customFields.{when}", "_from": 0, "_to": 2000}}) == [
        small["title"]
    ]
    assert where({"_eq": {"_field": f"customFields.{text}", "_value": "beta"}}) == [large["title"]]
    assert where({"_startsWith": {"_field": f"customFields.{text}", "_value": "AL"}}) == [
        small["title"]
    ]
    assert where({"_eq": {"_field": f"customFields.{seen}", "_value": False}}) == [large["title"]]
    assert len(where({"_not": {"_has": f"customFields.{count}"}})) == 1
    assert len(where({"_ne": {"_field": f"customFields.{count}", "_value": 2}})) == 2
    field = f"customFields.{count}"
    assert titles(
        {"_name": "filter", "_has": field}, {"_name": "sort", "_fields": [{field: "desc"}]}
    ) == [
        large["title"],
        small["title"],
    ]
    # cases without the field sort last in both directions
    for direction in ("asc", "desc"):
        assert len(titles({"_name": "sort", "_fields": [{field: direction}]})) == 3
    assert titles({"_name": "sort", "_fields": [{field: "asc"}]})[:2] == [
        small["title"],
        large["title"],
    ]


def test_deleting_a_value_from_a_case(thehive, fields):
    case = new_case(thehive, customFields={fields["text"]["name"]: "gone"})
    thehive.case.delete_custom_field(custom_field_id=case["customFields"][0]["_id"])
    assert thehive.case.get(case_id=case["_id"])["customFields"] == []
    with pytest.raises(TheHiveError):
        thehive.case.delete_custom_field(custom_field_id=case["customFields"][0]["_id"])
