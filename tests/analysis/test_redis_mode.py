"""Redis mode: ``propolis serve`` only queues; separate ``propolis worker`` processes run the
jobs, and a job whose worker dies is retried instead of staying InProgress."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid

import pytest
import redis
import requests

from tests.analysis.conftest import database_for, engine_env
from tests.analysis.test_connector import wait_for
from tests.analysis.test_jobs import enable, new_case, new_observable, run_job
from tests.harness import Server, free_port


def start_redis(folder) -> tuple[subprocess.Popen, str]:
    """A real redis-server on a free loopback port: (process, URL)."""
    binary = shutil.which("redis-server")
    if binary is None:
        if "CI" in os.environ:
            pytest.fail("CI must provide redis-server")
        pytest.skip("redis-server is not installed")
    port = free_port()
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                process.kill()
                raise
            time.sleep(0.05)
    return process, f"redis://127.0.0.1:{port}/0"


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    process, url = start_redis(tmp_path_factory.mktemp("redis"))
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def queued_server(request, tmp_path_factory, redis_url):
    srv = Server(
        tmp_path_factory.mktemp(f"redis-{request.param}"),
        database_for(request.param),
        backend=request.param,
        extra_env=engine_env(PROPOLIS_QUEUE_URL=redis_url),
    )
    srv.start()
    srv.init_main_org()
    yield srv
    srv.stop()


@pytest.fixture
def org(queued_server):
    """A fresh organisation: (http session, thehive4py client)."""
    name = f"redis-{uuid.uuid4().hex[:8]}"
    queued_server.create_org(name)
    return queued_server.http(name), queued_server.client(organisation=name)


class Worker:
    def __init__(self, server: Server, threads: int | None = None) -> None:
        log = (server.data_dir / "worker.log").open("ab")
        extra = ["--threads", str(threads)] if threads else []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "propolis.cli", "worker", *extra],
            env=server.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()


def _status(client, job):
    return client.cortex.get_analyzer_job(job_id=job["_id"])


def _audit(client, object_id: str) -> list[dict]:
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


def _running(client, job):
    running = wait_for(lambda: _status(client, job), lambda j: j["status"] != "Waiting", 60)
    assert running["status"] == "InProgress", running
    return running


def test_jobs_wait_for_a_worker_and_the_worker_runs_them(queued_server, org):
    http, client = org
    enable(http, queued_server.url, "Probe_Echo_1_0", configuration={"api_key": "k"})
    case = new_case(client)
    job = run_job(client, new_observable(client, case, data="10.20.30.40"), "Probe_Echo")
    time.sleep(1.5)
    assert _status(client, job)["status"] == "Waiting"  # serve itself runs nothing
    worker = Worker(queued_server)
    try:
        done = wait_for(lambda: _status(client, job), lambda j: j["status"] == "Success", 60)
        assert done["status"] == "Success", done
        assert done["report"]["full"]["data"] == "10.20.30.40"
    finally:
        worker.stop()


def test_a_job_whose_worker_is_killed_is_retried(queued_server, org):
    http, client = org
    enable(http, queued_server.url, "Probe_Sleep_1_0", configuration={"seconds": 4})
    case = new_case(client)
    job = run_job(client, new_observable(client, case, data="10.20.30.41"), "Probe_Sleep")
    worker = Worker(queued_server)
    try:
        _running(client, job)
        worker.kill()
        # no heartbeat any more: the job is queued again rather than left InProgress
        requeued = wait_for(lambda: _status(client, job), lambda j: j["status"] == "Waiting", 30)
        assert requeued["status"] == "Waiting"
        worker = Worker(queued_server)
        done = wait_for(lambda: _status(client, job), lambda j: j["status"] == "Success", 60)
        assert done["status"] == "Success", done
        assert done["report"]["full"] == {"verdict": "slept", "data": "10.20.30.41"}
    finally:
        worker.stop()
    details = [e["details"] for e in _audit(client, job["_id"]) if e["action"] == "update"]
    assert details[0] == {"status": "Waiting", "reason": "worker lost", "attempts": 1}
    assert details[-1] == {"status": "Success"}


def test_a_job_that_loses_its_worker_twice_fails_with_the_reason(queued_server, org):
    http, client = org
    enable(http, queued_server.url, "Probe_Sleep_1_0", configuration={"seconds": 20})
    case = new_case(client)
    job = run_job(client, new_observable(client, case, data="10.20.30.42"), "Probe_Sleep")
    for _attempt in (1, 2):
        worker = Worker(queued_server)
        try:
            _running(client, job)
        finally:
            worker.kill()
        # a retried job is Waiting again; after the last attempt it ends
        ended = wait_for(lambda: _status(client, job), lambda j: j["status"] != "InProgress", 30)
    assert ended["status"] == "Failure", ended
    assert ended["report"]["errorMessage"] == "The worker running this job stopped before it ended"
    statuses = [e["details"]["status"] for e in _audit(client, job["_id"])[1:]]
    assert statuses == ["Waiting", "Failure"]


def test_a_responder_whose_worker_is_killed_fails_at_once(queued_server, org):
    """A responder acts on the world: it is never run a second time."""
    http, client = org
    enable(
        http, queued_server.url, "ProbeResponder_1_0", kind="responder",
        configuration={"seconds": 20},
    )  # fmt: skip
    case = new_case(client)
    action = client.cortex.create_responder_action(
        action={"responderId": "ProbeResponder", "objectType": "case", "objectId": case["_id"]}
    )

    def fetch():
        return client.session.make_request(
            "GET", f"/api/v1/connector/cortex/action/{action['_id']}"
        )

    worker = Worker(queued_server)
    try:
        running = wait_for(fetch, lambda a: a["status"] != "Waiting", 60)
        assert running["status"] == "InProgress", running
    finally:
        worker.kill()
    ended = wait_for(fetch, lambda a: a["status"] != "InProgress", 30)
    assert ended["status"] == "Failure", ended
    report = json.loads(ended["report"])
    assert report["errorMessage"] == "The worker running this job stopped before it ended"
    assert "responded" not in client.case.get(case_id=case["_id"])["tags"]


def test_a_job_whose_queue_entry_is_lost_is_queued_again(queued_server, org, redis_url):
    """The queue mirrors the database: a ``Waiting`` job whose entry vanished (a worker
    killed between taking it and claiming the job, Redis flushed) is queued again."""
    import redis

    http, client = org
    enable(http, queued_server.url, "Probe_Sleep_1_0", name="Sleep3", configuration={"seconds": 3})
    enable(http, queued_server.url, "Probe_Echo_1_0", configuration={"api_key": "k"})
    case = new_case(client)
    busy = run_job(client, new_observable(client, case, data="10.20.30.43"), "Sleep3")
    worker = Worker(queued_server, threads=1)
    try:
        _running(client, busy)  # the only thread is busy: the next job stays queued
        job = run_job(client, new_observable(client, case, data="10.20.30.44"), "Probe_Echo")
        redis.Redis.from_url(redis_url).flushdb()  # its queue entry is lost
        done = wait_for(lambda: _status(client, job), lambda j: j["status"] == "Success", 60)
        assert done["status"] == "Success", done
    finally:
        worker.stop()


# --------------------------------------------------------------------------- /api/status


def _analysis_status(server: Server) -> dict:
    return requests.get(server.url + "/api/status", timeout=15).json()


def test_status_shows_the_workers_that_run_and_those_that_stopped(queued_server):
    """No worker: the analysis service is down, whatever serve itself says; a worker that
    starts shows with its threads, and disappears when it stops or is killed."""
    idle = wait_for(
        lambda: _analysis_status(queued_server),
        lambda s: s["analysis"]["workers"]["alive"] == 0,  # earlier tests' workers expired
        15,
    )
    assert idle["analysis"]["status"] == "ERROR"
    assert idle["analysis"]["queue"] == {"kind": "redis", "reachable": True, "pending": 0}
    assert idle["connectors"]["cortex"]["status"] == "ERROR"
    worker = Worker(queued_server, threads=3)
    try:
        running = wait_for(
            lambda: _analysis_status(queued_server),
            lambda s: s["analysis"]["status"] == "OK",
            30,
        )
        assert running["analysis"]["workers"] == {"alive": 3, "processes": 1}
        assert running["connectors"]["cortex"]["servers"] == [{"name": "local", "status": "OK"}]
        second = Worker(queued_server, threads=1)
        both = wait_for(
            lambda: _analysis_status(queued_server),
            lambda s: s["analysis"]["workers"]["processes"] == 2,
            30,
        )
        assert both["analysis"]["workers"] == {"alive": 4, "processes": 2}
        second.kill()  # no goodbye: its announcement expires
        one = wait_for(
            lambda: _analysis_status(queued_server),
            lambda s: s["analysis"]["workers"]["processes"] == 1,
            15,
        )
        assert one["analysis"]["workers"] == {"alive": 3, "processes": 1}
    finally:
        worker.stop()
    stopped = _analysis_status(queued_server)  # a clean stop withdraws at once
    assert stopped["analysis"]["workers"] == {"alive": 0, "processes": 0}
    assert stopped["analysis"]["status"] == "ERROR"


def test_status_shows_an_unreachable_queue(tmp_path):
    (tmp_path / "redis").mkdir()
    (tmp_path / "data").mkdir()
    process, url = start_redis(tmp_path / "redis")
    server = Server(tmp_path / "data", extra_env=engine_env(PROPOLIS_QUEUE_URL=url))
    server.start()
    try:
        assert _analysis_status(server)["analysis"]["queue"]["reachable"] is True
        process.terminate()
        process.wait(timeout=10)
        down = _analysis_status(server)
        assert down["analysis"]["queue"] == {"kind": "redis", "reachable": False, "pending": None}
        assert down["analysis"]["status"] == "ERROR"
    finally:
        server.stop()
        if process.poll() is None:
            process.kill()
