"""Profiles (spec §20): administered from the admin organisation, readable by everybody."""

from __future__ import annotations

import uuid

import pytest
from thehive4py.errors import TheHiveError
from thehive4py.query.filters import Eq

from tests.users.conftest import PASSWORD


def _name() -> str:
    return "profile-" + uuid.uuid4().hex[:10]


def _status(excinfo: pytest.ExceptionInfo) -> int:
    assert set(excinfo.value.response.json()) >= {"type", "message"}
    return excinfo.value.response.status_code


def test_create_get_list_and_count_agree(thehive_admin):
    name = _name()
    created = thehive_admin.profile.create(
        profile={"name": name, "permissions": ["manageTask", "manageCase/create", "manageTask"]}
    )
    assert created == thehive_admin.profile.get(created["_id"]) == thehive_admin.profile.get(name)
    assert created["permissions"] == ["manageCase/create", "manageTask"]  # sorted, deduplicated
    assert created["_type"] == "Profile" and created["editable"] is True
    assert created["forOrg"] is True and created["forAdmin"] is False
    assert created["consumesLicense"] is True
    found = thehive_admin.profile.find(filters=Eq("name", name))
    assert found == [created]
    assert thehive_admin.profile.count(filters=Eq("name", name)) == 1


def test_builtin_profiles_exist_and_are_created_by_the_system(thehive):
    profiles = {
        p["name"]: p for p in thehive.profile.find(filters=Eq("_createdBy", "system@thehive.local"))
    }
    assert {"admin", "org-admin", "analyst", "read-only"} <= set(profiles)
    assert profiles["admin"]["editable"] is False and profiles["admin"]["forAdmin"] is True
    assert profiles["org-admin"]["editable"] is False
    assert (
        profiles["read-only"]["permissions"] == []
        and profiles["read-only"]["consumesLicense"] is False
    )
    for profile in profiles.values():
        assert profile["permissions"] == sorted(profile["permissions"])


def test_update_name_and_permissions(thehive_admin):
    created = thehive_admin.profile.create(profile={"name": _name(), "permissions": []})
    new_name = _name()
    permissions = ["manageAlert/create", "manageCase/create"]
    thehive_admin.profile.update(
        profile_id=created["_id"], fields={"name": new_name, "permissions": permissions}
    )
    updated = thehive_admin.profile.get(created["_id"])
    assert updated["name"] == new_name and updated["permissions"] == permissions
    assert updated["_updatedBy"] == "admin@thehive.local"


def test_delete_then_get_is_404(thehive_admin):
    created = thehive_admin.profile.create(profile={"name": _name()})
    thehive_admin.profile.delete(profile_id=created["_id"])
    with pytest.raises(TheHiveError) as excinfo:
        thehive_admin.profile.get(created["_id"])
    assert _status(excinfo) == 404
    with pytest.raises(TheHiveError) as excinfo:
        thehive_admin.profile.delete(profile_id=created["_id"])
    assert _status(excinfo) == 404


def test_admin_profiles_are_for_the_admin_organisation(thehive_admin):
    created = thehive_admin.profile.create(
        profile={"name": _name(), "permissions": ["manageOrganisation"]}
    )
    assert created["forAdmin"] is True and created["type"] == "Admin"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": ""},
        {"name": "~123"},
        {"name": "a/b"},
        {"name": "NAME", "permissions": "manageCase/create"},
        {"name": "NAME", "permissions": [""]},
        {"name": "NAME", "permissions": [7]},
        {"name": "NAME", "type": "Galactic"},
    ],
)
def test_create_rejects_bad_input(thehive_admin, body):
    name = _name()
    body = {k: (name if v == "NAME" else v) for k, v in body.items()}
    with pytest.raises(TheHiveError) as excinfo:
        thehive_admin.profile.create(profile=body)
    assert _status(excinfo) == 400
    assert thehive_admin.profile.count(filters=Eq("name", name)) == 0


def test_duplicate_name_is_a_create_error(thehive_admin):
    name = _name()
    thehive_admin.profile.create(profile={"name": name})
    with pytest.raises(TheHiveError, match="CreateError") as excinfo:
        thehive_admin.profile.create(profile={"name": name})
    assert _status(excinfo) == 400
    with pytest.raises(TheHiveError, match="CreateError"):
        thehive_admin.profile.create(profile={"name": "analyst"})


def test_renaming_onto_an_existing_name_is_refused(thehive_admin):
    first = thehive_admin.profile.create(profile={"name": _name()})
    second = thehive_admin.profile.create(profile={"name": _name()})
    with pytest.raises(TheHiveError) as excinfo:
        thehive_admin.profile.update(profile_id=second["_id"], fields={"name": first["name"]})
    assert _status(excinfo) == 400
    assert thehive_admin.profile.get(second["_id"]) == second


@pytest.mark.parametrize(
    "profile, fields",
    [
        ("admin", {"permissions": []}),
        ("org-admin", {"permissions": ["manageTask"]}),
        ("analyst", {"name": "renamed-analyst"}),
        ("read-only", {"name": "renamed-read-only"}),
    ],
)
def test_builtin_profiles_cannot_be_edited_or_renamed(thehive_admin, profile, fields):
    before = thehive_admin.profile.get(profile)
    with pytest.raises(TheHiveError) as excinfo:
        thehive_admin.profile.update(profile_id=profile, fields=fields)
    assert _status(excinfo) == 400
    assert thehive_admin.profile.get(profile) == before


@pytest.mark.parametrize("name", ["admin", "org-admin", "analyst", "read-only"])
def test_builtin_profiles_cannot_be_deleted(thehive_admin, name):
    with pytest.raises(TheHiveError) as excinfo:
        thehive_admin.profile.delete(profile_id=name)
    assert _status(excinfo) == 400
    assert thehive_admin.profile.get(name)["name"] == name


def test_profile_in_use_cannot_be_deleted(thehive, thehive_admin, make_user):
    profile = thehive_admin.profile.create(profile={"name": _name(), "permissions": ["manageTask"]})
    login = make_user(profile=profile["name"])
    with pytest.raises(TheHiveError) as excinfo:
        thehive_admin.profile.delete(profile_id=profile["_id"])
    assert _status(excinfo) == 400
    thehive.user.delete(user_id=login)
    thehive_admin.profile.delete(profile_id=profile["_id"])


def test_profiles_are_managed_only_from_the_admin_organisation(
    server, thehive, thehive_admin, make_user
):
    existing = thehive_admin.profile.create(profile={"name": _name()})
    name = _name()
    analyst = server.client(organisation="main-org", username=make_user(), password=PASSWORD)
    for client in (thehive, analyst):
        for attempt in (
            lambda c=client: c.profile.create(profile={"name": name}),
            lambda c=client: c.profile.update(profile_id=existing["_id"], fields={"name": name}),
            lambda c=client: c.profile.delete(profile_id=existing["_id"]),
        ):
            with pytest.raises(TheHiveError) as excinfo:
                attempt()
            assert _status(excinfo) == 403
        # ... but everybody may read them.
        assert client.profile.get(existing["_id"]) == existing
    assert thehive_admin.profile.count(filters=Eq("name", name)) == 0


def test_get_profile_query(thehive):
    rows = thehive.session.make_request(
        "POST", "/api/v1/query", json={"query": [{"_name": "getProfile", "idOrName": "analyst"}]}
    )
    assert [r["name"] for r in rows] == ["analyst"]
    rows = thehive.session.make_request(
        "POST", "/api/v1/query", json={"query": [{"_name": "getProfile", "idOrName": "nope"}]}
    )
    assert rows == []
