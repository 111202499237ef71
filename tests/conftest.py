"""Test harness: real ``propolis serve`` processes on loopback, driven by the real clients.

The API suite runs once per storage backend: SQLite always, PostgreSQL when
``PROPOLIS_TEST_POSTGRES_URL`` names a server (``.ci/run`` starts one; in CI a missing
PostgreSQL is an error, not a skip). Each backend gets a fresh database and data folder.
"""

from __future__ import annotations

import os
import uuid

import pytest
from thehive4py import TheHiveApi

from tests.harness import ADMIN_LOGIN, ADMIN_PASSWORD, Server, new_postgres_database

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session", params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    backend = request.param
    database_url = None
    if backend == "postgresql":
        base = os.environ.get("PROPOLIS_TEST_POSTGRES_URL")
        if not base:
            if os.environ.get("CI"):
                pytest.fail("CI must provide PostgreSQL (PROPOLIS_TEST_POSTGRES_URL)")
            pytest.skip("PostgreSQL not configured (set PROPOLIS_TEST_POSTGRES_URL)")
        database_url = new_postgres_database(base)
    srv = Server(tmp_path_factory.mktemp(f"data-{backend}"), database_url, backend=backend)
    srv.start()
    srv.init_main_org()
    yield srv
    srv.stop()


@pytest.fixture
def thehive(server: Server) -> TheHiveApi:
    """The admin user acting in ``main-org`` (profile org-admin), like thehive4py's suite."""
    return server.client(organisation="main-org")


@pytest.fixture
def thehive_admin(server: Server) -> TheHiveApi:
    """The admin user acting in the ``admin`` organisation (platform administration)."""
    return server.client(organisation="admin")


@pytest.fixture
def fresh_org(server: Server):
    """A brand-new organisation (admin is org-admin there) for tests that need an empty one.

    Returns (name, client)."""
    name = "org-" + uuid.uuid4().hex[:10]
    server.create_org(name)
    return name, server.client(organisation=name)


__all__ = ["ADMIN_LOGIN", "ADMIN_PASSWORD"]
