"""A bounded schemathesis run over the real ``/openapi.json`` of a running server.

Every documented operation is called with a few generated requests (bodies from the request
schemas, random path ids, query strings) by three callers of ``main-org``: the org-admin, an
``analyst`` and a ``read-only`` user. Checks for each: no 5xx (``not_a_server_error``),
every documented answer matches its schema (``response_schema_conformance``) with a
documented status code (``status_code_conformance``), and a rejected request (4xx) changes
nothing: no audit event is written by it (every change writes one in its transaction). The
read-only user may only read: none of its requests writes an audit event. The figures
(operations x examples, status codes, per caller) are printed at the end of the module.
"""

from __future__ import annotations

import base64
import os
import sqlite3
from collections import Counter
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from tests.harness import ADMIN_LOGIN, ADMIN_PASSWORD, Server
from tests.seed import seed_objects, use_ids

# CI's bounded run; a longer exploration: PROPOLIS_FUZZ_EXAMPLES=50 PROPOLIS_FUZZ_COVERAGE=1.
EXAMPLES_PER_OPERATION = int(os.environ.get("PROPOLIS_FUZZ_EXAMPLES", "5"))
# The analyst and the read-only user mostly meet the same validation as the admin; fewer
# examples keep the whole file within its time budget.
ROLE_EXAMPLES = int(os.environ.get("PROPOLIS_FUZZ_ROLE_EXAMPLES", "3"))
COVERAGE_PHASE = os.environ.get("PROPOLIS_FUZZ_COVERAGE") == "1"
# Operations that would end the run's own session or take minutes of real work.
SKIPPED = {
    ("POST", "/api/v1/logout"),
    ("POST", "/api/v1/analysis/definition/_scan"),
}
ROLE_PASSWORD = "fuzz password"
# A failed password check is audited on purpose (password guessing shows in the audit log).
AUDITED_REFUSALS = {"loginFailure"}

RESULTS: Counter[tuple[str, str, str, int]] = Counter()


def _create_member(server: Server, profile: str) -> str:
    login = f"fuzz-{profile}@example.com"
    body = {"login": login, "name": f"Fuzz {profile}", "profile": profile}
    body["password"] = ROLE_PASSWORD
    response = server.http("main-org").post(server.url + "/api/v1/user", json=body, timeout=30)
    assert response.status_code == 201, response.text
    return login


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory):
    server = Server(tmp_path_factory.mktemp("fuzz"))
    server.start()
    server.init_main_org()
    server.fuzz_ids = seed_objects(server, "main-org")  # type: ignore[attr-defined]
    server.fuzz_logins = {  # type: ignore[attr-defined]
        "admin": (ADMIN_LOGIN, ADMIN_PASSWORD),
        "analyst": (_create_member(server, "analyst"), ROLE_PASSWORD),
        "read-only": (_create_member(server, "read-only"), ROLE_PASSWORD),
    }
    yield server
    server.stop()
    _report()


@pytest.fixture(scope="module")
def audit_db(fuzz_server: Server):
    # Read straight from the server's SQLite file: asking the API (listAudit) would be a
    # request of its own, and the read-only connection cannot change anything.
    path = Path(fuzz_server.data_dir) / "propolis.db"
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)) as conn:
        yield conn


@pytest.fixture(scope="module")
def api_schema(fuzz_server: Server):
    # The coverage phase (dozens of boundary requests per operation) would take the run past
    # its time budget; positive and negative generated examples remain.
    config = SchemathesisConfig.from_dict(
        {
            "phases": {
                "coverage": {"enabled": COVERAGE_PHASE},
                "stateful": {"enabled": False},
            },
            "generation": {"mode": "all"},
        }
    )
    return schemathesis.openapi.from_url(fuzz_server.url + "/openapi.json", config=config)


def _use_seeded_ids(case, ids: dict[str, str]) -> None:  # noqa: ANN001
    """Point the case's path ids at the seeded objects (deletions keep their random ids)."""
    if case.method.upper() == "DELETE" or not case.path_parameters:
        return
    case.path_parameters.update(use_ids(case.operation.path, case.path_parameters, ids))


def _headers(login: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{login}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}", "X-Organisation": "main-org"}


def _newest_audit_id(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT coalesce(max(id), 0) FROM audit_event").fetchone()[0]


def _nothing_written(conn: sqlite3.Connection, before: int, read_only: bool) -> Callable:
    """A schemathesis check: a rejected request (4xx) wrote no audit event; for a read-only
    caller, no request did."""

    def a_rejected_request_changes_nothing(ctx, response, case) -> None:  # noqa: ANN001
        if not (read_only or 400 <= response.status_code < 500):
            return
        rows = conn.execute(
            "SELECT id, actor, action, object_type, object_id FROM audit_event WHERE id > ?",
            (before,),
        ).fetchall()
        written = [row for row in rows if row[2] not in AUDITED_REFUSALS]
        if written:
            who = "a read-only user's request" if read_only else "a rejected request"
            raise AssertionError(f"{who} ({response.status_code}) wrote audit events {written}")

    return a_rejected_request_changes_nothing


def _fuzz(case, server: Server, conn: sqlite3.Connection, role: str) -> None:  # noqa: ANN001
    if (case.method.upper(), case.operation.path) in SKIPPED:
        pytest.skip("ends the session or runs a long scan")
    _use_seeded_ids(case, server.fuzz_ids)
    before = _newest_audit_id(conn)
    headers = _headers(*server.fuzz_logins[role])
    response = case.call(base_url=server.url, headers=headers, timeout=30)
    RESULTS[(role, case.method.upper(), case.operation.path, response.status_code)] += 1
    checks = [
        not_a_server_error,
        response_schema_conformance,
        status_code_conformance,
        _nothing_written(conn, before, read_only=role == "read-only"),
    ]
    case.validate_response(response, checks=checks)


schema = schemathesis.pytest.from_fixture("api_schema")


def _settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )


@schema.parametrize()
@_settings(EXAMPLES_PER_OPERATION)
def test_operation_as_admin(case, fuzz_server: Server, audit_db) -> None:  # noqa: ANN001
    _fuzz(case, fuzz_server, audit_db, "admin")


@schema.parametrize()
@_settings(ROLE_EXAMPLES)
def test_operation_as_analyst(case, fuzz_server: Server, audit_db) -> None:  # noqa: ANN001
    _fuzz(case, fuzz_server, audit_db, "analyst")


@schema.parametrize()
@_settings(ROLE_EXAMPLES)
def test_operation_as_read_only(case, fuzz_server: Server, audit_db) -> None:  # noqa: ANN001
    _fuzz(case, fuzz_server, audit_db, "read-only")


def _report() -> None:
    for role in ("admin", "analyst", "read-only"):
        mine = {key: n for key, n in RESULTS.items() if key[0] == role}
        if not mine:
            continue
        operations = {(m, p) for _r, m, p, _s in mine}
        by_status: Counter[int] = Counter()
        for (_r, _m, _p, status), n in mine.items():
            by_status[status] += n
        print(
            f"\nschemathesis as {role}: {len(operations)} operations, {sum(mine.values())} "
            f"requests, status codes {dict(sorted(by_status.items()))}"
        )
