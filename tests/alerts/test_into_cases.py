"""Alerts into cases: promote, merge, import, bulk merge (spec §4.7-4.10), and similarity
between alerts and cases (§4.12, similarCasesLight / similarAlertsLight)."""

from __future__ import annotations

from thehive4py.query.filters import Eq
from thehive4py.query.page import Paginate

from tests.alerts.helpers import alert_input, error_of, unique


def _query(thehive, query: list) -> list:
    return thehive.session.make_request("POST", "/api/v1/query", json={"query": query})


def _rich_alert(thehive, **overrides):
    return thehive.alert.create(
        alert_input(
            date=1_000,
            severity=3,
            tlp=1,
            pap=3,
            tags=["from-alert"],
            summary="alert summary",
            observables=[
                {"dataType": "domain", "data": "shared.example", "tags": ["alert-tag"]},
                {"dataType": "ip", "data": "192.0.2.7", "ioc": True},
            ],
            procedures=[{"patternId": "T1059.006", "occurDate": 5, "tactic": "execution"}],
            **overrides,
        )
    )


def test_promote_creates_a_case_from_the_alert(thehive):
    alert = _rich_alert(thehive)
    case = thehive.alert.promote_to_case(alert["_id"])
    assert case["_type"] == "Case"
    assert case["title"] == alert["title"]
    assert case["description"] == alert["description"]
    assert (case["severity"], case["tlp"], case["pap"]) == (3, 1, 3)
    assert case["tags"] == ["from-alert"]
    assert case["summary"] == "alert summary"
    assert case["startDate"] == 1_000
    assert case["alertDate"] == 1_000
    assert case["alertNewDate"] == alert["newDate"]

    linked = thehive.alert.get(alert["_id"])
    assert linked["caseId"] == case["_id"]
    assert linked["status"] == linked["stage"] == "Imported"
    assert linked["importedDate"] >= alert["newDate"]
    assert linked["timeToQualify"] == linked["importedDate"] - linked["newDate"]
    assert linked["title"] == alert["title"]

    observables = thehive.case.find_observables(case["_id"])
    assert sorted(o["data"] for o in observables) == ["192.0.2.7", "shared.example"]
    assert next(o for o in observables if o["dataType"] == "ip")["ioc"] is True
    procedures = thehive.case.find_procedures(case["_id"])
    assert [(p["patternId"], p["occurDate"]) for p in procedures] == [("T1059.006", 5)]
    # the alert keeps its own observables
    assert len(thehive.alert.find_observables(alert["_id"])) == 2

    extra = thehive.alert.find(
        filters=Eq("_id", alert["_id"]), paginate=Paginate(0, 1, ["caseNumber", "relatedCase"])
    )[0]["extraData"]
    assert extra["caseNumber"] == case["number"]
    assert extra["relatedCase"] == {
        "number": case["number"],
        "accessKind": "OrganisationAccessKind",
        "isVisible": True,
    }


def test_promote_with_overrides(thehive):
    alert = thehive.alert.create(alert_input())
    case = thehive.alert.promote_to_case(alert["_id"], {"title": "promoted title", "severity": 4})
    assert case["title"] == "promoted title" and case["severity"] == 4
    assert thehive.alert.get(alert["_id"])["title"] == alert["title"]


def test_promote_twice_is_refused(thehive):
    alert = thehive.alert.create(alert_input())
    thehive.alert.promote_to_case(alert["_id"])
    error = error_of(thehive.alert.promote_to_case, alert["_id"])
    assert error == {"type": "BadRequest", "message": "Alert is already imported"}


def test_promote_uses_the_alert_template_and_ignores_a_vanished_one(thehive):
    name = unique("template")
    thehive.case_template.create(
        {"name": name, "titlePrefix": "[T]", "tags": ["template-tag"], "description": "d"}
    )
    templated = thehive.alert.create(alert_input(caseTemplate=name, tags=["alert-tag"]))
    case = thehive.alert.promote_to_case(templated["_id"])
    assert case["title"] == "[T] " + templated["title"]
    assert set(case["tags"]) == {"template-tag", "alert-tag"}

    stale = thehive.alert.create(alert_input(caseTemplate=unique("gone")))
    assert thehive.alert.promote_to_case(stale["_id"])["title"] == stale["title"]


def test_promote_with_an_unknown_template_in_the_body_fails_cleanly(thehive):
    alert = thehive.alert.create(alert_input())
    error = error_of(thehive.alert.promote_to_case, alert["_id"], {"caseTemplate": unique("no")})
    assert error["type"] == "NotFoundError"
    assert thehive.alert.get(alert["_id"]) == alert


