"""Propolis_Mailer against a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import pytest

from tests.analysis.builtins import jobs

NAME = "Propolis_Mailer"


def config(inbox, **extra):
    return {
        "from": "SOC <soc@corp.example>",
        "smtp_host": "127.0.0.1",
        "smtp_port": inbox.port,
        **extra,
    }


def a_case(**extra):
    """A case as the engine hands it to a responder (TheHive 5 keys plus the v0 ones)."""
    return {
        "_id": "~4242",
        "id": "~4242",
        "_type": "case",
        "number": 42,
        "caseId": 42,
        "title": "Phishing wave",
        "description": "Several users received the invoice mail.",
        "severity": 3,
        "severityLabel": "HIGH",
        "tlp": 2,
        "tlpLabel": "AMBER",
        "pap": 2,
        "papLabel": "AMBER",
        "status": "New",
        "assignee": "alice@corp.example",
        "tags": ["phishing", "mail:bob@example.net"],
        "observables": [
            {"dataType": "ip", "data": "185.220.101.4", "ioc": True, "tags": ["tor"]},
            {"dataType": "file", "attachment": {"name": "invoice.pdf.exe"}},
        ],
        **extra,
    }


def test_a_case_is_mailed_with_its_observables(tmp_path, smtp):
    result = jobs.respond(
        NAME,
        tmp_path,
        "thehive:case",
        a_case(),
        config=config(smtp, recipients=["soc-leads@corp.example"]),
    )
    assert result.output == {
        "success": True,
        "full": {
            "message": "message sent",
            "to": ["soc-leads@corp.example", "bob@example.net"],
            "subject": "[Case #42] Phishing wave",
        },
        "operations": [{"type": "AddTagToCase", "tag": "mail sent"}],
    }
    (mail,) = smtp.messages
    assert smtp.envelopes == [["soc-leads@corp.example", "bob@example.net"]]
    assert mail["Subject"] == "[Case #42] Phishing wave"
    assert mail["From"] == "SOC <soc@corp.example>"
    assert mail["To"] == "soc-leads@corp.example, bob@example.net"
    assert mail["Message-ID"].endswith("@corp.example>")
    body = mail.get_content()
    assert "Case #42: Phishing wave" in body
    assert "Severity: HIGH" in body and "TLP: AMBER" in body
    assert "Several users received the invoice mail." in body
    assert "Observables (2):" in body
    assert "  - ip: 185.220.101.4 [IOC] tags: tor" in body
    assert "  - file: invoice.pdf.exe" in body


def test_a_task_uses_its_mailto_line_and_its_case_tags(tmp_path, smtp):
    task = {
        "_id": "~77",
        "_type": "case_task",
        "title": "Ask the provider",
        "group": "containment",
        "status": "InProgress",
        "description": "mailto:abuse@provider.example\nPlease take the site down.",
        "case": a_case(tags=["mail=cert@corp.example"]),
    }
    result = jobs.respond(NAME, tmp_path, "thehive:case_task", task, config=config(smtp))
    assert result.output["success"] is True, result.output
    (mail,) = smtp.messages
    assert mail["Subject"] == "[Case #42] Task: Ask the provider"
    assert smtp.envelopes == [["cert@corp.example", "abuse@provider.example"]]
    body = mail.get_content()
    assert "Please take the site down." in body and "mailto:" not in body
    assert result.output["operations"] == [{"type": "AddTagToCase", "tag": "mail sent"}]


def test_an_alert_and_an_observable(tmp_path, smtp):
    alert = {
        "_id": "~9",
        "_type": "alert",
        "type": "siem",
        "source": "splunk",
        "sourceRef": "A-1",
        "title": "Beacon",
        "description": "Periodic connections",
        "tags": ["mail:noc@corp.example"],
        "artifacts": [{"dataType": "domain", "data": "c2.example"}],
    }
    done = jobs.respond(NAME, tmp_path, "thehive:alert", alert, config=config(smtp, tag="mailed"))
    assert done.output["operations"] == [{"type": "AddTagToAlert", "tag": "mailed"}]
    observable = {
        "_id": "~5",
        "_type": "case_artifact",
        "dataType": "domain",
        "data": "c2.example",
        "message": "seen in proxy logs",
        "tags": [],
        "case": a_case(),
    }
    done = jobs.respond(
        NAME, tmp_path, "thehive:case_artifact", observable, config=config(smtp, tag="")
    )
    assert done.output["operations"] == []  # an empty tag: no operation
    first, second = smtp.messages
    assert first["Subject"] == "[Alert splunk:A-1] Beacon"
    assert "  - domain: c2.example" in first.get_content()
    assert second["Subject"] == "[Case #42] Observable domain: c2.example"
    assert "seen in proxy logs" in second.get_content()


def test_without_recipient_nothing_is_sent(tmp_path, smtp):
    result = jobs.respond(
        NAME, tmp_path, "thehive:case", a_case(tags=["phishing"]), config=config(smtp)
    )
    assert result.output["success"] is False
    assert result.output["errorMessage"].startswith("recipient address not found")
    assert smtp.messages == []


def test_header_injection_through_a_tag_is_refused(tmp_path, smtp):
    case = a_case(tags=["mail:bob@example.net\r\nBcc: everyone@example.net"])
    result = jobs.respond(NAME, tmp_path, "thehive:case", case, config=config(smtp))
    assert result.output["success"] is False
    assert result.output["errorMessage"].startswith("Invalid mail address")
    assert smtp.messages == []


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_login_and_a_wrong_password(tmp_path, smtp_auth):
    good = config(smtp_auth, smtp_user="soc", smtp_password="right-password")
    result = jobs.respond(NAME, tmp_path, "thehive:case", a_case(), config=good)
    assert result.output["success"] is True, result.output
    assert smtp_auth.logins == ["soc"] and len(smtp_auth.messages) == 1
    bad = config(smtp_auth, smtp_user="soc", smtp_password="wrong-password")
    result = jobs.respond(NAME, tmp_path, "thehive:case", a_case(), config=bad)
    assert result.output["success"] is False
    assert result.output["errorMessage"].startswith(f"SMTP server 127.0.0.1:{smtp_auth.port}: 535")
    assert result.output["input"]["config"]["smtp_password"] == "REMOVED"
    assert len(smtp_auth.messages) == 1


def test_required_starttls_is_not_skipped(tmp_path, smtp):
    result = jobs.respond(
        NAME, tmp_path, "thehive:case", a_case(), config=config(smtp, smtp_security="starttls")
    )
    assert result.output["success"] is False
    assert "STARTTLS" in result.output["errorMessage"]
    assert smtp.messages == []


def test_unreachable_server(tmp_path, smtp):
    unused = config(smtp, smtp_port=1)
    result = jobs.respond(NAME, tmp_path, "thehive:case", a_case(), config=unused)
    assert result.output["success"] is False
    assert result.output["errorMessage"].startswith("SMTP server 127.0.0.1:1:")


def test_the_program_refuses_a_tlp_above_its_limit(tmp_path, smtp):
    result = jobs.respond(
        NAME, tmp_path, "thehive:case", a_case(), config=config(smtp), tlp=3
    )  # the definition's own config: check_tlp true, max_tlp 2
    assert result.output["success"] is False
    assert result.output["errorMessage"] == "TLP is higher than allowed."
    assert smtp.messages == []
