"""Cases: create, read, update (closing, reopening, clearing), bulk update, delete,
numbering per organisation, bad input and tenancy."""

from __future__ import annotations

import pytest
from thehive4py.errors import TheHiveError
from thehive4py.query.filters import Eq

from tests.cases.conftest import assert_error, new_case, unique


def test_create_renders_the_same_everywhere(thehive):
    case = new_case(thehive, tags=["a", "b"], severity=3, tlp=1, pap=0, flag=True)
    assert case["_type"] == "Case"
    assert case["status"] == case["stage"] == "New"
    assert case["access"] == {"_kind": "OrganisationAccessKind"}
    assert (case["severityLabel"], case["tlpLabel"], case["papLabel"]) == ("HIGH", "GREEN", "CLEAR")
    assert case["tags"] == ["a", "b"] and case["flag"] is True
    assert case["customFields"] == [] and case["extraData"] == {}
    assert case["newDate"] == case["_createdAt"]
    assert "timeToDetect" in case
    assert thehive.case.get(case["_id"]) == case
    assert thehive.case.find(filters=Eq("title", case["title"])) == [case]
    by_query = thehive.session.make_request(
        "POST", "/api/v1/query", json={"query": [{"_name": "getCase", "idOrName": case["_id"]}]}
    )
    assert by_query == [case]


def test_numbers_count_per_organisation(fresh_org):
    _name, client = fresh_org
    numbers = [new_case(client)["number"] for _ in range(3)]
    assert numbers == [1, 2, 3]
    # a case number is a valid reference to the case
    assert client.case.get("2")["number"] == 2
    assert client.case.get(2)["number"] == 2


def test_defaults(thehive):
    case = new_case(thehive)
    assert (case["severity"], case["tlp"], case["pap"], case["flag"]) == (2, 2, 2, False)
    assert case["tags"] == []
    for absent in ("summary", "assignee", "impactStatus", "endDate", "closedDate"):
        assert absent not in case


def test_update_fields_and_tags(thehive):
    case = new_case(thehive, tags=["keep", "drop"])
    thehive.case.update(
        case["_id"],
        {
            "title": "renamed " + case["title"],
            "severity": 4,
            "addTags": ["new"],
            "removeTags": ["drop"],
        },
    )
    updated = thehive.case.get(case["_id"])
    assert updated["title"] == "renamed " + case["title"]
    assert updated["severity"] == 4 and updated["severityLabel"] == "CRITICAL"
    assert updated["tags"] == ["keep", "new"]
    assert updated["_updatedBy"] == "admin@thehive.local"
    assert updated["_updatedAt"] >= case["_createdAt"]


def test_close_and_reopen(thehive):
    case = new_case(thehive)
    thehive.case.update(case["_id"], {"status": "InProgress"})
    in_progress = thehive.case.get(case["_id"])
    assert in_progress["stage"] == "InProgress" and "inProgressDate" in in_progress

    thehive.case.close(case["_id"], "TruePositive", "Closed by the test", "WithImpact")
    closed = thehive.case.get(case["_id"])
    assert (closed["status"], closed["stage"]) == ("TruePositive", "Closed")
    assert closed["impactStatus"] == "WithImpact"
    assert closed["summary"] == "Closed by the test"
    assert closed["closedDate"] >= closed["inProgressDate"]
    assert closed["endDate"] == closed["closedDate"]
    assert closed["handlingDuration"] == closed["timeToResolve"] >= 0

    thehive.case.open(case["_id"])
    reopened = thehive.case.get(case["_id"])
    assert (reopened["status"], reopened["stage"]) == ("InProgress", "InProgress")
    assert "closedDate" not in reopened and "handlingDuration" not in reopened


