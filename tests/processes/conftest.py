"""Servers of several processes on one SQLite file (``serve --workers N``)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from http.client import HTTPConnection, RemoteDisconnected
from pathlib import Path

import requests

from tests.harness import ADMIN_LOGIN, ADMIN_PASSWORD, Server

ADMIN = (ADMIN_LOGIN, ADMIN_PASSWORD)


def start(data_dir: Path, workers: int) -> Server:
    server = Server(data_dir, workers=workers)
    server.start()
    return server


def http_workers(server: Server) -> list[int]:
    """The pids of the HTTP worker processes uvicorn started under the supervisor."""
    assert server.process is not None
    children = []
    for task in Path(f"/proc/{server.process.pid}/task").iterdir():
        children += [int(pid) for pid in (task / "children").read_text().split()]
    return [pid for pid in children if b"spawn_main" in _cmdline(pid)]


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:  # ended meanwhile
        return b""


def fresh(method: str, url: str, **kwargs) -> requests.Response:
    """A request on a new connection: the kernel hands each one to any waiting worker,
    so a series of them reaches every process (a kept-alive one stays with one)."""
    kwargs.setdefault("timeout", 60)
    with requests.Session() as session:
        session.headers["Connection"] = "close"
        return session.request(method, url, **kwargs)


def new_alert(run: str, n: int) -> dict:
    return {
        "type": run,
        "source": "processes-test",
        "sourceRef": f"{run}-{n}",
        "title": f"alert {n}",
        "description": "written by one of several server processes",
        "observables": [
            {"dataType": "ip", "data": f"10.9.{n // 250}.{n % 250}"},
            {"dataType": "domain", "data": f"host{n}.example.org"},
        ],
    }


def alert_refs(server: Server, run: str) -> list[str]:
    """The sourceRef of every alert of type ``run`` in main-org."""
    query = [
        {"_name": "listAlert"},
        {"_name": "filter", "_eq": {"_field": "type", "_value": run}},
        {"_name": "page", "from": 0, "to": 10_000},
    ]
    response = requests.post(
        server.url + "/api/v1/query",
        json={"query": query},
        auth=ADMIN,
        headers={"X-Organisation": "main-org"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return [alert["sourceRef"] for alert in response.json()]


def run_name() -> str:
    return "run" + uuid.uuid4().hex[:8]


def connection_to_each_worker(server: Server) -> dict[int, HTTPConnection]:
    """An open (kept-alive) connection served by each HTTP worker, by worker pid: new
    connections are opened until every worker has accepted one."""
    workers = set(http_workers(server))
    found: dict[int, HTTPConnection] = {}
    for _ in range(300):
        conn = HTTPConnection("127.0.0.1", server.port, timeout=60)
        conn.request("GET", "/api/v1/status/public")
        conn.getresponse().read()  # answered: accepted by one worker
        pid = _owner(server.port, conn.sock.getsockname()[1], workers)
        if pid is None or pid in found:
            conn.close()
        else:
            found[pid] = conn
        if len(found) == len(workers):
            return found
    raise AssertionError(f"only {len(found)} of {len(workers)} workers accepted connections")


def _owner(server_port: int, client_port: int, pids: set[int]) -> int | None:
    """The process holding the server side of the loopback connection from client_port."""
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = fields[1], fields[2]
        if int(local.split(":")[1], 16) == server_port and int(remote.split(":")[1], 16) == (
            client_port
        ):
            inode = fields[9]
    if inode is None:
        return None
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                if os.readlink(fd) == f"socket:[{inode}]":
                    return pid
            except OSError:  # closed meanwhile
                continue
    return None


def status_in_each_worker(
    server: Server,
    method: str,
    path: str,
    headers: dict[str, str],
    body: Callable[[], bytes] | None = None,
) -> dict[int, int]:
    """The status each HTTP worker answers to the same request (its body made anew for
    each), by worker pid."""
    answers: dict[int, int] = {}
    for _attempt in range(5):
        for pid, conn in connection_to_each_worker(server).items():
            if pid in answers:
                conn.close()
                continue
            try:
                conn.request(method, path, body=body() if body else None, headers=headers)
                response = conn.getresponse()
                response.read()
                answers[pid] = response.status
            except (RemoteDisconnected, ConnectionResetError):
                continue  # idle past the keep-alive timeout on a busy machine: once more
            finally:
                conn.close()
        if len(answers) == len(http_workers(server)):
            return answers
    raise AssertionError(f"answers from {len(answers)} workers only")
