"""Procedures (TTPs) in cases and alerts (spec §14.1-14.3)."""

from __future__ import annotations

import pytest
from thehive4py.errors import TheHiveError
from thehive4py.query.filters import Eq, In
from thehive4py.query.page import Paginate
from thehive4py.query.sort import Asc

from tests.alerts.helpers import alert_input, error_of, unique


@pytest.fixture
def case(thehive):
    return thehive.case.create({"title": unique("case"), "description": "for procedures"})


@pytest.fixture
def alert(thehive):
    return thehive.alert.create(alert_input())


PYTHON = {"patternId": "T1059.006", "occurDate": 1_700_000_000_000, "tactic": "execution"}


def test_procedure_in_case_is_named_from_the_catalogue(thehive, case):
    created = thehive.procedure.create_in_case(case["_id"], {**PYTHON, "description": "py"})
    assert created["patternId"] == "T1059.006"
    assert created["patternName"] == "Python"
    assert created["tactic"] == "execution" and created["tacticLabel"] == "Execution"
    assert created["occurDate"] == PYTHON["occurDate"]
    assert created["description"] == "py"
    assert created["extraData"] == {}
    assert thehive.procedure.get(created["_id"]) == created
    assert thehive.case.find_procedures(case["_id"]) == [created]


def test_procedure_in_alert(thehive, alert):
    created = thehive.alert.create_procedure(alert["_id"], {"patternId": "T1566", "occurDate": 5})
    assert created["patternName"] == "Phishing"
    assert "tactic" not in created and "description" not in created
    assert thehive.procedure.get(created["_id"]) == created
    assert thehive.alert.find_procedures(alert["_id"]) == [created]


def test_unknown_pattern_is_accepted_without_a_name(thehive, alert):
    created = thehive.procedure.create_in_alert(
        alert["_id"], {"patternId": "T9999.999", "occurDate": 1, "tactic": "new-tactic"}
    )
    assert "patternName" not in created
    assert created["tacticLabel"] == "New Tactic"


def test_bulk_create_matches_list_procedure(thehive, case, alert):
    items = [PYTHON, {"patternId": "T1059.007", "occurDate": 2, "tactic": "execution"}]
    in_case = thehive.procedure.bulk_create_in_case(case["_id"], items)
    in_alert = thehive.procedure.bulk_create_in_alert(alert["_id"], items)
    for created in (in_case, in_alert):
        assert [p["patternId"] for p in created] == ["T1059.006", "T1059.007"]
        ids = [p["_id"] for p in created]
        found = thehive.procedure.find(filters=In("_id", ids), sortby=Asc("_id"))
        assert found == sorted(created, key=lambda p: p["_id"])


def test_update_and_delete(thehive, case):
    created = thehive.procedure.create_in_case(case["_id"], PYTHON)
    thehive.procedure.update(
        created["_id"], {"description": "updated", "occurDate": 42, "tactic": None}
    )
    updated = thehive.procedure.get(created["_id"])
    assert updated["description"] == "updated" and updated["occurDate"] == 42
    assert "tactic" not in updated and "tacticLabel" not in updated
    assert updated["_updatedBy"] == "admin@thehive.local"
    thehive.procedure.delete(created["_id"])
    with pytest.raises(TheHiveError, match="404"):
        thehive.procedure.get(created["_id"])


def test_bulk_delete(thehive, alert):
    created = thehive.procedure.bulk_create_in_alert(alert["_id"], [PYTHON, PYTHON])
    ids = [p["_id"] for p in created]
    error_of(thehive.procedure.bulk_delete, [ids[0], "~999999999"])
    assert thehive.procedure.get(ids[0])["_id"] == ids[0]
    thehive.procedure.bulk_delete(ids)
    for procedure_id in ids:
        with pytest.raises(TheHiveError, match="404"):
            thehive.procedure.get(procedure_id)


def test_invalid_input_creates_nothing(thehive, alert):
    for body in (
        {"occurDate": 1},
        {"patternId": "T1059"},
        {"patternId": "", "occurDate": 1},
        {"patternId": "T1059", "occurDate": "yesterday"},
        {"patternId": "T1059", "occurDate": 1, "tactic": "x" * 40},
        {"patternId": ["T1059"], "occurDate": 1},
    ):
        error_of(thehive.procedure.create_in_alert, alert["_id"], body)
    # one bad item rejects the whole bulk
    error_of(thehive.procedure.bulk_create_in_alert, alert["_id"], [PYTHON, {"occurDate": 1}])
    assert thehive.alert.find_procedures(alert["_id"]) == []
    created = thehive.procedure.create_in_alert(alert["_id"], PYTHON)
    error_of(thehive.procedure.update, created["_id"], {"occurDate": None})
    assert thehive.procedure.get(created["_id"]) == created


def test_query_extra_data_and_filters(thehive, case):
    created = thehive.procedure.create_in_case(case["_id"], PYTHON)
    found = thehive.procedure.find(
        filters=Eq("_id", created["_id"]),
        paginate=Paginate(0, 1, ["pattern", "patternParent", "patternTactics"]),
    )
    extra = found[0]["extraData"]
    assert extra["pattern"]["patternId"] == "T1059.006"
    assert extra["patternParent"]["patternId"] == "T1059"
    assert extra["patternTactics"] == [{"name": "execution", "label": "Execution"}]
    assert thehive.procedure.find(
        filters=Eq("patternName", "Python") & Eq("_id", created["_id"])
    ) == [created]


def test_another_organisation_cannot_touch_procedures(thehive, fresh_org, alert):
    _name, other = fresh_org
    created = thehive.procedure.create_in_alert(alert["_id"], PYTHON)
    with pytest.raises(TheHiveError, match="404"):
        other.procedure.get(created["_id"])
    assert error_of(other.procedure.update, created["_id"], {"description": "x"})["type"] == (
        "NotFoundError"
    )
    assert error_of(other.procedure.delete, created["_id"])["type"] == "NotFoundError"
    assert error_of(other.procedure.bulk_delete, [created["_id"]])["type"] == "NotFoundError"
    assert error_of(other.procedure.create_in_alert, alert["_id"], PYTHON)["type"] == (
        "NotFoundError"
    )
    assert other.procedure.find(filters=Eq("_id", created["_id"])) == []
    assert thehive.procedure.get(created["_id"]) == created
