"""Share rules with more than one of everything: a partner holding cases (so shares) of its own,
two tasks, two partners. One share, task or organisation must never stand for another.

Written for mutants of the access and share rules that the one-of-each tests could not tell
apart (docs/testing.md, "Mutation checks"): lookups that forget to match the case or the task.
"""

from __future__ import annotations

import pytest
from thehive4py.errors import TheHiveError

from tests.cases.conftest import new_case, unique


def _task_ids(client, case_id: str) -> list[str]:
    return sorted(t["_id"] for t in client.case.find_tasks(case_id))


@pytest.fixture
def partner(thehive, linked_org):
    """A linked organisation that already owns a case: (name, client, its case)."""
    name, other = linked_org
    return name, other, new_case(other)


@pytest.fixture
def second_partner(server, thehive_admin):
    """Another organisation linked with main-org: (name, client)."""
    name = unique("partner")
    server.create_org(name)
    thehive_admin.organisation.link(
        org_id="main-org",
        other_org_id=name,
        link={"linkType": "default", "otherLinkType": "default"},
    )
    return name, server.client(organisation=name)


def test_a_partner_with_cases_of_its_own_receives_the_share(thehive, partner):
    name, other, _own = partner
    case = new_case(thehive)
    created = thehive.case.share(case["_id"], [{"organisation": name, "profile": "read-only"}])
    assert [s["organisationName"] for s in created] == [name]
    assert other.case.get(case["_id"])["_id"] == case["_id"]
    # its own case's full rights do not lend themselves to the read-only share
    with pytest.raises(TheHiveError, match="AuthorizationError"):
        other.case.update(case["_id"], {"title": "not allowed"})
    assert thehive.case.get(case["_id"])["title"] == case["title"]


def test_its_own_case_comes_first_for_a_number_both_have(thehive_admin, partner, second_partner):
    """Case numbers count per organisation: two fresh organisations both have a case #1."""
    name, other, own = partner
    name2, other2 = second_partner
    thehive_admin.organisation.link(
        org_id=name, other_org_id=name2, link={"linkType": "default", "otherLinkType": "default"}
    )
    theirs = new_case(other2)
    assert own["number"] == theirs["number"] == 1
    other2.case.share(theirs["_id"], [{"organisation": name}])
    assert other.case.get("1")["_id"] == own["_id"]
    assert other2.case.get("1")["_id"] == theirs["_id"]


def test_tasks_are_shared_and_unshared_one_by_one(thehive, partner, second_partner):
    name, other, _own = partner
    name2, other2 = second_partner
    case = new_case(thehive, tasks=[{"title": "one"}, {"title": "two"}])
    one, two = _task_ids(thehive, case["_id"])
    thehive.case.share(
        case["_id"],
        [{"organisation": n, "taskRule": "manual"} for n in (name, name2)],
    )
    thehive.task.share(one, [name, name2])
    thehive.task.share(two, [name])  # a second task for the same share
    assert _task_ids(other, case["_id"]) == sorted([one, two])

    thehive.task.unshare(one, [name])  # one task, one partner: nothing else
    assert _task_ids(other, case["_id"]) == [two]
    assert _task_ids(other2, case["_id"]) == [one]


def test_required_actions_are_per_task_and_partner(thehive, partner, second_partner):
    name, _other, _own = partner
    name2, _other2 = second_partner
    case = new_case(thehive, tasks=[{"title": "one"}, {"title": "two"}])
    one, two = _task_ids(thehive, case["_id"])
    thehive.case.share(case["_id"], [{"organisation": name}, {"organisation": name2}])
    thehive.task.share(one, [name])
    thehive.task.share(two, [name, name2])
    thehive.task.set_as_required(two, name)
    assert thehive.task.get_required_actions(one) == {"main-org": False, name: False}
    assert thehive.task.get_required_actions(two) == {"main-org": False, name: True, name2: False}


def test_only_the_owner_deletes_or_hands_over_the_case(thehive, partner):
    name, other, _own = partner
    case = new_case(thehive)
    thehive.case.share(case["_id"], [{"organisation": name, "profile": "analyst"}])
    with pytest.raises(TheHiveError, match="Only the owner organisation"):
        other.case.delete(case["_id"])
    with pytest.raises(TheHiveError, match="Only the owner organisation"):
        other.case.change_owner_organisation(case["_id"], {"organisation": name})
    assert other.case.get(case["_id"])["_id"] == case["_id"]
    thehive.case.delete(case["_id"])
    with pytest.raises(TheHiveError, match="NotFoundError"):
        thehive.case.get(case["_id"])


def _listed(client, observable_id: str) -> list[str]:
    shares = client.session.make_request("GET", f"/api/v1/observable/{observable_id}/shares")
    return sorted(s["organisationName"] for s in shares)


def test_observables_are_shared_one_by_one_and_listed_exactly(thehive, partner, second_partner):
    name, other, _own = partner
    name2, other2 = second_partner
    case = new_case(thehive)
    first, second = thehive.case.create_observable(
        case["_id"], {"dataType": "ip", "data": ["10.0.9.1", "10.0.9.2"]}
    )
    thehive.case.share(
        case["_id"], [{"organisation": n, "observableRule": "manual"} for n in (name, name2)]
    )
    elsewhere = new_case(thehive)  # another case shared with the partner, all observables
    thehive.case.share(elsewhere["_id"], [{"organisation": name, "observableRule": "autoShare"}])
    thehive.observable.share(first["_id"], [name])
    thehive.observable.share(second["_id"], [name, name2])

    def seen(client):
        return sorted(o["_id"] for o in client.case.find_observables(case["_id"]))

    assert seen(other) == sorted([first["_id"], second["_id"]])
    assert seen(other2) == [second["_id"]]
    assert _listed(thehive, first["_id"]) == [name]
    assert _listed(thehive, second["_id"]) == sorted([name, name2])
    assert _listed(other, second["_id"]) == [name2]  # never the caller's own, nor the owner's

    thehive.observable.unshare(second["_id"], [name])  # one observable, one partner
    assert seen(other) == [first["_id"]]
    assert seen(other2) == [second["_id"]]


def test_a_merged_case_keeps_only_the_shares_of_what_was_merged(thehive, partner):
    name, other, _own = partner
    unrelated = new_case(thehive)
    thehive.case.share(unrelated["_id"], [{"organisation": name}])
    one, two = new_case(thehive), new_case(thehive)
    merged = thehive.case.merge([one["_id"], two["_id"]])
    with pytest.raises(TheHiveError, match="NotFoundError"):
        other.case.get(merged["_id"])
    assert [s["organisationName"] for s in thehive.case.list_shares(merged["_id"])] == []


def test_a_link_elsewhere_does_not_allow_sharing(thehive, thehive_admin, server, partner, http):
    """The stranger is linked with the partner, not with main-org."""
    name, _other, _own = partner
    stranger = unique("stranger")
    server.create_org(stranger)
    thehive_admin.organisation.link(
        org_id=name, other_org_id=stranger, link={"linkType": "default", "otherLinkType": "default"}
    )
    case = new_case(thehive)
    response = http(
        "POST", f"/api/v1/case/{case['_id']}/shares", json={"shares": [{"organisation": stranger}]}
    )
    assert response.status_code == 400, response.text
    assert thehive.case.list_shares(case["_id"]) == []
