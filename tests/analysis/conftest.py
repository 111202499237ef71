"""A server whose catalogue holds the cortexutils test programs of ``neurons/``."""

from __future__ import annotations

import functools
import os
import sys
import tempfile
from pathlib import Path

import pytest

from tests.harness import Server, new_postgres_database

NEURONS = Path(__file__).parent / "neurons"


@functools.cache
def analysis_python() -> str:
    """Stands for the interpreter of a Cortex-Analyzers virtualenv (PROPOLIS_ANALYSIS_PYTHON):
    it runs the test programs, marking them, and refuses Propolis' own built-ins, which must
    run with the server's interpreter whatever this setting says."""
    path = Path(tempfile.mkdtemp(prefix="propolis-analysis-python-")) / "python"
    path.write_text(
        "#!/bin/sh\n"
        'case "$1" in\n'
        "  */propolis/analysis/*)\n"
        '    echo "a built-in was started with PROPOLIS_ANALYSIS_PYTHON" >&2; exit 3;;\n'
        "esac\n"
        f'PROBE_INTERPRETER=analysis-python exec "{sys.executable}" "$@"\n'
    )
    path.chmod(0o755)
    return str(path)


def engine_env(**extra: str) -> dict[str, str]:
    return {
        "PROPOLIS_ANALYZERS_PATH": str(NEURONS / "analyzers"),
        "PROPOLIS_RESPONDERS_PATH": str(NEURONS / "responders"),
        "PROPOLIS_JOB_HEARTBEAT_SECONDS": "0.5",
        "PROPOLIS_ANALYSIS_PYTHON": analysis_python(),
        # the admin's allow-list for outbound HTTP: the tests' servers listen on 127.0.0.1
        "PROPOLIS_OUTBOUND_ALLOW": "127.0.0.1/32",
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
