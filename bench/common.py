"""Shared benchmark plumbing: a throw-away server, timing and reporting."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import requests

ADMIN = ("admin@thehive.local", "secret")
# The process of each running server, by base URL (for server_cpu_seconds).
SERVERS: dict[str, subprocess.Popen] = {}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_server(
    data_dir: str | None = None,
    database_url: str | None = None,
    workers: int | None = None,
    extra_env: dict[str, str] | None = None,
):
    """Start ``propolis serve`` on a free loopback port (``--workers``: its default when
    None; ``extra_env``: more PROPOLIS_* settings); yield its base URL."""
    tmp = tempfile.TemporaryDirectory(prefix="propolis-bench-") if data_dir is None else None
    directory = Path(data_dir or tmp.name)
    port = free_port()
    env = dict(
        os.environ,
        PROPOLIS_DATA_DIR=str(directory),
        PROPOLIS_ADMIN_PASSWORD=ADMIN[1],
        PROPOLIS_LOG_LEVEL="warning",
    )
    if database_url:
        env["PROPOLIS_DATABASE_URL"] = database_url
    env.update(extra_env or {})
    log = (directory / "bench-server.log").open("ab") if directory.exists() else subprocess.DEVNULL
    command = [sys.executable, "-m", "propolis.cli", "serve", "--port", str(port)]
    proc = subprocess.Popen(
        command + (["--workers", str(workers)] if workers else []),
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    SERVERS[url] = proc
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(url + "/api/status", timeout=1).ok:
                    break
            except requests.RequestException:  # not listening yet, or a busy machine
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("server did not start")
            time.sleep(0.1)
        yield url
    finally:
        SERVERS.pop(url, None)
        proc.terminate()
        proc.wait(timeout=30)
        if tmp is not None:
            tmp.cleanup()


def _process_tree(root: int) -> list[int]:
    """``root`` and every live descendant (worker processes, analyzer forks)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents.setdefault(int(fields[1]), []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(parents.get(pid, []))
    return tree


def server_cpu_seconds(url: str) -> float:
    """CPU time (user + system) used so far by the server at ``url`` and its live child
    processes (Linux /proc). The difference over a run, divided by the requests it served,
    is the server's cost per request whatever else shares the machine."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in _process_tree(SERVERS[url].pid):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        # utime, stime, cutime, cstime (fields 14-17; 12-15 after the name)
        total += sum(int(v) for v in fields[11:15])
    return total / ticks


def ensure_org(url: str, name: str = "bench") -> None:
    s = requests.Session()
    s.auth = ADMIN
    s.headers["X-Organisation"] = "admin"
    r = s.post(url + "/api/v1/organisation", json={"name": name, "description": name})
    if r.status_code not in (201, 400):
        raise RuntimeError(r.text)
    me = s.get(url + "/api/v1/user/current").json()
    orgs = [
        {
            "organisation": o["organisation"],
            "profile": o["profile"],
            "default": o["organisation"] == "admin",
        }
        for o in me["organisations"]
    ]
    if not any(o["organisation"] == name for o in orgs):
        orgs.append({"organisation": name, "profile": "org-admin"})
        s.put(url + f"/api/v1/user/{ADMIN[0]}/organisations", json={"organisations": orgs})


def session(org: str = "bench") -> requests.Session:
    s = requests.Session()
    s.auth = ADMIN
    s.headers["X-Organisation"] = org
    return s


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {
        "p50": pick(0.50),
        "p99": pick(0.99),
        "mean": statistics.fmean(ordered),
        "n": len(ordered),
    }


def timed(fn, repeat: int) -> list[float]:  # noqa: ANN001
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out
