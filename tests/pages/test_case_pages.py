"""Case pages (spec §11.1-11.3): markdown pages inside a case."""

from __future__ import annotations

import uuid

import pytest
from thehive4py.errors import TheHiveError
from thehive4py.query.filters import Eq


def new_case(client, **fields) -> dict:
    body = {"title": "pages-" + uuid.uuid4().hex[:8], "description": "page tests", **fields}
    return client.case.create(case=body)


def page_body(**overrides) -> dict:
    return {"title": "Notes", "content": "# Notes\n- first", "category": "analysis", **overrides}


@pytest.fixture
def case(thehive) -> dict:
    return new_case(thehive)


def test_create_equals_case_pages(thehive, case):
    page = thehive.case.create_page(case_id=case["_id"], page=page_body(order=2))
    assert page["_type"] == "Page" and page["order"] == 2 and page["extraData"] == {}
    assert thehive.case.find_pages(case_id=case["_id"]) == [page]
    assert thehive.case.find_pages(case_id=case["_id"], filters=Eq("_id", page["_id"])) == [page]


def test_update_and_delete(thehive, case):
    page = thehive.case.create_page(case_id=case["_id"], page=page_body())
    thehive.case.update_page(case_id=case["_id"], page_id=page["_id"], page={"title": "Renamed"})
    [updated] = thehive.case.find_pages(case_id=case["_id"])
    assert updated["title"] == "Renamed" and updated["content"] == page["content"]
    assert updated["_updatedBy"] == "admin@thehive.local"
    assert thehive.case.get(case_id=case["_id"])["_updatedBy"] == "admin@thehive.local"
    thehive.case.delete_page(case_id=case["_id"], page_id=page["_id"])
    assert thehive.case.find_pages(case_id=case["_id"]) == []


def test_pages_given_at_case_creation(thehive):
    case = new_case(thehive, pages=[page_body(title="one"), page_body(title="two", order=1)])
    assert [p["title"] for p in thehive.case.find_pages(case_id=case["_id"])] == ["one", "two"]


def test_get_page_query(thehive, case):
    page = thehive.case.create_page(case_id=case["_id"], page=page_body())
    found = thehive.session.make_request(
        "POST", "/api/v1/query", json={"query": [{"_name": "getPage", "idOrName": page["_id"]}]}
    )
    assert found == [page]


@pytest.mark.parametrize(
    "body",
    [
        {"content": "c", "category": "k"},
        page_body(title=""),
        page_body(content=None),
        page_body(category=""),
        page_body(order="last"),
        page_body(title="x" * 513),
    ],
)
def test_bad_create_is_rejected(server, thehive, case, body):
    response = server.http().post(server.url + f"/api/v1/case/{case['_id']}/page", json=body)
    assert response.status_code == 400
    assert {"type", "message"} <= set(response.json())
    assert thehive.case.find_pages(case_id=case["_id"]) == []


def test_bad_update_changes_nothing(server, thehive, case):
    page = thehive.case.create_page(case_id=case["_id"], page=page_body())
    response = server.http().patch(
        server.url + f"/api/v1/case/{case['_id']}/page/{page['_id']}",
        json={"title": "fine", "category": None},
    )
    assert response.status_code == 400
    assert thehive.case.find_pages(case_id=case["_id"]) == [page]


def test_a_page_is_only_reachable_through_its_case(thehive, case):
    page = thehive.case.create_page(case_id=case["_id"], page=page_body())
    other_case = new_case(thehive)
    with pytest.raises(TheHiveError) as error:
        thehive.case.update_page(
            case_id=other_case["_id"], page_id=page["_id"], page={"title": "moved?"}
        )
    assert error.value.response.status_code == 404
    assert thehive.case.find_pages(case_id=case["_id"]) == [page]


def test_other_organisations_cannot_see_or_change_pages(thehive, case, fresh_org):
    page = thehive.case.create_page(case_id=case["_id"], page=page_body())
    _org, other = fresh_org
    for call in (
        lambda: other.case.create_page(case_id=case["_id"], page=page_body()),
        lambda: other.case.update_page(case_id=case["_id"], page_id=page["_id"], page={}),
        lambda: other.case.delete_page(case_id=case["_id"], page_id=page["_id"]),
    ):
        with pytest.raises(TheHiveError) as error:
            call()
        assert error.value.response.status_code == 404
    found = other.session.make_request(
        "POST", "/api/v1/query", json={"query": [{"_name": "getPage", "idOrName": page["_id"]}]}
    )
    assert found == []
    assert thehive.case.find_pages(case_id=case["_id"]) == [page]
