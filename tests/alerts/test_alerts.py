"""Alerts: create, read, update, follow, delete, queries and tenancy (spec §4)."""

from __future__ import annotations

from thehive4py.query.filters import Eq, Like
from thehive4py.query.page import Paginate
from thehive4py.query.sort import Asc

from tests.alerts.helpers import alert_input, error_of, unique


def _by_ref(thehive, source_ref: str) -> list[dict]:
    return thehive.alert.find(filters=Eq("sourceRef", source_ref))


def test_create_renders_every_default_and_reads_back_identically(thehive):
    created = thehive.alert.create(alert_input(date=123, tags=["a", "b"]))
    assert created["_type"] == "Alert"
    assert created["_id"].startswith("~")
    assert created["_createdBy"] == "admin@thehive.local"
    assert "_updatedAt" not in created and "_updatedBy" not in created
    assert created["severity"] == 2 and created["severityLabel"] == "MEDIUM"
    assert created["tlp"] == 2 and created["tlpLabel"] == "AMBER"
    assert created["pap"] == 2 and created["papLabel"] == "AMBER"
    assert created["status"] == "New" and created["stage"] == "New"
    assert created["follow"] is True
    assert created["observableCount"] == 0
    assert created["customFields"] == [] and created["extraData"] == {}
    assert created["tags"] == ["a", "b"]
    assert created["date"] == 123
    assert created["newDate"] == created["_createdAt"]
    assert created["timeToDetect"] == created["newDate"] - 123
    assert "caseId" not in created and "summary" not in created

    assert thehive.alert.get(created["_id"]) == created
    assert _by_ref(thehive, created["sourceRef"]) == [created]
    by_query = thehive.session.make_request(
        "POST", "/api/v1/query", json={"query": [{"_name": "getAlert", "idOrName": created["_id"]}]}
    )
    assert by_query == [created]


def test_alert_is_found_by_its_name_form(thehive):
    created = thehive.alert.create(alert_input())
    name = f"{created['type']};{created['source']};{created['sourceRef']}"
    assert thehive.alert.get(name) == created


def test_create_with_observables_reports_update_meta_only_on_later_reads(thehive, tmp_path):
    path = tmp_path / "alert-observable.txt"
    path.write_text("evil payload")
    body = alert_input(
        observables=[
            {"dataType": "url", "data": "http://example.com/x"},
            {"dataType": "file", "attachment": "obs1"},
        ]
    )
    created = thehive.alert.create(body, attachment_map={"obs1": str(path)})
    assert created["observableCount"] == 2
    assert "_updatedAt" not in created and "_updatedBy" not in created
    fetched = thehive.alert.get(created["_id"])
    assert fetched.pop("_updatedAt") >= created["_createdAt"]
    assert fetched.pop("_updatedBy") == "admin@thehive.local"
    assert fetched == created
    observables = thehive.alert.find_observables(created["_id"])
    assert sorted(o["dataType"] for o in observables) == ["file", "url"]
    file_observable = next(o for o in observables if o["dataType"] == "file")
    assert file_observable["attachment"]["name"] == "alert-observable.txt"


def test_create_with_json_observables_and_procedures(thehive):
    body = alert_input(
        observables=[
            {"dataType": "domain", "data": "example.com"},
            {"dataType": "ip", "data": "10.1.2.3"},
        ],
        procedures=[{"patternId": "T1566.001", "occurDate": 1000, "tactic": "initial-access"}],
    )
    created = thehive.alert.create(body)
    assert created["observableCount"] == 2
    procedures = thehive.alert.find_procedures(created["_id"])
    assert len(procedures) == 1
    assert procedures[0]["patternName"] == "Spearphishing Attachment"
    assert procedures[0]["tacticLabel"] == "Initial Access"


