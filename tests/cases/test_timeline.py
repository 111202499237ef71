"""The case timeline and its custom events."""

from __future__ import annotations

import pytest
from thehive4py.errors import TheHiveError

from tests.cases.conftest import assert_error, new_case


def _kinds(client, case_id: str) -> list[tuple[str, str]]:
    return [(e["kind"], e["entityId"]) for e in client.timeline.get(case_id)["events"]]


def test_a_new_case_has_a_creation_event(thehive):
    case = new_case(thehive, startDate=1_600_000_000_000)
    events = thehive.case.get_timeline(case["_id"])["events"]
    assert events == [
        {
            "date": 1_600_000_000_000,
            "kind": "CaseCreated",
            "entity": "Case",
            "entityId": case["_id"],
            "details": {"title": case["title"], "number": case["number"]},
        }
    ]


def test_custom_events(thehive):
    case = new_case(thehive, startDate=1000)
    event = thehive.timeline.create_event(
        case["_id"], {"date": 2000, "endDate": 3000, "title": "containment", "description": "d"}
    )
    assert event["_type"] == "CustomEvent"
    assert (event["date"], event["endDate"], event["title"], event["description"]) == (
        2000,
        3000,
        "containment",
        "d",
    )
    timeline = thehive.timeline.get(case["_id"])["events"]
    custom = [e for e in timeline if e["entityId"] == event["_id"]]
    assert custom == [
        {
            "date": 2000,
            "endDate": 3000,
            "kind": "CustomEvent",
            "entity": "CustomEvent",
            "entityId": event["_id"],
            "details": {"title": "containment", "description": "d"},
        }
    ]

    thehive.timeline.update_event(event["_id"], {"title": "eradication", "date": 500})
    events = thehive.timeline.get(case["_id"])["events"]
    assert events[0]["entityId"] == event["_id"]  # sorted by date
    assert events[0]["details"]["title"] == "eradication"

    thehive.timeline.delete_event(event["_id"])
    assert event["_id"] not in [e["entityId"] for e in thehive.timeline.get(case["_id"])["events"]]


def test_timeline_collects_what_happened(thehive):
    case = new_case(thehive, startDate=1000)
    task = thehive.case.create_task(case["_id"], {"title": "investigate"})
    thehive.task.update(task["_id"], {"status": "InProgress"})
    thehive.task.update(task["_id"], {"status": "Completed"})
    thehive.task_log.create(task["_id"], {"message": "found it", "includeInTimeline": 5000})
    observable = thehive.case.create_observable(
        case["_id"], {"dataType": "ip", "data": "192.0.2.1", "sighted": True, "sightedAt": 4000}
    )[0]
    thehive.case.close(case["_id"], "TruePositive", "done")

    kinds = _kinds(thehive, case["_id"])
    assert kinds[0] == ("CaseCreated", case["_id"])
    assert ("TaskStarted", task["_id"]) in kinds and ("TaskCompleted", task["_id"]) in kinds
    assert ("ObservableSighted", observable["_id"]) in kinds
    assert "TaskLog" in [k for k, _ in kinds]
    assert kinds[-1] == ("CaseClosed", case["_id"])
    dates = [e["date"] for e in thehive.timeline.get(case["_id"])["events"]]
    assert dates == sorted(dates)


@pytest.mark.parametrize(
    "body",
    [
        {"title": "no date"},
        {"date": 1},
        {"date": "soon", "title": "t"},
        {"date": 1, "title": ""},
        {"date": 1, "title": "x" * 200},
        {"date": 10, "endDate": 5, "title": "ends before it starts"},
    ],
)
def test_bad_custom_events_are_rejected(thehive, http, body):
    case = new_case(thehive)
    assert_error(http("POST", f"/api/v1/case/{case['_id']}/customEvent", json=body), 400)
    assert len(thehive.timeline.get(case["_id"])["events"]) == 1


def test_other_organisation_cannot_see_or_change_events(thehive, fresh_org):
    case = new_case(thehive)
    event = thehive.timeline.create_event(case["_id"], {"date": 1, "title": "secret"})
    _name, other = fresh_org
    with pytest.raises(TheHiveError, match="NotFoundError"):
        other.timeline.get(case["_id"])
    with pytest.raises(TheHiveError, match="NotFoundError"):
        other.timeline.update_event(event["_id"], {"title": "changed"})
    with pytest.raises(TheHiveError, match="NotFoundError"):
        other.timeline.delete_event(event["_id"])
    with pytest.raises(TheHiveError, match="NotFoundError"):
        other.timeline.create_event(case["_id"], {"date": 1, "title": "intrusion"})
    titles = [e["details"].get("title") for e in thehive.timeline.get(case["_id"])["events"]]
    assert "secret" in titles and "intrusion" not in titles
