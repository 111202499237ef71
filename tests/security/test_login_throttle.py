"""Issue 7, finding 9: password guessing is throttled per login *and* per client address,
with backoffs; nobody can keep a login shut (the right password gets in once the backoff
is over, even while an attacker keeps failing); a waiting login costs the same work as an
unknown one, so response times do not tell which logins exist.

Client addresses come from ``X-Forwarded-For``, believed from loopback here
(``PROPOLIS_TRUSTED_PROXIES``), as a reverse proxy in front of Propolis would send it."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
import requests

from tests.harness import ADMIN_LOGIN, ADMIN_PASSWORD
from tests.security.conftest import start

PASSWORD = "throttle password"
SETTINGS = {
    "PROPOLIS_AUTH_LOGIN_THRESHOLD": "5",
    "PROPOLIS_AUTH_ADDRESS_THRESHOLD": "8",
    "PROPOLIS_AUTH_BACKOFF_BASE_MS": "2000",
    "PROPOLIS_AUTH_LOGIN_BACKOFF_MAX_MS": "8000",
    "PROPOLIS_AUTH_ADDRESS_BACKOFF_MAX_MS": "60000",
    "PROPOLIS_TRUSTED_PROXIES": "127.0.0.1",
}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def throttled(request, tmp_path_factory):  # noqa: ANN001, ANN201
    srv = start(tmp_path_factory.mktemp(f"throttle-{request.param}"), request.param, SETTINGS)
    yield srv
    srv.stop()


def _new_user(server) -> str:  # noqa: ANN001
    login = f"t{uuid.uuid4().hex[:10]}@throttle.test"
    server.client(organisation="main-org").user.create(
        user={
            "login": login,
            "name": login,
            "profile": "analyst",
            "organisation": "main-org",
            "password": PASSWORD,
        }
    )
    return login


def _attempt(server, login: str, password: str, address: str) -> tuple[int, float]:  # noqa: ANN001
    started = time.monotonic()
    answer = requests.get(
        server.url + "/api/v1/user/current",
        auth=(login, password),
        headers={"X-Forwarded-For": address},
        timeout=60,
    )
    return answer.status_code, time.monotonic() - started


def test_a_waiting_login_costs_what_an_unknown_login_costs(throttled):
    waiting, unknown = [], []
    for trial in range(3):
        login = _new_user(throttled)
        address = f"198.51.100.{10 + trial}"
        for _ in range(5):
            assert _attempt(throttled, login, "wrong", address)[0] == 401
        status, took = _attempt(throttled, login, "wrong again", address)  # inside the wait
        assert status == 401
        waiting.append(took)
        status, took = _attempt(
            throttled, f"nobody-{uuid.uuid4().hex}", "x", f"198.51.100.{50 + trial}"
        )
        assert status == 401
        unknown.append(took)
    # Both do one argon2 check: a waiting login answers no faster than an unknown one
    # (the lockout used to answer in 3 ms against 250 ms).
    assert min(waiting) > 0.5 * min(unknown), (waiting, unknown)


def test_the_right_password_gets_in_while_an_attacker_keeps_failing(throttled):
    login = _new_user(throttled)
    stop = threading.Event()

    def attacker() -> None:
        while not stop.is_set():
            _attempt(throttled, login, "guess", "203.0.113.9")
            time.sleep(0.05)

    for _ in range(6):  # the login is shut (waiting) before the owner comes
        assert _attempt(throttled, login, "guess", "203.0.113.9")[0] == 401
    assert _attempt(throttled, login, PASSWORD, "192.0.2.7")[0] == 401
    thread = threading.Thread(target=attacker, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            if _attempt(throttled, login, PASSWORD, "192.0.2.7")[0] == 200:
                break
            time.sleep(0.3)
        else:
            pytest.fail("the owner of the login never got in")
    finally:
        stop.set()
        thread.join(timeout=30)


def test_an_address_spraying_logins_is_throttled(throttled):
    sprayer = "198.51.100.77"
    for i in range(10):
        assert (
            _attempt(throttled, f"spray{i}-{uuid.uuid4().hex[:6]}@x", "123456", sprayer)[0] == 401
        )
    # Now even a right password from that address waits...
    assert _attempt(throttled, ADMIN_LOGIN, ADMIN_PASSWORD, sprayer)[0] == 401
    # ...while the same login from elsewhere is not affected.
    assert _attempt(throttled, ADMIN_LOGIN, ADMIN_PASSWORD, "192.0.2.200")[0] == 200


@pytest.fixture(scope="module")
def throttled_workers(tmp_path_factory):  # noqa: ANN001, ANN201
    srv = start(tmp_path_factory.mktemp("throttle-workers"), "sqlite", SETTINGS, workers=3)
    yield srv
    srv.stop()


def test_an_address_gets_its_tries_in_all_not_per_process(throttled_workers):
    """With three server processes, the spraying address still gets 8 tries in all (the
    count is in the database), not up to 3 x 8: each try below is a new connection, which
    any of the three may accept."""
    sprayer = "198.51.100.88"
    for i in range(9):
        login = f"spray{i}-{uuid.uuid4().hex[:6]}@x"
        assert _attempt(throttled_workers, login, "123456", sprayer)[0] == 401
    for _ in range(6):  # whichever process answers: the address waits
        assert _attempt(throttled_workers, ADMIN_LOGIN, ADMIN_PASSWORD, sprayer)[0] == 401
    assert _attempt(throttled_workers, ADMIN_LOGIN, ADMIN_PASSWORD, "192.0.2.201")[0] == 200
