"""The catalogue, configuration rules and the job runner, in-process (no server): the
cortexutils test programs of ``neurons/`` are run unchanged."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from propolis.analysis import catalog, config, runner
from propolis.core.errors import AttributeCheckingError
from propolis.core.security import Sealer

NEURONS = Path(__file__).parent / "neurons"
ANALYZERS = NEURONS / "analyzers"
RESPONDERS = NEURONS / "responders"


@pytest.fixture(scope="module")
def found() -> catalog.Catalog:
    return catalog.scan([str(ANALYZERS)], [str(RESPONDERS)], builtins=False)


def test_discovery_builds_cortex_ids_and_resolves_commands(found):
    echo = found.get("analyzer", "Probe_Echo_1_0")
    assert echo is not None
    assert echo.command == str((ANALYZERS / "Probe" / "probe.py").resolve())
    assert echo.root == str(ANALYZERS.resolve())
    assert echo.config == {"service": "echo"}
    assert echo.base_config == "Probe"
    assert [i["name"] for i in echo.configuration_items] == ["api_key", "level", "servers"]
    assert found.get("responder", "ProbeResponder_1_0").data_types[0] == "thehive:case"


def test_invalid_definitions_are_reported_and_skipped(found):
    reasons = {Path(i.source).name: i.reason for i in found.invalid}
    assert "version" in reasons["no_version.json"]
    assert "not found" in reasons["missing_program.json"]
    assert "JSON" in reasons["not_json.json"]
    assert all(d.name not in ("NoVersion", "MissingProgram") for d in found.all("analyzer"))


def test_missing_path_is_reported_not_fatal():
    result = catalog.scan(["/no/such/folder"], [], builtins=False)
    assert result.all("analyzer") == []
    assert result.invalid[0].reason == "path does not exist"


def test_catalogue_quirks(tmp_path):
    folder = tmp_path / "Quirk"
    folder.mkdir()
    (folder / "run.py").write_text("print('x')\n")
    entries = [
        {"name": "A.json", "version": "1.0", "command": "python3 Quirk/run.py"},
        {"name": "Escape", "version": "1", "command": "../outside.py"},
        {"name": "Docker", "version": "1", "dockerImage": "cortexneurons/x:1"},
        {
            "name": "BadItems",
            "version": "2.1",
            "command": "Quirk/run.py",
            "configurationItems": [{"name": "k", "description": "d", "type": "password"}],
        },
    ]
    common = {"author": "a", "url": "u", "license": "l", "description": "d"}
    (folder / "all.json").write_text(json.dumps([{**common, **e} for e in entries]))
    result = catalog.scan([str(tmp_path)], [], builtins=False)
    assert sorted(d.id for d in result.all("analyzer")) == ["A_json_1_0", "BadItems_2_1"]
    assert result.get("analyzer", "BadItems_2_1").configuration_items == []
    assert "configurationItems ignored" in result.warnings[0].reason
    reasons = " ".join(i.reason for i in result.invalid)
    assert "escapes" in reasons and "docker" in reasons


def test_builtins_are_valid():
    result = catalog.scan([], [], builtins=True)
    assert not [i for i in result.invalid if "builtins" in i.source]


# --------------------------------------------------------------------------- configuration


def test_configuration_validation(found):
    items = config.all_items(found.get("analyzer", "Probe_Echo_1_0"), 10, 30)
    stored = config.validate(items, {"api_key": "s3cret", "servers": ["a", "b"]})
    assert stored["level"] == 3  # default
    assert stored["servers"] == ["a", "b"]
    assert stored["check_tlp"] is True and stored["max_tlp"] == 2  # the UI's defaults
    assert stored["proxy_http"] is None and stored["jobCache"] == 10
    for bad in (
        {},  # api_key required
        {"api_key": 3},
        {"api_key": "k", "servers": "a"},  # multi needs a list
        {"api_key": "k", "servers": [1]},
        {"api_key": "k", "level": True},
        {"api_key": "k", "unknown": 1},
    ):
        with pytest.raises(AttributeCheckingError):
            config.validate(items, bad)


def test_secrets_are_sealed_masked_and_kept(found):
    items = config.all_items(found.get("analyzer", "Probe_Echo_1_0"), 10, 30)
    sealer = Sealer("test-key")
    stored = config.seal_secrets(items, config.validate(items, {"api_key": "s3cret"}), sealer)
    assert "s3cret" not in json.dumps(stored)
    assert config.masked(stored)["api_key"] == config.MASK
    assert config.unseal(stored, sealer)["api_key"] == "s3cret"
    again = config.validate(items, {"api_key": config.MASK, "level": 5}, previous=stored)
    assert again["api_key"] == stored["api_key"]


def test_job_config_merge_keeps_null_and_adds_proxy():
    merged = config.job_config(
        {"service": "get", "check_tlp": True, "nested": {"a": 1}},
        {"check_tlp": None, "nested": {"b": 2}, "proxy_http": "http://p:3128"},
    )
    assert merged["check_tlp"] is None  # the worker's null wins (cortex.md §1.4)
    assert merged["nested"] == {"a": 1, "b": 2}
    assert merged["proxy"] == {"http": "http://p:3128"}


# --------------------------------------------------------------------------- runner


def _job(found, flavor: str, **config_values) -> runner.JobInput:
    definition = found.get("analyzer", f"Probe_{flavor}_1_0")
    document = {
        "data": "10.0.0.1",
        "dataType": "ip",
        "tlp": 2,
        "pap": 2,
        "message": "42",
        "parameters": {"user": "u"},
        "config": {**definition.config, "api_key": "k", **config_values},
    }
    return runner.JobInput(definition.command, definition.root, document, timeout_seconds=20)


def _stored(path: Path) -> dict:
    return {"sha256": "0" * 64, "size": path.stat().st_size, "contentType": "text/plain"}


def test_runner_success(found, tmp_path):
    outcome = runner.run(_job(found, "Echo"), tmp_path, _stored)
    assert outcome.success, outcome.report
    full = outcome.report["full"]
    assert full["data"] == "10.0.0.1" and full["message"] == "42"
    assert full["cwd"] == str(ANALYZERS.resolve())  # run from the analyzers root
    assert outcome.report["summary"]["taxonomies"][0]["namespace"] == "Probe"
    assert {a["data"] for a in outcome.report["artifacts"]} == {
        "8.8.8.8",
        "auto-import.example.org",
    }
    assert outcome.report["operations"][0] == {"type": "AddTagToArtifact", "tag": "probed"}
    assert list(tmp_path.iterdir()) == []  # the job folder is removed


def test_runner_file_job(found, tmp_path):
    sample = tmp_path / "sample.bin"
    sample.write_bytes(b"hello propolis")
    job = _job(found, "Echo")
    job.document.pop("data")
    job.document["dataType"] = "file"
    job.attachment, job.attachment_name = sample, "invoice.pdf"
    outcome = runner.run(job, tmp_path / "jobs", _stored)
    import hashlib

    assert outcome.report["full"]["sha256"] == hashlib.sha256(b"hello propolis").hexdigest()
    assert outcome.report["full"]["filename"] == "invoice.pdf"


def test_runner_program_error_is_failure_with_masked_input(found, tmp_path):
    outcome = runner.run(_job(found, "Fail"), tmp_path, _stored)
    assert not outcome.success
    assert outcome.report["errorMessage"] == "Probe failed on purpose"
    assert outcome.report["input"]["config"]["api_key"] == "REMOVED"


def test_runner_malformed_output_and_crash(found, tmp_path):
    garbage = runner.run(_job(found, "Garbage"), tmp_path, _stored)
    assert not garbage.success and "Invalid output.json" in garbage.error_message
    crash = runner.run(_job(found, "Crash"), tmp_path, _stored)
    assert not crash.success and "probe crashed" in crash.error_message


def test_runner_timeout_kills_the_program(found, tmp_path):
    job = _job(found, "Sleep", seconds=60)
    job.timeout_seconds = 1
    started = time.monotonic()
    outcome = runner.run(job, tmp_path, _stored)
    assert time.monotonic() - started < 15
    assert not outcome.success and "timeout" in outcome.error_message.lower()


def test_runner_cortexutils_tlp_guard(found, tmp_path):
    job = _job(found, "Echo", check_tlp=True, max_tlp=1)
    outcome = runner.run(job, tmp_path, _stored)
    assert outcome.report["errorMessage"] == "TLP is higher than allowed."


def test_runner_keeps_folder_when_asked(found, tmp_path):
    job = _job(found, "Echo")
    job.keep_folder = True
    runner.run(job, tmp_path, _stored)
    (folder,) = tmp_path.iterdir()
    assert (folder / "input" / "input.json").is_file()
    assert (folder / "output" / "output.json").is_file()
    assert oct(folder.stat().st_mode & 0o777) == "0o700"


# --------------------------------------------------------------------------- command line


def _cli(*args: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = dict(
        os.environ,
        PROPOLIS_DATA_DIR=str(tmp_path),
        PROPOLIS_ANALYZERS_PATH=str(ANALYZERS),
        PROPOLIS_RESPONDERS_PATH=str(RESPONDERS),
        COLUMNS="200",
    )
    return subprocess.run(
        [sys.executable, "-m", "propolis.cli", "analyzers", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_lists_the_catalogue_and_what_was_skipped(tmp_path):
    listed = _cli("list", tmp_path=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "Probe_Echo_1_0" in listed.stdout and "Propolis_FileInfo_1_0" in listed.stdout
    assert "no_version.json" in listed.stdout  # reported, not fatal
    responders = _cli("list", "--responders", tmp_path=tmp_path)
    assert "ProbeResponder_1_0" in responders.stdout
    shown = _cli("show", "Probe_Echo_1_0", tmp_path=tmp_path)
    assert "api_key (string, required, secret)" in shown.stdout
    missing = _cli("show", "Nope_1_0", tmp_path=tmp_path)
    assert missing.returncode == 1


def test_cli_enable_run_disable(tmp_path):
    enabled = _cli(
        "enable",
        "Probe_Echo_1_0",
        "--org",
        "admin",
        "--set",
        "api_key=k",
        "--set",
        "level=4",
        tmp_path=tmp_path,
    )
    assert enabled.returncode == 0, enabled.stdout + enabled.stderr
    bad = _cli("enable", "Probe_Fail_1_0", "--org", "nowhere", tmp_path=tmp_path)
    assert bad.returncode == 1 and "not found" in bad.stderr
    listed = _cli("list", "--org", "admin", tmp_path=tmp_path)
    assert "Probe_Echo" in listed.stdout
    disabled = _cli("disable", "Probe_Echo", "--org", "admin", tmp_path=tmp_path)
    assert disabled.returncode == 0, disabled.stdout + disabled.stderr
    again = _cli("disable", "Probe_Echo", "--org", "admin", tmp_path=tmp_path)
    assert again.returncode == 1
