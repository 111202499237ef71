"""The server starts on each backend, answers the status routes and the harness works."""

from __future__ import annotations

import requests


def test_status_needs_no_credentials(server):
    response = requests.get(server.url + "/api/status", timeout=5)
    assert response.status_code == 200
    assert "versions" in response.json()


def test_license_fallback_never_expires(thehive):
    assert (
        thehive.session.make_request("GET", "/api/v1/license/current")["fallback"]["expiresAt"]
        > 4_000_000_000_000
    )


def test_wrong_password_is_an_authentication_error(server):
    response = requests.get(server.url + "/api/v1/user/current", auth=("admin@thehive.local", "x"))
    assert response.status_code == 401
    assert response.json()["type"] == "AuthenticationError"


def test_unknown_route_is_404_in_thehive_shape(server):
    response = requests.get(
        server.url + "/api/v1/no-such-thing", auth=("admin@thehive.local", "secret")
    )
    assert response.status_code == 404
    assert response.json() == {"type": "NotFound", "message": "/api/v1/no-such-thing"}


def test_current_user_in_main_org(thehive):
    me = thehive.user.get_current()
    assert me["login"] == "admin@thehive.local"
    assert me["organisation"] == "main-org"
    assert me["profile"] == "org-admin"


def test_home_page_asks_to_sign_in_and_points_to_the_api(server):
    response = requests.get(server.url + "/", timeout=5)
    assert response.history and response.history[0].status_code == 303
    assert response.url.startswith(server.url + "/login")
    assert "text/html" in response.headers["content-type"]
    assert 'name="password"' in response.text
    assert "/api/v1/" in response.text
