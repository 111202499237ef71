"""Organisations (spec §18): create, read, update, links, visibility, sharing profiles."""

from __future__ import annotations

import uuid

import pytest
import requests
from thehive4py.errors import TheHiveError
from thehive4py.query.filters import Eq

from tests.users.conftest import PASSWORD, unique_login


def _name() -> str:
    return "org-" + uuid.uuid4().hex[:10]


def _status(excinfo: pytest.ExceptionInfo) -> int:
    assert set(excinfo.value.response.json()) >= {"type", "message"}
    return excinfo.value.response.status_code


def _links(org: dict) -> dict[str, tuple[str, str]]:
    return {
        link["toOrganisation"]: (link["linkType"], link["otherLinkType"]) for link in org["links"]
    }


# --------------------------------------------------------------------------- create and read


def test_create_get_find_agree(thehive_admin):
    name = _name()
    created = thehive_admin.organisation.create(
        organisation={"name": name, "description": "Blue team", "taskRule": "autoShare"}
    )
    assert created["name"] == name and created["description"] == "Blue team"
    assert created["taskRule"] == "autoShare" and created["observableRule"] == "manual"
    assert created["links"] == [] and created["locked"] is False
    assert created["_type"] == "Organisation" and created["_createdBy"] == "admin@thehive.local"
    assert thehive_admin.organisation.get(name) == created
    assert thehive_admin.organisation.get(created["_id"]) == created
    assert thehive_admin.organisation.find(filters=Eq("name", name)) == [created]
    assert thehive_admin.organisation.count(filters=Eq("name", name)) == 1


def test_the_admin_organisation_exists(thehive_admin):
    admin = thehive_admin.organisation.get("admin")
    assert admin["_createdBy"] == "system@thehive.local"
    assert admin["description"] == "organisation for administration"


@pytest.mark.parametrize(
    "body",
    [
        {"description": "no name"},
        {"name": "NAME"},  # no description
        {"name": "", "description": "x"},
        {"name": "~42", "description": "x"},
        {"name": "a/b", "description": "x"},
        {"name": " padded ", "description": "x"},
        {"name": "x" * 65, "description": "x"},
        {"name": "NAME", "description": "x", "taskRule": "sometimes"},
        {"name": "NAME", "description": "x", "locked": "no"},
        {"name": "NAME", "description": "x", "avatar": "@@@"},
    ],
)
def test_create_rejects_bad_input(thehive_admin, body):
    name = _name()
    body = {k: (name if v == "NAME" else v) for k, v in body.items()}
    with pytest.raises(TheHiveError) as excinfo:
        thehive_admin.organisation.create(organisation=body)
    assert _status(excinfo) == 400
    assert thehive_admin.organisation.count(filters=Eq("name", name)) == 0


def test_duplicate_name_is_a_create_error(thehive_admin):
    with pytest.raises(TheHiveError, match="CreateError") as excinfo:
        thehive_admin.organisation.create(organisation={"name": "main-org", "description": "x"})
    assert _status(excinfo) == 400


def test_only_the_admin_organisation_creates_organisations(thehive):
    name = _name()
    with pytest.raises(TheHiveError) as excinfo:
        thehive.organisation.create(organisation={"name": name, "description": "x"})
    assert _status(excinfo) == 403


# --------------------------------------------------------------------------- update


def test_update_fields(thehive_admin):
    name = _name()
    thehive_admin.organisation.create(organisation={"name": name, "description": "before"})
    new_name = _name()
    thehive_admin.organisation.update(
        org_id=name,
        fields={"name": new_name, "description": "after", "observableRule": "autoShare"},
    )
    org = thehive_admin.organisation.get(new_name)
    assert org["description"] == "after" and org["observableRule"] == "autoShare"
    assert org["_updatedBy"] == "admin@thehive.local"
    with pytest.raises(TheHiveError):
        thehive_admin.organisation.get(name)


def test_an_organisation_administrator_updates_their_own_organisation(fresh_org):
    name, client = fresh_org
    client.organisation.update(org_id=name, fields={"description": "edited by org-admin"})
    assert client.organisation.get(name)["description"] == "edited by org-admin"
    # Renaming and locking are platform decisions.
    for fields in ({"name": _name()}, {"locked": True}):
        with pytest.raises(TheHiveError) as excinfo:
            client.organisation.update(org_id=name, fields=fields)
        assert _status(excinfo) == 403
    assert client.organisation.get(name)["name"] == name
    # ... and another organisation (which it cannot even see) is out of reach.
    with pytest.raises(TheHiveError) as excinfo:
        client.organisation.update(org_id="main-org", fields={"description": "x"})
    assert _status(excinfo) == 404


