"""Sharing cases with linked organisations, and their tasks and observables; task required
actions."""

from __future__ import annotations

import pytest
from thehive4py.errors import TheHiveError
from thehive4py.query.filters import Eq

from tests.cases.conftest import assert_error, new_case, unique


def _task_ids(client, case_id: str) -> list[str]:
    return [t["_id"] for t in client.case.find_tasks(case_id)]


def test_share_a_case_with_a_linked_organisation(thehive, linked_org):
    name, other = linked_org
    case = new_case(thehive)
    with pytest.raises(TheHiveError, match="NotFoundError"):
        other.case.get(case["_id"])

    created = thehive.case.share(case["_id"], [{"organisation": name, "profile": "analyst"}])
    assert [(s["organisationName"], s["profileName"], s["owner"]) for s in created] == [
        (name, "analyst", False)
    ]
    assert created[0]["caseId"] == case["_id"] and created[0]["_type"] == "Share"
    assert thehive.case.list_shares(case["_id"]) == created
    # the owner's share and the caller's own share are never listed
    assert other.case.list_shares(case["_id"]) == []

    seen = other.case.get(case["_id"])
    assert seen["title"] == case["title"]
    assert [c["_id"] for c in other.case.find(filters=Eq("_id", case["_id"]))] == [case["_id"]]
    other.case.update(case["_id"], {"description": "edited by the partner"})
    assert thehive.case.get(case["_id"])["description"] == "edited by the partner"
    # sharing again creates nothing
    assert thehive.case.share(case["_id"], [{"organisation": name}]) == []


def test_a_read_only_share_cannot_change_the_case(thehive, linked_org):
    name, other = linked_org
    case = new_case(thehive)
    thehive.case.share(case["_id"], [{"organisation": name, "profile": "read-only"}])
    with pytest.raises(TheHiveError, match="AuthorizationError"):
        other.case.update(case["_id"], {"title": "nope"})
    with pytest.raises(TheHiveError):
        other.case.delete(case["_id"])
    assert thehive.case.get(case["_id"]) == case


def test_sharing_needs_a_link(thehive, fresh_org, http):
    name, other = fresh_org
    case = new_case(thehive)
    response = http(
        "POST", f"/api/v1/case/{case['_id']}/shares", json={"shares": [{"organisation": name}]}
    )
    assert_error(response, 400)
    assert thehive.case.list_shares(case["_id"]) == []
    with pytest.raises(TheHiveError):
        other.case.get(case["_id"])


def test_set_unshare_and_remove_shares(thehive, linked_org, http):
    name, other = linked_org
    case = new_case(thehive)
    result = thehive.case.set_share(case["_id"], [{"organisation": name, "profile": "read-only"}])
    assert [(s["organisationName"], s["profileName"]) for s in result] == [(name, "read-only")]
    result = thehive.case.set_share(case["_id"], [{"organisation": name, "profile": "analyst"}])
    assert [(s["organisationName"], s["profileName"]) for s in result] == [(name, "analyst")]

    thehive.case.unshare(case["_id"], [name])
    assert thehive.case.list_shares(case["_id"]) == []
    with pytest.raises(TheHiveError):
        other.case.get(case["_id"])

    share = thehive.case.share(case["_id"], [{"organisation": name}])[0]
    response = http("PATCH", f"/api/v1/case/share/{share['_id']}", json={"profile": "read-only"})
    assert response.status_code == 204
    assert thehive.case.list_shares(case["_id"])[0]["profileName"] == "read-only"
    thehive.case.remove_share(share["_id"])
    assert thehive.case.list_shares(case["_id"]) == []


def test_own_share_cannot_be_removed(thehive, linked_org, http):
    name, other = linked_org
    case = new_case(thehive)
    thehive.case.share(case["_id"], [{"organisation": name}])
    # the partner cannot remove the owner's share, nor its own
    with pytest.raises(TheHiveError, match="BadRequest"):
        other.case.unshare(case["_id"], ["main-org"])
    with pytest.raises(TheHiveError, match="BadRequest"):
        other.case.unshare(case["_id"], [name])
    assert other.case.get(case["_id"])["_id"] == case["_id"]


