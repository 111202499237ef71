"""Observable types (spec §7): platform-wide, managed from the admin organisation."""

from __future__ import annotations

import pytest
from thehive4py.errors import TheHiveError
from thehive4py.query.filters import Eq

from tests.observables.helpers import error_of, new_case, unique


def test_create_get_list_delete(thehive_admin):
    name = unique("type")
    created = thehive_admin.observable_type.create({"name": name, "isAttachment": True})
    assert created["name"] == name and created["isAttachment"] is True
    assert created["_type"] == "ObservableType" and created["_createdBy"] == "admin@thehive.local"
    assert thehive_admin.observable_type.get(created["_id"]) == created
    assert thehive_admin.observable_type.get(name) == created
    assert thehive_admin.observable_type.find(filters=Eq("name", name)) == [created]
    thehive_admin.observable_type.delete(created["_id"])
    with pytest.raises(TheHiveError):
        thehive_admin.observable_type.get(name)
    assert thehive_admin.observable_type.find(filters=Eq("name", name)) == []


def test_defaults_and_builtins(thehive_admin, thehive):
    created = thehive_admin.observable_type.create({"name": unique("plain")})
    assert created["isAttachment"] is False
    builtins = thehive.observable_type.find(filters=Eq("_createdBy", "system@thehive.local"))
    by_name = {t["name"]: t["isAttachment"] for t in builtins}
    assert by_name["file"] is True and by_name["ip"] is False
    assert {"domain", "fqdn", "url", "mail", "hash", "other"} <= by_name.keys()


@pytest.mark.parametrize(
    "body",
    [{}, {"name": ""}, {"name": "x" * 65}, {"name": 12}, {"name": "ok", "isAttachment": "yes"}],
)
def test_invalid_input_is_rejected(thehive_admin, body):
    before = len(thehive_admin.observable_type.find())
    error_of(thehive_admin.observable_type.create, body)
    assert len(thehive_admin.observable_type.find()) == before


def test_duplicate_name_is_a_create_error(thehive_admin):
    error = error_of(thehive_admin.observable_type.create, {"name": "ip"})
    assert error == {"type": "CreateError", "message": "Observable type ip already exists"}


def test_a_type_in_use_cannot_be_deleted(thehive_admin, thehive):
    name = unique("used")
    created = thehive_admin.observable_type.create({"name": name})
    case = new_case(thehive)
    (observable,) = thehive.observable.create_in_case(case["_id"], {"dataType": name, "data": "v"})
    error = error_of(thehive_admin.observable_type.delete, name)
    assert error["type"] == "BadRequest" and "used" in error["message"]
    assert thehive_admin.observable_type.get(name) == created
    thehive.observable.delete(observable["_id"])
    thehive_admin.observable_type.delete(name)


def test_only_the_admin_organisation_manages_types(thehive, thehive_admin):
    error = error_of(thehive.observable_type.create, {"name": unique("nope")})
    assert error["type"] == "AuthorizationError"
    error = error_of(thehive.observable_type.delete, "other")
    assert error["type"] == "AuthorizationError"
    # everybody can read them
    assert thehive.observable_type.get("other")["name"] == "other"
    assert error_of(thehive.observable_type.get, "no-such-type")["type"] == "NotFoundError"


def test_a_builtin_type_cannot_be_deleted(thehive_admin):
    error = error_of(thehive_admin.observable_type.delete, "mail-subject")
    assert error == {
        "type": "BadRequest",
        "message": "Observable type mail-subject is built in and cannot be deleted",
    }
    assert thehive_admin.observable_type.get("mail-subject")["name"] == "mail-subject"
