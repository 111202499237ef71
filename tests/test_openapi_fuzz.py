"""A bounded schemathesis run over the real ``/openapi.json`` of a running server.

Every documented operation is called with a few generated requests (bodies from the request
schemas, random path ids, query strings), authenticated as the admin in ``main-org``. Checks:
no 5xx (``not_a_server_error``) and every documented answer matches its schema
(``response_schema_conformance``) with a documented status code
(``status_code_conformance``). The figures (operations x examples, status codes) are
printed at the end of the module.
"""

from __future__ import annotations

import base64
import os
from collections import Counter

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
COVERAGE_PHASE = os.environ.get("PROPOLIS_FUZZ_COVERAGE") == "1"
# Operations that would end the run's own session or take minutes of real work.
SKIPPED = {
    ("POST", "/api/v1/logout"),
    ("POST", "/api/v1/analysis/definition/_scan"),
}

RESULTS: Counter[tuple[str, str, int]] = Counter()


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory):
    server = Server(tmp_path_factory.mktemp("fuzz"))
    server.start()
    server.init_main_org()
    server.fuzz_ids = seed_objects(server, "main-org")  # type: ignore[attr-defined]
    yield server
    server.stop()
    _report()


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


def _headers() -> dict[str, str]:
    token = base64.b64encode(f"{ADMIN_LOGIN}:{ADMIN_PASSWORD}".encode()).decode()
    return {"Authorization": f"Basic {token}", "X-Organisation": "main-org"}


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_operation(case, fuzz_server: Server) -> None:  # noqa: ANN001
    if (case.method.upper(), case.operation.path) in SKIPPED:
        pytest.skip("ends the session or runs a long scan")
    _use_seeded_ids(case, fuzz_server.fuzz_ids)
    response = case.call(base_url=fuzz_server.url, headers=_headers(), timeout=30)
    RESULTS[(case.method.upper(), case.operation.path, response.status_code)] += 1
    case.validate_response(
        response, checks=[not_a_server_error, response_schema_conformance, status_code_conformance]
    )


def _report() -> None:
    operations = {(m, p) for m, p, _ in RESULTS}
    calls = sum(RESULTS.values())
    by_status = Counter()
    for (_m, _p, status), n in RESULTS.items():
        by_status[status] += n
    print(
        f"\nschemathesis: {len(operations)} operations, {calls} requests "
        f"(max {EXAMPLES_PER_OPERATION} examples each), status codes {dict(sorted(by_status.items()))}"
    )
