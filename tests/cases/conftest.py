"""Helpers for the case tests: unique cases, linked organisations, raw HTTP calls."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy
from thehive4py import TheHiveApi


def unique(prefix: str = "case") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def new_case(client: TheHiveApi, **fields) -> dict:
    body = {"title": unique(), "description": "a case for the tests", **fields}
    return client.case.create(case=body)


@pytest.fixture
def linked_org(server, thehive_admin, fresh_org):
    """A fresh organisation linked (both ways) with main-org: (name, client)."""
    name, client = fresh_org
    thehive_admin.organisation.link(
        org_id="main-org",
        other_org_id=name,
        link={"linkType": "default", "otherLinkType": "default"},
    )
    return name, client


@pytest.fixture
def http(server):
    """Plain HTTP in main-org: ``http("GET", "/api/v1/...")`` -> requests.Response."""
    session = server.http("main-org")

    def call(method: str, path: str, **kwargs):
        return session.request(method, server.url + path, timeout=30, **kwargs)

    return call


def assert_error(response, status: int, error_type: str | None = None) -> dict:
    """A rejected request: the status and TheHive's error JSON ``{"type", "message"}``."""
    assert response.status_code == status, response.text
    body = response.json()
    assert {"type", "message"} <= set(body), body
    if error_type is not None:
        assert body["type"] == error_type, body
    return body


@pytest.fixture
def database(server):
    """The server's own database, to check the tables directly."""
    url = server.database_url or f"sqlite:///{server.data_dir / 'propolis.db'}"
    engine = sqlalchemy.create_engine(url)
    yield engine
    engine.dispose()
