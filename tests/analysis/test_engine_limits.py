"""The engine's own limits, proved with a program that ignores all of them.

``neurons/analyzers/Rogue/rogue.py`` (also the responder ``RogueResponder``) is written
without cortexutils: it never refuses on TLP or PAP, sleeps past any timeout while ignoring
SIGTERM, dumps its environment into the report, writes huge output, garbage or nothing. Each
run leaves a marker file, so a refused job can be shown not to have run at all. Whatever
limit holds here is enforced by the engine alone.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest
from cortex4py.api import Api
from thehive4py.errors import TheHiveError

from tests.analysis.conftest import database_for, engine_env
from tests.analysis.test_connector import wait_for
from tests.analysis.test_cortex_api import new_cortex_user
from tests.analysis.test_jobs import _action, _finished_action, enable, new_case, run_job
from tests.harness import ADMIN_PASSWORD, Server

TIMEOUT_MINUTES = 0.1  # 6 s: the server's default, so every Rogue worker gets it
MAX_OUTPUT = 256 * 1024  # PROPOLIS_JOB_MAX_OUTPUT_BYTES of this server
MAX_UPLOAD = 256 * 1024  # PROPOLIS_MAX_UPLOAD_BYTES: file artifacts too
SECRET_KEY = "rogue-secret-key-" + uuid.uuid4().hex
PROXY = "http://proxy.invalid:3128"  # what the admin configures for the programs


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def rogue_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    backend = request.param
    srv = Server(
        tmp_path_factory.mktemp(f"rogue-{backend}"),
        database_for(backend),
        backend=backend,
        extra_env=engine_env(
            PROPOLIS_JOB_TIMEOUT_MINUTES=str(TIMEOUT_MINUTES),
            PROPOLIS_JOB_MAX_OUTPUT_BYTES=str(MAX_OUTPUT),
            PROPOLIS_MAX_UPLOAD_BYTES=str(MAX_UPLOAD),
            PROPOLIS_SECRET_KEY=SECRET_KEY,
            PROPOLIS_ANALYZER_HTTPS_PROXY=PROXY,
            PROPOLIS_ANALYZER_NO_PROXY="localhost,127.0.0.1",
        ),
    )
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def org(rogue_server):
    name = "rogue-" + uuid.uuid4().hex[:8]
    rogue_server.create_org(name)
    return rogue_server.http(name), rogue_server.client(organisation=name)


@pytest.fixture
def markers(tmp_path: Path) -> Path:
    folder = tmp_path / "markers"
    folder.mkdir()
    return folder


def rogue(http, server, markers: Path, service: str = "echo", kind: str = "analyzer", **more):
    definition = "Rogue_1_0" if kind == "analyzer" else "RogueResponder_1_0"
    configuration = {"service": service, "markers": str(markers), **more.pop("config", {})}
    return enable(http, server.url, definition, kind=kind, configuration=configuration, **more)


def observable(client, data: str, **fields):
    case = new_case(client)
    return client.case.create_observable(
        case_id=case["_id"], observable={"dataType": "ip", "data": data, **fields}
    )[0]


def finished(client, job):
    return wait_for(
        lambda: client.cortex.get_analyzer_job(job_id=job["_id"]),
        lambda j: j["status"] in ("Success", "Failure"),
        timeout=60,
    )


def analyse(client, data: str = "10.20.30.40", **fields):
    return finished(client, run_job(client, observable(client, data, **fields), "Rogue"))


def runs(markers: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(markers.iterdir())]


def error_of(done) -> str:
    report = done["report"] if isinstance(done["report"], dict) else json.loads(done["report"])
    return report["errorMessage"]


# --------------------------------------------------------------------------- TLP and PAP


@pytest.mark.parametrize(
    ("fields", "message"),
    [({"tlp": 3}, "TLP is higher than allowed."), ({"pap": 3}, "PAP is higher than allowed.")],
)
def test_tlp_and_pap_ceilings_refuse_before_the_program_runs(
    org, rogue_server, markers, fields, message
):
    http, client = org
    rogue(http, rogue_server, markers)
    done = analyse(client, **fields)
    assert done["status"] == "Failure"
    assert error_of(done) == message
    assert runs(markers) == []  # refused by the engine: the program never started
    allowed = analyse(client, "10.20.30.41", tlp=2, pap=2)  # at the ceiling: runs
    assert allowed["status"] == "Success", allowed["report"]
    assert [r["tlp"] for r in runs(markers)] == [2]


def test_red_is_above_an_amber_ceiling(org, rogue_server, markers):
    """TheHive's RED (4) has no Cortex value: it counts as Cortex's highest, 3."""
    http, client = org
    rogue(http, rogue_server, markers)
    assert error_of(analyse(client, tlp=4)) == "TLP is higher than allowed."
    assert runs(markers) == []


def test_the_configured_ceiling_is_the_one_enforced(org, rogue_server, markers):
    http, client = org
    rogue(http, rogue_server, markers, config={"max_tlp": 1, "max_pap": 3})
    assert error_of(analyse(client, tlp=2)) == "TLP is higher than allowed."
    assert runs(markers) == []
    done = analyse(client, "10.20.30.42", tlp=1, pap=3)
    assert done["status"] == "Success", done["report"]
    assert len(runs(markers)) == 1


def test_a_ceiling_set_to_null_is_amber(org, rogue_server, markers):
    """Like cortexutils: a checked level without a number as its ceiling stops above 2."""
    http, client = org
    rogue(http, rogue_server, markers, config={"max_tlp": None, "max_pap": None})
    assert error_of(analyse(client, tlp=3)) == "TLP is higher than allowed."
    assert error_of(analyse(client, "10.20.30.44", pap=3)) == "PAP is higher than allowed."
    assert runs(markers) == []
    assert analyse(client, "10.20.30.45", tlp=2, pap=2)["status"] == "Success"


def test_unchecked_levels_run_whatever_the_ceiling(org, rogue_server, markers):
    http, client = org
    rogue(http, rogue_server, markers, config={"check_tlp": False, "check_pap": False})
    done = analyse(client, tlp=4, pap=3)
    assert done["status"] == "Success", done["report"]
    assert [r["tlp"] for r in runs(markers)] == [3]


def test_a_responder_is_refused_above_its_ceiling(org, rogue_server, markers):
    http, client = org
    rogue(http, rogue_server, markers, kind="responder")
    for tlp, status in ((3, "Failure"), (2, "Success")):
        case = new_case(client, tlp=tlp)
        action = _action(client, "RogueResponder", "case", case["_id"])
        done = _finished_action(http, rogue_server.url, "case", case["_id"], action["_id"])
        assert done["status"] == status, done["report"]
        if status == "Failure":
            assert error_of(done) == "TLP is higher than allowed."
            assert runs(markers) == []
    assert len(runs(markers)) == 1


def test_the_cortex_api_runs_are_refused_too(rogue_server, markers):
    _org, _login, key = new_cortex_user(rogue_server)
    cortex = Api(rogue_server.url, key)
    analyzer = cortex.analyzers.enable(
        "Rogue_1_0", {"configuration": {"service": "echo", "markers": str(markers)}}
    )
    job = cortex.analyzers.run_by_id(analyzer.id, {"data": "10.1.1.1", "dataType": "ip", "tlp": 3})
    done = cortex.jobs.get_report_async(job.id, timeout="60s")
    assert done.status == "Failure"
    assert done.report["errorMessage"] == "TLP is higher than allowed."
    assert runs(markers) == []


# --------------------------------------------------------------------------- time and rate


def running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rpartition(b") ")[2][:1] != b"Z"
    except OSError:
        return False


@pytest.mark.parametrize("kind", ["analyzer", "responder"])
def test_timeout_kills_the_program_and_its_children(org, rogue_server, markers, kind):
    http, client = org
    rogue(http, rogue_server, markers, "sleep", kind=kind)
    started = time.monotonic()
    if kind == "analyzer":
        done = analyse(client)
    else:
        case = new_case(client)
        action = _action(client, "RogueResponder", "case", case["_id"])
        done = _finished_action(http, rogue_server.url, "case", case["_id"], action["_id"])
    assert done["status"] == "Failure"
    assert error_of(done).startswith(f"Job timeout ({TIMEOUT_MINUTES:g} minutes)")
    assert time.monotonic() - started < 40  # timeout, SIGTERM ignored, SIGKILL: not 600 s
    (run,) = runs(markers)
    for pid in (run["pid"], run["child"]):
        assert wait_for(lambda p=pid: running(p), lambda alive: not alive, timeout=10) is False


def test_the_worker_timeout_wins_over_the_server_default(org, rogue_server, markers):
    """Enabled with ``jobTimeout`` 1 (minute), a 9 s run outlives the server's 6 s."""
    http, client = org
    rogue(http, rogue_server, markers, "sleep", config={"jobTimeout": 1, "seconds": 9})
    done = analyse(client)
    assert done["status"] == "Success", error_of(done)
    assert done["report"]["full"] == {"slept": 9}


