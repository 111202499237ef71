"""Case templates and case metrics in the browser (issue 9, items 4 and 5): a template built
in the editor (tasks in two groups reordered by dragging, a custom field and a metric with
defaults) makes the case an alert is imported into; export and import between
organisations; a bad import file; metric definitions and a case's metric on its page."""

from __future__ import annotations

import json
import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.harness import ADMIN_LOGIN, ADMIN_PASSWORD
from tests.ui.conftest import login, make_user, screenshot


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def api(server):
    """main-org's API as its org-admin (the platform administrator is one there)."""
    return server.http("main-org")


@pytest.fixture(scope="module")
def platform(server):
    return server.http("admin")


@pytest.fixture(scope="module")
def org_admin(server):
    return make_user(server, "main-org", "org-admin")


@pytest.fixture(scope="module")
def definitions(server, platform):
    """A custom field and a case metric, defined by the platform administrator."""
    field = unique("business-unit")
    answer = platform.post(
        server.url + "/api/v1/customField",
        json={"name": field, "displayName": "Business unit", "type": "string", "description": "d"},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    metric = unique("hours")
    answer = platform.post(
        server.url + "/api/v1/caseMetric",
        json={"name": metric, "title": "Hours spent", "description": "analyst hours"},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    return {"field": field, "metric": metric}


def task_titles(page: Page) -> list[str]:
    return page.locator("#task-list > li").evaluate_all(
        "items => items.map(i => i.querySelector('.task-title').value)"
    )


def add_task(page: Page, title: str, group: str, mandatory: bool = False) -> None:
    page.fill("#new-task-title", title)
    page.fill("#new-task-group", group)
    if mandatory:
        page.check("#new-task-mandatory")
    page.click("#add-task")
    expect(page.locator(f'#task-list > li[data-task="{title}"]')).to_be_visible()


def build_template(page: Page, server, definitions, name: str) -> str:
    """Build a template in the editor; returns the editor's URL."""
    page.goto(server.url + "/admin/case-templates")
    page.fill("#template-name", name)
    page.fill("#template-display-name", "Phishing response")
    page.click("#create-template")
    expect(page).to_have_url(re.compile(r"/admin/case-templates/~\d+$"))
    editor = page.url
    page.fill("#t-title-prefix", "[PHISH]")
    page.select_option("#t-severity", label="HIGH")
    page.select_option("#t-tlp", label="AMBER")
    page.fill("#t-tags", "phishing, email")
    page.fill("#t-description", "Check the **headers** first")
    expect(page.locator("#description-preview strong")).to_have_text("headers")

    add_task(page, "Collect headers", "Triage")
    add_task(page, "Block sender", "Containment", mandatory=True)
    add_task(page, "Notify users", "Triage")
    assert task_titles(page) == ["Collect headers", "Block sender", "Notify users"]
    # Drag "Notify users" by its handle onto the upper half of "Block sender".
    handle = page.locator('#task-list > li[data-task="Notify users"] [data-reorder-handle]')
    handle.drag_to(
        page.locator('#task-list > li[data-task="Block sender"]'), target_position={"x": 40, "y": 4}
    )
    assert task_titles(page) == ["Collect headers", "Notify users", "Block sender"]
    # The keyboard way: down then up again with the buttons.
    page.get_by_role("button", name="Move Collect headers down").click()
    assert task_titles(page) == ["Notify users", "Collect headers", "Block sender"]
    page.get_by_role("button", name="Move Collect headers up").focus()
    page.keyboard.press("Enter")
    assert task_titles(page) == ["Collect headers", "Notify users", "Block sender"]

    page.select_option("#add-field", value=definitions["field"])
    page.click("#add-field-button")
    page.fill(f"#cf-{definitions['field']}", "Finance")
    page.select_option("#add-metric", value=definitions["metric"])
    page.click("#add-metric-button")
    page.fill(f"#metric-{definitions['metric']}", "2.5")
    page.click("#save-template")
    expect(page.locator("#template-error")).to_have_count(0)
    # What was saved is what the editor shows again.
    assert task_titles(page) == ["Collect headers", "Notify users", "Block sender"]
    expect(page.locator(f"#cf-{definitions['field']}")).to_have_value("Finance")
    expect(page.locator(f"#metric-{definitions['metric']}")).to_have_value("2.5")
    return editor


def test_a_template_built_in_the_editor_makes_the_imported_alerts_case(
    page: Page, server, api, org_admin, definitions
):
    login(page, server, *org_admin)
    name = unique("phishing")
    build_template(page, server, definitions, name)
    screenshot(page, "admin-case-template-editor")

    alert = api.post(
        server.url + "/api/v1/alert",
        json={
            "type": "email",
            "source": "ui-tests",
            "sourceRef": unique("ref"),
            "title": "Suspicious invoice",
            "description": "d",
        },
        timeout=30,
    ).json()
    page.goto(f"{server.url}/alerts/{alert['_id']}")
    page.select_option("#import-template", label="Phishing response")
    page.click("#import-alert")
    expect(page).to_have_url(re.compile(r"/cases/\d+$"))
    number = page.url.rsplit("/", 1)[1]
    case = api.get(f"{server.url}/api/v1/case/{number}", timeout=30).json()
    assert case["title"] == "[PHISH] Suspicious invoice"
    assert {"phishing", "email"} <= set(case["tags"])
    assert case["metrics"] == {definitions["metric"]: 2.5}
    assert [(f["name"], f.get("value")) for f in case["customFields"]] == [
        (definitions["field"], "Finance")
    ]
    tasks = api.post(
        server.url + "/api/v1/query",
        json={
            "query": [
                {"_name": "getCase", "idOrName": case["_id"]},
                {"_name": "tasks"},
                {"_name": "sort", "_fields": [{"order": "asc"}]},
            ]
        },
        timeout=30,
    ).json()
    assert [(t["title"], t["group"], t["mandatory"]) for t in tasks] == [
        ("Collect headers", "Triage", False),
        ("Notify users", "Triage", False),
        ("Block sender", "Containment", True),
    ]
    # The case page shows the metric with its default, beside TheHive 5's time metrics.
    expect(page.locator(f"#metric-{definitions['metric']}")).to_have_value("2.5")

    page.goto(server.url + "/admin/case-templates")
    expect(page.locator(f'tr[data-template="{name}"]')).to_contain_text("Phishing response")
    screenshot(page, "admin-case-templates")


def test_export_then_import_into_another_organisation_gives_the_same_template(
    page: Page, server, api, definitions
):
    other = unique("templates-other")
    server.create_org(other)  # the platform administrator is its org-admin
    login(page, server, ADMIN_LOGIN, ADMIN_PASSWORD)
    page.locator("#org-menu").click()
    page.locator("button[name=organisation][value=main-org]").click()
    build_template(page, server, definitions, unique("exported"))
    with page.expect_download() as download:
        page.click("#export-template")
    exported_path = download.value.path()
    exported = json.loads(open(exported_path, encoding="utf-8").read())
    assert [t["title"] for t in exported["tasks"]] == [
        "Collect headers",
        "Notify users",
        "Block sender",
    ]
    assert exported["metrics"] == {definitions["metric"]: 2.5}
    assert not any(key.startswith("_") for key in exported)

    page.locator("#org-menu").click()
    page.locator(f"button[name=organisation][value={other}]").click()
    page.goto(server.url + "/admin/case-templates")
    page.set_input_files("#template-file", exported_path)
    page.click("#import-template")
    expect(page).to_have_url(re.compile(r"/admin/case-templates/~\d+$"))
    with page.expect_download() as again:
        page.click("#export-template")
    assert json.loads(open(again.value.path(), encoding="utf-8").read()) == exported
    listed = server.http(other).get(
        f"{server.url}/api/v1/caseTemplate/{exported['name']}", timeout=30
    )
    assert listed.status_code == 200 and listed.json()["displayName"] == "Phishing response"


def template_count(server, org: str) -> int:
    answer = server.http(org).post(
        server.url + "/api/v1/query",
        json={"query": [{"_name": "listCaseTemplate"}, {"_name": "count"}]},
        timeout=30,
    )
    assert answer.ok, answer.text
    return answer.json()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"this is not json", "The file is not JSON"),
        (b"[1, 2, 3]", "a JSON object was expected"),
        (b'{"displayName": "no name"}', "name"),
        (b'{"name": "bad-field", "customFields": {"no-such-field": 1}}', "no-such-field"),
        (b'{"name": "bad-metric", "metrics": [1]}', "metrics"),
    ],
    ids=["not-json", "not-an-object", "no-name", "unknown-field", "bad-metric"],
)
def test_a_bad_import_file_says_why_and_creates_nothing(
    page: Page, server, org_admin, tmp_path, content, message
):
    login(page, server, *org_admin)
    before = template_count(server, "main-org")
    upload = tmp_path / "template.json"
    upload.write_bytes(content)
    page.goto(server.url + "/admin/case-templates")
    page.set_input_files("#template-file", str(upload))
    page.click("#import-template")
    expect(page.locator("#template-error")).to_contain_text("Import refused")
    expect(page.locator("#template-error")).to_contain_text(message)
    assert template_count(server, "main-org") == before


