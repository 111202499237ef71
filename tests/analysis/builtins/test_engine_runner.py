"""The built-ins run by the engine's own process runner (``propolis.analysis.runner``), as
the catalogue resolves them: command, working directory, job folder, output reading."""

from __future__ import annotations

import hashlib
from pathlib import Path

from propolis.analysis import catalog, runner
from tests.analysis.builtins import samples


def definition(kind: str, definition_id: str) -> catalog.Definition:
    found = catalog.scan([], [], builtins=True).get(kind, definition_id)
    assert found is not None
    return found


def store(path: Path) -> dict:
    content = path.read_bytes()
    return {
        "sha256": hashlib.sha256(content).hexdigest(),
        "size": len(content),
        "contentType": "application/octet-stream",
    }


def document(found: catalog.Definition, data_type: str, **extra) -> dict:
    return {
        "dataType": data_type,
        "tlp": 2,
        "pap": 2,
        "message": "",
        "parameters": {},
        "config": {**found.config, **extra.pop("config", {})},
        **extra,
    }


def test_eml_parser_through_the_engine_runner(tmp_path):
    found = definition("analyzer", "Propolis_EmlParser_1_0")
    eml = tmp_path / "upload"
    eml.write_bytes(samples.build_eml())
    job = runner.JobInput(
        command=found.command,
        root=found.root,
        document=document(found, "file"),
        attachment=eml,
        attachment_name="mail.eml",
        content_type="message/rfc822",
        timeout_seconds=120,
    )
    outcome = runner.run(job, tmp_path / "jobs", store, label="builtin")
    assert outcome.success, outcome.report
    files = [a for a in outcome.report["artifacts"] if "attachment" in a]
    pe = samples.build_pe(packed=False)
    assert files[1]["attachment"] == {
        "id": hashlib.sha256(pe).hexdigest(),
        "name": "invoice.pdf.exe",
        "contentType": "application/octet-stream",
        "size": len(pe),
    }
    taxonomies = {t["predicate"] for t in outcome.report["summary"]["taxonomies"]}
    assert {"Attachments", "RiskyAttachment"} <= taxonomies
    assert list((tmp_path / "jobs").iterdir()) == []  # the job folder is gone


def test_a_responder_failure_through_the_engine_runner(tmp_path):
    found = definition("responder", "Propolis_Webhook_1_0")
    job = runner.JobInput(
        command=found.command,
        root=found.root,
        document=document(
            found,
            "thehive:case",
            data={"_id": "~1", "title": "t"},
            config={"url": "http://127.0.0.1:1/", "authorization_token": "tok"},
        ),
        timeout_seconds=60,
        builtin=found.builtin,  # as the engine runs it: with the server's own code
    )
    outcome = runner.run(job, tmp_path / "jobs", store)
    assert not outcome.success
    # no outbound policy in the input: the loopback address is refused before any request
    assert outcome.error_message.startswith("The webhook http://127.0.0.1:1/ was not called")
    assert outcome.report["input"]["config"]["authorization_token"] == "REMOVED"
