"""Every operation type of cortex.md §3.4, asked for by the cortexutils test responder
(``neurons/responders/ProbeResponder``) and applied by a running server through the domain
services: each changes what the analyst sees, and each leaves its audit event, in the name of
the user who ran the responder."""

from __future__ import annotations

import json
import uuid

from tests.analysis.test_connector import wait_for
from tests.analysis.test_jobs import enable, new_case, new_observable, org  # noqa: F401
from tests.harness import ADMIN_LOGIN


def run_responder(client, object_type: str, object_id: str) -> tuple[dict, list[dict]]:
    """Run ProbeResponder on an object; returns the finished action and its operations."""
    action = client.cortex.create_responder_action(
        action={"responderId": "ProbeResponder", "objectType": object_type, "objectId": object_id}
    )
    done = wait_for(
        lambda: client.session.make_request(
            "GET", f"/api/v1/connector/cortex/action/{action['_id']}"
        ),
        lambda a: a["status"] in ("Success", "Failure"),
        timeout=30,
    )
    assert done["status"] == "Success", done["report"]
    return done, json.loads(done["operations"])


def outcomes(operations: list[dict]) -> dict[str, tuple[str, str]]:
    return {o["type"]: (o["status"], o["message"]) for o in operations}


def audit(client, object_id: str) -> list[dict]:
    """The audit events of one object, oldest first."""
    events = client.session.make_request(
        "POST",
        "/api/v1/query",
        json={
            "query": [
                {"_name": "listAudit"},
                {"_name": "filter", "_eq": {"_field": "objectId", "_value": object_id}},
            ]
        },
    )
    return list(reversed(events))


def changed(events: list[dict]) -> dict:
    """Every detail of the update events, merged."""
    out: dict = {}
    for event in events:
        assert event["_createdBy"] == ADMIN_LOGIN, event  # the user who ran the responder
        if event["action"] == "update":
            out.update(event["details"])
    return out


def new_custom_field(engine_server) -> str:
    name = f"probe-{uuid.uuid4().hex[:8]}"
    engine_server.client(organisation="admin").custom_field.create(
        custom_field={"name": name, "displayName": name, "description": "d", "type": "string"}
    )
    return name


def test_case_operations(engine_server, org):  # noqa: F811
    http, client = org
    field = new_custom_field(engine_server)
    enable(
        http, engine_server.url, "ProbeResponder_1_0", kind="responder",
        configuration={"custom_field": field},
    )  # fmt: skip
    case = new_case(client)
    _done, operations = run_responder(client, "case", case["_id"])
    assert outcomes(operations) == {
        "AddTagToCase": ("Success", "Success"),
        "CreateTask": ("Success", "Success"),
        "AddArtifactToCase": ("Success", "Success"),
        "AssignCase": ("Success", "Success"),
        "AddCustomFields": ("Success", "Success"),
    }
    after = client.case.get(case_id=case["_id"])
    assert "responded" in after["tags"]
    assert after["assignee"] == ADMIN_LOGIN
    assert [(f["name"], f["value"]) for f in after["customFields"]] == [(field, "done")]
    (task,) = client.case.find_tasks(case_id=case["_id"])
    assert (task["title"], task["description"]) == ("Follow up", "from responder")
    (observable,) = client.case.find_observables(case_id=case["_id"])
    assert observable["data"] == "responder.example.org"
    assert observable["dataType"] == "domain"
    assert observable["message"] == "added by responder"
    assert (observable["tlp"], observable["ioc"], observable["tags"]) == (
        3, True, ["from-responder"],
    )  # fmt: skip
    # one audit event per change, by the user who ran the responder
    case_changes = changed(audit(client, case["_id"]))
    assert "responded" in case_changes["tags"]
    assert case_changes["assignee"] == ADMIN_LOGIN
    assert case_changes[f"customFields.{field}"] == "done"
    assert [e["action"] for e in audit(client, task["_id"])] == ["create"]
    assert [e["action"] for e in audit(client, observable["_id"])] == ["create"]


