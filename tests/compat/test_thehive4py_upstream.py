"""thehive4py's own integration suite, run unchanged against Propolis.

The suite ships in thehive4py's source distribution; upstream runs it against a TheHive 5
container. The whole distribution is used, because ``tests/test_examples.py`` runs every
script of ``examples/`` against the server. Its one container hook, ``spawn_hive_container``,
is replaced by a function returning the URL of a real ``propolis serve`` (a fresh one per
storage backend, because the suite deletes everything between its tests), and the suite runs
in a pytest subprocess. Nothing else of the suite is changed, and nothing of it is left out.
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
    if (target / "tests" / "utils.py").exists() and (target / "examples").is_dir():
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
    work = tmp_path_factory.mktemp("thehive4py-suite") / source.name
    shutil.copytree(source, work)
    with (work / "tests" / "utils.py").open("a") as utils:
        utils.write(HOOK)
    return work


def _upstream_skips(suite: Path) -> list[str]:
    """The reasons of the ``@pytest.mark.skip`` decorators written in the upstream tests
    (tests its authors do not run against TheHive either)."""
    pattern = re.compile(r'@pytest\.mark\.skip\(reason="([^"]*)"\)')
    return [m for path in (suite / "tests").glob("*.py") for m in pattern.findall(path.read_text())]


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
            [sys.executable, "-m", "pytest", "tests", "-q", "-rs", "-p", "no:cacheprovider"],
            cwd=upstream_suite,
            env={**os.environ, "PROPOLIS_COMPAT_URL": server.url},
            capture_output=True,
            text=True,
            timeout=1200,
        )
    finally:
        server.stop()
    summary = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else ""
    print(f"thehive4py upstream suite on {backend}: {summary}")
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    counts = {word: int(n) for n, word in re.findall(r"(\d+) (passed|skipped|failed)", summary)}
    # Every part of the suite ran: the only skips are the ones upstream marks in its sources.
    assert counts.get("skipped", 0) == len(_upstream_skips(upstream_suite)), run.stdout[-3000:]
    for reason in re.findall(r"^SKIPPED \[\d+\] [^:]+:\d+: (.*)$", run.stdout, re.M):
        assert reason.strip() in [r.strip() for r in _upstream_skips(upstream_suite)], reason
    examples = len(list((upstream_suite / "examples").rglob("*.py")))
    assert examples >= 30, examples
    assert counts["passed"] >= 140 + examples, summary  # the examples ran as well
