"""Authentication cost: what a request costs the server when its caller is remembered by
the process (``users.auth``, the default) and when it is checked against the database every
time (``PROPOLIS_AUTH_CACHE_SECONDS=0``), with an API key and with a Basic password; and the
look-up of a remembered caller itself, timed in-process.

    python -m bench.auth [--requests 2000]

The request is ``GET /api/v1/user/current`` (one read of the user to render it), made by
one client on a kept-alive connection; the server's CPU time comes from /proc (the server
process and its children), so it does not depend on what else runs on the machine.
"""

from __future__ import annotations

import argparse
import os
import time
import timeit
from pathlib import Path
from types import SimpleNamespace

import requests

from bench.common import ensure_org, percentiles, running_server, session

PASSWORD = "bench password 1"


def server_tree_cpu(port: int) -> float:
    """CPU seconds of the one-process ``propolis serve`` listening on ``port``."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
            stat = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if f"--port\0{port}\0".encode() in cmdline:
            total += sum(int(v) for v in stat[11:15])
    return total / ticks


def caller_user(url: str) -> tuple[str, str]:
    s = session()
    login = f"auth-bench-{time.time_ns()}@example.com"
    body = {"login": login, "name": "bench", "profile": "analyst", "organisation": "bench"}
    s.post(url + "/api/v1/user", json={**body, "password": PASSWORD}).raise_for_status()
    key = s.post(url + f"/api/v1/user/{login}/key/renew")
    key.raise_for_status()
    return login, key.text


def measure(url: str, port: int, headers: dict, auth: tuple | None, count: int) -> dict:
    s = requests.Session()
    s.headers.update(headers)
    s.auth = auth
    s.get(url + "/api/v1/user/current").raise_for_status()  # remembered, argon2 paid
    latencies = []
    before = server_tree_cpu(port)
    for _ in range(count):
        start = time.perf_counter()
        s.get(url + "/api/v1/user/current").raise_for_status()
        latencies.append((time.perf_counter() - start) * 1000)
    cpu_ms = (server_tree_cpu(port) - before) * 1000 / count
    return {"cpu_ms": cpu_ms, **percentiles(latencies)}


def lookup_us() -> float:
    """One look-up of a remembered caller (a keyed digest, a dict, the epoch), in µs."""
    from starlette.requests import Request

    from propolis.core.security import Actor
    from propolis.users import auth

    app = SimpleNamespace(state=SimpleNamespace(settings=SimpleNamespace(auth_cache_seconds=60)))
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/api/v1/user/current",
        "query_string": b"",
        "headers": [(b"authorization", b"Bearer " + b"k" * 32), (b"x-organisation", b"bench")],
        "client": ("127.0.0.1", 5000),
        "app": app,
    }
    actor = Actor(1, "bench@example.com", 2, "bench", frozenset({"manageAlert/create"}))
    auth._callers.remember(Request(scope), actor, auth.authepoch.current(), auth._Found(None))
    assert auth.remembered_caller(Request(scope)) == actor
    runs = 100_000
    seconds = timeit.timeit(lambda: auth.remembered_caller(Request(scope)), number=runs)
    return seconds / runs * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    print(f"look-up of a remembered caller (in-process): {lookup_us():.1f} µs", flush=True)
    for label, env in (
        ("remembered", {}),
        ("checked every time", {"PROPOLIS_AUTH_CACHE_SECONDS": "0"}),
    ):
        with running_server(workers=1, extra_env=env) as url:
            ensure_org(url)
            port = int(url.rsplit(":", 1)[1])
            login, key = caller_user(url)
            org = {"X-Organisation": "bench"}
            for kind, headers, auth in (
                ("API key", {**org, "Authorization": f"Bearer {key}"}, None),
                ("Basic", org, (login, PASSWORD)),
            ):
                r = measure(url, port, headers, auth, args.requests)
                print(
                    f"{label}, {kind}: server CPU {r['cpu_ms']:.2f} ms/request, "
                    f"p50 {r['p50']:.2f} ms, p99 {r['p99']:.2f} ms ({r['n']} requests)",
                    flush=True,
                )


if __name__ == "__main__":
    main()
