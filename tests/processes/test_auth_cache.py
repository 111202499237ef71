"""Callers are remembered by each process (no database read per request), and a change to
what they depend on is seen by every process at once: each check below reaches every HTTP
worker of a ``serve --workers 2`` through a connection that worker accepted."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import uuid
from collections.abc import Callable

import pytest
import requests

from tests.harness import Server
from tests.processes.conftest import ADMIN, start, status_in_each_worker

PASSWORD = "correct horse battery staple"
CURRENT = "/api/v1/user/current"


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Server:
    srv = start(tmp_path_factory.mktemp("auth-cache"), workers=2)
    srv.init_main_org()
    yield srv
    srv.stop()


def admin(server: Server, method: str, path: str, **kwargs) -> requests.Response:
    response = requests.request(
        method,
        server.url + path,
        auth=ADMIN,
        headers={"X-Organisation": "main-org"},
        timeout=60,
        **kwargs,
    )
    assert response.status_code < 300, response.text
    return response


def new_user(server: Server, profile: str = "analyst") -> str:
    login = f"cache-{uuid.uuid4().hex[:10]}@example.com"
    admin(
        server,
        "POST",
        "/api/v1/user",
        json={
            "login": login,
            "name": "Cached",
            "profile": profile,
            "organisation": "main-org",
            "password": PASSWORD,
        },
    )
    return login


def basic(login: str, password: str = PASSWORD) -> dict[str, str]:
    token = base64.b64encode(f"{login}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}", "X-Organisation": "main-org"}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", "X-Organisation": "main-org"}


def everywhere(server: Server, headers: dict[str, str], path: str = CURRENT) -> set[int]:
    """The statuses the workers answer; asked twice, so the second answer of each worker
    is the one it gives from memory."""
    status_in_each_worker(server, "GET", path, headers)
    return set(status_in_each_worker(server, "GET", path, headers).values())


def test_a_revoked_api_key_is_refused_by_every_process(server):
    login = new_user(server)
    key = admin(server, "POST", f"/api/v1/user/{login}/key/renew").text
    assert everywhere(server, bearer(key)) == {200}
    admin(server, "DELETE", f"/api/v1/user/{login}/key")
    assert everywhere(server, bearer(key)) == {401}


def test_a_renewed_api_key_ends_the_old_one_in_every_process(server):
    login = new_user(server)
    old = admin(server, "POST", f"/api/v1/user/{login}/key/renew").text
    assert everywhere(server, bearer(old)) == {200}
    new = admin(server, "POST", f"/api/v1/user/{login}/key/renew").text
    assert everywhere(server, bearer(old)) == {401}
    assert everywhere(server, bearer(new)) == {200}


def test_a_locked_user_is_refused_by_every_process_and_back_when_unlocked(server):
    login = new_user(server)
    key = admin(server, "POST", f"/api/v1/user/{login}/key/renew").text
    assert everywhere(server, basic(login)) == {200}
    assert everywhere(server, bearer(key)) == {200}
    admin(server, "PATCH", f"/api/v1/user/{login}", json={"locked": True})
    assert everywhere(server, basic(login)) == {401}
    assert everywhere(server, bearer(key)) == {401}
    admin(server, "PATCH", f"/api/v1/user/{login}", json={"locked": False})
    assert everywhere(server, basic(login)) == {200}


def test_a_password_set_from_the_command_line_ends_the_old_one_everywhere(server):
    login = new_user(server)
    assert everywhere(server, basic(login)) == {200}
    # Another process of the host (the CLI), not a server worker, changes it.
    done = subprocess.run(
        [sys.executable, "-m", "propolis.cli", "user", "passwd", login, "--password", "new one"],
        env=server.env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert everywhere(server, basic(login)) == {401}
    assert everywhere(server, basic(login, "new one")) == {200}


def test_a_profile_change_applies_in_every_process(server):
    login = new_user(server, profile="analyst")

    def alert() -> bytes:
        ref = uuid.uuid4().hex
        return json.dumps(
            {"type": "cache", "source": "t", "sourceRef": ref, "title": "t", "description": "d"}
        ).encode()

    def create_alert() -> set[int]:
        statuses = set()
        for _ in range(2):  # the second from memory
            headers = {**basic(login), "Content-Type": "application/json"}
            answers = status_in_each_worker(server, "POST", "/api/v1/alert", headers, alert)
            statuses |= set(answers.values())
        return statuses

    assert create_alert() == {201}
    admin(server, "PATCH", f"/api/v1/user/{login}", json={"profile": "read-only"})
    assert create_alert() == {403}


def test_a_closed_browser_session_is_refused_by_every_process(server):
    login = new_user(server)
    browser = requests.Session()
    opened = browser.post(server.url + "/api/v1/login", json={"user": login, "password": PASSWORD})
    assert opened.status_code == 200, opened.text
    cookie = "; ".join(f"{c.name}={c.value}" for c in browser.cookies)
    assert everywhere(server, {"Cookie": cookie}) == {200}
    closed = browser.post(
        server.url + "/api/v1/logout", headers={"X-CSRF-Token": opened.json()["csrfToken"]}
    )
    assert closed.status_code == 204
    assert everywhere(server, {"Cookie": cookie}) == {401}


def test_observable_types_follow_their_changes_in_every_process(server):
    """Observable types are remembered per process too (every alert's observables read
    them): a type deleted is refused at once by every process, a type created accepted."""
    name = f"cached-{uuid.uuid4().hex[:8]}"

    def alert_with(data_type: str) -> Callable[[], bytes]:
        def body() -> bytes:
            observable = {"dataType": data_type, "data": uuid.uuid4().hex}
            return json.dumps(
                {
                    "type": "types",
                    "source": "t",
                    "sourceRef": uuid.uuid4().hex,
                    "title": "t",
                    "description": "d",
                    "observables": [observable],
                }
            ).encode()

        return body

    headers = {"Authorization": basic(ADMIN[0], ADMIN[1])["Authorization"]}
    headers |= {"X-Organisation": "main-org", "Content-Type": "application/json"}

    def create_alerts(data_type: str) -> set[int]:
        answers = status_in_each_worker(
            server, "POST", "/api/v1/alert", headers, alert_with(data_type)
        )
        return set(answers.values())

    assert create_alerts("other") == {201}  # every process has read the types
    assert create_alerts(name) == {404}
    types = requests.Session()
    types.auth, types.headers["X-Organisation"] = ADMIN, "admin"  # types: the admin org's
    assert types.post(server.url + "/api/v1/observable/type", json={"name": name}).ok
    assert create_alerts(name) == {201}
    gone = types.post(server.url + "/api/v1/observable/type", json={"name": name + "-gone"})
    assert create_alerts("no-such-type") == {404}  # read again: "-gone" is remembered
    assert types.delete(server.url + f"/api/v1/observable/type/{gone.json()['_id']}").ok
    assert create_alerts(name + "-gone") == {404}