def test_a_null_worker_timeout_is_the_server_default(org, rogue_server, markers):
    http, client = org
    rogue(http, rogue_server, markers, "sleep", config={"jobTimeout": None})
    done = analyse(client)
    assert error_of(done).startswith(f"Job timeout ({TIMEOUT_MINUTES:g} minutes)")


def test_rate_limit_holds_whatever_the_program(org, rogue_server, markers):
    http, client = org
    rogue(http, rogue_server, markers, "nothing", rate=1, rateUnit="Minute")
    target = observable(client, "10.20.30.43")
    assert finished(client, run_job(client, target, "Rogue"))["status"] == "Failure"
    with pytest.raises(TheHiveError) as refused:
        run_job(client, target, "Rogue")
    assert refused.value.response.status_code == 429
    assert refused.value.response.json()["type"] == "RateLimitExceeded"
    assert len(runs(markers)) == 1


def test_the_rate_counts_only_the_last_unit(org, rogue_server, markers):
    http, client = org
    rogue(http, rogue_server, markers, "nothing", rate=1, rateUnit="Second")
    target = observable(client, "10.20.30.46")
    finished(client, run_job(client, target, "Rogue"))
    time.sleep(1.5)  # the first job is now older than the window
    assert finished(client, run_job(client, target, "Rogue"))["status"] == "Failure"
    assert len(runs(markers)) == 2


