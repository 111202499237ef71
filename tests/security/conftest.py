"""A server per backend with small limits, so that the boundary tests stay fast: the
findings of issue 7 (resource exhaustion, archive bombs, query abuse, lockout abuse) need
limits a test can cross in a second."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.harness import Server, new_postgres_database

MIB = 1024 * 1024
LIMITS = {
    "PROPOLIS_MAX_JSON_BYTES": str(1 * MIB),
    "PROPOLIS_MAX_UPLOAD_BYTES": str(16 * MIB),
}


def start(tmp: Path, backend: str, extra_env: dict[str, str], workers: int | None = None) -> Server:
    database_url = None
    if backend == "postgresql":
        base = os.environ.get("PROPOLIS_TEST_POSTGRES_URL")
        if not base:
            if os.environ.get("CI"):
                pytest.fail("CI must provide PostgreSQL (PROPOLIS_TEST_POSTGRES_URL)")
            pytest.skip("PostgreSQL not configured (set PROPOLIS_TEST_POSTGRES_URL)")
        database_url = new_postgres_database(base)
    srv = Server(tmp, database_url, backend=backend, extra_env=extra_env, workers=workers)
    srv.start()
    srv.init_main_org()
    return srv


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def guarded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    srv = start(tmp_path_factory.mktemp(f"guarded-{request.param}"), request.param, LIMITS)
    yield srv
    srv.stop()


def peak_rss(server: Server) -> int:
    """The server process's peak resident memory (VmHWM), in bytes: a body held in memory
    for an instant still shows here."""
    assert server.process is not None
    for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc status")
