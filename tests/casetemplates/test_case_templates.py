"""Case templates (spec §12): CRUD by id or name, tasks, custom field defaults, linked page
templates, queries and traversals."""

from __future__ import annotations

import uuid

import pytest
from thehive4py.errors import TheHiveError
from thehive4py.query.filters import Eq
from thehive4py.query.sort import Asc


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def string_field(thehive_admin) -> dict:
    return thehive_admin.custom_field.create(
        custom_field={
            "name": unique("bu"),
            "group": "g",
            "description": "business unit",
            "type": "string",
            "options": ["Sales", "R&D"],
        }
    )


@pytest.fixture
def number_field(thehive_admin) -> dict:
    return thehive_admin.custom_field.create(
        custom_field={"name": unique("n"), "group": "g", "description": "d", "type": "integer"}
    )


def new_template(client, **overrides) -> dict:
    body = {"name": unique("ct")}
    body.update(overrides)
    return client.case_template.create(case_template=body)


def query(client, *operations) -> list:
    return client.session.make_request("POST", "/api/v1/query", json={"query": list(operations)})


def test_minimal_template_renders_defaults(thehive):
    template = new_template(thehive)
    assert template["_type"] == "CaseTemplate"
    assert template["displayName"] == template["name"]
    assert template["tags"] == [] and template["tasks"] == [] and template["customFields"] == []
    assert template["flag"] is False
    for absent in ("severity", "tlp", "pap", "titlePrefix", "description", "summary"):
        assert absent not in template
    assert thehive.case_template.get(case_template_id=template["_id"]) == template


def test_full_template_create_equals_get_by_id_and_by_name(thehive, string_field, number_field):
    template = new_template(
        thehive,
        displayName="Phishing",
        titlePrefix="[PHISH]",
        description="Phishing playbook",
        severity=3,
        tags=["phishing", "mail"],
        flag=True,
        tlp=3,
        pap=1,
        summary="s",
        tasks=[
            {"title": "Triage", "group": "init", "order": 0},
            {"title": "Contain", "order": 1, "mandatory": True, "description": "block"},
        ],
        customFields=[
            {"name": string_field["name"], "value": "Sales", "order": 1},
            {"name": number_field["name"], "value": 7, "order": 0},
        ],
    )
    assert template["severityLabel"] == "HIGH"
    assert template["tlpLabel"] == "AMBER+STRICT" and template["papLabel"] == "GREEN"
    assert [t["title"] for t in template["tasks"]] == ["Triage", "Contain"]
    task = template["tasks"][1]
    assert task["_type"] == "Task" and task["status"] == "Waiting" and task["mandatory"] is True
    assert task["group"] == "default" and task["description"] == "block"
    assert [(c["name"], c["value"], c["order"]) for c in template["customFields"]] == [
        (number_field["name"], 7, 0),
        (string_field["name"], "Sales", 1),
    ]
    assert template["customFields"][0]["type"] == "integer"
    assert thehive.case_template.get(case_template_id=template["_id"]) == template
    assert thehive.case_template.get(case_template_id=template["name"]) == template
    assert query(thehive, {"_name": "getCaseTemplate", "idOrName": template["name"]}) == [template]


def test_object_form_of_custom_fields(thehive, string_field, number_field):
    template = new_template(
        thehive, customFields={string_field["name"]: "R&D", number_field["name"]: [1, 2]}
    )
    values = [(c["name"], c["value"]) for c in template["customFields"]]
    assert values == [
        (string_field["name"], "R&D"),
        (number_field["name"], 1),
        (number_field["name"], 2),
    ]


def test_duplicate_name_in_the_same_organisation(thehive, fresh_org):
    template = new_template(thehive)
    with pytest.raises(TheHiveError) as error:
        new_template(thehive, name=template["name"])
    assert error.value.response.status_code == 400
    assert error.value.response.json()["type"] == "CreateError"
    # another organisation may use the same name
    _org, other = fresh_org
    assert new_template(other, name=template["name"])["name"] == template["name"]


