"""``serve --workers N`` on one SQLite file: every process writes, nothing is lost, no
client ever sees ``database is locked``, and an acknowledged alert survives SIGKILL."""

from __future__ import annotations

import sqlite3
import threading
import time

import requests

from tests.harness import Server
from tests.processes.conftest import (
    ADMIN,
    alert_refs,
    fresh,
    http_workers,
    new_alert,
    run_name,
    start,
)

MAIN_ORG = {"X-Organisation": "main-org"}


def test_three_processes_write_concurrently_and_lose_nothing(tmp_path):
    server = start(tmp_path, workers=3)
    try:
        server.init_main_org()
        assert len(http_workers(server)) == 3
        run, clients, per_client = run_name(), 8, 25
        answers: list[tuple[int, str]] = []
        lock = threading.Lock()

        def client(c: int) -> None:
            for i in range(per_client):
                n = c * per_client + i
                r = fresh(
                    "POST",
                    server.url + "/api/v1/alert",
                    json=new_alert(run, n),
                    auth=ADMIN,
                    headers=MAIN_ORG,
                )
                # a case now and then: another table, another writer in the same file
                if i % 5 == 0:
                    case = fresh(
                        "POST",
                        server.url + "/api/v1/case",
                        json={"title": f"{run} case {n}", "description": "d"},
                        auth=ADMIN,
                        headers=MAIN_ORG,
                    )
                    with lock:
                        answers.append((case.status_code, case.text))
                with lock:
                    answers.append((r.status_code, r.text))

        threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        refused = [(status, text) for status, text in answers if status != 201]
        assert refused == []
        refs = alert_refs(server, run)
        assert sorted(refs) == sorted(f"{run}-{n}" for n in range(clients * per_client))
        # each alert created once, with one audit event
        audit = requests.post(
            server.url + "/api/v1/query",
            json={
                "query": [
                    {"_name": "listAudit"},
                    {
                        "_name": "filter",
                        "_and": [
                            {"_eq": {"_field": "objectType", "_value": "Alert"}},
                            {"_eq": {"_field": "action", "_value": "create"}},
                        ],
                    },
                    {"_name": "count"},
                ]
            },
            auth=ADMIN,
            headers=MAIN_ORG,
            timeout=60,
        )
        assert audit.status_code == 200, audit.text
        assert audit.json() == clients * per_client
    finally:
        server.stop()
    assert "database is locked" not in server.log_path.read_text()


def test_an_acknowledged_alert_survives_sigkill_of_every_process(tmp_path):
    server = start(tmp_path, workers=2)
    server.init_main_org()
    run = run_name()
    acknowledged: list[str] = []
    lock = threading.Lock()
    counter = iter(range(100_000))
    stop = threading.Event()

    def client() -> None:
        session = requests.Session()
        while not stop.is_set():
            with lock:
                n = next(counter)
            try:
                r = session.post(
                    server.url + "/api/v1/alert",
                    json=new_alert(run, n),
                    auth=ADMIN,
                    headers=MAIN_ORG,
                    timeout=30,
                )
            except requests.RequestException:
                return  # the server is gone
            if r.status_code == 201:
                with lock:
                    acknowledged.append(r.json()["sourceRef"])

    threads = [threading.Thread(target=client) for _ in range(6)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 120
    while len(acknowledged) < 150 and time.monotonic() < deadline:
        time.sleep(0.05)
    server.kill()  # mid-stream: requests in flight, commits under way
    stop.set()
    for t in threads:
        t.join()
    assert len(acknowledged) >= 150

    database = tmp_path / "propolis.db"
    with sqlite3.connect(database) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    again = Server(tmp_path, workers=2)
    again.start()
    try:
        stored = set(alert_refs(again, run))
    finally:
        again.stop()
    assert set(acknowledged) <= stored
