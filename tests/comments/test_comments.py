"""Comments in cases and alerts (spec §10)."""

from __future__ import annotations

import pytest
from thehive4py.errors import TheHiveError
from thehive4py.query.filters import Eq
from thehive4py.query.sort import Asc

from tests.alerts.helpers import alert_input, error_of, unique


@pytest.fixture
def case(thehive):
    return thehive.case.create({"title": unique("case"), "description": "for comments"})


@pytest.fixture
def alert(thehive):
    return thehive.alert.create(alert_input())


def test_comment_in_case_reads_back_identically(thehive, case):
    created = thehive.comment.create_in_case(case["_id"], {"message": "first look"})
    assert created["_type"] == "Comment"
    assert created["createdBy"] == "admin@thehive.local"
    assert created["isEdited"] is False
    assert created["message"] == "first look"
    assert created["extraData"] == {}
    # comments carry their audit fields without the underscore
    assert "_createdBy" not in created and "updatedAt" not in created
    assert thehive.comment.get(created["_id"]) == created
    assert thehive.case.find_comments(case["_id"]) == [created]


def test_comment_in_alert(thehive, alert):
    created = thehive.comment.create_in_alert(alert["_id"], {"message": "triage note"})
    assert thehive.comment.get(created["_id"]) == created
    assert thehive.alert.find_comments(alert["_id"]) == [created]


def test_update_marks_the_comment_edited(thehive, alert):
    created = thehive.comment.create_in_alert(alert["_id"], {"message": "draft"})
    thehive.comment.update(created["_id"], {"message": "final"})
    updated = thehive.comment.get(created["_id"])
    assert updated["message"] == "final"
    assert updated["isEdited"] is True
    assert updated["updatedBy"] == "admin@thehive.local"
    assert updated["updatedAt"] >= created["createdAt"]
    assert "_updatedAt" not in updated


def test_delete(thehive, alert):
    created = thehive.comment.create_in_alert(alert["_id"], {"message": "oops"})
    thehive.comment.delete(created["_id"])
    with pytest.raises(TheHiveError, match="404"):
        thehive.comment.get(created["_id"])
    assert thehive.alert.find_comments(alert["_id"]) == []
    assert error_of(thehive.comment.delete, created["_id"])["type"] == "NotFoundError"


def test_bad_input_is_rejected(thehive, alert):
    for body in ({}, {"message": ""}, {"message": 12}, {"message": None}):
        error_of(thehive.comment.create_in_alert, alert["_id"], body)
    assert thehive.alert.find_comments(alert["_id"]) == []
    created = thehive.comment.create_in_alert(alert["_id"], {"message": "kept"})
    error_of(thehive.comment.update, created["_id"], {"message": ""})
    assert thehive.comment.get(created["_id"]) == created
    assert error_of(thehive.comment.create_in_alert, "~999999999", {"message": "x"})["type"] == (
        "NotFoundError"
    )
    assert error_of(thehive.comment.update, "not-an-id", {"message": "x"})["type"] == (
        "NotFoundError"
    )


def test_list_comment_is_scoped_to_the_organisation(fresh_org, thehive):
    _name, client = fresh_org
    own_case = client.case.create({"title": "mine", "description": "d"})
    own_alert = client.alert.create(alert_input())
    first = client.comment.create_in_case(own_case["_id"], {"message": "one"})
    second = client.comment.create_in_alert(own_alert["_id"], {"message": "two"})
    # a comment elsewhere must not show up
    elsewhere = thehive.alert.create(alert_input())
    thehive.comment.create_in_alert(elsewhere["_id"], {"message": "not yours"})
    assert client.comment.find(sortby=Asc("_createdAt")) == [first, second]
    assert client.comment.find(filters=Eq("message", "two")) == [second]
    assert client.comment.find(
        filters=Eq("createdBy", "admin@thehive.local"), sortby=Asc("createdAt")
    ) == [
        first,
        second,
    ]


def test_another_organisation_cannot_see_or_change_comments(thehive, fresh_org, case):
    _name, other = fresh_org
    created = thehive.comment.create_in_case(case["_id"], {"message": "private"})
    with pytest.raises(TheHiveError, match="404"):
        other.comment.get(created["_id"])
    assert error_of(other.comment.update, created["_id"], {"message": "x"})["type"] == (
        "NotFoundError"
    )
    assert error_of(other.comment.delete, created["_id"])["type"] == "NotFoundError"
    assert error_of(other.comment.create_in_case, case["_id"], {"message": "x"})["type"] == (
        "NotFoundError"
    )
    assert other.case.find_comments(case["_id"]) == []
    assert thehive.comment.get(created["_id"]) == created