def test_update_name_description_and_replace_tasks(thehive):
    template = new_template(thehive, tasks=[{"title": "old"}])
    new_name = unique("renamed")
    thehive.case_template.update(
        case_template_id=template["_id"],
        fields={"name": new_name, "description": "updated", "tasks": [{"title": "new"}]},
    )
    updated = thehive.case_template.get(case_template_id=template["_id"])
    assert updated["name"] == new_name and updated["description"] == "updated"
    assert [t["title"] for t in updated["tasks"]] == ["new"]
    assert updated["_updatedBy"] == "admin@thehive.local"
    with pytest.raises(TheHiveError):
        thehive.case_template.get(case_template_id=template["name"])
    old_task = template["tasks"][0]["_id"]
    with pytest.raises(TheHiveError):
        thehive.task.get(task_id=old_task)


def test_update_with_null_clears_optional_fields(thehive):
    template = new_template(thehive, severity=4, summary="x", titlePrefix="[X]")
    thehive.case_template.update(
        case_template_id=template["_id"],
        fields={"severity": None, "summary": None, "titlePrefix": None},
    )
    updated = thehive.case_template.get(case_template_id=template["_id"])
    for key in ("severity", "severityLabel", "summary", "titlePrefix"):
        assert key not in updated


def test_delete(thehive):
    template = new_template(thehive, tasks=[{"title": "t"}])
    thehive.case_template.delete(case_template_id=template["name"])
    with pytest.raises(TheHiveError) as error:
        thehive.case_template.get(case_template_id=template["_id"])
    assert error.value.response.status_code == 404
    with pytest.raises(TheHiveError):
        thehive.task.get(task_id=template["tasks"][0]["_id"])


def test_list_is_exactly_the_organisations_templates(fresh_org):
    _org, client = fresh_org
    created = [new_template(client), new_template(client, tags=["x"])]
    assert client.case_template.find(sortby=Asc("_createdAt")) == created
    assert client.case_template.find(filters=Eq("tags", "x")) == [created[1]]


def test_link_page_templates_replaces_the_set(thehive):
    pages = [
        thehive.page_template.create(
            page_template={"title": unique("p"), "content": "c", "category": "k"}
        )
        for _ in range(3)
    ]
    template = new_template(thehive, pageTemplateIds=[pages[0]["_id"]])
    assert [p["_id"] for p in thehive.case_template.find_page_templates(template["_id"])] == [
        pages[0]["_id"]
    ]
    wanted = sorted([pages[1]["_id"], pages[2]["_id"]])
    thehive.case_template.link_page_templates(
        case_template_id=template["name"], page_template_ids=wanted
    )
    linked = thehive.case_template.find_page_templates(case_template_id=template["_id"])
    assert sorted(p["_id"] for p in linked) == wanted
    assert linked[0] == thehive.page_template.get(page_template_id=linked[0]["_id"])
    headers = query(
        thehive,
        {"_name": "getCaseTemplate", "idOrName": template["_id"]},
        {"_name": "page", "from": 0, "to": 1, "extraData": ["pageTemplateHeaders"]},
    )[0]["extraData"]["pageTemplateHeaders"]
    assert sorted(h["_id"] for h in headers) == wanted
    back = query(
        thehive,
        {"_name": "getPageTemplate", "idOrName": pages[1]["_id"]},
        {"_name": "caseTemplates"},
    )
    assert [t["_id"] for t in back] == [template["_id"]]


def test_tasks_traversal(thehive):
    template = new_template(thehive, tasks=[{"title": "a"}, {"title": "b"}])
    tasks = query(
        thehive, {"_name": "getCaseTemplate", "idOrName": template["_id"]}, {"_name": "tasks"}
    )
    assert tasks == template["tasks"]
    # template tasks are not case tasks
    assert thehive.task.find(filters=Eq("_id", template["tasks"][0]["_id"])) == []


def test_filter_and_sort_on_custom_fields(fresh_org, number_field, string_field):
    _org, client = fresh_org
    name = number_field["name"]
    low = new_template(client, customFields={name: 5, string_field["name"]: "Sales"})
    high = new_template(client, customFields={name: 20})
    new_template(client)
    field = f"customFields.{name}"

    def names(*operations) -> list[str]:
        return [t["name"] for t in query(client, {"_name": "listCaseTemplate"}, *operations)]

    assert names({"_name": "filter", "_eq": {"_field": field, "_value": 5}}) == [low["name"]]
    assert names({"_name": "filter", "_gt": {"_field": field, "_value": 6}}) == [high["name"]]
    assert names(
        {"_name": "filter", "_has": field}, {"_name": "sort", "_fields": [{field: "desc"}]}
    ) == [high["name"], low["name"]]
    text = f"customFields.{string_field['name']}"
    assert names({"_name": "filter", "_like": {"_field": text, "_value": "sal"}}) == [low["name"]]
    assert names({"_name": "filter", "_eq": {"_field": "customFields.nope", "_value": 1}}) == []


