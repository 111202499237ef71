"""Propolis_Webhook against a real HTTP server on loopback."""

from __future__ import annotations

import json

import pytest

from tests.analysis.builtins import jobs

NAME = "Propolis_Webhook"
CASE = {"_id": "~12", "_type": "case", "number": 3, "title": "Ransomware", "tags": ["lockbit"]}


# The platform admin allow-lists the loopback address of the test's HTTP server.
LOOPBACK = {"allow": ["127.0.0.1/32"]}


def post(tmp_path, hook, data_type="thehive:case", data=CASE, outbound=LOOPBACK, **config):
    return jobs.respond(
        NAME, tmp_path, data_type, data, config={"url": hook.url, **config}, outbound=outbound
    )


def test_the_object_is_posted_in_thehive_webhook_shape(tmp_path, hook):
    result = post(
        tmp_path,
        hook,
        authorization_token="tok-123",
        headers=["X-Workflow: ransomware-playbook"],
    )
    assert result.output == {
        "success": True,
        "full": {"message": f"posted to {hook.url}", "status": 200, "size": 12},
        "operations": [],
    }
    (request,) = hook.requests
    assert request["path"] == "/hook"
    assert request["headers"]["Authorization"] == "Bearer tok-123"
    assert request["headers"]["X-Workflow"] == "ransomware-playbook"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["body"] == {
        "objectType": "case",
        "objectId": "~12",
        "object": CASE,
        "parameters": {"organisation": "acme", "user": "alice@acme.test"},
    }


def test_the_object_alone(tmp_path, hook):
    task_log = {"_id": "~8", "_type": "case_task_log", "message": "done"}
    result = post(tmp_path, hook, "thehive:case_task_log", task_log, payload="object")
    assert result.output["success"] is True
    assert hook.requests[0]["body"] == task_log


def test_a_tag_and_the_operations_the_workflow_answers(tmp_path, hook):
    hook.answer = json.dumps(
        {
            "operations": [
                {"type": "AddTagToCase", "tag": "contained"},
                {"type": "CreateTask", "title": "Reimage", "description": "host 12"},
                "not an operation",
            ]
        }
    ).encode()
    result = post(tmp_path, hook, tag="sent to n8n")
    assert result.output["operations"] == [
        {"type": "AddTagToCase", "tag": "sent to n8n"},
        {"type": "AddTagToCase", "tag": "contained"},
        {"type": "CreateTask", "title": "Reimage", "description": "host 12"},
    ]
    alert = {"_id": "~4", "_type": "alert", "title": "x"}
    hook.answer = b"accepted"
    result = post(tmp_path, hook, "thehive:alert", alert, tag="forwarded")
    assert result.full == {"message": f"posted to {hook.url}", "status": 200, "size": 8}
    assert result.output["operations"] == [{"type": "AddTagToAlert", "tag": "forwarded"}]


def test_an_error_answer_fails_the_job(tmp_path, hook):
    hook.status, hook.answer = 500, b'{"error": "workflow crashed"}'
    result = post(tmp_path, hook, authorization_token="tok-123")
    assert result.output["success"] is False
    # the status only: what the server answered is not for the report
    assert result.output["errorMessage"] == "The webhook answered HTTP 500 Internal Server Error"
    assert result.output["input"]["config"]["authorization_token"] == "REMOVED"


def test_a_redirect_is_not_followed_as_a_get(tmp_path, hook):
    hook.status, hook.location = 302, hook.url + "/elsewhere"
    result = post(tmp_path, hook)
    assert result.output["success"] is False
    assert result.output["errorMessage"].startswith("The webhook answered HTTP 302")
    assert [r.get("method", "POST") for r in hook.requests] == ["POST"]


def test_unreachable_and_invalid_settings(tmp_path, hook):
    down = jobs.respond(
        NAME,
        tmp_path,
        "thehive:case",
        CASE,
        config={"url": "http://127.0.0.1:1/"},
        outbound=LOOPBACK,
    )
    assert down.output["errorMessage"].startswith("The webhook http://127.0.0.1:1/ could not be")
    scheme = jobs.respond(
        NAME, tmp_path, "thehive:case", CASE, config={"url": "file:///etc/passwd"}
    )
    assert scheme.output["errorMessage"] == "The webhook url must start with http:// or https://"
    header = post(tmp_path, hook, headers=["no colon here"])
    assert header.output["errorMessage"] == "Invalid header 'no colon here': expected 'Name: value'"
    payload = post(tmp_path, hook, payload="xml")
    assert payload.output["errorMessage"] == "payload must be one of envelope, object"
    assert hook.requests == []


def test_timeout(tmp_path):
    import socket

    with socket.socket() as silent:  # accepts the connection, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/"
        result = jobs.respond(
            NAME,
            tmp_path,
            "thehive:case",
            CASE,
            config={"url": url, "timeout": 1},
            outbound=LOOPBACK,
        )
    assert result.output["success"] is False
    assert "timed out" in result.output["errorMessage"]


# --------------------------------------------------------------------------- outbound policy


@pytest.mark.parametrize(
    ("url", "outbound"),
    [
        ("{hook}", None),  # loopback, not allow-listed
        ("{hook}", {"allow": ["10.0.0.0/8"]}),  # another network allowed, not this one
        ("http://localhost:{port}/hook", None),  # a name of a loopback address
        ("http://[::1]:{port}/hook", LOOPBACK),  # IPv6 loopback: not in 127.0.0.1/32
        ("http://127.0.0.2:{port}/hook", LOOPBACK),
        ("http://169.254.169.254/latest/meta-data/", LOOPBACK),  # cloud metadata
        ("http://[::ffff:127.0.0.1]:{port}/hook", None),  # loopback, IPv4-mapped
        ("http://10.1.2.3/hook", None),
        ("http://0.0.0.0:{port}/hook", None),
    ],
)
def test_private_and_loopback_addresses_are_refused(tmp_path, hook, url, outbound):
    port = hook.url.split(":")[2].split("/")[0]
    target = url.format(hook=hook.url, port=port)
    result = jobs.respond(
        NAME, tmp_path, "thehive:case", CASE, config={"url": target}, outbound=outbound
    )
    assert result.output["success"] is False
    assert result.output["errorMessage"].startswith(f"The webhook {target} was not called: ")
    assert "PROPOLIS_OUTBOUND_ALLOW" in result.output["errorMessage"]
    assert hook.requests == []


def test_an_allow_listed_host_name_is_reached(tmp_path, hook):
    result = post(tmp_path, hook, outbound={"allow": ["127.0.0.1"]})
    assert result.output["success"] is True
    port = hook.url.split(":")[2].split("/")[0]
    named = jobs.respond(
        NAME,
        tmp_path,
        "thehive:case",
        CASE,
        config={"url": f"http://localhost:{port}/hook"},
        outbound={"allow": ["localhost"]},
    )
    assert named.output["success"] is True, named.output
    assert len(hook.requests) == 2


def test_the_answer_is_capped_and_never_reported(tmp_path, hook):
    hook.answer = b"internal-service-secret " * 100  # 2400 bytes
    result = post(tmp_path, hook, outbound={**LOOPBACK, "maxBytes": 1000})
    assert result.full == {
        "message": f"posted to {hook.url}",
        "status": 200,
        "size": 1000,
        "truncated": True,
    }
    assert "internal-service-secret" not in json.dumps(result.output)
    # a truncated answer is not read for operations either
    hook.answer = json.dumps({"operations": [{"type": "AddTagToCase", "tag": "x" * 2000}]}).encode()
    assert post(tmp_path, hook, outbound={**LOOPBACK, "maxBytes": 100}).output["operations"] == []
