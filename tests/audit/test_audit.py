"""The one event record: every mutation leaves one audit event, queryable with listAudit,
scoped to the organisation."""

from __future__ import annotations

import uuid


def _audit_of(client, object_id: str) -> list[dict]:
    return client.session.make_request(
        "POST",
        "/api/v1/query",
        json={
            "query": [
                {"_name": "listAudit"},
                {"_name": "filter", "_eq": {"_field": "objectId", "_value": object_id}},
            ]
        },
    )


def test_alert_changes_are_recorded_once_each(thehive):
    alert = thehive.alert.create(
        alert={
            "type": "t",
            "source": "audit",
            "sourceRef": uuid.uuid4().hex,
            "title": "audited",
            "description": "d",
        }
    )
    thehive.alert.update(alert["_id"], fields={"title": "audited again"})
    events = _audit_of(thehive, alert["_id"])
    assert [e["action"] for e in events] == ["update", "create"]  # newest first
    assert all(
        e["objectType"] == "Alert" and e["_createdBy"] == "admin@thehive.local" for e in events
    )
    assert events[0]["details"]["title"] == "audited again"


def test_rejected_request_leaves_no_event(thehive):
    alert = thehive.alert.create(
        alert={
            "type": "t",
            "source": "audit",
            "sourceRef": uuid.uuid4().hex,
            "title": "audited",
            "description": "d",
        }
    )
    response = thehive.session.request(
        "PATCH", f"{thehive.session.hive_url}/api/v1/alert/{alert['_id']}", json={"severity": 9}
    )
    assert response.status_code == 400
    assert [e["action"] for e in _audit_of(thehive, alert["_id"])] == ["create"]


def test_other_organisations_do_not_see_the_events(thehive, fresh_org):
    alert = thehive.alert.create(
        alert={
            "type": "t",
            "source": "audit",
            "sourceRef": uuid.uuid4().hex,
            "title": "private",
            "description": "d",
        }
    )
    _name, other = fresh_org
    assert _audit_of(other, alert["_id"]) == []


def test_events_name_changed_fields_as_the_api_does(thehive):
    """Updates record what changed under the API's field names, never column names."""
    case = thehive.case.create(case={"title": "audited", "description": "d"})
    task = thehive.task.create(case_id=case["_id"], task={"title": "audited"})
    thehive.task.update(task["_id"], fields={"dueDate": 1_700_000_000_000, "status": "Completed"})
    details = _audit_of(thehive, task["_id"])[0]["details"]
    assert details["dueDate"] == 1_700_000_000_000 and details["status"] == "Completed"
    assert "startDate" in details and "endDate" in details  # stamped by the status
    template = thehive.case_template.create(case_template={"name": uuid.uuid4().hex})
    thehive.case_template.update(
        template["_id"], fields={"displayName": "Shown", "titlePrefix": "[x]"}
    )
    details = _audit_of(thehive, template["_id"])[0]["details"]
    assert details == {"displayName": "Shown", "titlePrefix": "[x]"}
    for details in (
        e["details"] for i in (task["_id"], template["_id"]) for e in _audit_of(thehive, i)
    ):
        assert not any("_" in key.strip("_") for key in details), details