def test_promote_copies_custom_fields(thehive, thehive_admin):
    name = unique("cf")
    thehive_admin.custom_field.create(
        {"name": name, "group": "g", "description": "d", "type": "integer"}
    )
    alert = thehive.alert.create(alert_input(customFields={name: 42}))
    case = thehive.alert.promote_to_case(alert["_id"])
    assert [(c["name"], c["value"]) for c in case["customFields"]] == [(name, 42)]


def test_merge_into_case(thehive, thehive_admin):
    field = unique("cf")
    thehive_admin.custom_field.create(
        {"name": field, "group": "g", "description": "d", "type": "string"}
    )
    case = thehive.case.create(
        {"title": unique("case"), "description": "Case text", "tags": ["case-tag"]}
    )
    thehive.case.create_observable(
        case["_id"], {"dataType": "domain", "data": "shared.example", "tags": ["case-obs"]}
    )
    alert = _rich_alert(thehive, description="  alert text  ", customFields={field: "merged"})
    merged = thehive.alert.merge_into_case(alert["_id"], case["_id"])
    assert merged["_id"] == case["_id"]
    assert merged["tags"] == ["case-tag", "from-alert"]
    assert merged["description"] == (
        f"Case text\n  \n#### Merged with alert #{alert['sourceRef']} {alert['title']}"
        "\n\nalert text"
    )
    assert merged["_updatedBy"] == "admin@thehive.local"
    assert [(c["name"], c["value"]) for c in merged["customFields"]] == [(field, "merged")]
    assert thehive.case.get(case["_id"]) == merged

    observables = {o["data"]: o for o in thehive.case.find_observables(case["_id"])}
    assert set(observables) == {"shared.example", "192.0.2.7"}
    assert observables["shared.example"]["tags"] == ["case-obs", "alert-tag"]

    linked = thehive.alert.get(alert["_id"])
    assert linked["caseId"] == case["_id"] and linked["status"] == "Imported"
    error = error_of(thehive.alert.merge_into_case, alert["_id"], case["_id"])
    assert error == {"type": "BadRequest", "message": "Alert is already imported"}


def test_merge_by_case_number_and_unknown_case(thehive):
    case = thehive.case.create({"title": unique("case"), "description": "d"})
    alert = thehive.alert.create(alert_input())
    assert error_of(thehive.alert.merge_into_case, alert["_id"], "~999999999")["type"] == (
        "NotFoundError"
    )
    assert thehive.alert.get(alert["_id"]) == alert
    merged = thehive.alert.merge_into_case(alert["_id"], str(case["number"]))
    assert merged["_id"] == case["_id"]


def test_import_into_case_keeps_description_and_tags(thehive):
    case = thehive.case.create({"title": unique("case"), "description": "untouched"})
    alert = _rich_alert(thehive)
    imported = thehive.alert.import_into_case(alert["_id"], case["_id"])
    assert imported["_id"] == case["_id"]
    assert imported["description"] == "untouched" and imported["tags"] == []
    assert len(thehive.case.find_observables(case["_id"])) == 2
    assert len(thehive.case.find_procedures(case["_id"])) == 1
    assert thehive.alert.get(alert["_id"])["caseId"] == case["_id"]


def test_bulk_merge(thehive):
    case = thehive.case.create({"title": unique("case"), "description": "d"})
    alerts = [thehive.alert.create(alert_input(tags=[f"t{i}"])) for i in range(2)]
    merged = thehive.alert.bulk_merge_into_case(case["_id"], [a["_id"] for a in alerts])
    assert merged["_id"] == case["_id"]
    assert merged["tags"] == ["t0", "t1"]
    for alert in alerts:
        assert thehive.alert.get(alert["_id"])["caseId"] == case["_id"]
    other = thehive.alert.create(alert_input())
    error = error_of(thehive.alert.bulk_merge_into_case, case["_id"], [other["_id"], "~999999999"])
    assert error["type"] == "NotFoundError"
    assert "caseId" not in thehive.alert.get(other["_id"])


def test_deleting_the_case_unlinks_the_alert(thehive):
    alert = thehive.alert.create(alert_input())
    case = thehive.alert.promote_to_case(alert["_id"])
    thehive.case.delete(case["_id"])
    assert "caseId" not in thehive.alert.get(alert["_id"])


