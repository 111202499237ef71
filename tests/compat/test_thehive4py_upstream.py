"""thehive4py's own integration suite, run unchanged against Propolis.

The suite ships in thehive4py's source distribution (``tests/``); upstream runs it against a
TheHive 5 container. Here its one container hook, ``spawn_hive_container``, is replaced by a
function returning the URL of a real ``propolis serve`` (a fresh one per storage backend,
because the suite deletes everything between its tests), and the suite runs in a pytest
subprocess. Nothing else of the suite is changed.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import pytest

from tests.harness import Server, new_postgres_database

CACHE = Path(__file__).resolve().parents[2] / ".cache"

HOOK = """

def spawn_hive_container(test_config: TestConfig) -> str:  # Propolis: a running server
    import os

    url = os.environ["PROPOLIS_COMPAT_URL"]
    init_hive_instance(url=url, test_config=test_config)
    return url
"""


def _fetch_suite() -> Path:
    """The client's source distribution, downloaded once into .cache/ (PyPI)."""
    version = importlib.metadata.version("thehive4py")
    target = CACHE / f"thehive4py-{version}"
    if (target / "tests" / "utils.py").exists():
        return target
    with tempfile.TemporaryDirectory() as tmp:
        fetched = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--no-binary",
                ":all:",
                f"thehive4py=={version}",
                "-d",
                tmp,
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        if fetched.returncode != 0:
            if os.environ.get("CI"):
                pytest.fail(f"cannot download thehive4py's sources: {fetched.stderr[-2000:]}")
            pytest.skip("thehive4py's source distribution could not be downloaded")
        archive = next(Path(tmp).glob("thehive4py-*.tar.gz"))
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")
        CACHE.mkdir(exist_ok=True)
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(Path(tmp) / f"thehive4py-{version}", target)
    return target


@pytest.fixture(scope="module")
def upstream_suite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = _fetch_suite()
    work = tmp_path_factory.mktemp("thehive4py-suite")
    shutil.copytree(source / "tests", work / "tests")
    shutil.copy(source / "pyproject.toml", work / "pyproject.toml")
    with (work / "tests" / "utils.py").open("a") as utils:
        utils.write(HOOK)
    return work


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_thehive4py_integration_suite_passes(backend, upstream_suite, tmp_path):
    database_url = None
    if backend == "postgresql":
        base = os.environ.get("PROPOLIS_TEST_POSTGRES_URL")
        if not base:
            if os.environ.get("CI"):
                pytest.fail("CI must provide PostgreSQL (PROPOLIS_TEST_POSTGRES_URL)")
            pytest.skip("PostgreSQL not configured (set PROPOLIS_TEST_POSTGRES_URL)")
        database_url = new_postgres_database(base)
    server = Server(tmp_path, database_url, backend=backend)
    server.start()
    try:
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "tests", "-q", "-p", "no:cacheprovider"],
            cwd=upstream_suite,
            env={**os.environ, "PROPOLIS_COMPAT_URL": server.url},
            capture_output=True,
            text=True,
            timeout=1200,
        )
    finally:
        server.stop()
    summary = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else ""
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    passed = int(re.search(r"(\d+) passed", summary).group(1))
    assert passed >= 140, summary  # the whole suite ran, not a handful of tests