def test_duplicate_type_source_source_ref_is_a_create_error(thehive):
    first = thehive.alert.create(alert_input())
    error = error_of(
        thehive.alert.create, alert_input(sourceRef=first["sourceRef"], title="the second")
    )
    assert error["type"] == "CreateError"
    assert first["sourceRef"] in error["message"]
    assert [a["_id"] for a in _by_ref(thehive, first["sourceRef"])] == [first["_id"]]
    # another type with the same reference is another alert
    other = thehive.alert.create(alert_input(sourceRef=first["sourceRef"], type="other-type"))
    assert other["_id"] != first["_id"]


def test_the_same_alert_may_exist_in_another_organisation(thehive, fresh_org):
    _name, other_client = fresh_org
    first = thehive.alert.create(alert_input())
    twin = other_client.alert.create(alert_input(sourceRef=first["sourceRef"]))
    assert twin["_id"] != first["_id"]


def test_invalid_input_is_rejected_and_creates_nothing(thehive):
    ref = unique()
    bad_bodies = [
        {k: v for k, v in alert_input(sourceRef=ref).items() if k != "title"},
        alert_input(sourceRef=ref, severity=7),
        alert_input(sourceRef=ref, tlp=9),
        alert_input(sourceRef=ref, pap=-1),
        alert_input(sourceRef=ref, status="NoSuchStatus"),
        alert_input(sourceRef=ref, status="Imported"),
        alert_input(sourceRef=ref, tags=["tag-too-long" * 20]),
        alert_input(sourceRef=ref, tags=[1, 2]),
        alert_input(sourceRef=ref, observables="nope"),
        alert_input(sourceRef=ref, observables=[{"dataType": "no-such-type", "data": "x"}]),
        alert_input(sourceRef=ref, procedures=[{"patternId": "T1059"}]),
        alert_input(sourceRef=ref, assignee="nobody@nowhere"),
        alert_input(sourceRef=ref, type="x" * 33),
    ]
    for body in bad_bodies:
        error = error_of(thehive.alert.create, body)
        assert error["type"] in ("AttributeCheckingError", "BadRequest", "NotFoundError"), body
    assert _by_ref(thehive, ref) == []


def test_unknown_case_template_is_stored_not_checked(thehive):
    created = thehive.alert.create(alert_input(caseTemplate="no-such-template"))
    assert created["caseTemplate"] == "no-such-template"


def test_update_fields_status_dates_and_tags(thehive):
    created = thehive.alert.create(
        alert_input(summary="s", externalLink="http://x", tags=["keep", "drop"], date=1000)
    )
    alert_id = created["_id"]
    thehive.alert.update(
        alert_id,
        {
            "title": "new title",
            "description": "new description",
            "severity": 3,
            "summary": None,
            "externalLink": None,
            "addTags": ["added"],
            "removeTags": ["drop"],
            "status": "InProgress",
            "assignee": "admin@thehive.local",
        },
    )
    alert = thehive.alert.get(alert_id)
    assert alert["title"] == "new title" and alert["description"] == "new description"
    assert alert["severity"] == 3 and alert["severityLabel"] == "HIGH"
    assert "summary" not in alert and "externalLink" not in alert
    assert alert["tags"] == ["keep", "added"]
    assert alert["status"] == alert["stage"] == "InProgress"
    assert alert["assignee"] == "admin@thehive.local"
    assert alert["inProgressDate"] >= alert["newDate"]
    assert alert["timeToTriage"] == alert["inProgressDate"] - alert["newDate"]
    assert alert["timeToAcknowledge"] == alert["inProgressDate"] - 1000
    assert alert["_updatedBy"] == "admin@thehive.local"

    thehive.alert.update(alert_id, {"status": "FalsePositive", "assignee": None})
    closed = thehive.alert.get(alert_id)
    assert closed["status"] == "FalsePositive" and closed["stage"] == "Closed"
    assert closed["closedDate"] >= closed["inProgressDate"]
    assert closed["timeToQualify"] == closed["closedDate"] - closed["newDate"]
    assert "assignee" not in closed

    thehive.alert.update(alert_id, {"status": "New"})
    reopened = thehive.alert.get(alert_id)
    assert reopened["stage"] == "New" and "closedDate" not in reopened


