"""Users (spec §19): create, read, update, lock, delete, memberships, passwords, API keys."""

from __future__ import annotations

import base64
import struct
import zlib

import pytest
import requests
from thehive4py.errors import TheHiveError
from thehive4py.query.filters import Eq

from tests.harness import ADMIN_LOGIN
from tests.users.conftest import PASSWORD, unique_login


def _error(excinfo: pytest.ExceptionInfo) -> tuple[int, dict]:
    response = excinfo.value.response
    return response.status_code, response.json()


def _find(client, login: str) -> list[dict]:
    return client.user.find(filters=Eq("login", login))


def tiny_png() -> str:
    """A valid 1x1 PNG, base64-encoded (the avatar format the API accepts)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    raw = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
    raw += chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b"")
    return base64.b64encode(raw).decode()


# --------------------------------------------------------------------------- create and read


def test_create_twice_get_and_list_render_the_same_user(thehive):
    login = unique_login()
    body = {"login": login, "name": "Jane", "profile": "analyst", "email": "jane@example.com"}
    first = thehive.user.create(user=body)
    second = thehive.user.create(user=body)
    assert first == second == thehive.user.get(first["_id"]) == thehive.user.get(login)
    assert _find(thehive, login) == [first]
    assert first["login"] == login
    assert first["organisation"] == "main-org" and first["profile"] == "analyst"
    assert first["email"] == "jane@example.com"
    assert first["hasPassword"] is False and first["hasKey"] is False
    assert first["locked"] is False and first["type"] == "Normal"
    assert first["defaultOrganisation"] == "main-org"
    assert first["_createdBy"] == ADMIN_LOGIN
    assert "_type" not in first and "_updatedAt" not in first
    assert "manageCase/create" in first["permissions"]
    assert first["permissions"] == sorted(first["permissions"])


def test_logins_are_lower_cased_and_found_case_insensitively(thehive):
    login = unique_login()
    created = thehive.user.create(user={"login": login.upper(), "name": "U", "profile": "analyst"})
    assert created["login"] == login
    assert thehive.user.get(login.upper())["_id"] == created["_id"]


def test_create_in_another_organisation_from_the_admin_org(thehive_admin):
    login = unique_login()
    user = thehive_admin.user.create(
        user={"login": login, "name": "U", "profile": "read-only", "organisation": "main-org"}
    )
    assert user["organisation"] == "main-org" and user["profile"] == "read-only"
    assert thehive_admin.user.get(login) == user


@pytest.mark.parametrize(
    "body, status",
    [
        ({"name": "No login", "profile": "analyst"}, 400),
        ({"login": "not-an-email", "name": "x", "profile": "analyst"}, 400),
        ({"login": "a/b@example.com", "name": "x", "profile": "analyst"}, 400),
        ({"login": "LOGIN", "profile": "analyst"}, 400),  # no name
        ({"login": "LOGIN", "name": "x"}, 400),  # no profile
        ({"login": "LOGIN", "name": "", "profile": "analyst"}, 400),
        ({"login": "LOGIN", "name": "x", "profile": "analyst", "type": "Robot"}, 400),
        ({"login": "LOGIN", "name": "x", "profile": "analyst", "password": 12}, 400),
        ({"login": "LOGIN", "name": "x", "profile": "analyst", "avatar": "not base64!"}, 400),
        ({"login": "LOGIN", "name": "x", "profile": "no-such-profile"}, 404),
        ({"login": "LOGIN", "name": "x", "profile": "analyst", "organisation": "nope"}, 404),
        ({"login": "LOGIN", "name": "x", "profile": "admin"}, 400),  # admin profile outside admin
        ({"login": "system@thehive.local", "name": "x", "profile": "analyst"}, 400),
    ],
)
def test_create_rejects_bad_input_and_creates_nothing(thehive, thehive_admin, body, status):
    login = unique_login()
    body = {k: (login if v == "LOGIN" else v) for k, v in body.items()}
    with pytest.raises(TheHiveError) as excinfo:
        thehive.user.create(user=body)
    code, error = _error(excinfo)
    assert code == status
    assert set(error) >= {"type", "message"}
    assert _find(thehive_admin, login) == []


def test_current_user_reports_organisation_and_permissions_headers(server):
    response = server.http("main-org").get(server.url + "/api/v1/user/current")
    assert response.status_code == 200
    assert response.json()["login"] == ADMIN_LOGIN
    assert response.headers["X-Organisation"] == "main-org"
    assert "manageUser" in response.headers["X-Permissions"].split(",")


def test_list_user_is_per_organisation_except_from_the_admin_org(thehive, thehive_admin, fresh_org):
    org_name, org_client = fresh_org
    member = unique_login()
    org_client.user.create(user={"login": member, "name": "m", "profile": "analyst"})
    logins_main = {u["login"] for u in thehive.user.find()}
    logins_org = {u["login"] for u in org_client.user.find()}
    assert member in logins_org and member not in logins_main
    assert logins_org == {ADMIN_LOGIN, member}
    assert org_client.user.count() == 2
    everybody = {u["login"] for u in thehive_admin.user.find()}
    assert {member, ADMIN_LOGIN} | logins_main <= everybody
    assert "system@thehive.local" not in everybody


def test_memberships_in_organisations_the_caller_cannot_see_are_hidden(thehive, fresh_org):
    org_name, org_client = fresh_org
    login = unique_login()
    org_client.user.create(user={"login": login, "name": "u", "profile": "analyst"})
    thehive.user.create(user={"login": login, "name": "u", "profile": "analyst"})
    seen_from_main = thehive.user.get(login)
    assert [o["organisation"] for o in seen_from_main["organisations"]] == ["main-org"]
    assert seen_from_main["profile"] == "analyst" and seen_from_main["organisation"] == "main-org"


# --------------------------------------------------------------------------- update


def test_update_name_profile_email_then_get_echoes_them(thehive, make_user):
    login = make_user()
    thehive.user.update(
        user_id=login,
        fields={
            "name": "Renamed",
            "profile": "read-only",
            "email": "renamed@example.com",
            "organisation": "main-org",
        },
    )
    user = thehive.user.get(login)
    assert user["name"] == "Renamed"
    assert user["profile"] == "read-only" and user["permissions"] == []
    assert user["email"] == "renamed@example.com"
    assert user["organisation"] == "main-org"
    assert user["_updatedBy"] == ADMIN_LOGIN and user["_updatedAt"] >= user["_createdAt"]


def test_profile_update_defaults_to_the_request_organisation(thehive, make_user):
    login = make_user()
    thehive.user.update(user_id=login, fields={"profile": "org-admin"})
    assert thehive.user.get(login)["profile"] == "org-admin"


def test_lock_and_unlock(server, thehive, make_user):
    login = make_user()
    user_client = server.client(username=login, password=PASSWORD)
    assert user_client.user.get_current()["login"] == login
    thehive.user.update(user_id=login, fields={"locked": True})
    assert thehive.user.get(login)["locked"] is True
    with pytest.raises(TheHiveError) as excinfo:
        user_client.user.get_current()
    assert _error(excinfo) == (
        401,
        {"type": "AuthenticationError", "message": "Authentication failure"},
    )
    thehive.user.update(user_id=login, fields={"locked": False})
    assert user_client.user.get_current()["login"] == login


def test_deprecated_delete_without_force_locks_the_user(server, thehive, make_user):
    login = make_user()
    response = server.http("main-org").delete(f"{server.url}/api/v1/user/{login}")
    assert response.status_code == 204
    assert thehive.user.get(login)["locked"] is True


def test_nobody_can_lock_themselves(server, thehive, make_user):
    login = make_user(profile="org-admin")
    own = server.client(username=login, password=PASSWORD)
    with pytest.raises(TheHiveError) as excinfo:
        own.user.update(user_id=login, fields={"locked": True})
    assert _error(excinfo)[0] == 403
    assert thehive.user.get(login)["locked"] is False


@pytest.mark.parametrize(
    "fields",
    [
        {"type": "Robot"},
        {"locked": "yes"},
        {"name": ""},
        {"name": 3},
        {"email": 4},
        {"defaultOrganisation": "admin"},  # not a member there
        {"profile": "no-such-profile"},
        {"profile": "admin"},  # administration profile outside the admin org
        {"profile": "analyst", "organisation": "admin"},  # not a member there
        {"avatar": base64.b64encode(b"<svg onload=alert(1)></svg>").decode()},
        {"name": "Changed", "type": "Robot"},  # one bad field: nothing changes
    ],
)
def test_update_rejects_bad_input_and_changes_nothing(thehive, make_user, fields):
    login = make_user()
    before = thehive.user.get(login)
    with pytest.raises(TheHiveError) as excinfo:
        thehive.user.update(user_id=login, fields=fields)
    assert 400 <= _error(excinfo)[0] < 500
    assert thehive.user.get(login) == before


def test_user_type_and_default_organisation(thehive, fresh_org, make_user):
    org_name, org_client = fresh_org
    login = make_user()
    thehive.user.set_organisations(
        user_id=login,
        organisations=[
            {"organisation": "main-org", "profile": "analyst", "default": True},
            {"organisation": org_name, "profile": "read-only"},
        ],
    )
    thehive.user.update(user_id=login, fields={"type": "Service", "defaultOrganisation": org_name})
    user = org_client.user.get(login)
    assert user["type"] == "Service" and user["defaultOrganisation"] == org_name
    # main-org cannot see the other organisation: it shows the membership it can see.
    assert thehive.user.get(login)["defaultOrganisation"] == "main-org"


def test_avatar_is_served_back(server, thehive, make_user):
    login = make_user()
    thehive.user.update(user_id=login, fields={"avatar": tiny_png()})
    path = thehive.user.get(login)["avatar"]
    response = server.http("main-org").get(server.url + path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.content == base64.b64decode(tiny_png())
    thehive.user.update(user_id=login, fields={"avatar": ""})
    assert "avatar" not in thehive.user.get(login)
    assert server.http("main-org").get(server.url + path).status_code == 404


# --------------------------------------------------------------------------- delete


def test_delete_from_the_only_organisation_deletes_the_account(thehive, make_user):
    login = make_user()
    thehive.user.delete(user_id=login)
    with pytest.raises(TheHiveError) as excinfo:
        thehive.user.get(login)
    assert _error(excinfo)[0] == 404


def test_platform_admin_deletes_the_account_without_naming_an_organisation(
    thehive, thehive_admin, fresh_org
):
    org_name, _ = fresh_org
    login = unique_login()
    thehive.user.create(user={"login": login, "name": "u", "profile": "analyst"})
    thehive_admin.user.create(
        user={"login": login, "name": "u", "profile": "analyst", "organisation": org_name}
    )
    thehive_admin.user.delete(user_id=login)
    assert _find(thehive_admin, login) == []


def test_delete_from_one_organisation_keeps_the_other_membership(thehive, fresh_org):
    org_name, org_client = fresh_org
    login = unique_login()
    thehive.user.create(user={"login": login, "name": "u", "profile": "analyst"})
    org_client.user.create(user={"login": login, "name": "u", "profile": "analyst"})
    thehive.user.delete(user_id=login, organisation="main-org")
    with pytest.raises(TheHiveError):
        thehive.user.get(login)  # no longer a member of main-org
    remaining = org_client.user.get(login)
    assert [o["organisation"] for o in remaining["organisations"]] == [org_name]
    assert remaining["defaultOrganisation"] == org_name


def test_delete_rejections(server, thehive, make_user):
    with pytest.raises(TheHiveError) as excinfo:
        thehive.user.delete(user_id=ADMIN_LOGIN)  # yourself
    assert _error(excinfo)[0] == 403
    login = make_user()
    with pytest.raises(TheHiveError) as excinfo:
        thehive.user.delete(user_id=login, organisation="no-such-org")
    assert _error(excinfo)[0] == 404
    with pytest.raises(TheHiveError) as excinfo:
        thehive.user.delete(user_id="nobody-here@example.com")
    assert _error(excinfo)[0] == 404
    assert thehive.user.get(login)["login"] == login


# --------------------------------------------------------------------------- organisations


def test_set_organisations_returns_its_input_and_keeps_the_default(thehive, fresh_org, make_user):
    org_name, org_client = fresh_org
    login = make_user()
    wanted = [
        {"organisation": "main-org", "profile": "analyst", "default": False},
        {"organisation": org_name, "profile": "read-only", "default": True},
    ]
    assert thehive.user.set_organisations(user_id=login, organisations=wanted) == wanted
    user = org_client.user.get(login)
    assert user["defaultOrganisation"] == org_name and user["profile"] == "read-only"
    # No default flagged: the previous default stays while still a member.
    again = [{"organisation": "main-org", "profile": "org-admin"}, wanted[1]]
    result = thehive.user.set_organisations(user_id=login, organisations=again)
    assert [r["default"] for r in result] == [False, True]
    assert thehive.user.get(login)["profile"] == "org-admin"


@pytest.mark.parametrize(
    "organisations, status",
    [
        ([], 400),
        ("main-org", 400),
        ([{"organisation": "main-org"}], 400),
        ([{"organisation": "nope", "profile": "analyst"}], 404),
        ([{"organisation": "main-org", "profile": "nope"}], 404),
        (
            [
                {"organisation": "main-org", "profile": "analyst"},
                {"organisation": "main-org", "profile": "read-only"},
            ],
            400,
        ),
    ],
)
def test_set_organisations_rejects_bad_input(server, thehive, make_user, organisations, status):
    login = make_user()
    before = thehive.user.get(login)
    response = server.http("main-org").put(
        f"{server.url}/api/v1/user/{login}/organisations", json={"organisations": organisations}
    )
    assert response.status_code == status
    assert set(response.json()) >= {"type", "message"}
    assert thehive.user.get(login) == before


def test_org_admin_cannot_add_memberships_in_other_organisations(server, make_user, fresh_org):
    org_name, _ = fresh_org
    login = make_user(profile="org-admin")
    target = make_user()
    org_admin = server.client(organisation="main-org", username=login, password=PASSWORD)
    with pytest.raises(TheHiveError) as excinfo:
        org_admin.user.set_organisations(
            user_id=target,
            organisations=[
                {"organisation": "main-org", "profile": "analyst"},
                {"organisation": org_name, "profile": "analyst"},
            ],
        )
    assert _error(excinfo)[0] == 403


# --------------------------------------------------------------------------- passwords


def test_set_password_lets_the_user_authenticate(server, thehive, make_user):
    login = make_user(password=None)
    assert thehive.user.get(login)["hasPassword"] is False
    thehive.user.set_password(user_id=login, password="first password")
    assert thehive.user.get(login)["hasPassword"] is True
    # A client without organisation relies on the default organisation.
    me = server.client(username=login, password="first password").user.get_current()
    assert me["login"] == login and me["organisation"] == "main-org"


def test_change_own_password(server, make_user):
    login = make_user()
    own = server.client(username=login, password=PASSWORD)
    with pytest.raises(TheHiveError) as excinfo:
        own.user.change_password(user_id=login, password="new one", current_password="wrong")
    status, error = _error(excinfo)
    assert status == 403 and error["type"] == "AuthorizationError"
    own.user.change_password(user_id=login, password="new one", current_password=PASSWORD)
    with pytest.raises(TheHiveError, match="AuthenticationError"):
        own.user.get_current()
    assert server.client(username=login, password="new one").user.get_current()["login"] == login


def test_password_change_is_only_for_your_own_account(thehive, make_user):
    login = make_user()
    with pytest.raises(TheHiveError) as excinfo:
        thehive.user.change_password(user_id=login, password="x", current_password=PASSWORD)
    assert _error(excinfo)[0] == 403


@pytest.mark.parametrize("body", [{}, {"password": ""}, {"password": 42}])
def test_set_password_rejects_bad_input(server, make_user, body):
    login = make_user()
    response = server.http("main-org").post(
        f"{server.url}/api/v1/user/{login}/password/set", json=body
    )
    assert response.status_code == 400
    assert server.client(username=login, password=PASSWORD).user.get_current()["login"] == login


def test_analyst_cannot_manage_other_users(server, make_user):
    analyst = make_user(profile="analyst")
    other = make_user()
    client = server.client(organisation="main-org", username=analyst, password=PASSWORD)
    attempts = [
        lambda: client.user.create(
            user={"login": unique_login(), "name": "x", "profile": "analyst"}
        ),
        lambda: client.user.set_password(user_id=other, password="taken over"),
        lambda: client.user.update(user_id=other, fields={"locked": True}),
        lambda: client.user.update(user_id=other, fields={"name": "Mallory"}),
        lambda: client.user.renew_apikey(user_id=other),
        lambda: client.user.delete(user_id=other),
    ]
    for attempt in attempts:
        with pytest.raises(TheHiveError) as excinfo:
            attempt()
        assert _error(excinfo)[0] == 403
    assert (
        server.client(username=other, password=PASSWORD).user.get_current()["name"] == "Test user"
    )
    # ... but may edit their own name.
    client.user.update(user_id=analyst, fields={"name": "Me"})
    assert client.user.get_current()["name"] == "Me"


def test_org_admin_cannot_take_over_an_account_of_another_organisation(server, fresh_org):
    """admin@thehive.local is org-admin of the fresh org but also platform admin: an
    org-admin of the fresh org must not be able to reset its password."""
    org_name, org_client = fresh_org
    login = unique_login()
    org_client.user.create(
        user={"login": login, "name": "x", "profile": "org-admin", "password": PASSWORD}
    )
    intruder = server.client(organisation=org_name, username=login, password=PASSWORD)
    with pytest.raises(TheHiveError) as excinfo:
        intruder.user.set_password(user_id=ADMIN_LOGIN, password="owned")
    assert _error(excinfo)[0] == 403
    with pytest.raises(TheHiveError) as excinfo:
        intruder.user.update(user_id=ADMIN_LOGIN, fields={"locked": True})
    assert _error(excinfo)[0] == 403


# --------------------------------------------------------------------------- API keys


def test_api_key_lifecycle(server, thehive, make_user):
    login = make_user()
    key = thehive.user.renew_apikey(user_id=login)
    assert isinstance(key, str) and len(key) == 32 and not key.isdigit()
    assert thehive.user.get(login)["hasKey"] is True
    assert thehive.user.get_apikey(user_id=login) == key
    by_key = server.client(apikey=key)
    assert by_key.user.get_current()["login"] == login
    raw = requests.post(
        f"{server.url}/api/v1/user/{login}/key/renew", headers={"Authorization": f"Bearer {key}"}
    )
    assert raw.headers["content-type"].startswith("text/plain")
    new_key = raw.text
    assert new_key != key
    with pytest.raises(TheHiveError, match="AuthenticationError"):
        by_key.user.get_current()
    assert server.client(apikey=new_key).user.get_current()["login"] == login
    thehive.user.remove_apikey(user_id=login)
    assert thehive.user.get(login)["hasKey"] is False
    with pytest.raises(TheHiveError) as excinfo:
        thehive.user.get_apikey(user_id=login)
    assert _error(excinfo)[0] == 404
    with pytest.raises(TheHiveError, match="AuthenticationError"):
        server.client(apikey=new_key).user.get_current()


def test_users_manage_their_own_key_and_locked_users_cannot_use_it(server, thehive, make_user):
    login = make_user(profile="read-only")
    own = server.client(username=login, password=PASSWORD)
    key = own.user.renew_apikey(user_id=login)
    assert own.user.get_apikey(user_id=login) == key
    thehive.user.update(user_id=login, fields={"locked": True})
    with pytest.raises(TheHiveError, match="AuthenticationError"):
        server.client(apikey=key).user.get_current()


def test_bad_credentials_are_401(server):
    for headers in (
        {"Authorization": "Bearer nope"},
        {"Authorization": "Bearer "},
        {"Authorization": "Basic !!!"},
        {"Authorization": "Negotiate abc"},
        {},
    ):
        response = requests.get(server.url + "/api/v1/user/current", headers=headers)
        assert response.status_code == 401, headers
        assert response.json()["type"] == "AuthenticationError"


def test_organisation_header_must_name_a_membership(server, make_user):
    login = make_user()
    for org in ("admin", "no-such-org"):
        client = server.client(organisation=org, username=login, password=PASSWORD)
        with pytest.raises(TheHiveError) as excinfo:
            client.user.get_current()
        assert _error(excinfo)[0] == 401


# --------------------------------------------------------------------------- tenancy


def test_another_organisation_can_neither_see_nor_change_main_org_users(fresh_org, make_user):
    _name, other = fresh_org
    login = make_user()
    attempts = [
        lambda: other.user.get(login),
        lambda: other.user.update(user_id=login, fields={"name": "x"}),
        lambda: other.user.set_password(user_id=login, password="x"),
        lambda: other.user.delete(user_id=login),
        lambda: other.user.renew_apikey(user_id=login),
        lambda: other.user.get_apikey(user_id=login),
    ]
    for attempt in attempts:
        with pytest.raises(TheHiveError) as excinfo:
            attempt()
        assert _error(excinfo)[0] == 404
    assert _find(other, login) == []
    response = other.session.make_request(
        "POST", "/api/v1/query", json={"query": [{"_name": "getUser", "idOrName": login}]}
    )
    assert response == []
