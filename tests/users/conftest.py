"""Fixtures of the user tests: throw-away users with a password, and direct database access
for the few states the API cannot produce quickly (a lockout that has already expired)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
import sqlalchemy

PASSWORD = "correct horse battery staple"


def unique_login(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


@pytest.fixture
def make_user(thehive) -> Callable[..., str]:
    """Create a user in main-org (or ``organisation``) with a password; returns the login."""

    def make(
        profile: str = "analyst", organisation: str = "main-org", password: str | None = PASSWORD
    ) -> str:
        login = unique_login()
        body = {"login": login, "name": "Test user", "profile": profile}
        body["organisation"] = organisation
        if password:
            body["password"] = password
        thehive.user.create(user=body)
        return login

    return make


@pytest.fixture
def database(server) -> sqlalchemy.Engine:
    url = server.database_url or f"sqlite:///{server.data_dir / 'propolis.db'}"
    engine = sqlalchemy.create_engine(url)
    yield engine
    engine.dispose()
