"""Case metrics (TheHive 4's, kept on the v1 API): definitions under ``/api/v1/caseMetric``
(platform-wide, ``manageCustomField``), values on cases (``metrics: {name: number}``) and their
defaults on case templates, copied into the cases made from them."""

from __future__ import annotations

import uuid

import pytest


def unique(prefix: str = "metric") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def admin(server):
    """Plain HTTP as the platform administrator (admin organisation)."""
    return server.http("admin")


@pytest.fixture
def analyst(server):
    """Plain HTTP as main-org's org-admin (no manageCustomField)."""
    return server.http("main-org")


def url(server, path: str) -> str:
    return server.url + "/api/v1" + path


def new_metric(server, admin, **overrides) -> dict:
    body = {"name": unique(), "title": "Hours spent", "description": "analyst hours"}
    body.update(overrides)
    answer = admin.post(url(server, "/caseMetric"), json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()


def listed(server, session) -> list[dict]:
    answer = session.get(url(server, "/caseMetric"))
    assert answer.status_code == 200, answer.text
    return answer.json()


def audit_count(server, admin, object_type: str = "CaseMetric") -> int:
    query = {
        "query": [
            {"_name": "listAudit"},
            {"_name": "filter", "_eq": {"_field": "objectType", "_value": object_type}},
            {"_name": "count"},
        ]
    }
    answer = admin.post(url(server, "/query"), json=query)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_metric_is_created_read_updated_and_deleted(server, admin, analyst):
    metric = new_metric(server, admin)
    assert metric["_type"] == "CaseMetric"
    assert metric["title"] == "Hours spent"
    # every organisation reads the platform-wide definitions
    assert metric in listed(server, analyst)
    assert analyst.get(url(server, f"/caseMetric/{metric['name']}")).json() == metric
    answer = admin.patch(url(server, f"/caseMetric/{metric['_id']}"), json={"title": "Hours"})
    assert answer.status_code == 204, answer.text
    changed = admin.get(url(server, f"/caseMetric/{metric['_id']}")).json()
    assert changed["title"] == "Hours" and changed["_updatedBy"] == "admin@thehive.local"
    assert admin.delete(url(server, f"/caseMetric/{metric['_id']}")).status_code == 204
    assert admin.get(url(server, f"/caseMetric/{metric['_id']}")).status_code == 404


def test_the_title_defaults_to_the_name(server, admin):
    metric = new_metric(server, admin, title=None, description=None)
    assert metric["title"] == metric["name"] and metric["description"] == ""


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": ""},
        {"name": "has space"},
        {"name": "x" * 65},
        {"name": 42},
        {"name": "ok-name", "title": ""},
        {"name": "ok-name", "description": ["not", "text"]},
    ],
    ids=str,
)
def test_bad_definitions_are_refused_and_nothing_is_made(server, admin, body):
    before = listed(server, admin)
    events = audit_count(server, admin)
    answer = admin.post(url(server, "/caseMetric"), json=body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["type"] in ("AttributeCheckingError", "BadRequest")
    assert listed(server, admin) == before
    assert audit_count(server, admin) == events


def test_a_duplicate_name_is_a_create_error(server, admin):
    metric = new_metric(server, admin)
    answer = admin.post(url(server, "/caseMetric"), json={"name": metric["name"]})
    assert answer.status_code == 400 and answer.json()["type"] == "CreateError"


def test_the_name_cannot_change(server, admin):
    metric = new_metric(server, admin)
    answer = admin.patch(url(server, f"/caseMetric/{metric['_id']}"), json={"name": "renamed"})
    assert answer.status_code == 400, answer.text
    assert admin.get(url(server, f"/caseMetric/{metric['_id']}")).json() == metric


def test_only_the_platform_administrator_manages_metrics(server, admin, analyst):
    metric = new_metric(server, admin)
    events = audit_count(server, admin)
    refused = [
        analyst.post(url(server, "/caseMetric"), json={"name": unique()}),
        analyst.patch(url(server, f"/caseMetric/{metric['_id']}"), json={"title": "no"}),
        analyst.delete(url(server, f"/caseMetric/{metric['_id']}")),
    ]
    assert [answer.status_code for answer in refused] == [403, 403, 403]
    assert all(answer.json()["type"] == "AuthorizationError" for answer in refused)
    assert admin.get(url(server, f"/caseMetric/{metric['_id']}")).json() == metric
    assert audit_count(server, admin) == events


def test_each_change_writes_one_audit_event(server, admin):
    events = audit_count(server, admin)
    metric = new_metric(server, admin)
    admin.patch(url(server, f"/caseMetric/{metric['_id']}"), json={"description": "changed"})
    admin.patch(url(server, f"/caseMetric/{metric['_id']}"), json={"description": "changed"})
    admin.delete(url(server, f"/caseMetric/{metric['_id']}"))
    assert audit_count(server, admin) == events + 3  # the same description twice changes once


def test_a_template_default_is_copied_into_its_cases_and_input_wins(server, admin, analyst):
    hours, losses = new_metric(server, admin), new_metric(server, admin)
    template = {
        "name": unique("template"),
        "metrics": {hours["name"]: 2, losses["name"]: 1.5},
    }
    answer = analyst.post(url(server, "/caseTemplate"), json=template)
    assert answer.status_code == 201, answer.text
    assert answer.json()["metrics"] == {hours["name"]: 2, losses["name"]: 1.5}
    body = {
        "title": "from template",
        "description": "d",
        "caseTemplate": template["name"],
        "metrics": {hours["name"]: 7},
    }
    case = analyst.post(url(server, "/case"), json=body).json()
    assert case["metrics"] == {hours["name"]: 7, losses["name"]: 1.5}
    assert analyst.get(url(server, f"/case/{case['_id']}")).json()["metrics"] == case["metrics"]


def test_case_metrics_are_updated_as_numbers(server, admin, analyst):
    hours = new_metric(server, admin)
    case = analyst.post(url(server, "/case"), json={"title": "m", "description": "d"}).json()
    assert case["metrics"] == {}
    answer = analyst.patch(
        url(server, f"/case/{case['_id']}"), json={f"metrics.{hours['name']}": 3}
    )
    assert answer.status_code == 204, answer.text
    assert analyst.get(url(server, f"/case/{case['_id']}")).json()["metrics"] == {hours["name"]: 3}
    answer = analyst.patch(url(server, f"/case/{case['_id']}"), json={"metrics": {}})
    assert answer.status_code == 204, answer.text
    assert analyst.get(url(server, f"/case/{case['_id']}")).json()["metrics"] == {}


@pytest.mark.parametrize(
    "update",
    [
        lambda name: {f"metrics.{name}": "three"},
        lambda name: {f"metrics.{name}": True},
        lambda name: {f"metrics.{name}": 2**60},
        lambda name: {"metrics": [1, 2]},
        lambda name: {"metrics": {"no-such-metric": 1}},
    ],
    ids=["text", "boolean", "huge", "list", "unknown"],
)
def test_bad_case_metric_values_are_refused_and_nothing_changes(server, admin, analyst, update):
    hours = new_metric(server, admin)
    body = {"title": "m", "description": "d", "metrics": {hours["name"]: 1}}
    case = analyst.post(url(server, "/case"), json=body).json()
    answer = analyst.patch(url(server, f"/case/{case['_id']}"), json=update(hours["name"]))
    assert 400 <= answer.status_code < 500, answer.text
    assert set(answer.json()) >= {"type", "message"}
    after = analyst.get(url(server, f"/case/{case['_id']}")).json()
    assert after["metrics"] == {hours["name"]: 1}
    assert after.get("_updatedAt") == case.get("_updatedAt")


def test_deleting_a_used_metric_needs_force(server, admin, analyst):
    hours = new_metric(server, admin)
    body = {"title": "m", "description": "d", "metrics": {hours["name"]: 4}}
    case = analyst.post(url(server, "/case"), json=body).json()
    answer = admin.delete(url(server, f"/caseMetric/{hours['_id']}"))
    assert answer.status_code == 400 and "force" in answer.json()["message"]
    assert analyst.get(url(server, f"/case/{case['_id']}")).json()["metrics"] == {hours["name"]: 4}
    assert admin.delete(url(server, f"/caseMetric/{hours['_id']}?force=true")).status_code == 204
    assert analyst.get(url(server, f"/case/{case['_id']}")).json()["metrics"] == {}


def test_a_merge_keeps_the_metrics_of_the_cases_merged(server, admin, analyst):
    hours, users = new_metric(server, admin), new_metric(server, admin)
    first = analyst.post(
        url(server, "/case"),
        json={"title": "one", "description": "d", "metrics": {hours["name"]: 1}},
    ).json()
    second = analyst.post(
        url(server, "/case"),
        json={"title": "two", "description": "d", "metrics": {hours["name"]: 5, users["name"]: 9}},
    ).json()
    answer = analyst.post(url(server, f"/case/_merge/{first['_id']},{second['_id']}"))
    assert answer.status_code == 201, answer.text
    # one case's value per metric (as for custom fields), the other fills the gaps
    merged = answer.json()["metrics"]
    assert set(merged) == {hours["name"], users["name"]}
    assert merged[hours["name"]] in (1, 5) and merged[users["name"]] == 9


def test_a_case_archive_carries_its_metrics(server, admin, analyst):
    hours = new_metric(server, admin)
    case = analyst.post(
        url(server, "/case"),
        json={"title": "archived", "description": "d", "metrics": {hours["name"]: 0.5}},
    ).json()
    archive = analyst.get(url(server, f"/case/{case['_id']}/export"), params={"password": "pw"})
    assert archive.status_code == 200, archive.text
    answer = analyst.post(
        url(server, "/case/import"),
        files={"file": ("case.thar", archive.content, "application/octet-stream")},
        data={"_json": '{"password": "pw"}'},
    )
    assert answer.status_code == 200, answer.text
    imported = answer.json()["case"]
    assert imported["metrics"] == {hours["name"]: 0.5}
