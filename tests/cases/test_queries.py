"""Case queries: listCase filters/sorts/pages, getCase by number, extraData, shares."""

from __future__ import annotations

import pytest
from thehive4py.query.filters import Eq, Gte, In
from thehive4py.query.page import Paginate
from thehive4py.query.sort import Asc, Desc

from tests.cases.conftest import assert_error, new_case


def _query(client, *operations) -> list | int:
    return client.session.make_request("POST", "/api/v1/query", json={"query": list(operations)})


def test_filter_sort_page_count(fresh_org):
    _name, client = fresh_org
    cases = [new_case(client, severity=s, tags=[f"t{s}"]) for s in (1, 3, 2)]
    by_severity = client.case.find(sortby=Desc("severity"))
    assert [c["severity"] for c in by_severity] == [3, 2, 1]
    assert client.case.find(filters=Eq("tags", "t3")) == [cases[1]]
    assert client.case.count(filters=Gte("severity", 2)) == 2
    assert client.case.find(filters=In("number", [1, 3]), sortby=Asc("number")) == [
        cases[0],
        cases[2],
    ]
    page = client.case.find(sortby=Asc("_createdAt"), paginate=Paginate(start=1, end=2))
    assert page == [cases[1]]
    assert client.case.count() == 3
    assert client.case.find(filters=Eq("severityLabel", "HIGH")) == [cases[1]]
    assert client.case.find(filters=Eq("status", "New"), sortby=Asc("_createdAt")) == cases


def test_get_case_by_number_and_unknown(fresh_org):
    _name, client = fresh_org
    case = new_case(client)
    assert _query(client, {"_name": "getCase", "idOrName": str(case["number"])}) == [case]
    assert _query(client, {"_name": "getCase", "idOrName": "~999999999"}) == []
    assert _query(client, {"_name": "getCase", "idOrName": "nonsense"}) == []


def test_unknown_field_is_a_bad_request(thehive, http):
    response = http(
        "POST",
        "/api/v1/query",
        json={
            "query": [
                {"_name": "listCase"},
                {"_name": "filter", "_eq": {"_field": "nope", "_value": 1}},
            ]
        },
    )
    assert_error(response, 400)


def test_extra_data(thehive):
    case = new_case(thehive, tasks=[{"title": "a"}, {"title": "b"}])
    thehive.case.create_observable(case["_id"], {"dataType": "ip", "data": "198.51.100.7"})
    extra = [
        "links",
        "observableStats",
        "taskStats",
        "alerts",
        "alertCount",
        "isOwner",
        "shareCount",
        "permissions",
        "actionRequired",
        "procedureCount",
        "attachmentCount",
        "contributors",
        "status",
        "computed.handlingDuration",
        "unknown-name",
    ]
    (rendered,) = _query(
        thehive,
        {"_name": "getCase", "idOrName": case["_id"]},
        {"_name": "page", "from": 0, "to": 1, "extraData": extra},
    )
    data = rendered["extraData"]
    assert data["links"] == {"caseLinks": [], "externalLinks": []}
    assert data["observableStats"] == {"total": 1}
    assert data["taskStats"] == {"Waiting": 2, "total": 2}
    assert (data["alerts"], data["alertCount"]) == ([], 0)
    assert data["isOwner"] is True and data["shareCount"] == 0
    assert "manageCase/update" in data["permissions"]
    assert data["actionRequired"] is False
    assert (data["procedureCount"], data["attachmentCount"]) == (0, 0)
    assert data["contributors"] == ["admin@thehive.local"]
    assert data["status"]["value"] == "New" and data["status"]["stage"] == "New"
    assert data["computed.handlingDuration"] >= 0
    assert "unknown-name" not in data
    rendered.pop("extraData")
    assert rendered == {k: v for k, v in case.items() if k != "extraData"}


@pytest.mark.parametrize("traversal", ["alerts", "shares"])
def test_case_traversals(thehive, traversal):
    case = new_case(thehive)
    result = _query(thehive, {"_name": "getCase", "idOrName": case["_id"]}, {"_name": traversal})
    if traversal == "shares":  # the owner's own share
        assert [(s["organisationName"], s["owner"]) for s in result] == [("main-org", True)]
    else:
        assert result == []


def test_shares_are_scoped(thehive, fresh_org):
    case = new_case(thehive)
    _name, other = fresh_org
    query = [
        {"_name": "listShare"},
        {"_name": "filter", "_eq": {"_field": "caseId", "_value": case["_id"]}},
    ]
    assert len(_query(thehive, *query)) == 1
    assert _query(other, *query) == []