def test_a_failing_operation_fails_alone(engine_server, org):  # noqa: F811
    http, client = org
    enable(
        http, engine_server.url, "ProbeResponder_1_0", kind="responder",
        configuration={"custom_field": "no-such-field"},
    )  # fmt: skip
    case = new_case(client)
    _done, operations = run_responder(client, "case", case["_id"])
    result = outcomes(operations)
    assert result["AddCustomFields"][0] == "Failure"
    assert "no-such-field" in result["AddCustomFields"][1]
    assert {status for status, _ in result.values()} == {"Success", "Failure"}
    assert client.case.get(case_id=case["_id"])["customFields"] == []
    assert not any(key.startswith("customFields") for key in changed(audit(client, case["_id"])))


def test_task_log_operations_act_on_the_log_task(engine_server, org):  # noqa: F811
    http, client = org
    enable(http, engine_server.url, "ProbeResponder_1_0", kind="responder")
    case = new_case(client)
    task = client.case.create_task(case_id=case["_id"], task={"title": "contain"})
    log = client.task.create_log(task_id=task["_id"], task_log={"message": "found it"})
    _done, operations = run_responder(client, "case_task_log", log["_id"])
    assert outcomes(operations) == {
        "AddLogToTask": ("Success", "Success"),
        "CloseTask": ("Success", "Success"),
    }
    assert client.task.get(task_id=task["_id"])["status"] == "Completed"
    messages = sorted(entry["message"] for entry in client.task.find_logs(task_id=task["_id"]))
    assert messages == ["found it", "logged by responder"]
    assert changed(audit(client, task["_id"]))["status"] == "Completed"
    new_log = next(
        e for e in client.task.find_logs(task_id=task["_id"]) if e["message"] != "found it"
    )
    assert [e["action"] for e in audit(client, new_log["_id"])] == ["create"]


def test_observable_operations(engine_server, org):  # noqa: F811
    http, client = org
    enable(http, engine_server.url, "ProbeResponder_1_0", kind="responder")
    case = new_case(client)
    observable = new_observable(client, case, data="10.3.3.3")
    _done, operations = run_responder(client, "case_artifact", observable["_id"])
    assert outcomes(operations) == {
        "AddTagToArtifact": ("Success", "Success"),
        "AddTagToCase": ("Success", "Success"),
    }
    assert "responded" in client.observable.get(observable_id=observable["_id"])["tags"]
    assert "artifact-responded" in client.case.get(case_id=case["_id"])["tags"]
    assert "responded" in changed(audit(client, observable["_id"]))["tags"]
    assert "artifact-responded" in changed(audit(client, case["_id"]))["tags"]


def test_an_alert_observable_has_no_case(engine_server, org):  # noqa: F811
    http, client = org
    enable(http, engine_server.url, "ProbeResponder_1_0", kind="responder")
    alert = client.alert.create(alert=_alert())
    observable = client.alert.create_observable(
        alert_id=alert["_id"], observable={"dataType": "ip", "data": "10.3.3.4"}
    )[0]
    _done, operations = run_responder(client, "case_artifact", observable["_id"])
    assert outcomes(operations) == {
        "AddTagToArtifact": ("Success", "Success"),
        "AddTagToCase": ("Failure", "No related case"),
    }
    assert "responded" in client.observable.get(observable_id=observable["_id"])["tags"]


def test_alert_operations(engine_server, org):  # noqa: F811
    http, client = org
    enable(http, engine_server.url, "ProbeResponder_1_0", kind="responder")
    alert = client.alert.create(alert=_alert())
    _done, operations = run_responder(client, "alert", alert["_id"])
    assert outcomes(operations) == {
        "AddTagToAlert": ("Success", "Success"),
        "MarkAlertAsRead": ("Success", "Success"),
    }
    assert "responded" in client.alert.get(alert_id=alert["_id"])["tags"]
    # TheHive v1 renders no read flag (thehive-api-v1.md §4.4): the audit event shows it
    events = audit(client, alert["_id"])
    assert [e["details"] for e in events if e["details"].get("read") is not None] == [
        {"read": True}
    ]
    assert "responded" in changed(events)["tags"]


def _alert() -> dict:
    return {
        "type": "test",
        "source": "probe",
        "sourceRef": uuid.uuid4().hex[:12],
        "title": "alert",
        "description": "d",
    }
