"""A server whose catalogue holds the cortexutils test programs of ``neurons/``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.harness import Server, new_postgres_database

NEURONS = Path(__file__).parent / "neurons"


def engine_env(**extra: str) -> dict[str, str]:
    return {
        "PROPOLIS_ANALYZERS_PATH": str(NEURONS / "analyzers"),
        "PROPOLIS_RESPONDERS_PATH": str(NEURONS / "responders"),
        "PROPOLIS_JOB_HEARTBEAT_SECONDS": "0.5",
        **extra,
    }


def database_for(backend: str) -> str | None:
    if backend == "sqlite":
        return None
    base = os.environ.get("PROPOLIS_TEST_POSTGRES_URL")
    if not base:
        if os.environ.get("CI"):
            pytest.fail("CI must provide PostgreSQL (PROPOLIS_TEST_POSTGRES_URL)")
        pytest.skip("PostgreSQL not configured (set PROPOLIS_TEST_POSTGRES_URL)")
    return new_postgres_database(base)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def engine_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    backend = request.param
    srv = Server(
        tmp_path_factory.mktemp(f"engine-{backend}"),
        database_for(backend),
        backend=backend,
        extra_env=engine_env(),
    )
    srv.start()
    srv.init_main_org()
    yield srv
    srv.stop()
