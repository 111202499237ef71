"""List benchmark: with 100k alerts and 10k cases loaded, time what an analyst's screens ask:

- the alert list: status New, newest first, a page of 15;
- the case list: newest first, a page of 15;
- the similar cases of an alert (cases sharing an observable with it).

    python -m bench.lists [--alerts 100000] [--cases 10000] [--data-dir DIR] [--database-url URL]

With --data-dir, a loaded dataset is kept and reused by later runs. The data is loaded through
the services in-process (see ``load``); the measurements go through the HTTP API.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from bench.common import ensure_org, percentiles, running_server, session, timed
from bench.ingest import observable_pools, skewed


def load(data_dir: str, database_url: str | None, alerts: int, cases: int, seed: int = 11) -> None:
    """Load the dataset through the services, in-process, in large transactions: the same
    rules and events as the API, without paying HTTP and one commit per alert for data that
    only sets the stage for the measurement."""
    import os

    os.environ["PROPOLIS_DATA_DIR"] = data_dir
    os.environ["PROPOLIS_ADMIN_PASSWORD"] = "secret"
    if database_url:
        os.environ["PROPOLIS_DATABASE_URL"] = database_url
    import propolis.query_api  # noqa: F401  (registers every domain)
    from propolis.alerts.service import create_alert
    from propolis.app import prepare
    from propolis.cases.service import create_case
    from propolis.observables.service import create_many
    from propolis.settings import Settings
    from propolis.users.auth import actor_for
    from propolis.users.models import User

    rng = random.Random(seed)
    pools = observable_pools(rng, 5000)
    db, _ = prepare(Settings())

    def in_batches(count: int, make) -> None:  # noqa: ANN001
        for start in range(0, count, 500):
            with db.session() as session:
                admin = session.query(User).filter_by(login="admin@thehive.local").one()
                actor = actor_for(session, admin, "bench")
                for i in range(start, min(count, start + 500)):
                    make(session, actor, i)

    def make_case(session, actor, i) -> None:  # noqa: ANN001
        case = create_case(
            session,
            actor,
            {
                "title": f"Case {i}",
                "description": "bench",
                "severity": rng.randint(1, 4),
                "tags": ["bench"],
            },
        )
        items = [{"dataType": t, "data": skewed(rng, pools[t])} for t in ("ip", "domain")]
        create_many(session, actor, case=case, items=items)

    def make_alert(session, actor, i) -> None:  # noqa: ANN001
        observables = []
        if i % 10 == 0:  # one alert in ten carries observables (correlation material)
            observables = [{"dataType": t, "data": skewed(rng, pools[t])} for t in ("ip", "domain")]
        status = rng.choice(["New", "New", "New", "InProgress", "Ignored"])
        create_alert(
            session,
            actor,
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
            files={},
        )

    in_batches(cases, make_case)
    in_batches(alerts, make_alert)
    db.dispose()


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
        ops = [
            {"_name": "getAlert", "idOrName": alert_id},
            {"_name": "similarCasesLight"},
            {"_name": "page", "from": 0, "to": 15},
        ]
        samples += timed(lambda ops=ops: query(s, url, ops), 1)
    stats = percentiles(samples)
    print(
        f"similar cases of an alert (first 15): p50 {stats['p50']:.1f} ms, p99 {stats['p99']:.1f} ms"
    )


def dataset(
    data_dir: str | None, database_url: str | None, alerts: int, cases: int, name: str
) -> str:
    """The folder of a loaded dataset: ``data_dir`` loaded once (a marker file says so and
    later runs reuse it), or a new temporary folder."""
    data_dir = data_dir or tempfile.mkdtemp(prefix=f"propolis-{name}-")
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    marker = Path(data_dir) / "bench-loaded"
    if not marker.exists():
        with running_server(data_dir, database_url) as url:
            ensure_org(url)
        print(f"loading {alerts} alerts and {cases} cases ...", flush=True)
        started = time.perf_counter()
        load(data_dir, database_url, alerts, cases)
        print(f"loaded in {time.perf_counter() - started:.0f} s", flush=True)
        marker.write_text("loaded\n")
    return data_dir


def main() -> None:

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--alerts", type=int, default=100_000)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--data-dir")
    parser.add_argument("--database-url")
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    data_dir = dataset(args.data_dir, args.database_url, args.alerts, args.cases, "lists")
    with running_server(data_dir, args.database_url) as url:
        measure(url, args.repeat)


if __name__ == "__main__":
    main()
