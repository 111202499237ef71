"""Visibility when the other organisation is not empty: holding cases of its own (so shares
of its own) must not let it see anything of another organisation's cases.

Written for the mutants of the access rules that an empty organisation cannot tell apart
(see docs/testing.md, "Mutation checks"): e.g. a visibility condition that forgets to match
the share to *this* case still hides everything from an organisation that has no share at all.
"""

from __future__ import annotations

import pytest
from thehive4py.errors import TheHiveError
from thehive4py.query.filters import Eq

from tests.cases.conftest import new_case, unique


@pytest.fixture
def two_orgs(thehive, fresh_org):
    """main-org's case with a task, an observable and a comment, and another organisation
    with the same of its own: (main-org's objects, the other client, the other's objects)."""
    _name, other = fresh_org
    return _fill(thehive), other, _fill(other)


def _fill(client) -> dict:
    case = new_case(client)
    task = client.case.create_task(case_id=case["_id"], task={"title": "look"})
    observable = client.case.create_observable(
        case_id=case["_id"], observable={"dataType": "domain", "data": case["title"] + ".test"}
    )[0]
    comment = client.comment.create_in_case(case_id=case["_id"], comment={"message": "m"})
    return {"case": case, "task": task, "observable": observable, "comment": comment}


def _ids(found) -> set[str]:
    return {item["_id"] for item in found}


def test_cases_of_its_own_do_not_open_the_others(two_orgs):
    main, other, own = two_orgs
    for endpoint, kind in (
        (other.case, "case"),
        (other.task, "task"),
        (other.observable, "observable"),
        (other.comment, "comment"),
    ):
        with pytest.raises(TheHiveError, match="NotFoundError|^404 "):
            endpoint.get(main[kind]["_id"])
        assert endpoint.get(own[kind]["_id"])["_id"] == own[kind]["_id"]


def test_queries_list_only_its_own(two_orgs):
    main, other, own = two_orgs
    for endpoint, kind in ((other.case, "case"), (other.task, "task")):
        found = _ids(endpoint.find(filters=Eq("_id", main[kind]["_id"])))
        assert found == set()
        assert _ids(endpoint.find(filters=Eq("_id", own[kind]["_id"]))) == {own[kind]["_id"]}
    observables = _ids(other.observable.find())
    assert own["observable"]["_id"] in observables
    assert main["observable"]["_id"] not in observables


def test_the_case_number_finds_its_own_case_first(two_orgs):
    """Case numbers count per organisation: both organisations have a case #n."""
    main, other, own = two_orgs
    number = own["case"]["number"]
    assert other.case.get(str(number))["_id"] == own["case"]["_id"]
    with pytest.raises(TheHiveError, match="NotFoundError"):
        other.task.update(main["task"]["_id"], fields={"title": "hijacked"})


def test_a_case_number_names_that_case(two_orgs):
    _main, other, own = two_orgs
    second = new_case(other)
    assert other.case.get(str(second["number"]))["_id"] == second["_id"]
    assert other.case.get(str(own["case"]["number"]))["_id"] == own["case"]["_id"]


def test_a_restricted_case_hides_its_tasks_and_observables(thehive, server):
    main = _fill(thehive)
    access = {"_kind": "UserAccessKind", "users": ["admin@thehive.local"]}
    thehive.case.manage_access(main["case"]["_id"], {"access": access})
    login = unique("analyst") + "@example.com"
    thehive.user.create(
        user={"login": login, "name": "Analyst", "profile": "analyst", "organisation": "main-org"}
    )
    thehive.user.set_password(login, "visibility password")
    analyst = server.client(organisation="main-org", username=login, password="visibility password")
    for endpoint, kind in ((analyst.task, "task"), (analyst.observable, "observable")):
        with pytest.raises(TheHiveError, match="NotFoundError|^404 "):
            endpoint.get(main[kind]["_id"])
    assert thehive.task.get(main["task"]["_id"])["_id"] == main["task"]["_id"]


def _alert_with_extras(client) -> dict:
    alert = client.alert.create(
        alert={
            "type": "t",
            "source": "visibility",
            "sourceRef": unique("ref"),
            "title": "alert",
            "description": "d",
        }
    )
    observable = client.alert.create_observable(
        alert_id=alert["_id"], observable={"dataType": "domain", "data": unique("a") + ".test"}
    )[0]
    comment = client.comment.create_in_alert(alert_id=alert["_id"], comment={"message": "m"})
    return {"alert": alert, "observable": observable, "comment": comment}


def test_what_hangs_below_an_alert_stays_in_its_organisation(thehive, fresh_org):
    _name, other = fresh_org
    main, own = _alert_with_extras(thehive), _alert_with_extras(other)
    for endpoint, kind in ((other.observable, "observable"), (other.comment, "comment")):
        with pytest.raises(TheHiveError, match="NotFoundError|^404 "):
            endpoint.get(main[kind]["_id"])
        assert endpoint.get(own[kind]["_id"])["_id"] == own[kind]["_id"]
