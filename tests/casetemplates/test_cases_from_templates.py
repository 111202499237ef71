"""A case created from a case template gets its defaults, tasks, custom field values and
pages (the cases package applies the template through this package's interfaces)."""

from __future__ import annotations

import uuid

import pytest
from thehive4py.errors import TheHiveError


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def test_case_from_template(thehive, thehive_admin):
    field = thehive_admin.custom_field.create(
        custom_field={"name": unique("owner"), "group": "g", "description": "d", "type": "string"}
    )
    other = thehive_admin.custom_field.create(
        custom_field={"name": unique("n"), "group": "g", "description": "d", "type": "integer"}
    )
    page_template = thehive.page_template.create(
        page_template={"title": "Playbook", "content": "1. breathe", "category": "howto"}
    )
    template = thehive.case_template.create(
        case_template={
            "name": unique("phishing"),
            "titlePrefix": "[PHISH] ",
            "severity": 3,
            "tags": ["phishing"],
            "tasks": [{"title": "Triage"}, {"title": "Block sender", "order": 1}],
            "customFields": {field["name"]: "SOC", other["name"]: 1},
            "pageTemplateIds": [page_template["_id"]],
        }
    )
    case = thehive.case.create(
        case={
            "title": "suspicious mail",
            "description": "d",
            "caseTemplate": template["name"],
            "customFields": {other["name"]: 2},
        }
    )
    assert case["title"] == "[PHISH] suspicious mail"
    assert case["severity"] == 3 and "phishing" in case["tags"]
    values = {c["name"]: c["value"] for c in case["customFields"]}
    assert values == {field["name"]: "SOC", other["name"]: 2}
    tasks = thehive.case.find_tasks(case_id=case["_id"])
    assert sorted(t["title"] for t in tasks) == ["Block sender", "Triage"]
    assert {t["_id"] for t in tasks}.isdisjoint(t["_id"] for t in template["tasks"])
    [page] = thehive.case.find_pages(case_id=case["_id"])
    assert (page["title"], page["content"], page["category"]) == ("Playbook", "1. breathe", "howto")
    # the template is unchanged by the case
    assert thehive.case_template.get(case_template_id=template["_id"]) == template


def test_custom_field_in_use_needs_force(thehive, thehive_admin):
    field = thehive_admin.custom_field.create(
        custom_field={"name": unique("used"), "group": "g", "description": "d", "type": "boolean"}
    )
    case = thehive.case.create(
        case={"title": unique("c"), "description": "d", "customFields": {field["name"]: True}}
    )
    with pytest.raises(TheHiveError) as error:
        thehive_admin.custom_field.delete(custom_field_id=field["_id"])
    assert error.value.response.status_code == 400
    assert thehive.case.get(case_id=case["_id"])["customFields"][0]["value"] is True
    thehive_admin.custom_field.delete(custom_field_id=field["_id"], force=True)
    assert thehive.case.get(case_id=case["_id"])["customFields"] == []