@pytest.mark.parametrize(
    "overrides",
    [
        {"severity": 9},
        {"tlp": -1},
        {"tags": 5},
        {"titlePrefix": "x" * 65},
        {"tasks": [{"group": "no title"}]},
        {"tasks": [{"title": "t", "status": "Sleeping"}]},
        {"tasks": "Triage"},
        {"pageTemplateIds": ["~999999999"]},
        {"customFields": [{"name": "no-such-field", "value": 1}]},
    ],
)
def test_bad_input_creates_nothing(server, fresh_org, overrides):
    org, client = fresh_org
    body = {"name": unique("bad"), **overrides}
    response = server.http(org).post(server.url + "/api/v1/caseTemplate", json=body)
    assert 400 <= response.status_code < 500, response.text
    assert {"type", "message"} <= set(response.json())
    assert client.case_template.find() == []


def test_bad_custom_field_values_are_rejected(server, fresh_org, string_field, number_field):
    org, client = fresh_org
    for values in (
        {string_field["name"]: "Marketing"},  # not one of the options
        {string_field["name"]: 3},
        {number_field["name"]: "three"},
        {number_field["name"]: 1.5},
        {number_field["name"]: True},
    ):
        response = server.http(org).post(
            server.url + "/api/v1/caseTemplate",
            json={"name": unique("bad"), "customFields": values},
        )
        assert response.status_code == 400, values
    assert client.case_template.find() == []


def test_bad_update_changes_nothing(server, thehive):
    template = new_template(thehive, tasks=[{"title": "keep"}], severity=2)
    response = server.http().patch(
        server.url + f"/api/v1/caseTemplate/{template['_id']}",
        json={"description": "changed", "tasks": [{"title": "new"}], "severity": 5},
    )
    assert response.status_code == 400
    assert thehive.case_template.get(case_template_id=template["_id"]) == template


def test_renaming_onto_an_existing_name_fails(thehive):
    first, second = new_template(thehive), new_template(thehive)
    with pytest.raises(TheHiveError) as error:
        thehive.case_template.update(case_template_id=second["_id"], fields={"name": first["name"]})
    assert error.value.response.json()["type"] == "CreateError"
    assert thehive.case_template.get(case_template_id=second["_id"]) == second


def test_other_organisations_cannot_see_or_change_them(thehive, fresh_org):
    template = new_template(thehive, tasks=[{"title": "secret"}])
    _org, other = fresh_org
    for call in (
        lambda: other.case_template.get(case_template_id=template["_id"]),
        lambda: other.case_template.get(case_template_id=template["name"]),
        lambda: other.case_template.update(
            case_template_id=template["_id"], fields={"description": "hijack"}
        ),
        lambda: other.case_template.delete(case_template_id=template["_id"]),
        lambda: other.case_template.link_page_templates(template["_id"], []),
        lambda: other.task.get(task_id=template["tasks"][0]["_id"]),
    ):
        with pytest.raises(TheHiveError) as error:
            call()
        assert error.value.response.status_code == 404
    assert query(other, {"_name": "getCaseTemplate", "idOrName": template["_id"]}) == []
    assert thehive.case_template.get(case_template_id=template["_id"]) == template


def test_page_templates_of_another_organisation_cannot_be_linked(thehive, fresh_org):
    _org, other = fresh_org
    foreign = other.page_template.create(
        page_template={"title": "t", "content": "c", "category": "k"}
    )
    template = new_template(thehive)
    with pytest.raises(TheHiveError) as error:
        thehive.case_template.link_page_templates(template["_id"], [foreign["_id"]])
    assert error.value.response.status_code == 404
    assert thehive.case_template.find_page_templates(template["_id"]) == []
