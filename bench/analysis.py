"""Analysis engine benchmark: what a job costs from submit to stored report.

- overhead: one job at a time with a trivial analyzer (the built-in local list), from the
  POST that creates it to the GET that shows it ``Success`` (target < 200 ms), plus the
  server-side part (``endDate - _createdAt``);
- throughput: a burst of jobs with the default parallelism, jobs per second until all end.

    python -m bench.analysis [--runs 30] [--burst 100] [--database-url URL]
"""

from __future__ import annotations

import argparse
import time

import requests

from bench.common import ADMIN, ensure_org, percentiles, running_server

ANALYZER = "Propolis_LocalList_1_0"


def _session(url: str) -> requests.Session:
    s = requests.Session()
    s.auth = ADMIN
    s.headers["X-Organisation"] = "bench"
    s.base_url = url  # type: ignore[attr-defined]
    return s


def _prepare(s: requests.Session, url: str, count: int) -> list[str]:
    worker = s.post(
        url + "/api/v1/analysis/worker",
        json={"definitionId": ANALYZER, "configuration": {"blocklist": ["10.0.0.0/8"]}},
    )
    if worker.status_code not in (201, 400):
        raise RuntimeError(worker.text)
    case = s.post(url + "/api/v1/case", json={"title": "bench", "description": "analysis"}).json()
    values = [f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}" for i in range(count)]
    created = s.post(
        url + f"/api/v1/case/{case['_id']}/observable", json={"dataType": "ip", "data": values}
    )
    return [o["_id"] for o in created.json()]


def _submit(s: requests.Session, url: str, observable: str) -> dict:
    response = s.post(
        url + "/api/connector/cortex/job",
        json={"analyzerId": ANALYZER, "cortexId": "local", "artifactId": observable},
    )
    response.raise_for_status()
    return response.json()


def _wait(s: requests.Session, url: str, job_id: str, poll: float = 0.005) -> dict:
    while True:
        job = s.get(url + f"/api/connector/cortex/job/{job_id}").json()
        if job["status"] in ("Success", "Failure"):
            return job
        time.sleep(poll)


def overhead(s: requests.Session, url: str, observables: list[str]) -> None:
    client_ms, server_ms = [], []
    for observable in observables:
        started = time.perf_counter()
        job = _wait(s, url, _submit(s, url, observable)["_id"])
        client_ms.append((time.perf_counter() - started) * 1000)
        server_ms.append(job["endDate"] - job["_createdAt"])
        assert job["status"] == "Success", job
    print(f"overhead, submit -> Success seen by the client (ms): {percentiles(client_ms)}")
    print(f"overhead, created -> ended on the server (ms):      {percentiles(server_ms)}")


def throughput(s: requests.Session, url: str, observables: list[str]) -> None:
    started = time.perf_counter()
    jobs = [_submit(s, url, o)["_id"] for o in observables]
    results = [_wait(s, url, j, poll=0.05) for j in jobs]
    elapsed = time.perf_counter() - started
    ok = sum(1 for r in results if r["status"] == "Success")
    print(
        f"throughput: {len(jobs)} jobs in {elapsed:.1f} s = {len(jobs) / elapsed:.1f} jobs/s "
        f"({ok} Success)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--burst", type=int, default=100)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with running_server(database_url=args.database_url) as url:
        ensure_org(url, "bench")
        s = _session(url)
        observables = _prepare(s, url, args.runs + args.burst)
        overhead(s, url, observables[: args.runs])
        throughput(s, url, observables[args.runs :])


if __name__ == "__main__":
    main()
