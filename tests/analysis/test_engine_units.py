"""The catalogue, configuration rules and the job runner, in-process (no server): the
cortexutils test programs of ``neurons/`` are run unchanged."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from propolis.analysis import catalog, config, forkserver, paths, runner
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
            "configurationItems": [{"name": "k", "description": "d", "type": "colour"}],
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


@pytest.fixture(params=["process", "forkserver", "launcher"])
def launch(request, monkeypatch):
    """How the program is started: as a catalogue program (its own process), or as a
    built-in (forked from the fork server; or, when that is unavailable, by the launcher)."""

    def unavailable(*args, **kwargs):
        raise forkserver.Unavailable("test: no fork server")

    if request.param == "launcher":
        monkeypatch.setattr(forkserver.default(), "spawn", unavailable)

    def adapt(job: runner.JobInput) -> runner.JobInput:
        job.builtin = request.param != "process"
        return job

    return adapt


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


def test_runner_success(found, tmp_path, launch):
    outcome = runner.run(launch(_job(found, "Echo")), tmp_path, _stored)
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


def test_runner_file_job(found, tmp_path, launch):
    sample = tmp_path / "sample.bin"
    sample.write_bytes(b"hello propolis")
    job = launch(_job(found, "Echo"))
    job.document.pop("data")
    job.document["dataType"] = "file"
    job.attachment, job.attachment_name = sample, "invoice.pdf"
    outcome = runner.run(job, tmp_path / "jobs", _stored)
    import hashlib

    assert outcome.report["full"]["sha256"] == hashlib.sha256(b"hello propolis").hexdigest()
    assert outcome.report["full"]["filename"] == "invoice.pdf"


def test_runner_program_error_is_failure_with_masked_input(found, tmp_path, launch):
    outcome = runner.run(launch(_job(found, "Fail")), tmp_path, _stored)
    assert not outcome.success
    assert outcome.report["errorMessage"] == "Probe failed on purpose"
    assert outcome.report["input"]["config"]["api_key"] == "REMOVED"


def test_runner_malformed_output_and_crash(found, tmp_path, launch):
    garbage = runner.run(launch(_job(found, "Garbage")), tmp_path, _stored)
    assert not garbage.success and "Invalid output.json" in garbage.error_message
    crash = runner.run(launch(_job(found, "Crash")), tmp_path, _stored)
    assert not crash.success and "probe crashed" in crash.error_message


def test_runner_timeout_kills_the_program(found, tmp_path, launch):
    job = launch(_job(found, "Sleep", seconds=60))
    job.timeout_seconds = 1
    started = time.monotonic()
    outcome = runner.run(job, tmp_path, _stored)
    assert time.monotonic() - started < 15
    assert not outcome.success and "timeout" in outcome.error_message.lower()


def test_runner_cortexutils_tlp_guard(found, tmp_path, launch):
    job = launch(_job(found, "Echo", check_tlp=True, max_tlp=1))
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


GRANDPARENT = """
import os, subprocess, sys, time
child = subprocess.Popen(["sleep", "60"])
with open(os.path.join(sys.argv[1], "child.pid"), "w") as out:
    out.write(str(child.pid))
