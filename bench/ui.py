"""Web page benchmark: with 100k alerts and 10k cases loaded, the server time of every main
page of the analysts' UI (target: < 150 ms each).

    python -m bench.ui [--alerts 100000] [--cases 10000] [--data-dir DIR] [--repeat 30]

The dataset is the one of ``bench.lists`` (loaded through the services, reused from
--data-dir). Each page is fetched by a signed-in browser session (cookie, organisation
``bench``); the figure is the page's own ``Server-Timing`` (the time between the request
reaching the route and the answer, commit included), next to the round trip seen by the
client.
"""

from __future__ import annotations

import argparse
import re
import time

import requests

from bench.common import ADMIN, percentiles, running_server, session
from bench.lists import dataset

TARGET_MS = 150.0
_TIMING = re.compile(r"app;dur=([0-9.]+)")


def sign_in(url: str, org: str) -> requests.Session:
    browser = requests.Session()
    form = browser.get(url + "/login", timeout=30).text
    token = re.search(r'name="login_csrf" value="([^"]+)"', form).group(1)
    home = browser.post(
        url + "/login",
        data={"login_csrf": token, "login": ADMIN[0], "password": ADMIN[1]},
        timeout=60,
    )
    csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', home.text).group(1)
    switched = browser.post(
        url + "/ui/organisation", data={"csrf_token": csrf, "organisation": org}, timeout=60
    )
    switched.raise_for_status()
    return browser


def query(api: requests.Session, url: str, operations: list[dict]) -> list[dict]:
    answer = api.post(url + "/api/v1/query", json={"query": operations}, timeout=60)
    answer.raise_for_status()
    return answer.json()


def sample_objects(url: str) -> dict[str, str]:
    """A case with observables and tasks, an alert with observables, an observable, a task:
    what an analyst opens. Tasks and a log are added once (the dataset has none)."""
    api = session()
    case = query(
        api,
        url,
        [
            {"_name": "listCase"},
            {"_name": "sort", "_fields": [{"_createdAt": "desc"}]},
            {"_name": "page", "from": 0, "to": 1},
        ],
    )[0]
    tasks = query(api, url, [{"_name": "getCase", "idOrName": case["_id"]}, {"_name": "tasks"}])
    if not tasks:
        for i in range(8):
            created = api.post(
                f"{url}/api/v1/case/{case['_id']}/task",
                json={"title": f"Task {i}", "group": "triage" if i < 4 else "containment"},
                timeout=60,
            )
            created.raise_for_status()
            tasks.append(created.json())
        api.post(
            f"{url}/api/v1/task/{tasks[0]['_id']}/log", json={"message": "**found** it"}, timeout=60
        ).raise_for_status()
    observable = query(
        api, url, [{"_name": "getCase", "idOrName": case["_id"]}, {"_name": "observables"}]
    )[0]
    alert = query(
        api,
        url,
        [
            {"_name": "listAlert"},
            {"_name": "filter", "_gt": {"_field": "observableCount", "_value": 0}},
            {"_name": "page", "from": 0, "to": 1},
        ],
    )[0]
    return {
        "case": str(case["number"]),
        "alert": alert["_id"],
        "observable": observable["_id"],
        "value": observable["data"],
        "task": tasks[0]["_id"],
    }


def pages(o: dict[str, str]) -> list[tuple[str, str]]:
    return [
        ("home", "/"),
        ("alert list (default view)", "/alerts"),
        ("alert list, 100 rows by severity", "/alerts?sort=-severity&size=100"),
        ("alert preview (similar cases)", f"/alerts/{o['alert']}"),
        ("case list", "/cases"),
        ("case list, title filter by severity", "/cases?q=case&sort=-severity&size=100"),
        ("case list, open ones of nobody", "/cases?stage=New&assignee=-"),
        ("case details", f"/cases/{o['case']}"),
        ("case closure", f"/cases/{o['case']}/close"),
        ("case responders menu", f"/cases/{o['case']}/responders"),
        ("case tasks", f"/cases/{o['case']}/tasks"),
        ("case observables", f"/cases/{o['case']}/observables"),
        ("observable page", f"/observables/{o['observable']}"),
        ("task page", f"/tasks/{o['task']}"),
        ("my tasks", "/tasks/mine"),
        ("waiting tasks", "/tasks/waiting"),
        ("quick search (observable value)", f"/search?q={o['value']}"),
        ("quick search (words of titles)", "/search?q=phishing"),
        ("stream history", "/stream"),
        ("stream panel (every page loads it)", "/ui/stream/panel"),
        ("top-bar counters", "/ui/counters"),
    ]


def measure(url: str, repeat: int) -> list[str]:
    browser = sign_in(url, "bench")
    objects = sample_objects(url)
    lines = []
    for name, path in pages(objects):
        first = browser.get(url + path, timeout=60, allow_redirects=False)
        if first.status_code != 200:
            lines.append(f"{name:36} {path}: HTTP {first.status_code} (not measured)")
            continue
        server_ms, round_trip_ms = [], []
        for _ in range(repeat):
            started = time.perf_counter()
            answer = browser.get(url + path, timeout=60, allow_redirects=False)
            round_trip_ms.append((time.perf_counter() - started) * 1000)
            server_ms.append(float(_TIMING.search(answer.headers["server-timing"]).group(1)))
        s, r = percentiles(server_ms), percentiles(round_trip_ms)
        verdict = "ok" if s["p99"] < TARGET_MS else f"OVER {TARGET_MS:.0f} ms"
        lines.append(
            f"{name:36} server p50 {s['p50']:6.1f} ms  p99 {s['p99']:6.1f} ms   "
            f"round trip p50 {r['p50']:6.1f} ms  ({verdict})"
        )
        print(lines[-1], flush=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--alerts", type=int, default=100_000)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--data-dir")
    parser.add_argument("--database-url")
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    data_dir = dataset(args.data_dir, args.database_url, args.alerts, args.cases, "ui")
    with running_server(data_dir, args.database_url) as url:
        for line in measure(url, args.repeat):
            if "not measured" in line:
                print(line)


if __name__ == "__main__":
    main()