def test_bad_updates_change_nothing(thehive):
    created = thehive.alert.create(alert_input())
    alert_id = created["_id"]
    for fields in (
        {"title": "changed", "severity": 9},
        {"title": None},
        {"status": "Imported"},
        {"status": "Nope"},
        {"follow": "yes"},
        {"tlp": None},
        {"assignee": "ghost@example.com"},
    ):
        error_of(thehive.alert.update, alert_id, fields)
    assert thehive.alert.get(alert_id) == created
    assert error_of(thehive.alert.update, "~999999999", {"title": "x"})["type"] == "NotFoundError"


def test_changing_the_reference_keeps_it_unique(thehive):
    first = thehive.alert.create(alert_input())
    second = thehive.alert.create(alert_input())
    error = error_of(thehive.alert.update, second["_id"], {"sourceRef": first["sourceRef"]})
    assert error["type"] == "CreateError"
    thehive.alert.update(second["_id"], {"sourceRef": second["sourceRef"] + "-renamed"})
    assert thehive.alert.get(second["_id"])["sourceRef"] == second["sourceRef"] + "-renamed"


def test_bulk_update(thehive):
    ids = [thehive.alert.create(alert_input())["_id"] for _ in range(2)]
    thehive.alert.bulk_update({"ids": ids, "title": "bulk title", "description": "bulk"})
    for alert_id in ids:
        alert = thehive.alert.get(alert_id)
        assert alert["title"] == "bulk title" and alert["description"] == "bulk"
    error = error_of(thehive.alert.bulk_update, {"ids": [ids[0], "~999999999"], "title": "no"})
    assert error["type"] == "NotFoundError"
    assert thehive.alert.get(ids[0])["title"] == "bulk title"
    assert error_of(thehive.alert.bulk_update, {"title": "no ids"})["type"] in (
        "AttributeCheckingError",
        "BadRequest",
    )


def test_follow_and_unfollow(thehive):
    alert_id = thehive.alert.create(alert_input())["_id"]
    thehive.alert.unfollow(alert_id)
    assert thehive.alert.get(alert_id)["follow"] is False
    thehive.alert.follow(alert_id)
    assert thehive.alert.get(alert_id)["follow"] is True


def test_delete_and_bulk_delete(thehive):
    alert = thehive.alert.create(
        alert_input(observables=[{"dataType": "domain", "data": "deleted.example"}])
    )
    thehive.comment.create_in_alert(alert["_id"], {"message": "goes away too"})
    thehive.alert.delete(alert["_id"])
    assert error_of(thehive.alert.get, alert["_id"])["type"] == "NotFoundError"
    assert thehive.alert.find_observables(alert["_id"]) == []

    ids = [thehive.alert.create(alert_input())["_id"] for _ in range(2)]
    thehive.alert.bulk_delete(ids)
    for alert_id in ids:
        error_of(thehive.alert.get, alert_id)
    error_of(thehive.alert.delete, alert["_id"])


def test_queries_filter_sort_page_and_count(thehive, fresh_org):
    _name, client = fresh_org
    titles = ["phishing one", "malware two", "phishing three"]
    created = [client.alert.create(alert_input(title=t, tags=[t.split()[0]])) for t in titles]
    found = client.alert.find(filters=Eq("tags", "phishing"), sortby=Asc("_createdAt"))
    assert found == [created[0], created[2]]
    assert client.alert.find(filters=Like("title", "malware")) == [created[1]]
    assert client.alert.count() == 3
    assert client.alert.count(filters=Eq("title", "phishing one")) == 1
    page = client.alert.find(sortby=Asc("title"), paginate=Paginate(0, 2))
    assert [a["title"] for a in page] == ["malware two", "phishing one"]
    with_extra = client.alert.find(
        filters=Eq("_id", created[0]["_id"]),
        paginate=Paginate(0, 1, ["procedureCount", "importDate", "status"]),
    )
    assert with_extra[0]["extraData"]["procedureCount"] == 0
    assert with_extra[0]["extraData"]["status"]["stage"] == "New"
    error = error_of(client.alert.find, filters=Eq("noSuchField", "x"))
    assert error["type"] == "BadRequest"


