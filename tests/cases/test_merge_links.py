"""Merging cases, unlinking alerts, merging similar observables, linked (similar) cases,
similar observables, and typed case/URL links."""

from __future__ import annotations

import pytest
from thehive4py.errors import TheHiveError

from tests.cases.conftest import assert_error, new_case, unique


def _alert(client) -> dict:
    return client.alert.create(
        alert={
            "type": "t",
            "source": "s",
            "sourceRef": unique(),
            "title": "alert",
            "description": "d",
        }
    )


def _links_extra(client, case_id: str) -> dict:
    result = client.session.make_request(
        "POST",
        "/api/v1/query",
        json={
            "query": [
                {"_name": "getCase", "idOrName": case_id},
                {"_name": "page", "from": 0, "to": 1, "extraData": ["links"]},
            ]
        },
    )
    return result[0]["extraData"]["links"]


def test_merge_cases(thehive):
    domain = unique() + ".example"
    first = new_case(thehive, severity=1, tlp=3, tags=["a", "b"], summary="s1", startDate=1000)
    second = new_case(thehive, severity=4, pap=3, tags=["b", "c"], startDate=500)
    for case in (first, second):
        thehive.case.create_observable(case["_id"], {"dataType": "domain", "data": domain})
        thehive.case.create_task(case["_id"], {"title": "task of " + case["title"]})
    alert = _alert(thehive)
    second = thehive.alert.merge_into_case(alert["_id"], second["_id"])

    merged = thehive.case.merge([first["_id"], second["_id"]])
    assert merged["title"] == f"{first['title']} / {second['title']}"
    assert merged["description"] == f"{first['description']}\n\n{second['description']}"
    assert (merged["severity"], merged["tlp"], merged["pap"]) == (4, 3, 3)
    assert merged["startDate"] == 500
    assert merged["tags"] == ["a", "b", "c"]
    assert merged["summary"] == "s1"
    assert merged["status"] == "New"
    assert len(thehive.case.find_tasks(merged["_id"])) == 2
    assert [o["data"] for o in thehive.case.find_observables(merged["_id"])] == [domain]
    assert thehive.alert.get(alert["_id"])["caseId"] == merged["_id"]
    for case in (first, second):
        with pytest.raises(TheHiveError):
            thehive.case.get(case["_id"])
    assert thehive.case.get(merged["_id"]) == merged


def test_merge_needs_two_visible_cases(thehive, fresh_org, http):
    case = new_case(thehive)
    assert_error(http("POST", f"/api/v1/case/_merge/{case['_id']}"), 400)
    _name, other = fresh_org
    foreign = new_case(other)
    response = http("POST", f"/api/v1/case/_merge/{case['_id']},{foreign['_id']}")
    assert_error(response, 404)
    assert thehive.case.get(case["_id"]) == case
    assert other.case.get(foreign["_id"]) == foreign


def test_unlink_alert(thehive, http):
    case = new_case(thehive)
    alert = _alert(thehive)
    thehive.alert.import_into_case(alert["_id"], case["_id"])
    assert thehive.alert.get(alert["_id"])["caseId"] == case["_id"]
    thehive.case.unlink_alert(case["_id"], alert["_id"])
    unlinked = thehive.alert.get(alert["_id"])
    assert unlinked.get("caseId") is None
    assert unlinked["status"] == "New"
    # unlinking again: the alert is not in the case any more
    assert_error(http("DELETE", f"/api/v1/case/{case['_id']}/alert/{alert['_id']}"), 404)


def test_merge_similar_observables(thehive):
    case = new_case(thehive)
    thehive.case.create_observable(case["_id"], {"dataType": "ip", "data": ["1.2.3.4", "5.6.7.8"]})
    result = thehive.case.merge_similar_observables(case["_id"])
    assert result == {"untouched": 2, "updated": 0, "deleted": 0}


def test_linked_cases(thehive, fresh_org):
    domain = unique() + ".example"
    cases = [new_case(thehive) for _ in range(2)]
    for case in cases:
        thehive.case.create_observable(case["_id"], {"dataType": "domain", "data": domain})
    # the same observable in another organisation's case is not a link
    _name, other = fresh_org
    foreign = new_case(other)
    other.case.create_observable(foreign["_id"], {"dataType": "domain", "data": domain})

    links = thehive.case.get_linked_cases(cases[0]["_id"])
    assert [link["_id"] for link in links] == [cases[1]["_id"]]
    assert links[0]["linksCount"] == 1
    assert [o["data"] for o in links[0]["linkedWith"]] == [domain]
    assert other.case.get_linked_cases(foreign["_id"]) == []


def test_similar_observables(thehive):
    domain = unique() + ".example"
    first, second, empty = (new_case(thehive) for _ in range(3))
    for case in (first, second):
        thehive.case.create_observable(case["_id"], {"dataType": "domain", "data": domain})
    similar = thehive.case.get_similar_observables(first["_id"], second["_id"])
    assert [o["data"] for o in similar] == [domain]
    assert thehive.case.get_similar_observables(first["_id"], empty["_id"]) == []


def test_case_and_url_links(thehive, fresh_org):
    _name, client = fresh_org
    assert client.case.get_link_types() == []
    case, other = new_case(client), new_case(client)
    client.case.link_case(case["_id"], {"type": "related", "caseId": other["_id"]})
    client.case.link_url(case["_id"], {"type": "ticket", "url": "https://example.com/1"})
    links = _links_extra(client, case["_id"])
    assert [(link["caseId"], link["type"]) for link in links["caseLinks"]] == [
        (other["_id"], "related")
    ]
    assert links["externalLinks"] == [{"url": "https://example.com/1", "type": "ticket"}]
    assert client.case.get_link_types() == ["related", "ticket"]
    # links are directional
    assert _links_extra(client, other["_id"]) == {"caseLinks": [], "externalLinks": []}

    client.case.delete_case_link(case["_id"], {"type": "related", "caseId": other["_id"]})
    client.case.delete_url_link(case["_id"], {"type": "ticket", "url": "https://example.com/1"})
    assert _links_extra(client, case["_id"]) == {"caseLinks": [], "externalLinks": []}


def test_bad_links_are_rejected(thehive, fresh_org, http):
    case = new_case(thehive)
    _name, other = fresh_org
    foreign = new_case(other)
    path = f"/api/v1/case/{case['_id']}/link"
    assert_error(
        http("POST", path + "/case/add", json={"type": "x", "caseId": foreign["_id"]}), 404
    )
    assert_error(http("POST", path + "/case/add", json={"caseId": case["_id"]}), 400)
    assert_error(http("POST", path + "/case/add", json={"type": "x", "caseId": case["_id"]}), 400)
    assert_error(http("POST", path + "/external/add", json={"type": "x"}), 400)
    assert_error(http("POST", path + "/external/remove", json={"type": "x", "url": "u"}), 404)
    assert _links_extra(thehive, case["_id"]) == {"caseLinks": [], "externalLinks": []}
