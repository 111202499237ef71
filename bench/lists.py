"""List benchmark: with 100k alerts and 10k cases loaded, time what an analyst's screens ask:

- the alert list: status New, newest first, a page of 15;
- the case list: newest first, a page of 15;
- the similar cases of an alert (cases sharing an observable with it).

    python -m bench.lists [--alerts 100000] [--cases 10000] [--data-dir DIR] [--database-url URL]

With --data-dir, a loaded dataset is kept and reused by later runs (loading 100k alerts over
HTTP takes minutes). Data goes in through the public API, 8 clients in parallel.
"""

from __future__ import annotations

import argparse
import random
import threading
from pathlib import Path

from bench.common import ensure_org, percentiles, running_server, session, timed
from bench.ingest import observable_pools, skewed


def load(url: str, alerts: int, cases: int, seed: int = 11) -> None:
    rng = random.Random(seed)
    pools = observable_pools(rng, 5000)
    jobs: list[tuple[str, dict]] = []
    for i in range(cases):
        jobs.append(
            (
                "case",
                {
                    "title": f"Case {i}",
                    "description": "bench",
                    "severity": rng.randint(1, 4),
                    "tags": ["bench"],
                },
            )
        )
    for i in range(alerts):
        observables = []
        if i % 10 == 0:  # one alert in ten carries observables (correlation material)
            observables = [{"dataType": t, "data": skewed(rng, pools[t])} for t in ("ip", "domain")]
        status = rng.choice(["New", "New", "New", "InProgress", "Ignored"])
        jobs.append(
            (
                "alert",
                {
                    "type": "bench",
                    "source": "lists",
                    "sourceRef": f"a{i}",
                    "title": f"Alert {i}",
                    "description": "bench",
                    "status": status,
                    "severity": rng.randint(1, 4),
                    "observables": observables,
                },
            )
        )
    case_observables = [
        [{"dataType": t, "data": skewed(rng, pools[t])} for t in ("ip", "domain")]
        for _ in range(cases)
    ]
    _post_all(url, jobs, case_observables)


def _post_all(url: str, jobs: list[tuple[str, dict]], case_observables: list[list[dict]]) -> None:
    lock = threading.Lock()
    cursor = iter(range(len(jobs)))
    case_counter = iter(range(len(case_observables)))
    errors: list[str] = []

    def worker() -> None:
        s = session()
        while True:
            with lock:
                i = next(cursor, None)
            if i is None:
                return
            kind, body = jobs[i]
            r = s.post(url + f"/api/v1/{kind}", json=body)
            if r.status_code != 201:
                errors.append(r.text[:200])
                continue
            if kind == "case":
                with lock:
                    k = next(case_counter)
                for obs in case_observables[k]:
                    s.post(url + f"/api/v1/case/{r.json()['_id']}/observable", json=obs)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(f"{len(errors)} failed posts, first: {errors[0]}")


def query(s, url: str, operations: list[dict]):  # noqa: ANN001, ANN201
    r = s.post(url + "/api/v1/query", json={"query": operations})
    r.raise_for_status()
    return r.json()


def measure(url: str, repeat: int = 200) -> None:
    s = session()
    alert_list = [
        {"_name": "listAlert"},
        {"_name": "filter", "_eq": {"_field": "status", "_value": "New"}},
        {"_name": "sort", "_fields": [{"date": "desc"}]},
        {"_name": "page", "from": 0, "to": 15, "extraData": []},
    ]
    case_list = [
        {"_name": "listCase"},
        {"_name": "sort", "_fields": [{"_createdAt": "desc"}]},
        {"_name": "page", "from": 0, "to": 15, "extraData": []},
    ]
    with_observables = query(
        s,
        url,
        [
            {"_name": "listAlert"},
            {"_name": "filter", "_gt": {"_field": "observableCount", "_value": 0}},
            {"_name": "page", "from": 0, "to": 50},
        ],
    )
    alert_ids = [a["_id"] for a in with_observables]
    for name, ops in (
        ("alert list (status New, by date, page 15)", alert_list),
        ("case list (by creation, page 15)", case_list),
    ):
        query(s, url, ops)  # warm-up
        stats = percentiles(timed(lambda ops=ops: query(s, url, ops), repeat))
        print(f"{name}: p50 {stats['p50']:.1f} ms, p99 {stats['p99']:.1f} ms")
    samples = []
    for i in range(repeat):
        alert_id = alert_ids[i % len(alert_ids)]
        ops = [{"_name": "getAlert", "idOrName": alert_id}, {"_name": "similarCasesLight"}]
        samples += timed(lambda ops=ops: query(s, url, ops), 1)
    stats = percentiles(samples)
    print(f"similar cases of an alert: p50 {stats['p50']:.1f} ms, p99 {stats['p99']:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--alerts", type=int, default=100_000)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--data-dir")
    parser.add_argument("--database-url")
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    if args.data_dir:
        Path(args.data_dir).mkdir(parents=True, exist_ok=True)
    marker = Path(args.data_dir) / "bench-loaded" if args.data_dir else None
    with running_server(args.data_dir, args.database_url) as url:
        ensure_org(url)
        if marker is None or not marker.exists():
            print(f"loading {args.alerts} alerts and {args.cases} cases ...", flush=True)
            load(url, args.alerts, args.cases)
            if marker is not None:
                marker.write_text("loaded\n")
        measure(url, args.repeat)


if __name__ == "__main__":
    main()
