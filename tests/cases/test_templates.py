"""Cases created from templates and with children (tasks, pages, custom fields), applying a
template afterwards, custom field values, and deletion removing everything below a case."""

from __future__ import annotations

import pytest
from thehive4py.errors import TheHiveError
from thehive4py.query.filters import Eq

from tests.cases.conftest import assert_error, new_case, unique


@pytest.fixture
def custom_field(thehive_admin):
    name = unique("cf")
    thehive_admin.custom_field.create(
        custom_field={"name": name, "group": "g", "description": "d", "type": "string"}
    )
    return name


@pytest.fixture
def template(thehive, custom_field):
    page = thehive.page_template.create(
        page_template={"title": unique("page"), "content": "# hello", "category": "notes"}
    )
    return thehive.case_template.create(
        case_template={
            "name": unique("template"),
            "titlePrefix": "[TPL]  ",
            "severity": 3,
            "tlp": 3,
            "pap": 1,
            "flag": True,
            "summary": "template summary",
            "tags": ["from-template"],
            "tasks": [{"title": "template task 1"}, {"title": "template task 2", "order": 1}],
            "customFields": [{"name": custom_field, "value": "template value"}],
            "pageTemplateIds": [page["_id"]],
        }
    )


def test_create_from_template(thehive, template, custom_field):
    case = thehive.case.create(
        case={
            "title": "incident",
            "description": "d",
            "caseTemplate": template["name"],
            "tags": ["mine"],
            "tasks": [{"title": "my task"}],
        }
    )
    assert case["title"] == "[TPL] incident"
    assert (case["severity"], case["tlp"], case["pap"], case["flag"]) == (3, 3, 1, True)
    assert case["summary"] == "template summary"
    assert case["tags"] == ["mine", "from-template"]
    assert [(cf["name"], cf["value"]) for cf in case["customFields"]] == [
        (custom_field, "template value")
    ]
    titles = [t["title"] for t in thehive.case.find_tasks(case["_id"])]
    assert sorted(titles) == ["my task", "template task 1", "template task 2"]
    assert len(thehive.case.find_pages(case["_id"])) == 1
    assert thehive.case.get(case["_id"]) == case


def test_input_values_override_the_template(thehive, template, custom_field):
    case = thehive.case.create(
        case={
            "title": "incident",
            "description": "d",
            "caseTemplate": template["_id"],
            "severity": 1,
            "customFields": {custom_field: "mine"},
        }
    )
    assert case["severity"] == 1
    assert [cf["value"] for cf in case["customFields"]] == ["mine"]


def test_custom_fields_filter_and_delete(thehive, custom_field):
    value = unique("value")
    case = new_case(thehive, customFields=[{"name": custom_field, "value": value}])
    found = thehive.case.find(filters=Eq(f"customFields.{custom_field}", value))
    assert [c["_id"] for c in found] == [case["_id"]]

    thehive.case.update(case["_id"], {f"customFields.{custom_field}": "other"})
    assert thehive.case.get(case["_id"])["customFields"][0]["value"] == "other"

    value_id = thehive.case.get(case["_id"])["customFields"][0]["_id"]
    thehive.case.delete_custom_field(value_id)
    assert thehive.case.get(case["_id"])["customFields"] == []


def test_apply_case_template(thehive, template):
    case = new_case(thehive, tags=["existing"])
    thehive.case.apply_case_template(
        {
            "ids": [case["_id"]],
            "caseTemplate": template["name"],
            "updateTags": True,
            "updateSeverity": True,
            "updateTitlePrefix": True,
            "importTasks": ["template task 2"],
        }
    )
    updated = thehive.case.get(case["_id"])
    assert set(template["tags"]) <= set(updated["tags"]) and "existing" in updated["tags"]
    assert updated["severity"] == 3
    assert updated["title"] == "[TPL] " + case["title"]
    assert [t["title"] for t in thehive.case.find_tasks(case["_id"])] == ["template task 2"]


def test_apply_unknown_template_changes_nothing(thehive, http):
    case = new_case(thehive)
    response = http(
        "POST",
        "/api/v1/case/_bulk/caseTemplate",
        json={"ids": [case["_id"]], "caseTemplate": unique(), "updateTags": True},
    )
    assert_error(response, 404)
    assert thehive.case.get(case["_id"]) == case


def test_delete_removes_everything_below_the_case(thehive):
    case = new_case(thehive, tasks=[{"title": "t1"}])
    case_id = case["_id"]
    thehive.case.create_observable(case_id, {"dataType": "domain", "data": unique() + ".example"})
    thehive.comment.create_in_case(case_id, {"message": "a comment"})
    thehive.timeline.create_event(case_id, {"date": 1, "title": "event"})
    task_id = thehive.case.find_tasks(case_id)[0]["_id"]
    observable_id = thehive.case.find_observables(case_id)[0]["_id"]
    alert = thehive.alert.create(
        alert={
            "type": "t",
            "source": "s",
            "sourceRef": unique(),
            "title": "alert",
            "description": "d",
        }
    )
    thehive.alert.import_into_case(alert["_id"], case_id)

    thehive.case.delete(case_id)
    with pytest.raises(TheHiveError):
        thehive.task.get(task_id)
    with pytest.raises(TheHiveError):
        thehive.observable.get(observable_id)
    assert "caseId" not in thehive.alert.get(alert["_id"])


def test_mandatory_custom_fields_must_be_filled_to_close(thehive, thehive_admin, http):
    name = unique("mandatory")
    thehive_admin.custom_field.create(
        custom_field={
            "name": name,
            "group": "g",
            "description": "d",
            "type": "string",
            "mandatory": True,
        }
    )
    case = new_case(thehive, customFields=[{"name": name, "value": None}])
    response = http(
        "PATCH", f"/api/v1/case/{case['_id']}", json={"status": "TruePositive", "summary": "s"}
    )
    assert_error(response, 400)
    assert thehive.case.get(case["_id"]) == case
    thehive.case.update(case["_id"], {f"customFields.{name}": "filled"})
    thehive.case.close(case["_id"], "TruePositive", "s")
    assert thehive.case.get(case["_id"])["stage"] == "Closed"
