"""Propolis_EmlParser on an e-mail the test writes: what it finds, and the observables it
offers as artifacts (cortex.md §3.3), attachments included as files."""

from __future__ import annotations

import hashlib
from email.message import EmailMessage

from tests.analysis.builtins import jobs, samples

NAME = "Propolis_EmlParser"


def parse(tmp_path, content: bytes, **kwargs):
    return jobs.analyze(NAME, tmp_path, "file", file=content, filename="mail.eml", **kwargs)


def test_headers_bodies_and_attachments(tmp_path):
    full = parse(tmp_path, samples.build_eml()).full
    assert full["subject"] == "Overdue invoice 4471"
    assert full["from"] == "Billing <billing@phish.example>"
    assert full["message_id"] == "<4471@phish.example>"
    assert full["addresses"] == {
        "from": ["billing@phish.example"],
        "reply-to": ["payments@reply.example"],
        "to": ["victim@corp.example", "other@corp.example"],
    }
    assert full["authentication"] == {"spf": "fail", "dkim": "none", "dmarc": "fail"}
    assert [h["name"] for h in full["headers"]][:3] == ["From", "To", "Reply-To"]
    assert [b["content_type"] for b in full["bodies"]] == ["text/plain", "text/html"]
    assert "please pay" in full["bodies"][0]["content"]
    pe = samples.build_pe(packed=False)
    assert [(a["filename"], a["size"], a["sha256"], a["risky"]) for a in full["attachments"]] == [
        ("invoice.pdf", 19, hashlib.sha256(b"%PDF-1.4 not really").hexdigest(), False),
        ("invoice.pdf.exe", len(pe), hashlib.sha256(pe).hexdigest(), True),
    ]


def test_observables_come_back_as_artifacts(tmp_path):
    result = parse(tmp_path, samples.build_eml())
    values = result.artifact_values()
    expected = {
        ("mail", "billing@phish.example"),  # From
        ("mail", "payments@reply.example"),  # Reply-To
        ("mail", "victim@corp.example"),  # To
        ("mail-subject", "Overdue invoice 4471"),
        ("ip", "185.220.101.4"),  # the public relay of the Received header
        ("url", "https://pay.phish.example/login?id=4471"),  # text and HTML bodies
        ("domain", "pay.phish.example"),
        ("url", "http://second.example/x"),  # only in the HTML body's links
        ("url", "http://malware-drop.net/stage2"),  # refanged from hxxp://malware-drop[.]net
        ("domain", "malware-drop.net"),
        ("mail", "help@phish-support.com"),
        ("ip", "45.77.12.34"),
        ("hash", "44d88612fea8a8f36de82e1278abb02f"),
        ("hash", hashlib.sha256(b"%PDF-1.4 not really").hexdigest()),  # an attachment
    }
    assert expected <= values
    assert ("ip", "10.0.0.5") not in values  # private relay addresses are noise
    by_value = {a.get("data"): a for a in result.output["artifacts"]}
    assert by_value["billing@phish.example"]["tags"] == ["eml:from"]
    assert by_value["185.220.101.4"]["tags"] == ["eml:received"]
    assert by_value["http://second.example/x"]["tags"] == ["eml:body"]
    assert all(a["tlp"] == 2 for a in result.output["artifacts"])


def test_attachments_are_file_artifacts_in_the_output_folder(tmp_path):
    result = parse(tmp_path, samples.build_eml())
    files = [a for a in result.output["artifacts"] if a["dataType"] == "file"]
    assert [(f["filename"], f["contentType"], f["tags"]) for f in files] == [
        ("invoice.pdf", "application/pdf", ["eml:attachment"]),
        ("invoice.pdf.exe", "application/octet-stream", ["eml:attachment"]),
    ]
    stored = (result.folder / "output" / files[1]["file"]).read_bytes()
    assert stored == samples.build_pe(packed=False)
    assert "/" not in files[0]["file"]  # directly in output/, as Cortex requires


def test_taxonomies(tmp_path):
    taxonomies = parse(tmp_path, samples.build_eml()).taxonomies()
    assert taxonomies["Attachments"] == {
        "level": "info",
        "namespace": "EmlParser",
        "predicate": "Attachments",
        "value": "2",
    }
    assert taxonomies["RiskyAttachment"]["level"] == "suspicious"
    assert taxonomies["RiskyAttachment"]["value"] == "invoice.pdf.exe"
    assert taxonomies["Auth"]["value"] == "spf=fail dmarc=fail"
    assert taxonomies["ReplyTo"]["value"] == "payments@reply.example"


def test_a_quiet_mail_raises_no_alarm(tmp_path):
    message = EmailMessage()
    message["From"] = "Alice <alice@corp.example>"
    message["To"] = "bob@corp.example"
    message["Subject"] = "Lunch"
    message["Authentication-Results"] = "mx.corp.example; spf=pass; dkim=pass; dmarc=pass"
    message.set_content("Noon?")
    result = parse(tmp_path, bytes(message))
    assert set(result.taxonomies()) == {"Attachments", "Observables"}
    assert result.full["attachments"] == []


def test_auto_import_and_tlp_travel_with_the_artifacts(tmp_path):
    result = parse(tmp_path, samples.build_eml(), config={"auto_import": True}, tlp=3)
    artifacts = result.output["artifacts"]
    assert all("autoImport:true" in a["tags"] for a in artifacts)
    assert all(a["tlp"] == 3 for a in artifacts)


def test_attachment_names_cannot_escape(tmp_path):
    message = EmailMessage()
    message["From"] = "x@corp.example"
    message["Subject"] = "names"
    message.set_content("see attached")
    message.add_attachment(b"a", maintype="text", subtype="plain", filename="../../etc/passwd")
    message.add_attachment(b"b", maintype="application", subtype="octet-stream", filename="")
    files = [a for a in parse(tmp_path, bytes(message)).output["artifacts"] if "file" in a]
    assert [f["filename"] for f in files] == ["passwd", "attachment-2.bin"]


def test_a_forwarded_mail_is_an_attachment_and_is_searched_too(tmp_path):
    inner = EmailMessage()
    inner["From"] = "ceo@corp.example"
    inner["Subject"] = "Urgent wire"
    inner.set_content("Send it to http://wire-transfer.example/form")
    outer = EmailMessage()
    outer["From"] = "user@corp.example"
    outer["Subject"] = "Fwd: is this real?"
    outer.set_content("see below")
    outer.add_attachment(inner, filename="original.eml")
    result = parse(tmp_path, bytes(outer))
    (attachment,) = result.full["attachments"]
    assert attachment["content_type"] == "message/rfc822"
    assert attachment["filename"] == "original.eml"
    assert b"Urgent wire" in (result.folder / "output" / _file(result)["file"]).read_bytes()
    assert ("url", "http://wire-transfer.example/form") in result.artifact_values()


def _file(result):
    (found,) = [a for a in result.output["artifacts"] if a["dataType"] == "file"]
    return found


def test_a_file_that_is_not_a_mail_is_refused(tmp_path):
    result = parse(tmp_path, samples.build_pe())
    assert result.output["success"] is False
    assert "not an e-mail message" in result.output["errorMessage"]


def test_missing_ioc_finder_is_a_clear_error(tmp_path):
    env = jobs.shadow_module(tmp_path / "shadow", "ioc_finder")
    result = parse(tmp_path, samples.build_eml(), env=env)
    assert result.output["success"] is False
    assert result.output["errorMessage"].startswith("ioc-finder is not installed")
