"""Issue 7, finding 10 (the parts about the request boundary and the core): shares of a
foreign case, logout without CSRF token, case export by a read-only user, events of work
rolled back to a savepoint, start-up with a missing module."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest
import requests
from sqlalchemy import func, select

from propolis.core import events
from propolis.core.db import Database
from propolis.core.migrate import upgrade
from tests.harness import new_postgres_database

PASSWORD = "small findings password"


def _user(server, profile: str, organisation: str = "main-org") -> str:  # noqa: ANN001
    login = f"u{uuid.uuid4().hex[:10]}@small.test"
    admin = server.client(organisation=organisation)
    admin.user.create(
        user={
            "login": login,
            "name": login,
            "profile": profile,
            "organisation": organisation,
            "password": PASSWORD,
        }
    )
    return login


def test_shares_of_a_foreign_case_are_a_404(guarded):
    case = guarded.client(organisation="main-org").case.create(
        {"title": "mine", "description": "d"}
    )
    other = "org-" + uuid.uuid4().hex[:8]
    guarded.create_org(other)
    stranger = guarded.http(organisation=other)
    assert stranger.get(f"{guarded.url}/api/v1/case/{case['_id']}/shares").status_code == 404
    # The owner still lists them, and an observable id (thehive4py's
    # observable.list_shares) still answers [] to who can see the observable.
    own = guarded.http()
    assert own.get(f"{guarded.url}/api/v1/case/{case['_id']}/shares").status_code == 200
    observable = guarded.client(organisation="main-org").case.create_observable(
        case["_id"], {"dataType": "domain", "data": "shares.example"}
    )[0]
    assert own.get(f"{guarded.url}/api/v1/case/{observable['_id']}/shares").json() == []
    stranger_answer = stranger.get(f"{guarded.url}/api/v1/case/{observable['_id']}/shares")
    assert stranger_answer.status_code == 404


def test_logout_needs_the_csrf_token(guarded):
    login = _user(guarded, "analyst")
    browser = requests.Session()
    answer = browser.post(guarded.url + "/api/v1/login", json={"user": login, "password": PASSWORD})
    assert answer.status_code == 200
    refused = browser.post(guarded.url + "/api/v1/logout")
    assert refused.status_code in (401, 403) and refused.json()["type"]
    # The session survived the forged logout.
    assert browser.get(guarded.url + "/api/v1/user/current").status_code == 200
    csrf = {"X-CSRF-Token": answer.json()["csrfToken"]}
    assert browser.post(guarded.url + "/api/v1/logout", headers=csrf).status_code == 204
    assert browser.get(guarded.url + "/api/v1/user/current").status_code == 401


def test_a_read_only_user_cannot_export_a_case(guarded):
    case = guarded.client(organisation="main-org").case.create(
        {"title": "secret", "description": "d"}
    )
    reader = guarded.http(auth=(_user(guarded, "read-only"), PASSWORD))
    answer = reader.get(f"{guarded.url}/api/v1/case/{case['_id']}/export", params={"password": "x"})
    assert answer.status_code == 403, answer.status_code
    assert answer.json()["type"] == "AuthorizationError"
    # Reading it is still allowed, and an analyst can still export it.
    assert reader.get(f"{guarded.url}/api/v1/case/{case['_id']}").status_code == 200
    analyst = guarded.http(auth=(_user(guarded, "analyst"), PASSWORD))
    exported = analyst.get(
        f"{guarded.url}/api/v1/case/{case['_id']}/export", params={"password": "x"}
    )
    assert exported.status_code == 200 and exported.content[:2] == b"PK"


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):  # noqa: ANN001, ANN201
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'events.db'}"
    else:
        base = os.environ.get("PROPOLIS_TEST_POSTGRES_URL")
        if not base:
            pytest.skip("PostgreSQL not configured (set PROPOLIS_TEST_POSTGRES_URL)")
        url = new_postgres_database(base)
    db = Database(url)
    upgrade(db.engine)
    yield db
    db.dispose()


def test_work_rolled_back_to_a_savepoint_publishes_no_event(database):
    published: list[events.Event] = []
    events.subscribe(published.append)
    marker = uuid.uuid4().hex
    with database.session() as session:
        try:
            with session.begin_nested():
                events.record(session, marker, None, "create", "Case", 1, {"step": "undone"})
                session.flush()
                raise ValueError("undo this step")
        except ValueError:
            pass
        savepoint = session.begin_nested()
        events.record(session, marker, None, "create", "Case", 2, {"step": "unflushed undone"})
        savepoint.rollback()  # before any flush
        events.record(session, marker, None, "create", "Case", 3, {"step": "kept"})
        session.commit()
        events.publish_pending(session)
    with database.session(write=False) as session:
        stored = session.scalar(
            select(func.count())
            .select_from(events.AuditEvent)
            .where(events.AuditEvent.actor == marker)
        )
    mine = [e for e in published if e.actor == marker]
    assert stored == 1
    assert [e.details["step"] for e in mine] == ["kept"]


def test_a_missing_api_module_stops_the_start_up(tmp_path):
    """A renamed package must not make its routes vanish silently."""
    script = (
        "import sys, propolis.app as app\n"
        "app.API_MODULES.append('propolis.renamed_domain.api')\n"
        "try:\n"
        "    app.create_app()\n"
        "except ModuleNotFoundError as exc:\n"
        "    print('refused:', exc.name); sys.exit(3)\n"
        "print('started without it'); sys.exit(0)\n"
    )
    env = dict(os.environ, PROPOLIS_DATA_DIR=str(tmp_path))
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 3, done.stdout + done.stderr
    assert "propolis.renamed_domain" in done.stdout