# --------------------------------------------------------------------------- environment


def leaked(report: dict, server: Server) -> list[str]:
    """What the program saw of the server's secrets."""
    environ = report["full"]["environ"]
    text = json.dumps(environ)
    found = [name for name in environ if name.startswith("PROPOLIS_")]
    found += [v for v in (SECRET_KEY, server.database_url) if v and v in text]
    found += [name for name, value in environ.items() if value == ADMIN_PASSWORD]
    return found


@pytest.mark.parametrize("kind", ["analyzer", "responder"])
def test_the_program_sees_no_server_secret(org, rogue_server, markers, kind):
    http, client = org
    rogue(http, rogue_server, markers, kind=kind)
    if kind == "analyzer":
        done = analyse(client)
        report = done["report"]
    else:
        case = new_case(client)
        action = _action(client, "RogueResponder", "case", case["_id"])
        done = _finished_action(http, rogue_server.url, "case", case["_id"], action["_id"])
        report = json.loads(done["report"])
    assert done["status"] == "Success", done["report"]
    assert report["full"]["environ"], "the program reported its environment"
    assert leaked(report, rogue_server) == []
    environ = report["full"]["environ"]
    # exactly the minimal environment: PATH, locale, HOME, and the proxies the admin set
    # (PROBE_INTERPRETER and PWD come from the test's interpreter wrapper, a shell script)
    assert set(environ) - {"PROBE_INTERPRETER", "PWD"} == {
        "PATH", "LANG", "LC_ALL", "PYTHONIOENCODING", "HOME",
        "https_proxy", "HTTPS_PROXY", "no_proxy", "NO_PROXY",
    }  # fmt: skip
    assert environ["HTTPS_PROXY"] == environ["https_proxy"] == PROXY
    assert environ["NO_PROXY"] == "localhost,127.0.0.1"
    assert environ["LANG"] == "C.UTF-8"


