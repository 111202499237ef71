"""Authentication: password-guessing lockout and browser sessions (cookie + CSRF token)."""

from __future__ import annotations

import requests
import sqlalchemy

from tests.users.conftest import PASSWORD


def _current(server, login: str, password: str) -> requests.Response:
    return requests.get(server.url + "/api/v1/user/current", auth=(login, password))


# --------------------------------------------------------------------------- lockout


def test_five_failures_lock_the_login_for_a_minute(server, make_user, database):
    login, bystander = make_user(), make_user()
    for _ in range(5):
        assert _current(server, login, "wrong").status_code == 401
    # Locked out: even the right password is refused, with the usual error.
    refused = _current(server, login, PASSWORD)
    assert refused.status_code == 401
    assert refused.json() == {"type": "AuthenticationError", "message": "Authentication failure"}
    assert _current(server, bystander, PASSWORD).status_code == 200
    # A minute later (moved back in the database rather than waited for) the login opens.
    with database.begin() as conn:
        conn.execute(
            sqlalchemy.text(
                "UPDATE user_account SET last_failure_at = last_failure_at - 61000 "
                "WHERE login = :login"
            ),
            {"login": login},
        )
    assert _current(server, login, PASSWORD).status_code == 200


def test_a_success_resets_the_failure_count(server, make_user):
    login = make_user()
    for _ in range(4):
        assert _current(server, login, "wrong").status_code == 401
    assert _current(server, login, PASSWORD).status_code == 200
    for _ in range(4):
        assert _current(server, login, "wrong").status_code == 401
    assert _current(server, login, PASSWORD).status_code == 200


def test_lockout_is_reported_in_extra_data(server, thehive, make_user):
    login = make_user()
    for _ in range(5):
        _current(server, login, "wrong")
    rows = thehive.session.make_request(
        "POST",
        "/api/v1/query",
        json={
            "query": [
                {"_name": "getUser", "idOrName": login},
                {"_name": "page", "from": 0, "to": 1, "extraData": ["lockout"]},
            ]
        },
    )
    lockout = rows[0]["extraData"]["lockout"]
    assert lockout["failedAttempts"] == 5 and lockout["lockedUntil"] > rows[0]["_createdAt"]
    # An administrator's password reset lifts the lockout.
    thehive.user.set_password(user_id=login, password="fresh start")
    assert _current(server, login, "fresh start").status_code == 200


# --------------------------------------------------------------------------- browser sessions