print("started", flush=True)
time.sleep(60)
"""


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for a reaper that a container's pid 1 may not be counts as
    stopped)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False


def test_runner_timeout_stops_the_program_children_too(tmp_path, launch):
    program = tmp_path / "root" / "Spawner" / "spawner.py"
    program.parent.mkdir(parents=True)
    program.write_text(GRANDPARENT)
    job = launch(runner.JobInput(str(program), str(program.parent.parent), {"dataType": "ip"}))
    job.timeout_seconds, job.keep_folder = 2, True
    outcome = runner.run(job, tmp_path / "jobs", _stored)
    assert outcome.error_message.startswith("Job timeout (0.0333333 minutes)")
    assert "started" in outcome.error_message  # what it printed before
    (folder,) = (tmp_path / "jobs").iterdir()
    child = int((folder / "child.pid").read_text())
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)


def test_a_dead_fork_server_is_replaced(found, tmp_path):
    server = forkserver.default()
    job = _job(found, "Echo")
    job.builtin = True
    assert runner.run(job, tmp_path, _stored).success
    first = server.pid
    os.kill(first, 9)
    deadline = time.monotonic() + 5
    while _alive(first) and time.monotonic() < deadline:
        time.sleep(0.01)
    outcome = runner.run(job, tmp_path, _stored)
    assert outcome.success, outcome.report
    assert server.pid not in (None, first)


def test_builtin_programs_start_like_a_fresh_interpreter(tmp_path):
    """What a forked built-in sees: __main__, argv, cwd, environment, atexit, exit codes."""
    program = tmp_path / "root" / "Look" / "look.py"
    program.parent.mkdir(parents=True)
    program.write_text(
        "import atexit, json, os, sys\n"
        "folder = sys.argv[1]\n"
        "def save():\n"
        "    os.makedirs(os.path.join(folder, 'output'), exist_ok=True)\n"
        "    with open(os.path.join(folder, 'output', 'output.json'), 'w') as out:\n"
        "        json.dump({'success': True, 'full': {\n"
        "            'name': __name__, 'argv': sys.argv, 'cwd': os.getcwd(),\n"
        "            'path0': sys.path[0], 'ca': os.environ.get('REQUESTS_CA_BUNDLE'),\n"
        "            'marker': os.environ.get('PROPOLIS_TEST_MARKER'),\n"
        "            'given': os.environ.get('GIVEN')}}, out)\n"
        "atexit.register(save)\n"
        "sys.exit('bye')\n"
    )
    document = {"dataType": "ip", "config": {"cacerts": "-----BEGIN CERTIFICATE-----"}}
    job = runner.JobInput(
        str(program),
        str(tmp_path / "root"),
        document,
        builtin=True,
        environment={"PATH": os.environ["PATH"], "GIVEN": "by the engine"},
    )
    os.environ["PROPOLIS_TEST_MARKER"] = "set-after-the-fork-server-started"
    try:
        forkserver.default().start()
        outcome = runner.run(job, tmp_path / "jobs", _stored)
    finally:
        del os.environ["PROPOLIS_TEST_MARKER"]
    assert outcome.success, outcome.report
    full = outcome.report["full"]
    folder = full["argv"][1]
    assert full["name"] == "__main__"
    assert full["argv"] == [str(program), folder]
    assert full["cwd"] == str(tmp_path / "root")
    assert full["path0"] == str(program.parent)
    assert full["ca"] == f"{folder}/input/cacerts"
    # the job's environment, not the server's
    assert full["marker"] is None and full["given"] == "by the engine"


def test_secrets_by_definition_flag_and_by_name_are_write_only():
    items = [
        {"name": "passphrase_like", "type": "password", "multi": False, "required": False},
        {"name": "level", "type": "string", "multi": False, "required": False, "secret": True},
        {"name": "headers", "type": "string", "multi": True, "required": False},
        {"name": "Authorization", "type": "string", "multi": False, "required": False},
        {"name": "url", "type": "string", "multi": False, "required": False},
    ]
    assert [config.is_secret(i) for i in items] == [True, True, True, True, False]
    sealer = Sealer("test-key")
    given = {
        "passphrase_like": "pw-1234",
        "level": "flagged-secret",
        "headers": ["X-Api-Key: abcd-1234", "X-Other: efgh-5678"],
        "Authorization": "Basic Zm9vOmJhcg==",
        "url": "https://example.org",
    }
    stored = config.seal_secrets(items, config.validate(items, given), sealer)
    text = json.dumps(stored)
    assert not [v for v in ("pw-1234", "flagged-secret", "abcd-1234", "Zm9vOmJhcg") if v in text]
    shown = config.masked(stored)
    assert shown == {
        "passphrase_like": config.MASK,
        "level": config.MASK,
        "headers": [config.MASK, config.MASK],
        "Authorization": config.MASK,
        "url": "https://example.org",
    }
    assert config.unseal(stored, sealer) == given
    # what the client was shown, sent back, keeps every secret
    assert config.validate(items, shown, previous=stored) == stored
    names = config.secret_names(stored)
    assert names == {"passphrase_like", "level", "headers", "Authorization"}
    secrets = config.secret_values(given, names)
    report = {"errorMessage": "header X-Api-Key: abcd-1234 refused", "input": {"config": given}}
    cleaned = config.scrub(config.mask_for_report(report["input"], names), secrets)
    assert set(cleaned["config"].values()) == {"REMOVED", "https://example.org"}
    assert config.scrub(report, secrets)["errorMessage"] == "header REMOVED refused"


def test_definition_flags_reach_the_engine():
    items, problem = catalog.parse_configuration_items(
        [
            {"name": "passphrase", "description": "d", "type": "password"},
            {"name": "level", "description": "d", "type": "string", "secret": True},
            {"name": "lists", "description": "d", "type": "string", "serverPath": True},
        ]
    )
    assert problem is None
    assert [config.is_secret(i) for i in items] == [True, True, False]
    assert [paths.is_path_item(i) for i in items] == [False, False, True]
