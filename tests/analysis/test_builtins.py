"""Propolis' built-in analyzers and responders, on sample data the tests create, against
real services on loopback (an HTTP server, an SMTP server)."""

from __future__ import annotations

import hashlib
import json
import threading
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from tests.analysis.test_jobs import (
    _action,
    _finished_action,
    enable,
    finished,
    new_case,
    new_observable,
    org,  # noqa: F401 - fixture
    run_job,
)


def upload(client, case, path):
    return client.case.create_observable(
        case_id=case["_id"], observable={"dataType": "file"}, observable_path=str(path)
    )[0]


def test_builtins_are_in_the_catalogue(engine_server, org):  # noqa: F811
    http, _client = org
    ids = {d["id"] for d in http.get(engine_server.url + "/api/v1/analysis/definition").json()}
    assert {
        "Propolis_FileInfo_1_0",
        "Propolis_LocalList_1_0",
        "Propolis_EmlParser_1_0",
        "Propolis_Sightings_1_0",
    } <= ids
    responders = http.get(engine_server.url + "/api/v1/analysis/definition?kind=responder")
    assert {"Propolis_Webhook_1_0", "Propolis_Mailer_1_0"} <= {d["id"] for d in responders.json()}


def test_file_info(engine_server, org, tmp_path):  # noqa: F811
    http, client = org
    enable(http, engine_server.url, "Propolis_FileInfo_1_0")
    sample = tmp_path / "tool.exe"
    content = b"MZ" + b"\x00" * 200 + b"This program cannot be run in DOS mode"
    sample.write_bytes(content)
    case = new_case(client)
    done = finished(client, run_job(client, upload(client, case, sample), "Propolis_FileInfo"))
    assert done["status"] == "Success", done["report"]
    full = done["report"]["full"]
    assert full["sha256"] == hashlib.sha256(content).hexdigest()
    assert full["md5"] == hashlib.md5(content).hexdigest()  # noqa: S324
    assert full["size"] == len(content)
    assert full["filename"] == "tool.exe"
    assert full["mimetype"]


def test_local_list(engine_server, org):  # noqa: F811
    http, client = org
    enable(
        http,
        engine_server.url,
        "Propolis_LocalList_1_0",
        configuration={
            "blocklist": ["10.0.0.0/8", "*.evil.example", ".bad.example"],
            "allowlist": ["10.1.1.1"],
        },
    )
    case = new_case(client)
    verdicts = {}
    for data_type, value in (
        ("ip", "10.2.3.4"),
        ("ip", "10.1.1.1"),
        ("ip", "192.0.2.1"),
        ("domain", "www.evil.example"),
        ("domain", "bad.example"),
        ("domain", "good.example"),
    ):
        observable = client.case.create_observable(
            case_id=case["_id"], observable={"dataType": data_type, "data": value}
        )[0]
        done = finished(client, run_job(client, observable, "Propolis_LocalList"))
        assert done["status"] == "Success", done["report"]
        verdicts[value] = done["report"]["full"]["verdict"]
        if value == "10.2.3.4":
            tags = client.observable.get(observable_id=observable["_id"])["tags"]
            assert 'LocalList:Verdict="blocked"' in tags
    assert verdicts == {
        "10.2.3.4": "blocked",
        "10.1.1.1": "allowed",
        "192.0.2.1": "unlisted",
        "www.evil.example": "blocked",
        "bad.example": "blocked",
        "good.example": "unlisted",
    }


def test_eml_parser(engine_server, org, tmp_path):  # noqa: F811
    http, client = org
    enable(http, engine_server.url, "Propolis_EmlParser_1_0")
    message = EmailMessage()
    message["From"] = "Attacker <attacker@phish.example>"
    message["To"] = "victim@corp.example"
    message["Subject"] = "Your invoice"
    message["Received"] = "from mx.phish.example ([185.220.101.4]) by mx.corp.example"
    message.set_content("Pay here: https://pay.phish.example/login now, or mail help@phish.example")
    message.add_attachment(
        b"%PDF-1.4 fake", maintype="application", subtype="pdf", filename="invoice.pdf"
    )
    sample = tmp_path / "mail.eml"
    sample.write_bytes(bytes(message))
    case = new_case(client)
    done = finished(client, run_job(client, upload(client, case, sample), "Propolis_EmlParser"))
    assert done["status"] == "Success", done["report"]
    report = done["report"]
    assert report["full"]["subject"] == "Your invoice"
    values = {(a["dataType"], a.get("data")) for a in report["artifacts"]}
    assert ("url", "https://pay.phish.example/login") in values
    assert ("domain", "pay.phish.example") in values
    assert ("mail", "attacker@phish.example") in values
    assert ("ip", "185.220.101.4") in values
    files = [a for a in report["artifacts"] if a["dataType"] == "file"]
    assert files[0]["attachment"]["name"] == "invoice.pdf"
    assert files[0]["attachment"]["id"] == hashlib.sha256(b"%PDF-1.4 fake").hexdigest()