def test_filter_on_custom_field(thehive, thehive_admin):
    name = unique("cf")
    thehive_admin.custom_field.create(
        {"name": name, "group": "test", "description": "d", "type": "string"}
    )
    tagged = thehive.alert.create(alert_input(customFields=[{"name": name, "value": "Sales"}]))
    thehive.alert.create(alert_input(customFields={name: "Support"}))
    assert tagged["customFields"][0]["name"] == name
    assert tagged["customFields"][0]["value"] == "Sales"
    found = thehive.alert.find(filters=Eq(f"customFields.{name}", "Sales"))
    assert [a["_id"] for a in found] == [tagged["_id"]]
    thehive.alert.update(tagged["_id"], {"customFields": {name: "Marketing"}})
    assert thehive.alert.get(tagged["_id"])["customFields"][0]["value"] == "Marketing"
    error_of(thehive.alert.create, alert_input(customFields={unique("missing"): "x"}))


def test_another_organisation_can_neither_see_nor_change_the_alert(thehive, fresh_org):
    _name, other = fresh_org
    alert = thehive.alert.create(alert_input())
    alert_id = alert["_id"]
    for call, args in (
        (other.alert.get, (alert_id,)),
        (other.alert.update, (alert_id, {"title": "hijacked"})),
        (other.alert.delete, (alert_id,)),
        (other.alert.follow, (alert_id,)),
        (other.alert.promote_to_case, (alert_id,)),
        (other.comment.create_in_alert, (alert_id, {"message": "hi"})),
    ):
        assert error_of(call, *args)["type"] == "NotFoundError"
    assert other.alert.find(filters=Eq("sourceRef", alert["sourceRef"])) == []
    assert other.alert.find_observables(alert_id) == []
    assert thehive.alert.get(alert_id) == alert


def test_routes_without_body_and_no_500_on_garbage(server):
    http = server.http("main-org")
    response = http.post(server.url + "/api/v1/alert", data="not json")
    assert response.status_code == 400 and response.json()["type"] == "BadRequest"
    response = http.post(server.url + "/api/v1/alert", json=["a", "list"])
    assert response.status_code == 400
    response = http.post(server.url + "/api/v1/alert/delete/_bulk", json={"ids": "~1"})
    assert response.status_code == 400
    response = http.patch(server.url + "/api/v1/alert/~1/", json={})
    assert response.status_code == 404


def test_a_read_only_member_reads_alerts_but_cannot_change_them(thehive, server):
    alert = thehive.alert.create(alert_input())
    login = unique("reader") + "@example.com"
    thehive.user.create(
        user={"login": login, "name": "Reader", "profile": "read-only", "organisation": "main-org"}
    )
    thehive.user.set_password(login, "reader-password")
    reader = server.client(organisation="main-org", username=login, password="reader-password")
    assert reader.alert.get(alert["_id"]) == alert
    for call, args in (
        (reader.alert.create, (alert_input(),)),
        (reader.alert.update, (alert["_id"], {"title": "no"})),
        (reader.alert.delete, (alert["_id"],)),
        (reader.alert.follow, (alert["_id"],)),
        (reader.alert.promote_to_case, (alert["_id"],)),
        (reader.comment.create_in_alert, (alert["_id"], {"message": "no"})),
        (reader.procedure.create_in_alert, (alert["_id"], {"patternId": "T1566", "occurDate": 1})),
    ):
        assert error_of(call, *args)["type"] == "AuthorizationError"
    assert thehive.alert.get(alert["_id"]) == alert
    assert thehive.alert.find_comments(alert["_id"]) == []