def test_metric_definitions_and_a_case_metric_on_the_case_page(page: Page, server, api, org_admin):
    login(page, server, ADMIN_LOGIN, ADMIN_PASSWORD)
    page.goto(server.url + "/admin/case-metrics")
    name = unique("users-affected")
    page.fill("#metric-name", name)
    page.fill("#metric-title", "Users affected")
    page.fill("#metric-description", "How many accounts the incident touched")
    page.click("#create-metric")
    row = page.locator(f'tr[data-metric="{name}"]')
    expect(row).to_contain_text("Users affected")
    # A refused definition keeps what was typed and says why.
    page.fill("#metric-name", "has spaces")
    page.fill("#metric-title", "Bad")
    page.click("#create-metric")
    expect(page.locator("#metric-error")).to_be_visible()
    expect(page.locator("#metric-name")).to_have_value("has spaces")
    page.goto(server.url + "/admin/case-metrics")
    screenshot(page, "admin-case-metrics")
    page.locator(f'tr[data-metric="{name}"] a').click()
    page.fill("#metric-title", "Accounts affected")
    page.click("#save-metric")
    expect(page.locator(f'tr[data-metric="{name}"]')).to_contain_text("Accounts affected")
    # The audit log names the change and links to the metric's page.
    page.goto(server.url + "/admin/audit")
    entry = page.locator('a[href^="/admin/case-metrics/~"]', has_text=name).first
    expect(entry).to_be_visible()

    case = api.post(
        server.url + "/api/v1/case",
        json={"title": "Metric case", "description": "d", "metrics": {name: 3}},
        timeout=30,
    ).json()
    login(page, server, *org_admin)
    page.goto(f"{server.url}/cases/{case['number']}")
    box = page.locator(f"#metric-{name}")
    expect(box).to_have_value("3")
    box.fill("many")
    page.click("#save-metrics")
    expect(page.locator("#error-case-metrics")).to_contain_text("must be a number")
    assert api.get(f"{server.url}/api/v1/case/{case['_id']}").json()["metrics"] == {name: 3}
    page.fill(f"#metric-{name}", "12")
    page.click("#save-metrics")
    expect(page.locator(f"#metric-{name}")).to_have_value("12")
    assert api.get(f"{server.url}/api/v1/case/{case['_id']}").json()["metrics"] == {name: 12}

    # Deleting a metric in use asks for its values to go too.
    login(page, server, ADMIN_LOGIN, ADMIN_PASSWORD)
    page.goto(server.url + "/admin/case-metrics")
    page.locator(f'tr[data-metric="{name}"] a').click()
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#delete-metric")
    expect(page.locator("#metric-error")).to_contain_text("force")
    page.check("#metric-force")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#delete-metric")
    expect(page).to_have_url(re.compile(r"/admin/case-metrics$"))
    expect(page.locator(f'tr[data-metric="{name}"]')).to_have_count(0)
    assert api.get(f"{server.url}/api/v1/case/{case['_id']}").json()["metrics"] == {}


def test_a_template_with_any_name_exports_as_a_file(page: Page, server, api, org_admin):
    name = unique("Hameçonnage 日本")
    answer = api.post(server.url + "/api/v1/caseTemplate", json={"name": name}, timeout=30)
    assert answer.status_code == 201, answer.text
    login(page, server, *org_admin)
    exported = page.request.get(f"{server.url}/admin/case-templates/{answer.json()['_id']}/export")
    assert exported.status == 200
    assert exported.headers["content-disposition"].startswith('attachment; filename="Hame_onnage')
    assert exported.json()["name"] == name