def test_closing_a_case_ends_its_open_tasks(thehive):
    """Nothing of a closed case stays in anyone's queue: started tasks are completed, the
    others cancelled, and a mandatory task without a log (which may not complete) too."""
    case = new_case(thehive)
    titles = ["waiting", "started", "mandatory unlogged", "mandatory logged", "done"]
    tasks = {t: thehive.task.create(case["_id"], {"title": t}) for t in titles}
    for title in titles[1:]:
        thehive.task.update(tasks[title]["_id"], {"status": "InProgress"})
    for title in ("mandatory unlogged", "mandatory logged"):
        thehive.task.update(tasks[title]["_id"], {"mandatory": True})
    thehive.task_log.create(tasks["mandatory logged"]["_id"], {"message": "did it"})
    thehive.task.update(tasks["done"]["_id"], {"status": "Completed"})
    done_at = thehive.task.get(tasks["done"]["_id"])["endDate"]

    thehive.case.close(case["_id"], "TruePositive", "closed", "NoImpact")

    after = {t["title"]: t for t in thehive.case.find_tasks(case["_id"])}
    assert {title: after[title]["status"] for title in titles} == {
        "waiting": "Cancel",
        "started": "Completed",
        "mandatory unlogged": "Cancel",
        "mandatory logged": "Completed",
        "done": "Completed",
    }
    assert all("endDate" in t for t in after.values())
    assert after["done"]["endDate"] == done_at  # an ended task is left as it was
    thehive.case.open(case["_id"])  # reopening does not bring them back: they were ended
    assert thehive.task.get(tasks["waiting"]["_id"])["status"] == "Cancel"


def test_null_clears_optional_fields(thehive):
    case = new_case(thehive, summary="s", assignee="admin@thehive.local", endDate=1_700_000_000_000)
    thehive.case.update(case["_id"], {"impactStatus": "NoImpact"})
    assert thehive.case.get(case["_id"])["assignee"] == "admin@thehive.local"
    thehive.case.update(
        case["_id"], {"summary": None, "assignee": None, "impactStatus": None, "endDate": None}
    )
    cleared = thehive.case.get(case["_id"])
    for key in ("summary", "assignee", "impactStatus", "endDate"):
        assert cleared.get(key) is None


def test_bulk_update(thehive):
    cases = [new_case(thehive) for _ in range(2)]
    title = unique("bulk")
    thehive.case.bulk_update(
        {"ids": [c["_id"] for c in cases], "title": title, "description": "bulk"}
    )
    after = [thehive.case.get(c["_id"]) for c in cases]
    assert [(a["title"], a["description"]) for a in after] == [(title, "bulk")] * 2


def test_bulk_update_with_an_unknown_case_changes_nothing(thehive, http):
    case = new_case(thehive)
    response = http(
        "PATCH", "/api/v1/case/_bulk", json={"ids": [case["_id"], "~999999999"], "title": "x"}
    )
    assert_error(response, 404, "NotFoundError")
    assert thehive.case.get(case["_id"])["title"] == case["title"]


def test_delete(thehive):
    case = new_case(thehive)
    thehive.case.delete(case["_id"])
    with pytest.raises(TheHiveError):
        thehive.case.get(case["_id"])
    assert thehive.case.find(filters=Eq("_id", case["_id"])) == []
    assert thehive.case.count(filters=Eq("title", case["title"])) == 0


@pytest.mark.parametrize(
    "body, field",
    [
        ({"description": "no title"}, "title"),
        ({"title": "no description"}, "description"),
        ({"title": "t", "description": "d", "severity": 5}, "severity"),
        ({"title": "t", "description": "d", "tlp": 9}, "tlp"),
        ({"title": "t", "description": "d", "pap": -1}, "pap"),
        ({"title": "t", "description": "d", "status": "Nonsense"}, "status"),
        ({"title": "t", "description": "d", "tags": "x" * 200}, "tags"),
        ({"title": "t", "description": "d", "flag": "yes"}, "flag"),
        ({"title": "t", "description": "d", "tasks": "not a list"}, "tasks"),
        ({"title": "t", "description": "d", "access": {"_kind": "Bogus"}}, "_kind"),
        ({"title": "t" * 600, "description": "d"}, "title"),
    ],
)
def test_create_rejects_bad_input(thehive, http, body, field):
    before = thehive.case.count()
    response = http("POST", "/api/v1/case", json=body)
    error = assert_error(response, 400)
    assert field in error["message"]
    assert thehive.case.count() == before


def test_create_rejects_unknown_assignee_and_template(thehive, http):
    before = thehive.case.count()
    response = http(
        "POST", "/api/v1/case", json={"title": "t", "description": "d", "assignee": "nobody@x"}
    )
    assert_error(response, 404, "NotFoundError")
    response = http(
        "POST", "/api/v1/case", json={"title": "t", "description": "d", "caseTemplate": unique()}
    )
    assert_error(response, 404, "NotFoundError")
    assert thehive.case.count() == before


