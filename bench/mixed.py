"""Mixed load: while alerts are ingested at full rate (bench.ingest's clients), an analyst's
screens still answer. Reports ingestion alerts/s and, for what the analyst asks meanwhile,
p50/p99 latency (the goal: p99 < 100 ms):

- the alert list: newest first, a page of 15 (``listAlert`` / sort / page);
- a case page: the case (``getCase``) and its observables (``getCase`` / observables / page).

    python -m bench.mixed [--alerts 4000] [--clients 8] [--readers 2] [--workers N]
                          [--database-url postgresql+psycopg://...]

Before the measurement the server is loaded with ``--alerts`` alerts (through the same
clients) and one case with 30 observables; the measured phase ingests ``--alerts`` more.
``--workers`` is ``propolis serve --workers`` (default: the server's, one per core).
"""

from __future__ import annotations

import argparse
import threading
import time

from bench import ingest
from bench.common import ensure_org, percentiles, running_server, session

ALERT_LIST = [
    {"_name": "listAlert"},
    {"_name": "sort", "_fields": [{"_createdAt": "desc"}]},
    {"_name": "page", "from": 0, "to": 15, "extraData": []},
]


def case_with_observables(url: str, count: int = 30) -> str:
    s = session()
    r = s.post(url + "/api/v1/case", json={"title": "mixed-load case", "description": "bench"})
    r.raise_for_status()
    case_id = r.json()["_id"]
    for i in range(count):
        body = {"dataType": "ip", "data": f"192.0.2.{i + 1}", "message": "bench"}
        r = s.post(url + f"/api/v1/case/{case_id}/observable", json=body)
        r.raise_for_status()
    return case_id


def case_page(case_id: str) -> list[tuple[str, str, dict | None]]:
    """The requests of a case page: the case, then a page of its observables."""
    observables = [
        {"_name": "getCase", "idOrName": case_id},
        {"_name": "observables"},
        {"_name": "sort", "_fields": [{"startDate": "desc"}]},
        {"_name": "page", "from": 0, "to": 15, "extraData": []},
    ]
    return [
        ("getCase", "GET", None),
        ("case observables", "POST", {"query": observables}),
    ]


def read_while(url: str, case_id: str, running: threading.Event, samples: dict) -> None:
    """One analyst: the alert list, then the case page, again and again, a short pause
    between screens, until ingestion ends."""
    s = session()
    requests_of_screens = [("alert list", "POST", {"query": ALERT_LIST}), *case_page(case_id)]
    while running.is_set():
        for name, method, body in requests_of_screens:
            path = f"/api/v1/case/{case_id}" if name == "getCase" else "/api/v1/query"
            start = time.perf_counter()
            r = s.request(method, url + path, json=body)
            elapsed = (time.perf_counter() - start) * 1000
            if r.status_code != 200:
                raise RuntimeError(f"{name}: {r.status_code} {r.text[:200]}")
            samples.setdefault(name, []).append(elapsed)
        time.sleep(0.02)


def measure(url: str, alerts: int, clients: int, readers: int) -> None:
    case_id = case_with_observables(url)
    loaded = ingest.run(url, alerts, clients, seed=1)  # the stage, and a warm-up
    print(f"loaded {alerts} alerts at {loaded['alerts_per_s']:.0f}/s", flush=True)
    running = threading.Event()
    running.set()
    samples: dict[str, list[float]] = {}
    analysts = [
        threading.Thread(target=read_while, args=(url, case_id, running, samples))
        for _ in range(readers)
    ]
    for t in analysts:
        t.start()
    try:
        result = ingest.run(url, alerts, clients, seed=2)
    finally:
        running.clear()
        for t in analysts:
            t.join()
    print(
        f"ingestion meanwhile: {result['alerts_per_s']:.0f} alerts/s with {clients} clients, "
        f"p50 {result['p50']:.1f} ms, p99 {result['p99']:.1f} ms"
    )
    for name, values in samples.items():
        stats = percentiles(values)
        print(
            f"{name} ({readers} analysts): p50 {stats['p50']:.1f} ms, "
            f"p99 {stats['p99']:.1f} ms, max {max(values):.1f} ms ({stats['n']} requests)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--alerts", type=int, default=4000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--readers", type=int, default=2)
    parser.add_argument("--workers", type=int, help="propolis serve --workers")
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with running_server(database_url=args.database_url, workers=args.workers) as url:
        ensure_org(url)
        measure(url, args.alerts, args.clients, args.readers)


if __name__ == "__main__":
    main()
