"""The embedded analysis engine under ``serve --workers 2``: one set of consumers (in the
supervisor) runs the jobs every worker enqueues, and every worker reports them alive."""

from __future__ import annotations

import pytest
import requests

from tests.analysis.conftest import engine_env
from tests.analysis.test_jobs import enable, finished, new_case, new_observable, run_job
from tests.harness import Server
from tests.processes.conftest import fresh, http_workers


@pytest.fixture(scope="module")
def engine_server(tmp_path_factory) -> Server:
    srv = Server(tmp_path_factory.mktemp("engine-workers"), extra_env=engine_env(), workers=2)
    srv.start()
    srv.init_main_org()
    yield srv
    srv.stop()


def test_every_worker_reports_the_one_set_of_consumers(engine_server):
    statuses = [fresh("GET", engine_server.url + "/api/status").json() for _ in range(10)]
    workers = {tuple(sorted(s["analysis"]["workers"].items())) for s in statuses}
    assert {s["analysis"]["status"] for s in statuses} == {"OK"}
    assert len(workers) == 1  # the same consumers, whichever worker answers
    alive = dict(workers.pop())
    assert alive["alive"] == alive["expected"] > 0
    assert len(http_workers(engine_server)) == 2


def test_jobs_created_through_any_worker_run_once(engine_server):
    http = engine_server.http("main-org")
    client = engine_server.client(organisation="main-org")
    enable(http, engine_server.url, "Probe_Echo_1_0", configuration={"api_key": "k"})
    case = new_case(client)
    jobs = []
    for n in range(6):  # new connections: the jobs are created by both workers
        observable = new_observable(client, case, data=f"10.7.7.{n + 1}")
        jobs.append(run_job(client, observable, "Probe_Echo"))
    done = [finished(client, job) for job in jobs]
    assert [job["status"] for job in done] == ["Success"] * len(jobs)
    audit = requests.post(
        engine_server.url + "/api/v1/query",
        json={
            "query": [
                {"_name": "listAudit"},
                {"_name": "filter", "_eq": {"_field": "objectType", "_value": "AnalyzerJob"}},
                {"_name": "page", "from": 0, "to": 1000},
            ]
        },
        auth=http.auth,
        headers={"X-Organisation": "main-org"},
        timeout=60,
    )
    assert audit.status_code == 200, audit.text
    finishes = [e for e in audit.json() if e["details"].get("status") == "Success"]
    assert sorted(e["objectId"] for e in finishes) == sorted(j["_id"] for j in jobs)
