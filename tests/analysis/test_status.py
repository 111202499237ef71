"""``GET /api/status`` reports the real state of the embedded analysis service: its queue and
the job worker threads inside ``propolis serve``. (Redis mode: test_redis_mode.py.)"""

from __future__ import annotations

import requests

from tests.analysis.conftest import engine_env
from tests.harness import Server


def _status(server: Server) -> dict:
    response = requests.get(server.url + "/api/status", timeout=15)  # no credentials
    assert response.status_code == 200
    return response.json()


def test_embedded_workers_and_queue_are_reported(engine_server):
    status = _status(engine_server)
    analysis = status["analysis"]
    assert analysis["status"] == "OK"
    assert analysis["queue"]["kind"] == "embedded" and analysis["queue"]["reachable"] is True
    assert analysis["workers"]["alive"] == analysis["workers"]["expected"] >= 2
    assert status["connectors"]["cortex"] == {
        "enabled": True,
        "status": "OK",
        "servers": [{"name": "local", "status": "OK"}],
    }
    # the authenticated v1 status says the same
    v1 = engine_server.http("main-org").get(engine_server.url + "/api/v1/status").json()
    assert v1["connectors"]["cortex"]["status"] == "OK"


def test_a_server_without_job_workers_says_so(tmp_path):
    server = Server(tmp_path, extra_env=engine_env(PROPOLIS_EMBEDDED_WORKERS="false"))
    server.start()
    try:
        analysis = _status(server)["analysis"]
    finally:
        server.stop()
    assert analysis["status"] == "ERROR"
    assert analysis["workers"] == {"alive": 0, "expected": 0}
    assert analysis["queue"]["reachable"] is True