@pytest.mark.parametrize(
    "fields",
    [
        {"name": ""},
        {"name": "main-org"},  # taken
        {"description": None},
        {"taskRule": "sometimes"},
        {"locked": 1},
        {"description": "changed", "observableRule": "never"},  # one bad field: no change
    ],
)
def test_update_rejects_bad_input(thehive_admin, fields):
    name = _name()
    before = thehive_admin.organisation.create(organisation={"name": name, "description": "x"})
    with pytest.raises(TheHiveError) as excinfo:
        thehive_admin.organisation.update(org_id=name, fields=fields)
    assert _status(excinfo) == 400
    assert thehive_admin.organisation.get(name) == before


def test_the_admin_organisation_can_be_neither_renamed_nor_locked(thehive_admin):
    for fields in ({"name": "administration"}, {"locked": True}):
        with pytest.raises(TheHiveError) as excinfo:
            thehive_admin.organisation.update(org_id="admin", fields=fields)
        assert _status(excinfo) == 400
    assert thehive_admin.organisation.get("admin")["locked"] is False


def test_members_cannot_work_in_a_locked_organisation(server, thehive_admin, fresh_org):
    name, client = fresh_org
    login = unique_login()
    client.user.create(
        user={"login": login, "name": "u", "profile": "analyst", "password": PASSWORD}
    )
    member = server.client(organisation=name, username=login, password=PASSWORD)
    assert member.user.get_current()["organisation"] == name
    thehive_admin.organisation.update(org_id=name, fields={"locked": True})
    with pytest.raises(TheHiveError) as excinfo:
        member.user.get_current()
    assert _status(excinfo) == 401
    thehive_admin.organisation.update(org_id=name, fields={"locked": False})
    assert member.user.get_current()["organisation"] == name


def test_avatar_round_trip(server, thehive_admin):
    from tests.users.test_users import tiny_png

    name = _name()
    org = thehive_admin.organisation.create(
        organisation={"name": name, "description": "x", "avatar": tiny_png()}
    )
    response = server.http("admin").get(server.url + org["avatar"])
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    assert server.http("admin").get(server.url + org["avatar"] + "0").status_code == 404


# --------------------------------------------------------------------------- links


def test_link_list_and_unlink(thehive_admin):
    a, b = _name(), _name()
    for name in (a, b):
        thehive_admin.organisation.create(organisation={"name": name, "description": name})
    thehive_admin.organisation.link(
        org_id=a, other_org_id=b, link={"linkType": "supervised", "otherLinkType": "notify"}
    )
    assert _links(thehive_admin.organisation.get(a)) == {b: ("supervised", "notify")}
    assert _links(thehive_admin.organisation.get(b)) == {a: ("notify", "supervised")}
    listed = thehive_admin.organisation.list_links(org_id=a)
    assert [(x["linkType"], x["otherLinkType"], x["organisation"]["name"]) for x in listed] == [
        ("supervised", "notify", b)
    ]
    assert listed[0]["organisation"] == thehive_admin.organisation.get(b)
    # Linking again changes the types.
    thehive_admin.organisation.link(org_id=b, other_org_id=a, link={"linkType": "default"})
    assert _links(thehive_admin.organisation.get(a)) == {b: ("default", "default")}
    thehive_admin.organisation.unlink(org_id=a, other_org_id=b)
    assert thehive_admin.organisation.get(a)["links"] == []
    assert thehive_admin.organisation.get(b)["links"] == []
    with pytest.raises(TheHiveError) as excinfo:
        thehive_admin.organisation.unlink(org_id=a, other_org_id=b)
    assert _status(excinfo) == 404


def test_bulk_link_sets_exactly_the_listed_links(thehive_admin):
    hub, one, two, three = _name(), _name(), _name(), _name()
    for name in (hub, one, two, three):
        thehive_admin.organisation.create(organisation={"name": name, "description": name})
    thehive_admin.organisation.bulk_link(
        org_id=hub,
        links=[
            {"toOrganisation": one, "linkType": "supervised", "otherLinkType": "default"},
            {"toOrganisation": two, "linkType": "default", "otherLinkType": "notify"},
        ],
    )
    assert _links(thehive_admin.organisation.get(hub)) == {
        one: ("supervised", "default"),
        two: ("default", "notify"),
    }
    thehive_admin.organisation.bulk_link(
        org_id=hub,
        links=[{"toOrganisation": three, "linkType": "default", "otherLinkType": "default"}],
    )
    assert _links(thehive_admin.organisation.get(hub)) == {three: ("default", "default")}
    assert thehive_admin.organisation.get(one)["links"] == []