def test_the_fork_server_of_the_builtins_holds_no_server_secret(org, rogue_server):
    """Built-ins are forks of one pre-started interpreter: a fork's /proc/<pid>/environ is
    that interpreter's, so it must have been started without the server's environment."""
    http, client = org
    enable(http, rogue_server.url, "Propolis_LocalList_1_0", configuration={"blocklist": ["x"]})
    job = run_job(client, observable(client, "10.20.30.99"), "Propolis_LocalList")
    assert finished(client, job)["status"] == "Success"
    forkservers = [
        pid for pid in descendants(rogue_server.process.pid) if b"--serve" in cmdline(pid)
    ]
    assert forkservers, "the built-in ran through the fork server"
    for pid in forkservers:
        environ = dict(
            item.split(b"=", 1) for item in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            if b"=" in item
        )  # fmt: skip
        assert not [name for name in environ if name.startswith(b"PROPOLIS_") and
                    name != b"PROPOLIS_BUILTIN_PATH"]  # fmt: skip
        assert SECRET_KEY.encode() not in b"".join(environ.values())


def descendants(pid: int) -> list[int]:
    children = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        children += [int(c) for c in text]
    return children + [d for c in children for d in descendants(c)]


def cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


# --------------------------------------------------------------------------- output


def test_output_above_the_limit_is_a_failure(org, rogue_server, markers):
    http, client = org
    rogue(http, rogue_server, markers, "huge", config={"bytes": MAX_OUTPUT + 1})
    done = analyse(client)
    assert done["status"] == "Failure"
    assert error_of(done) == (
        f"Invalid output.json: larger than the limit of {MAX_OUTPUT} bytes "
        "(PROPOLIS_JOB_MAX_OUTPUT_BYTES)"
    )


def test_output_at_the_limit_is_kept(org, rogue_server, markers):
    http, client = org
    rogue(http, rogue_server, markers, "huge", config={"bytes": MAX_OUTPUT})
    done = analyse(client)
    assert done["status"] == "Success", error_of(done)
    assert len(done["report"]["full"]["blob"]) > MAX_OUTPUT - 100


def test_file_artifact_above_the_upload_limit_is_a_failure(org, rogue_server, markers):
    http, client = org
    rogue(http, rogue_server, markers, "hugefile", config={"bytes": MAX_UPLOAD + 1})
    done = analyse(client)
    assert done["status"] == "Failure"
    assert error_of(done) == (
        f"Report creation failure: artifact file big.bin is larger than {MAX_UPLOAD} bytes"
    )


def test_file_artifacts_outside_the_output_folder_are_dropped(org, rogue_server, markers):
    """``..``, a symlink (here to input.json, which holds the secrets), a sub-folder, and a
    file without a filename."""
    http, client = org
    rogue(http, rogue_server, markers, "escape")
    done = analyse(client)
    assert done["status"] == "Success", error_of(done)
    names = [a["attachment"]["name"] for a in done["report"]["artifacts"]]
    assert names == ["kept.txt"]


def test_a_flood_on_stdout_is_cut_in_the_error_message(org, rogue_server, markers):
    http, client = org
    rogue(http, rogue_server, markers, "noise", config={"bytes": 8 * 1024 * 1024})
    done = analyse(client)
    assert done["status"] == "Failure"
    message = error_of(done)
    assert set(message) == {"n"}
    assert len(message) <= 64 * 1024


@pytest.mark.parametrize(
    ("service", "message"),
    [
        ("nothing", "The program wrote no output"),
        ("empty", "The program wrote no output"),
        ("directory", "The program wrote no output"),
        ("binary", "Invalid output.json: 'utf-8' codec can't decode byte 0xff"),
        ("array", "Invalid output.json: not an object"),
        ("nofull", "Invalid output.json: success without a full report object"),
    ],
)
def test_garbage_or_nothing_is_a_clear_failure(org, rogue_server, markers, service, message):
    http, client = org
    rogue(http, rogue_server, markers, service)
    done = analyse(client)
    assert done["status"] == "Failure"
    assert error_of(done).startswith(message)
    # the program did run: the failure is about what it left
    assert [r["service"] for r in runs(markers)] == [service]