def test_login_sets_a_session_cookie_and_returns_the_user(server, make_user):
    login = make_user()
    browser = requests.Session()
    response = browser.post(
        server.url + "/api/v1/login", json={"user": login, "password": PASSWORD}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["login"] == login and body["organisation"] == "main-org"
    csrf = body["csrfToken"]
    assert response.headers["X-CSRF-Token"] == csrf
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("PROPOLIS_SESSION=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    # Reads work with the cookie alone.
    me = browser.get(server.url + "/api/v1/user/current")
    assert me.status_code == 200 and me.json()["login"] == login
    # Writes need the CSRF token too.
    path = f"{server.url}/api/v1/user/{login}"
    assert browser.patch(path, json={"name": "Forged"}).status_code == 401
    assert (
        browser.patch(path, json={"name": "Mine"}, headers={"X-CSRF-Token": "x"}).status_code == 401
    )
    assert browser.get(server.url + "/api/v1/user/current").json()["name"] == "Test user"
    assert (
        browser.patch(path, json={"name": "Mine"}, headers={"X-CSRF-Token": csrf}).status_code
        == 204
    )
    assert browser.get(server.url + "/api/v1/user/current").json()["name"] == "Mine"


def test_logout_ends_the_session(server, make_user):
    login = make_user()
    browser = requests.Session()
    answer = browser.post(server.url + "/api/v1/login", json={"user": login, "password": PASSWORD})
    token = browser.cookies["PROPOLIS_SESSION"]
    csrf = {"X-CSRF-Token": answer.json()["csrfToken"]}
    assert browser.post(server.url + "/api/v1/logout", headers=csrf).status_code == 204
    # Even a client that kept the cookie is refused afterwards.
    stolen = requests.get(server.url + "/api/v1/user/current", cookies={"PROPOLIS_SESSION": token})
    assert stolen.status_code == 401
    # Logging out without a session is harmless.
    assert requests.post(server.url + "/api/v1/logout").status_code == 204


def test_login_with_form_fields(server, make_user):
    login = make_user()
    response = requests.post(
        server.url + "/api/v1/login", data={"user": login, "password": PASSWORD}
    )
    assert response.status_code == 200
    assert response.json()["login"] == login
    assert "PROPOLIS_SESSION" in response.cookies


def test_login_in_a_chosen_organisation(server, thehive, fresh_org, make_user):
    org_name, _ = fresh_org
    login = make_user()
    thehive.user.set_organisations(
        user_id=login,
        organisations=[
            {"organisation": "main-org", "profile": "analyst", "default": True},
            {"organisation": org_name, "profile": "read-only"},
        ],
    )
    response = requests.post(
        server.url + "/api/v1/login",
        json={"user": login, "password": PASSWORD},
        headers={"X-Organisation": org_name},
    )
    assert response.status_code == 200
    assert response.json()["organisation"] == org_name
    assert response.json()["profile"] == "read-only"


def test_a_browser_session_acts_in_the_organisation_chosen_in_the_pages(
    server, thehive, fresh_org, make_user
):
    """The pages' organisation switcher (cookie PROPOLIS_ORG) also applies to the API calls of
    that browser (links to file downloads); a header still wins, a stale choice falls back."""
    org_name, _ = fresh_org
    login = make_user()
    thehive.user.set_organisations(
        user_id=login,
        organisations=[
            {"organisation": "main-org", "profile": "analyst", "default": True},
            {"organisation": org_name, "profile": "read-only"},
        ],
    )
    browser = requests.Session()
    answer = browser.post(server.url + "/api/v1/login", json={"user": login, "password": PASSWORD})
    assert answer.status_code == 200

    def organisation(**headers) -> str:
        return browser.get(server.url + "/api/v1/user/current", headers=headers).json()[
            "organisation"
        ]

    assert organisation() == "main-org"
    browser.cookies.set("PROPOLIS_ORG", org_name)
    assert organisation() == org_name
    assert organisation(**{"X-Organisation": "main-org"}) == "main-org"
    browser.cookies.set("PROPOLIS_ORG", "not-a-membership")
    assert organisation() == "main-org"
    # Credentials other than the session ignore the cookie.
    basic = requests.get(
        server.url + "/api/v1/user/current",
        auth=(login, PASSWORD),
        cookies={"PROPOLIS_ORG": org_name},
    )
    assert basic.json()["organisation"] == "main-org"


def test_login_failures(server, thehive, make_user):
    login = make_user()
    cases = [
        ({"user": login, "password": "wrong"}, 401),
        ({"user": "nobody@example.com", "password": PASSWORD}, 401),
        ({"user": login}, 400),
        ({"password": PASSWORD}, 400),
        ({"user": login, "password": 5}, 400),
    ]
    for body, status in cases:
        response = requests.post(server.url + "/api/v1/login", json=body)
        assert response.status_code == status, body
        assert set(response.json()) >= {"type", "message"}
        assert "PROPOLIS_SESSION" not in response.cookies
    assert requests.post(server.url + "/api/v1/login", data="not json").status_code == 400
    thehive.user.update(user_id=login, fields={"locked": True})
    locked = requests.post(server.url + "/api/v1/login", json={"user": login, "password": PASSWORD})
    assert locked.status_code == 401


def test_locking_a_user_ends_their_browser_session(server, thehive, make_user):
    login = make_user()
    browser = requests.Session()
    browser.post(server.url + "/api/v1/login", json={"user": login, "password": PASSWORD})
    assert browser.get(server.url + "/api/v1/user/current").status_code == 200
    thehive.user.update(user_id=login, fields={"locked": True})
    assert browser.get(server.url + "/api/v1/user/current").status_code == 401


def test_failures_and_account_changes_are_audited(server, thehive, thehive_admin, make_user):
    login = make_user()
    user_id = thehive.user.get(login)["_id"]
    _current(server, login, "wrong")
    thehive.user.update(user_id=login, fields={"name": "Audited"})
    events = thehive_admin.session.make_request(
        "POST",
        "/api/v1/query",
        json={
            "query": [
                {"_name": "listAudit"},
                {"_name": "filter", "_eq": {"_field": "objectId", "_value": user_id}},
            ]
        },
    )
    actions = [e["action"] for e in reversed(events)]  # newest first
    assert actions == ["create", "loginFailure", "update"]
    assert events[0]["details"] == {"name": "Audited"}
    assert PASSWORD not in str(events)  # secrets never reach the audit log
