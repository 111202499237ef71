"""Page templates (spec §11.4): per-organisation markdown templates for case pages."""

from __future__ import annotations

import uuid

import pytest
from thehive4py.errors import TheHiveError
from thehive4py.query.filters import Eq


def new_template(client, **overrides) -> dict:
    body = {
        "title": "tpl-" + uuid.uuid4().hex[:10],
        "content": "# Heading\nbody",
        "category": "playbook",
    }
    body.update(overrides)
    return client.page_template.create(page_template=body)


def test_create_equals_get(thehive):
    template = new_template(thehive, order=3)
    assert template["_type"] == "PageTemplate"
    assert template["order"] == 3
    assert template["extraData"] == {}
    assert thehive.page_template.get(page_template_id=template["_id"]) == template


def test_order_defaults_to_zero(thehive):
    assert new_template(thehive)["order"] == 0


def test_update_title_and_content(thehive):
    template = new_template(thehive)
    thehive.page_template.update(
        page_template_id=template["_id"], fields={"title": "renamed", "content": "new"}
    )
    updated = thehive.page_template.get(page_template_id=template["_id"])
    assert (updated["title"], updated["content"]) == ("renamed", "new")
    assert updated["category"] == template["category"]
    assert updated["_updatedBy"] == "admin@thehive.local"


def test_delete(thehive):
    template = new_template(thehive)
    thehive.page_template.delete(page_template_id=template["_id"])
    with pytest.raises(TheHiveError):
        thehive.page_template.get(page_template_id=template["_id"])


def test_list_is_exactly_the_organisations_templates(fresh_org):
    _name, client = fresh_org
    created = [new_template(client), new_template(client)]
    assert client.page_template.find() == created
    assert client.page_template.find(filters=Eq("title", created[1]["title"])) == [created[1]]


@pytest.mark.parametrize(
    "body",
    [
        {"content": "c", "category": "c"},
        {"title": "", "content": "c", "category": "c"},
        {"title": "t", "category": "c"},
        {"title": "t", "content": "c"},
        {"title": "t", "content": "c", "category": "c", "order": "first"},
        {"title": "t" * 513, "content": "c", "category": "c"},
    ],
)
def test_bad_input_is_rejected(server, fresh_org, body):
    name, client = fresh_org
    response = server.http(name).post(server.url + "/api/v1/pageTemplate", json=body)
    assert response.status_code == 400
    assert {"type", "message"} <= set(response.json())
    assert client.page_template.find() == []


def test_bad_update_changes_nothing(server, thehive):
    template = new_template(thehive)
    response = server.http().patch(
        server.url + f"/api/v1/pageTemplate/{template['_id']}",
        json={"title": "ok", "content": None},
    )
    assert response.status_code == 400
    assert thehive.page_template.get(page_template_id=template["_id"]) == template


def test_other_organisations_cannot_see_or_change_them(thehive, fresh_org):
    template = new_template(thehive)
    _name, other = fresh_org
    with pytest.raises(TheHiveError):
        other.page_template.get(page_template_id=template["_id"])
    for call in (
        lambda: other.page_template.update(
            page_template_id=template["_id"], fields={"title": "hijack"}
        ),
        lambda: other.page_template.delete(page_template_id=template["_id"]),
    ):
        with pytest.raises(TheHiveError) as error:
            call()
        assert error.value.response.status_code == 404
    assert thehive.page_template.get(page_template_id=template["_id"]) == template


def test_case_template_count_extra_data(thehive):
    template = new_template(thehive)
    thehive.case_template.create(
        case_template={"name": "ct-" + uuid.uuid4().hex[:8], "pageTemplateIds": [template["_id"]]}
    )
    result = thehive.session.make_request(
        "POST",
        "/api/v1/query",
        json={
            "query": [
                {"_name": "getPageTemplate", "idOrName": template["_id"]},
                {"_name": "page", "from": 0, "to": 1, "extraData": ["caseTemplateCount"]},
            ]
        },
    )
    assert result[0]["extraData"] == {"caseTemplateCount": 1}