@pytest.mark.parametrize(
    "body",
    [
        {"status": "NotAStatus"},
        {"severity": 0},
        {"title": None},
        {"title": ""},
        {"impactStatus": "Maybe"},
        {"tags": [1, 2]},
        {"assignee": "ghost@nowhere"},
        {"startDate": "yesterday"},
    ],
)
def test_update_rejects_bad_input_and_changes_nothing(thehive, http, body):
    case = new_case(thehive)
    response = http("PATCH", f"/api/v1/case/{case['_id']}", json={"description": "changed", **body})
    assert 400 <= response.status_code < 500
    assert {"type", "message"} <= set(response.json())
    assert thehive.case.get(case["_id"]) == case


def test_unknown_case_is_404(http):
    for method, path in [
        ("GET", "/api/v1/case/~999999999"),
        ("PATCH", "/api/v1/case/~999999999"),
        ("DELETE", "/api/v1/case/~999999999"),
        ("GET", "/api/v1/case/not-a-case"),
        ("GET", "/api/v1/case/999999"),
        ("GET", "/api/v1/case/~99999999999999999999999"),
        ("GET", "/api/v1/case/99999999999999999999999"),
        ("GET", "/api/v1/case/~²"),
    ]:
        assert_error(http(method, path, json={}), 404, "NotFoundError")


def test_other_organisation_cannot_see_or_change(thehive, fresh_org, server):
    case = new_case(thehive)
    _name, other = fresh_org
    with pytest.raises(TheHiveError, match="NotFoundError"):
        other.case.get(case["_id"])
    with pytest.raises(TheHiveError, match="NotFoundError"):
        other.case.update(case["_id"], {"title": "hijacked"})
    with pytest.raises(TheHiveError, match="NotFoundError"):
        other.case.delete(case["_id"])
    assert other.case.find(filters=Eq("_id", case["_id"])) == []
    assert thehive.case.get(case["_id"]) == case


def test_admin_organisation_cannot_hold_cases(thehive_admin):
    with pytest.raises(TheHiveError) as error:
        thehive_admin.case.create(case={"title": "t", "description": "d"})
    assert error.value.response.status_code in (400, 403)


def test_manage_access_restricts_visibility(thehive, server):
    case = new_case(thehive)
    access = {"_kind": "UserAccessKind", "users": ["admin@thehive.local"]}
    thehive.case.manage_access(case["_id"], {"access": access})
    assert thehive.case.get(case["_id"])["access"] == access

    # another member of main-org no longer sees it
    login = unique("analyst") + "@example.com"
    thehive.user.create(
        user={"login": login, "name": "Analyst", "profile": "analyst", "organisation": "main-org"}
    )
    thehive.user.set_password(login, "analyst-password")
    analyst = server.client(organisation="main-org", username=login, password="analyst-password")
    with pytest.raises(TheHiveError, match="NotFoundError"):
        analyst.case.get(case["_id"])
    assert analyst.case.find(filters=Eq("_id", case["_id"])) == []

    thehive.case.manage_access(case["_id"], {"access": {"_kind": "OrganisationAccessKind"}})
    assert analyst.case.get(case["_id"])["access"] == {"_kind": "OrganisationAccessKind"}


def test_manage_access_rejects_unknown_users(thehive, http):
    case = new_case(thehive)
    response = http(
        "POST",
        f"/api/v1/case/{case['_id']}/access",
        json={"access": {"_kind": "UserAccessKind", "users": ["ghost@nowhere"]}},
    )
    assert_error(response, 404)
    assert thehive.case.get(case["_id"])["access"] == {"_kind": "OrganisationAccessKind"}


def test_change_owner_to_the_current_owner_is_a_no_op(thehive):
    case = new_case(thehive)
    thehive.case.change_owner_organisation(case["_id"], {"organisation": "main-org"})
    assert thehive.case.get(case["_id"]) == case


def test_change_owner_to_a_linked_organisation(thehive, linked_org):
    name, other = linked_org
    case = new_case(thehive)
    thehive.case.change_owner_organisation(
        case["_id"], {"organisation": name, "keepProfile": "read-only"}
    )
    moved = other.case.get(case["_id"])
    assert moved["number"] == 1  # numbered in its new owner organisation
    # the old owner keeps a read-only share: it sees the case but cannot change it
    assert thehive.case.get(case["_id"])["_id"] == case["_id"]
    with pytest.raises(TheHiveError, match="AuthorizationError"):
        thehive.case.update(case["_id"], {"title": "not allowed"})


def test_change_owner_needs_a_linked_organisation(thehive, fresh_org, http):
    name, _client = fresh_org
    case = new_case(thehive)
    response = http("POST", f"/api/v1/case/{case['_id']}/owner", json={"organisation": name})
    assert_error(response, 400)
    assert thehive.case.get(case["_id"]) == case
