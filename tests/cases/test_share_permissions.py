"""Who may manage a case's shares: ``manageShare`` in the caller's profile *and* in the profile
of its organisation's share; an organisation that does not see the case cannot even find its
shares. Every refused call leaves the shares as they were.

Written for mutants of the share rules that no other test noticed (docs/testing.md,
"Mutation checks"): dropping the permission check of unshare, remove and profile change, or
the visibility condition of a share looked up by id.
"""

from __future__ import annotations

import pytest
from thehive4py.errors import TheHiveError

from tests.cases.conftest import new_case, unique

PASSWORD = "share-permissions password"


@pytest.fixture
def shared(thehive, linked_org):
    """main-org's case with a task and an observable, all shared with a linked organisation:
    (case, task, observable, share, the partner's name)."""
    name, _other = linked_org
    case = new_case(thehive)
    task = thehive.case.create_task(case_id=case["_id"], task={"title": "shared task"})
    observable = thehive.case.create_observable(
        case_id=case["_id"], observable={"dataType": "domain", "data": unique("d") + ".test"}
    )[0]
    share = thehive.case.share(
        case["_id"], [{"organisation": name, "profile": "analyst", "taskRule": "manual"}]
    )[0]
    thehive.task.share(task["_id"], [name])
    thehive.observable.share(observable["_id"], [name])
    return case, task, observable, share, name


@pytest.fixture
def read_only(thehive, server):
    """A read-only member of main-org: plain HTTP as that user."""
    login = unique("reader") + "@example.com"
    thehive.user.create(
        user={"login": login, "name": "Reader", "profile": "read-only", "organisation": "main-org"}
    )
    thehive.user.set_password(login, PASSWORD)
    return server.http("main-org", auth=(login, PASSWORD))


def _state(thehive, case, task, observable):
    return (
        thehive.case.list_shares(case["_id"]),
        thehive.task.list_shares(task["_id"]),
        thehive.observable.list_shares(observable["_id"]),
    )


def test_a_member_without_manage_share_changes_no_share(thehive, server, shared, read_only):
    case, task, observable, share, name = shared
    before = _state(thehive, case, task, observable)
    orgs = {"organisations": [name]}
    calls = [
        ("POST", f"/api/v1/case/{case['_id']}/shares", {"shares": [{"organisation": name}]}),
        ("DELETE", f"/api/v1/case/{case['_id']}/shares", orgs),
        ("DELETE", f"/api/v1/case/share/{share['_id']}", None),
        ("PATCH", f"/api/v1/case/share/{share['_id']}", {"profile": "read-only"}),
        ("POST", f"/api/v1/task/{task['_id']}/shares", orgs),
        ("DELETE", f"/api/v1/task/{task['_id']}/shares", orgs),
        ("POST", f"/api/v1/observable/{observable['_id']}/shares", orgs),
        ("DELETE", f"/api/v1/observable/{observable['_id']}/shares", orgs),
    ]
    for method, path, body in calls:
        response = read_only.request(method, server.url + path, json=body, timeout=30)
        assert response.status_code == 403, (method, path, response.text)
        assert response.json()["type"] == "AuthorizationError"
    assert _state(thehive, case, task, observable) == before


def test_an_organisation_that_does_not_see_the_case_cannot_find_its_shares(thehive, server, shared):
    case, task, observable, share, _name = shared
    outsider = unique("outsider")  # not the partner: fresh_org is the linked one here
    server.create_org(outsider)
    before = _state(thehive, case, task, observable)
    http = server.http(outsider)
    for method, body in (("DELETE", None), ("PATCH", {"profile": "read-only"})):
        response = http.request(
            method, f"{server.url}/api/v1/case/share/{share['_id']}", json=body, timeout=30
        )
        assert response.status_code == 404, (method, response.text)
    assert _state(thehive, case, task, observable) == before


def test_a_read_only_share_cannot_add_or_change_the_case_comments(thehive, linked_org):
    name, other = linked_org
    case = new_case(thehive)
    comment = thehive.comment.create_in_case(case_id=case["_id"], comment={"message": "mine"})
    thehive.case.share(case["_id"], [{"organisation": name, "profile": "read-only"}])
    assert other.comment.get(comment["_id"])["message"] == "mine"  # it sees it
    for call in (
        lambda: other.comment.create_in_case(case_id=case["_id"], comment={"message": "x"}),
        lambda: other.comment.update(comment["_id"], {"message": "theirs"}),
        lambda: other.comment.delete(comment["_id"]),
    ):
        with pytest.raises(TheHiveError, match="AuthorizationError|^403 "):
            call()
    assert thehive.comment.get(comment["_id"])["message"] == "mine"
    assert [c["message"] for c in thehive.case.find_comments(case["_id"])] == ["mine"]