def test_tasks_of_a_shared_case_follow_the_task_rule(thehive, linked_org):
    name, other = linked_org
    case = new_case(thehive, tasks=[{"title": "one"}, {"title": "two"}])
    one, two = _task_ids(thehive, case["_id"])
    thehive.case.share(case["_id"], [{"organisation": name, "taskRule": "manual"}])
    assert _task_ids(other, case["_id"]) == []
    with pytest.raises(TheHiveError, match="NotFoundError"):
        other.task.get(one)

    thehive.task.share(one, [name])
    assert _task_ids(other, case["_id"]) == [one]
    assert [s["organisationName"] for s in thehive.task.list_shares(one)] == [name]
    assert thehive.task.list_shares(two) == []

    thehive.case.set_share(case["_id"], [{"organisation": name, "taskRule": "autoShare"}])
    assert sorted(_task_ids(other, case["_id"])) == sorted([one, two])


def test_task_share_with_own_organisation_is_a_no_op(thehive):
    case = new_case(thehive, tasks=[{"title": "t"}])
    (task_id,) = _task_ids(thehive, case["_id"])
    thehive.task.share(task_id, ["main-org"])
    assert thehive.task.list_shares(task_id) == []


def test_task_share_needs_the_case_to_be_shared(thehive, linked_org, http):
    name, other = linked_org
    case = new_case(thehive, tasks=[{"title": "t"}])
    (task_id,) = _task_ids(thehive, case["_id"])
    response = http("POST", f"/api/v1/task/{task_id}/shares", json={"organisations": [name]})
    assert_error(response, 400)
    assert thehive.task.list_shares(task_id) == []


def test_required_actions(thehive, linked_org):
    name, _other = linked_org
    case = new_case(thehive, tasks=[{"title": "t"}])
    (task_id,) = _task_ids(thehive, case["_id"])
    assert thehive.task.get_required_actions(task_id) == {"main-org": False}
    thehive.task.set_as_required(task_id, "main-org")
    assert thehive.task.get_required_actions(task_id)["main-org"] is True
    thehive.task.set_as_done(task_id, "main-org")
    assert thehive.task.get_required_actions(task_id)["main-org"] is False

    thehive.case.share(case["_id"], [{"organisation": name}])
    thehive.task.share(task_id, [name])
    thehive.task.set_as_required(task_id, name)
    assert thehive.task.get_required_actions(task_id) == {"main-org": False, name: True}


def test_observables_of_a_shared_case_follow_the_observable_rule(thehive, linked_org):
    name, other = linked_org
    case = new_case(thehive)
    observables = thehive.case.create_observable(
        case["_id"], {"dataType": "ip", "data": ["10.0.0.1", "10.0.0.2"]}
    )
    first = observables[0]["_id"]
    thehive.case.share(case["_id"], [{"organisation": name, "observableRule": "manual"}])
    assert other.case.find_observables(case["_id"]) == []

    thehive.observable.share(first, [name])
    assert [o["_id"] for o in other.case.find_observables(case["_id"])] == [first]
    assert other.observable.get(first)["_id"] == first
    # thehive4py lists observable shares through the case route: always an empty list
    assert thehive.observable.list_shares(first) == []
    shares = thehive.session.make_request("GET", f"/api/v1/observable/{first}/shares")
    assert [s["organisationName"] for s in shares] == [name]

    thehive.observable.unshare(first, [name])
    assert other.case.find_observables(case["_id"]) == []


def test_other_organisations_cannot_touch_shares(thehive, fresh_org, server):
    name, other = fresh_org
    case = new_case(thehive, tasks=[{"title": "t"}])
    (task_id,) = _task_ids(thehive, case["_id"])
    for call in (
        lambda: other.case.share(case["_id"], [{"organisation": name}]),
        lambda: other.task.share(task_id, [name]),
        lambda: other.task.set_as_required(task_id, name),
        lambda: other.task.get_required_actions(task_id),
    ):
        with pytest.raises(TheHiveError, match="NotFoundError"):
            call()
    with pytest.raises(TheHiveError, match="NotFoundError"):  # not even "it has none"
        other.case.list_shares(case["_id"])
    assert thehive.task.get_required_actions(task_id) == {"main-org": False}


def test_sharing_parameters_at_creation(thehive, linked_org):
    name, other = linked_org
    case = thehive.case.create(
        case={
            "title": unique(),
            "description": "d",
            "sharingParameters": [{"organisation": name, "profile": "analyst"}],
        }
    )
    assert other.case.get(case["_id"])["_id"] == case["_id"]
