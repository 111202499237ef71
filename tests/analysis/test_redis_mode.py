"""Redis mode: ``propolis serve`` only queues; separate ``propolis worker`` processes run the
jobs, and a job whose worker dies is retried instead of staying InProgress."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time

import pytest

from tests.analysis.conftest import database_for, engine_env
from tests.analysis.test_connector import wait_for
from tests.analysis.test_jobs import enable, new_case, new_observable, run_job
from tests.harness import Server, free_port


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    binary = shutil.which("redis-server")
    if binary is None:
        if "CI" in __import__("os").environ:
            pytest.fail("CI must provide redis-server")
        pytest.skip("redis-server is not installed")
    port = free_port()
    folder = tmp_path_factory.mktemp("redis")
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
    import redis

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
    yield f"redis://127.0.0.1:{port}/0"
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


class Worker:
    def __init__(self, server: Server) -> None:
        log = (server.data_dir / "worker.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "propolis.cli", "worker"],
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


def test_jobs_wait_for_a_worker_and_the_worker_runs_them(queued_server):
    http, client = queued_server.http("main-org"), queued_server.client(organisation="main-org")
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


def test_a_job_whose_worker_is_killed_is_retried(queued_server):
    http, client = queued_server.http("main-org"), queued_server.client(organisation="main-org")
    enable(http, queued_server.url, "Probe_Sleep_1_0", configuration={"seconds": 4})
    case = new_case(client)
    job = run_job(client, new_observable(client, case, data="10.20.30.41"), "Probe_Sleep")
    worker = Worker(queued_server)
    try:
        running = wait_for(lambda: _status(client, job), lambda j: j["status"] != "Waiting", 60)
        assert running["status"] == "InProgress"
        worker.kill()
        # no heartbeat any more: the job is queued again rather than left InProgress
        requeued = wait_for(lambda: _status(client, job), lambda j: j["status"] == "Waiting", 30)
        assert requeued["status"] == "Waiting"
        worker = Worker(queued_server)
        done = wait_for(lambda: _status(client, job), lambda j: j["status"] == "Success", 60)
        assert done["status"] == "Success", done
    finally:
        worker.stop()