def test_internal_sightings(engine_server, org):  # noqa: F811
    http, client = org
    enable(http, engine_server.url, "Propolis_Sightings_1_0")
    old = new_case(client, title="old phishing")
    new_observable(client, old, data="198.51.100.7")
    client.case.close(case_id=old["_id"], status="TruePositive", summary="confirmed")
    case = new_case(client)
    observable = new_observable(client, case, data="198.51.100.7")
    done = finished(client, run_job(client, observable, "Propolis_Sightings"))
    assert done["status"] == "Success", done["report"]
    cases = done["report"]["full"]["cases"]
    assert [(c["title"], c["status"]) for c in cases] == [("old phishing", "TruePositive")]
    levels = {t["predicate"]: t["level"] for t in done["report"]["summary"]["taxonomies"]}
    assert levels["TruePositive"] == "malicious"


class _Hook(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((dict(self.headers), json.loads(body)))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):  # quiet
        pass


@pytest.fixture
def webhook_server():
    _Hook.received = []
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", _Hook.received
    server.shutdown()
    server.server_close()


def test_webhook_responder(engine_server, org, webhook_server):  # noqa: F811
    url, received = webhook_server
    http, client = org
    enable(
        http,
        engine_server.url,
        "Propolis_Webhook_1_0",
        kind="responder",
        configuration={"url": url, "authorization_token": "tok-123"},
    )
    case = new_case(client, title="hooked case")
    action = _action(client, "Propolis_Webhook", "case", case["_id"])
    done = _finished_action(http, engine_server.url, "case", case["_id"], action["_id"])
    assert done["status"] == "Success", done["report"]
    headers, body = received[0]
    assert headers["Authorization"] == "Bearer tok-123"
    assert body["objectType"] == "case"
    assert body["object"]["title"] == "hooked case"
    assert body["object"]["_id"] == case["_id"]
    # the report says what happened, not what the server answered
    assert json.loads(done["report"])["full"] == {
        "message": f"posted to {url}",
        "status": 200,
        "size": 2,
    }


@pytest.mark.parametrize(
    "url", ["http://127.0.0.2:9/", "http://169.254.169.254/latest/meta-data/", "http://[::1]:9/"]
)
def test_webhook_to_an_address_the_admin_did_not_allow_is_refused(engine_server, org, url):  # noqa: F811
    http, client = org
    enable(
        http,
        engine_server.url,
        "Propolis_Webhook_1_0",
        kind="responder",
        configuration={"url": url},
    )
    case = new_case(client)
    action = _action(client, "Propolis_Webhook", "case", case["_id"])
    done = _finished_action(http, engine_server.url, "case", case["_id"], action["_id"])
    assert done["status"] == "Failure"
    message = json.loads(done["report"])["errorMessage"]
    assert message.startswith(f"The webhook {url} was not called: ")
    assert "PROPOLIS_OUTBOUND_ALLOW" in message


def test_webhook_headers_and_token_are_write_only(engine_server, org):  # noqa: F811
    """Headers carry API keys: neither the worker nor the action answers show them, not even
    when the job fails and its input comes back in the report."""
    http, client = org
    header = "X-Api-Key: hdr-" + "k" * 24
    worker = enable(
        http,
        engine_server.url,
        "Propolis_Webhook_1_0",
        kind="responder",
        configuration={"url": "http://127.0.0.1:1/", "headers": [header], "authorization_token": "tok-" + "t" * 20},
    )  # fmt: skip
    assert worker["configuration"]["headers"] == ["********"]
    assert worker["configuration"]["authorization_token"] == "********"
    listed = http.get(engine_server.url + "/api/v1/analysis/worker").text
    assert "hdr-" not in listed and "tok-" not in listed
    case = new_case(client, title="hooked case")
    action = _action(client, "Propolis_Webhook", "case", case["_id"])
    done = _finished_action(http, engine_server.url, "case", case["_id"], action["_id"])
    assert done["status"] == "Failure"
    report = json.loads(done["report"])
    assert report["input"]["config"]["headers"] == "REMOVED"
    answers = [
        http.get(f"{engine_server.url}/api/v1/connector/cortex/action/case/{case['_id']}"),
        http.get(f"{engine_server.url}/api/v1/connector/cortex/action/{action['_id']}"),
    ]
    assert [a.status_code for a in answers] == [200, 200]
    assert not [a for a in answers if "hdr-" in a.text or "tok-" in a.text]


def test_mailer_responder(engine_server, org):  # noqa: F811
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    class Inbox(Message):
        def __init__(self):
            super().__init__()
            self.messages = []

        def handle_message(self, message):
            self.messages.append(message)

    from tests.harness import free_port

    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        http, client = org
        enable(
            http,
            engine_server.url,
            "Propolis_Mailer_1_0",
            kind="responder",
            configuration={"from": "soc@corp.example", "smtp_host": "127.0.0.1", "smtp_port": port},
        )
        case = new_case(client, title="Phishing", tags=["mail=bob@example.net"])
        new_observable(client, case, data="203.0.113.50")
        action = _action(client, "Propolis_Mailer", "case", case["_id"])
        done = _finished_action(http, engine_server.url, "case", case["_id"], action["_id"])
        assert done["status"] == "Success", done["report"]
        (mail,) = inbox.messages
        assert mail["To"] == "bob@example.net"
        assert mail["Subject"] == f"[Case #{case['number']}] Phishing"
        assert "203.0.113.50" in mail.get_payload()
        assert "mail sent" in client.case.get(case_id=case["_id"])["tags"]
    finally:
        controller.stop()