def test_similar_observables(thehive):
    empty_a = thehive.alert.create(alert_input())
    empty_b = thehive.alert.create(alert_input())
    assert thehive.alert.get_similar_observables(empty_a["_id"], empty_b["_id"]) == []

    domain = unique("d") + ".example"
    first = thehive.alert.create(
        alert_input(
            observables=[
                {"dataType": "domain", "data": domain},
                {"dataType": "ip", "data": "198.51.100.1"},
                {"dataType": "mail", "data": "x@example.com", "ignoreSimilarity": True},
            ]
        )
    )
    second = thehive.alert.create(
        alert_input(
            observables=[
                {"dataType": "domain", "data": domain},
                {"dataType": "mail", "data": "x@example.com"},
            ]
        )
    )
    similar = thehive.alert.get_similar_observables(first["_id"], second["_id"])
    assert [o["data"] for o in similar] == [domain]
    case = thehive.case.create({"title": unique("case"), "description": "d"})
    thehive.case.create_observable(case["_id"], {"dataType": "ip", "data": "198.51.100.1"})
    similar = thehive.alert.get_similar_observables(first["_id"], case["_id"])
    assert [o["data"] for o in similar] == ["198.51.100.1"]
    error = error_of(thehive.alert.get_similar_observables, first["_id"], "~999999999")
    assert error["type"] == "NotFoundError"


def test_similar_cases_and_alerts_queries(fresh_org):
    _name, client = fresh_org
    domain = unique("d") + ".example"
    source = client.alert.create(
        alert_input(
            observables=[
                {"dataType": "domain", "data": domain, "ioc": True},
                {"dataType": "ip", "data": "203.0.113.9"},
            ]
        )
    )
    twin = client.alert.create(alert_input(observables=[{"dataType": "domain", "data": domain}]))
    client.alert.create(alert_input(observables=[{"dataType": "domain", "data": "other.example"}]))
    case = client.case.create({"title": "related", "description": "d"})
    client.case.create_observable(case["_id"], {"dataType": "domain", "data": domain, "ioc": True})
    client.case.create_observable(case["_id"], {"dataType": "ip", "data": "203.0.113.9"})
    client.case.create_observable(case["_id"], {"dataType": "url", "data": "http://unrelated"})
    client.case.create({"title": "unrelated", "description": "d"})

    cases = _query(
        client, [{"_name": "getAlert", "idOrName": source["_id"]}, {"_name": "similarCasesLight"}]
    )
    assert [c["_id"] for c in cases] == [case["_id"]]
    assert cases[0]["title"] == "related"
    assert cases[0]["similarObservableCount"] == 2
    assert cases[0]["similarIocCount"] == 1
    assert cases[0]["observableCount"] == 3
    assert cases[0]["iocCount"] == 1
    assert cases[0]["observableTypes"] == {"domain": 1, "ip": 1}

    alerts = _query(
        client, [{"_name": "getAlert", "idOrName": source["_id"]}, {"_name": "similarAlertsLight"}]
    )
    assert [a["_id"] for a in alerts] == [twin["_id"]]
    assert alerts[0]["similarObservableCount"] == 1
    count = _query(
        client,
        [
            {"_name": "getAlert", "idOrName": source["_id"]},
            {"_name": "similarAlertsLight"},
            {"_name": "count"},
        ],
    )
    assert count == 1


def test_other_organisations_cases_are_out_of_reach(thehive, fresh_org):
    _name, other = fresh_org
    foreign_case = other.case.create({"title": "theirs", "description": "d"})
    alert = thehive.alert.create(alert_input())
    for call in (thehive.alert.merge_into_case, thehive.alert.import_into_case):
        assert error_of(call, alert["_id"], foreign_case["_id"])["type"] == "NotFoundError"
    assert thehive.alert.get(alert["_id"]) == alert
    assert other.case.get(foreign_case["_id"]) == foreign_case


def test_alert_list_extra_data_counts_similar_cases_and_shows_the_read_flag(thehive, fresh_org):
    """Propolis' extraData for the alert queue: per alert, how many visible cases share an
    observable (another organisation's case does not count), and the read flag."""
    other_name, other = fresh_org
    domain = unique("d") + ".example"
    ip = "198.51.100.77"
    two = thehive.alert.create(
        alert_input(
            observables=[{"dataType": "domain", "data": domain}, {"dataType": "ip", "data": ip}]
        )
    )
    none = thehive.alert.create(alert_input(observables=[{"dataType": "fqdn", "data": domain}]))
    for observables in ([("domain", domain), ("ip", ip)], [("ip", ip)]):
        case = thehive.case.create({"title": "shares", "description": "d"})
        for data_type, data in observables:
            thehive.case.create_observable(case["_id"], {"dataType": data_type, "data": data})
    theirs = other.case.create({"title": "theirs", "description": "d"})
    other.case.create_observable(theirs["_id"], {"dataType": "domain", "data": domain})
    found = _query(
        thehive,
        [
            {"_name": "listAlert"},
            {"_name": "filter", "_in": {"_field": "_id", "_values": [two["_id"], none["_id"]]}},
            {"_name": "sort", "_fields": [{"_createdAt": "asc"}]},
            {"_name": "page", "from": 0, "to": 2, "extraData": ["similarCaseCount", "read"]},
        ],
    )
    assert [a["extraData"] for a in found] == [
        {"similarCaseCount": 2, "read": False},
        {"similarCaseCount": 0, "read": False},
    ]