@pytest.mark.parametrize(
    "links, status",
    [
        ("not a list", 400),
        ([{"toOrganisation": "SELF"}], 400),
        ([{"toOrganisation": "admin"}], 400),
        ([{"toOrganisation": "OTHER", "linkType": "friendly"}], 400),
        ([{"toOrganisation": "OTHER"}, {"toOrganisation": "OTHER"}], 400),
        ([{"toOrganisation": "OTHER"}, {"toOrganisation": "no-such-org"}], 404),
        ([{"linkType": "default"}], 400),
    ],
)
def test_bulk_link_rejects_bad_input_and_changes_nothing(thehive_admin, links, status):
    me, other, kept = _name(), _name(), _name()
    for name in (me, other, kept):
        thehive_admin.organisation.create(organisation={"name": name, "description": name})
    thehive_admin.organisation.link(org_id=me, other_org_id=kept, link={})
    replaced = {"SELF": me, "OTHER": other}
    if isinstance(links, list):
        links = [{k: replaced.get(v, v) for k, v in item.items()} for item in links]
    with pytest.raises(TheHiveError) as excinfo:
        thehive_admin.organisation.bulk_link(org_id=me, links=links)
    assert _status(excinfo) == status
    assert _links(thehive_admin.organisation.get(me)) == {kept: ("default", "default")}


@pytest.mark.parametrize(
    "other, link, status",
    [
        ("SELF", {}, 400),
        ("admin", {}, 400),
        ("no-such-org", {}, 404),
        ("OTHER", {"linkType": "friendly"}, 400),
        ("OTHER", {"otherLinkType": 3}, 400),
    ],
)
def test_link_rejects_bad_input(thehive_admin, other, link, status):
    me, second = _name(), _name()
    for name in (me, second):
        thehive_admin.organisation.create(organisation={"name": name, "description": name})
    other = {"SELF": me, "OTHER": second}.get(other, other)
    with pytest.raises(TheHiveError) as excinfo:
        thehive_admin.organisation.link(org_id=me, other_org_id=other, link=link)
    assert _status(excinfo) == status
    assert thehive_admin.organisation.get(me)["links"] == []


def test_only_the_admin_organisation_manages_links(thehive, thehive_admin):
    other = _name()
    thehive_admin.organisation.create(organisation={"name": other, "description": other})
    for attempt in (
        lambda: thehive.organisation.link(org_id="main-org", other_org_id=other, link={}),
        lambda: thehive.organisation.bulk_link(org_id="main-org", links=[]),
        lambda: thehive.organisation.unlink(org_id="main-org", other_org_id=other),
    ):
        with pytest.raises(TheHiveError) as excinfo:
            attempt()
        assert _status(excinfo) == 403


# --------------------------------------------------------------------------- visibility


def test_organisations_see_themselves_and_their_links_only(thehive_admin, fresh_org):
    name, client = fresh_org
    partner, stranger = _name(), _name()
    for other in (partner, stranger):
        thehive_admin.organisation.create(organisation={"name": other, "description": other})
    assert [o["name"] for o in client.organisation.find()] == [name]
    thehive_admin.organisation.link(org_id=name, other_org_id=partner, link={})
    assert sorted(o["name"] for o in client.organisation.find()) == sorted([name, partner])
    assert client.organisation.count() == 2
    assert client.organisation.get(partner)["name"] == partner
    assert client.organisation.list_links(org_id=name)[0]["organisation"]["name"] == partner
    for hidden in (stranger, "admin", "main-org"):
        with pytest.raises(TheHiveError) as excinfo:
            client.organisation.get(hidden)
        assert _status(excinfo) == 404
        with pytest.raises(TheHiveError) as excinfo:
            client.organisation.list_links(org_id=hidden)
        assert _status(excinfo) == 404
        rows = client.session.make_request(
            "POST",
            "/api/v1/query",
            json={"query": [{"_name": "getOrganisation", "idOrName": hidden}]},
        )
        assert rows == []
    # The admin organisation sees every organisation.
    everybody = {o["name"] for o in thehive_admin.organisation.find()}
    assert {name, partner, stranger, "admin", "main-org"} <= everybody
    thehive_admin.organisation.unlink(org_id=name, other_org_id=partner)
    with pytest.raises(TheHiveError):
        client.organisation.get(partner)


def test_organisation_users_traversal(thehive, fresh_org):
    name, client = fresh_org
    login = unique_login()
    client.user.create(user={"login": login, "name": "u", "profile": "analyst"})
    rows = client.session.make_request(
        "POST",
        "/api/v1/query",
        json={"query": [{"_name": "getOrganisation", "idOrName": name}, {"_name": "users"}]},
    )
    assert sorted(r["login"] for r in rows) == sorted([login, "admin@thehive.local"])


def test_sharing_profiles(thehive):
    profiles = thehive.organisation.list_sharing_profiles()
    assert profiles and all(
        set(p)
        >= {
            "name",
            "description",
            "autoShare",
            "editable",
            "permissionProfile",
            "taskRule",
            "observableRule",
        }
        for p in profiles
    )


def test_unknown_organisation_is_404(server):
    response = server.http("admin").get(server.url + "/api/v1/organisation/~999999999")
    assert response.status_code == 404 and response.json()["type"] == "NotFoundError"
    response = requests.patch(
        server.url + "/api/v1/organisation/nope",
        json={"description": "x"},
        auth=("admin@thehive.local", "secret"),
    )
    assert response.status_code == 404
