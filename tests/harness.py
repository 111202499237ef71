"""Starts and drives real Propolis servers for the tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import requests
from thehive4py import TheHiveApi

ADMIN_LOGIN = "admin@thehive.local"
ADMIN_PASSWORD = "secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def new_postgres_database(base_url: str) -> str:
    """Create an empty database on the server of ``base_url``; return its URL."""
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(base_url)
    name = "propolis_test_" + uuid.uuid4().hex[:12]
    conninfo = url.set(drivername="postgresql", database=url.database or "postgres")
    with psycopg.connect(conninfo.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.set(database=name).render_as_string(hide_password=False)


class Server:
    def __init__(
        self,
        data_dir: Path,
        database_url: str | None = None,
        backend: str = "sqlite",
        extra_env: dict[str, str] | None = None,
        workers: int | None = None,
    ) -> None:
        self.data_dir = data_dir
        # One process unless asked (PROPOLIS_TEST_WORKERS runs a whole area on N of them).
        self.workers = workers or int(os.environ.get("PROPOLIS_TEST_WORKERS", "1"))
        self.database_url = database_url
        self.backend = backend
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.extra_env = extra_env or {}
        self.process: subprocess.Popen | None = None
        self.log_path = data_dir / "server.log"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            PROPOLIS_DATA_DIR=str(self.data_dir),
            PROPOLIS_ADMIN_PASSWORD=ADMIN_PASSWORD,
            PROPOLIS_LOG_LEVEL="warning",
        )
        if self.database_url:
            env["PROPOLIS_DATABASE_URL"] = self.database_url
        env.update(self.extra_env)
        return env

    def start(self) -> None:
        log = self.log_path.open("ab")
        command = [sys.executable, "-m", "propolis.cli", "serve", "--port", str(self.port)]
        self.process = subprocess.Popen(
            [*command, "--workers", str(self.workers)],
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: kill() reaches every worker
        )
        # each worker process imports the whole application: slow on a busy machine
        # Generous: the suite runs two test processes on two cores (pytest -n auto).
        deadline = time.monotonic() + 120 + 30 * (self.workers - 1)
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-3000:]}")
            try:
                if requests.get(self.url + "/api/status", timeout=1).ok:
                    return
            except (requests.ConnectionError, requests.Timeout):  # busy machine: try again
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not start: {self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        """SIGKILL to the server and all its processes at once (a crash, a power cut)."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=15)

    def client(
        self,
        organisation: str | None = None,
        username: str = ADMIN_LOGIN,
        password: str = ADMIN_PASSWORD,
        apikey: str | None = None,
    ) -> TheHiveApi:
        if apikey:
            return TheHiveApi(url=self.url, apikey=apikey, organisation=organisation)
        return TheHiveApi(
            url=self.url, username=username, password=password, organisation=organisation
        )

    def http(
        self, organisation: str | None = "main-org", auth: tuple[str, str] | None = None
    ) -> requests.Session:
        """A plain HTTP session for calls the client library does not make."""
        session = requests.Session()
        session.auth = auth or (ADMIN_LOGIN, ADMIN_PASSWORD)
        if organisation:
            session.headers["X-Organisation"] = organisation
        session.base = self.url  # type: ignore[attr-defined]
        return session

    def create_org(self, name: str) -> None:
        """Create an organisation and make admin an org-admin of it (keeping admin's others)."""
        admin = self.client(organisation="admin")
        admin.organisation.create(organisation={"name": name, "description": name})
        current = admin.user.get(ADMIN_LOGIN)["organisations"]
        wanted = [
            {
                "organisation": o["organisation"],
                "profile": o["profile"],
                "default": o["organisation"] == "admin",
            }
            for o in current
        ]
        wanted.append({"organisation": name, "profile": "org-admin"})
        admin.user.set_organisations(user_id=ADMIN_LOGIN, organisations=wanted)

    def init_main_org(self) -> None:
        self.create_org("main-org")


def run_in_own_loop(coroutine):  # noqa: ANN001, ANN201
    """``asyncio.run(coroutine)`` in a thread of its own: browser tests leave an event loop
    running in pytest's main thread, where ``asyncio.run`` refuses to start."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, coroutine).result()
