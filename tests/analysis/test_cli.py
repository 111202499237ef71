"""``propolis analyzers list/show/enable/disable/run``: real subprocesses on the data folder and
database of a running server; what they store is read back through the API."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import pytest

from tests.analysis.test_jobs import new_case, new_observable


def cli(server, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "propolis.cli", "analyzers", *args],
        env=server.env(),
        capture_output=True,
        text=True,
        timeout=180,
    )


def table_row(output: str, first_cell: str) -> list[str]:
    """The cells of the table row that starts with ``first_cell``."""
    for line in output.splitlines():
        cells = [c.strip() for c in line.strip("│ ").split("│")]
        if cells[0] == first_cell:
            return cells
    raise AssertionError(f"no row {first_cell} in:\n{output}")


@pytest.fixture
def org(engine_server):
    """A fresh organisation: (name, thehive4py client)."""
    name = f"cli-{uuid.uuid4().hex[:8]}"
    engine_server.create_org(name)
    return name, engine_server.client(organisation=name)


def test_list_shows_the_catalogue_and_what_was_skipped(engine_server):
    done = cli(engine_server, "list")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no log noise: problems are part of the listing
    lines = done.stdout.splitlines()
    echo = table_row(done.stdout, "Probe_Echo_1_0")
    assert echo[1:3] == ["1.0", "ip, domain, file"]
    assert echo[3].endswith("tests/analysis/neurons/analyzers/Probe")
    assert table_row(done.stdout, "Propolis_LocalList_1_0")[3] == "built-in"
    assert "…" not in done.stdout  # ids and paths are never cut
    assert "ProbeResponder_1_0" not in done.stdout
    skipped = [line for line in lines if line.startswith("skipped ")]
    assert any(
        line.endswith("no_version.json: missing or non-string 'version'") for line in skipped
    )
    assert any("not_json.json: unreadable JSON" in line for line in skipped)
    assert len(skipped) == 3
    responders = cli(engine_server, "list", "--responders")
    assert "ProbeResponder_1_0" in responders.stdout
    assert "Propolis_Mailer_1_0" in responders.stdout
    assert "Probe_Echo_1_0" not in responders.stdout


def test_show_a_definition(engine_server):
    done = cli(engine_server, "show", "Probe_Echo_1_0")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith("Probe_Echo_1_0 (analyzer)\nProbe_Echo test analyzer\n")
    assert "data types: ip, domain, file" in out
    assert "  api_key (string, required, secret): a secret" in out
    assert "  level (number, default 3): a number" in out
    assert "  servers (string[]): several" in out
    assert "  check_tlp (boolean, default true)" in out  # the engine's own items too
    responder = cli(engine_server, "show", "ProbeResponder_1_0")  # found without --responder
    assert responder.returncode == 0 and "(responder)" in responder.stdout
    unknown = cli(engine_server, "show", "Nope_1_0")
    assert unknown.returncode == 1
    assert unknown.stdout == ""
    assert unknown.stderr.startswith("Error: no analyzer or responder definition Nope_1_0")


def test_enable_run_and_disable(engine_server, org):
    name, client = org
    case = new_case(client)
    observable = new_observable(client, case, data="10.11.12.13")

    enabled = cli(
        engine_server, "enable", "Probe_Echo_1_0", "--org", name, "--set", "api_key=s3cret",
        "--set", "level=5",
    )  # fmt: skip
    assert enabled.returncode == 0, enabled.stderr
    first, *config = enabled.stdout.splitlines()
    assert first.startswith("OK analyzer Probe_Echo (~") and first.endswith(f"enabled in {name}")
    assert '  api_key = "********"' in config and "  level = 5" in config
    assert "s3cret" not in enabled.stdout
    assert [a["name"] for a in client.cortex.list_analyzers()] == ["Probe_Echo"]
    listed = cli(engine_server, "list", "--org", name).stdout
    assert table_row(listed, "Probe_Echo_1_0")[-1] == "Probe_Echo"
    assert table_row(listed, "Probe_Fail_1_0")[-1] == "-"

    done = cli(engine_server, "run", "Probe_Echo", "--observable", observable["_id"], "--org", name)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("Success Probe_Echo on ip 10.11.12.13: job ~")
    job_id = lines[0].split("job ")[1]
    assert lines[1] == '  safe: Probe:Verdict="seen"'
    assert lines[2] == "report:"
    full = json.loads("\n".join(lines[3:]))
    assert full["data"] == "10.11.12.13" and full["config"]["level"] == 5
    # stored: the job and its report, and the observable's tags, as the API shows them
    job = client.cortex.get_analyzer_job(job_id=job_id)
    assert job["status"] == "Success"
    assert job["analyzerName"] == "Probe_Echo"
    assert job["report"]["full"] == full
    tags = client.observable.get(observable_id=observable["_id"])["tags"]
    assert 'Probe:Verdict="seen"' in tags and "probed" in tags

    again = cli(
        engine_server, "run", "Probe_Echo", "--observable", observable["_id"], "--org", name
    )
    assert again.returncode == 0
    assert again.stdout.splitlines()[0].endswith("(from cache)")
    forced = cli(
        engine_server, "run", "Probe_Echo", "--observable", observable["_id"], "--org", name,
        "--force",
    )  # fmt: skip
    assert forced.returncode == 0
    assert "(from cache)" not in forced.stdout.splitlines()[0]

    disabled = cli(engine_server, "disable", "Probe_Echo", "--org", name)
    assert disabled.returncode == 0, disabled.stderr
    assert disabled.stdout.startswith("OK analyzer Probe_Echo (~")
    assert client.cortex.list_analyzers() == []


def test_a_failing_job_says_why_and_exits_1(engine_server, org):
    name, client = org
    observable = new_observable(client, new_case(client), data="10.11.12.14")
    assert cli(engine_server, "enable", "Probe_Fail_1_0", "--org", name).returncode == 0
    done = cli(engine_server, "run", "Probe_Fail", "--observable", observable["_id"], "--org", name)
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines[0].startswith("Failure Probe_Fail on ip 10.11.12.14: job ~")
    assert lines[1] == "error: Probe failed on purpose"
    job = client.cortex.get_analyzer_job(job_id=lines[0].split("job ")[1])
    assert job["status"] == "Failure"
    assert job["report"]["errorMessage"] == "Probe failed on purpose"


def test_errors_are_one_clear_line_and_change_nothing(engine_server, org):
    name, client = org
    observable = new_observable(client, new_case(client), data="10.11.12.15")
    checks = [
        (["enable", "Probe_Echo_1_0", "--org", name], "api_key"),  # required item missing
        (["enable", "Probe_Echo_1_0", "--org", name, "--set", "api_key=k", "--set", "level=x"],
         "level"),
        (["enable", "Probe_Echo_1_0", "--org", name, "--set", "nokey"], "--set needs key=value"),
        (["enable", "Nope_1_0", "--org", name], "Nope_1_0"),
        (["enable", "Probe_Echo_1_0", "--org", "no-such-org"], "organisation no-such-org"),
        (["run", "Probe_Echo", "--observable", observable["_id"], "--org", name],
         f"no analyzer Probe_Echo is enabled in {name}"),
        (["disable", "Probe_Echo", "--org", name], f"no analyzer Probe_Echo is enabled in {name}"),
    ]  # fmt: skip
    for args, fragment in checks:
        done = cli(engine_server, *args)
        assert done.returncode == 1, (args, done.stdout)
        assert done.stderr.startswith("Error: "), (args, done.stderr)
        assert fragment in done.stderr, (args, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert client.cortex.list_analyzers() == []
    assert cli(engine_server, "enable", "Probe_Fail_1_0", "--org", name).returncode == 0
    unknown = cli(engine_server, "run", "Probe_Fail", "--observable", "~999999999", "--org", name)
    assert unknown.returncode == 1
    assert unknown.stderr == "Error: NotFoundError: Observable ~999999999 not found\n"
    assert client.cortex.find_analyzer_jobs() == []  # a fresh organisation: none was created
