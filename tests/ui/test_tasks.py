"""Tasks in the browser: a case's Tasks tab, the task page and its logs, My tasks and
Waiting tasks. Data is made through the API; what the browser did is read back through it."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page, expect

from tests.routetable import link
from tests.ui.conftest import login, make_user, screenshot


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:6]}"


class Api:
    """main-org through the API, as its administrator."""

    def __init__(self, server) -> None:
        self.server = server
        self.http = server.http("main-org")

    def call(self, method: str, path: str, **kwargs):
        answer = self.http.request(method, self.server.url + "/api/v1" + path, timeout=30, **kwargs)
        assert answer.ok, f"{method} {path}: {answer.status_code} {answer.text}"
        return answer.json() if answer.content else None

    def case(self, title: str | None = None) -> dict:
        return self.call(
            "POST", "/case", json={"title": title or unique("Case"), "description": "d"}
        )

    def task(self, case: dict, **fields) -> dict:
        return self.call(
            "POST", f"/case/{case['_id']}/task", json={"title": unique("Task"), **fields}
        )

    def get_task(self, task: dict) -> dict:
        return self.call("GET", f"/task/{task['_id']}")

    def log(self, task: dict, message: str) -> dict:
        return self.call("POST", f"/task/{task['_id']}/log", json={"message": message})

    def count(self, *operations: dict) -> int:
        return self.call("POST", "/query", json={"query": [*operations, {"_name": "count"}]})


@pytest.fixture(scope="module")
def api(server) -> Api:
    return Api(server)


@pytest.fixture(scope="module")
def analyst(server) -> tuple[str, str]:
    return make_user(server)


def signed_in(page: Page, server, analyst) -> Page:
    login(page, server, *analyst)
    return page


def badge(count: int) -> str:
    """A top-bar counter as it reads: empty for none."""
    return str(count) if count else ""


def counters_loaded(page: Page) -> None:
    """The top bar's counters arrive just after the page (htmx): wait for them."""
    expect(page.locator("#count-my-tasks")).to_have_attribute("title", "My open tasks")


def task_row(page: Page, task: dict):
    return page.locator(f'tr[data-task="{task["_id"]}"]')


def test_take_moves_a_waiting_task_to_my_tasks_and_the_counters_follow(
    page: Page, server, api: Api, analyst
) -> None:
    case = api.case("Suspicious login from a new country")
    task = api.task(case, group="Identification", dueDate=1_900_000_000_000)
    user, _password = analyst
    signed_in(page, server, analyst)
    waiting = api.count({"_name": "waitingTasks"})
    mine = api.count(
        {"_name": "listTask"},
        {
            "_name": "filter",
            "_and": [
                {"assignee": user},
                {"_in": {"_field": "status", "_values": ["Waiting", "InProgress"]}},
            ],
        },
    )
    page.goto(server.url + "/tasks/waiting")
    expect(page.locator("#count-waiting-tasks")).to_have_text(badge(waiting))
    row = task_row(page, task)
    expect(row).to_contain_text(task["title"])
    expect(row).to_contain_text(f"#{case['number']}")
    expect(row).to_contain_text("Waiting")
    row.get_by_role("button", name="Take").click()
    expect(row.locator("[data-status]")).to_have_text("In progress")
    expect(row.locator(".task-assignee")).to_have_text(user)
    expect(page.locator("#count-waiting-tasks")).to_have_text(badge(waiting - 1))
    expect(page.locator("#count-my-tasks")).to_have_text(badge(mine + 1))
    taken = api.get_task(task)
    assert (taken["assignee"], taken["status"]) == (user, "InProgress")
    page.goto(server.url + "/tasks/waiting")
    expect(task_row(page, task)).to_have_count(0)
    # My tasks: the taken task, open ones before ended ones.
    done = api.task(case, title="Reset the password", assignee=user, status="Completed")
    api.task(case, title="Check the VPN logs", assignee=user, dueDate=1_800_000_000_000)
    page.get_by_role("link", name=re.compile("^My tasks")).click()
    expect(page).to_have_url(re.compile(r"/tasks/mine$"))
    expect(task_row(page, task)).to_contain_text("In progress")
    statuses = page.locator("tbody [data-status]").evaluate_all(
        "els => els.map(e => e.dataset.status)"
    )
    ended = [i for i, status in enumerate(statuses) if status in ("Completed", "Cancel")]
    assert ended and min(ended) == len(statuses) - len(ended), statuses
    counters_loaded(page)
    screenshot(page, "my-tasks")
    page.get_by_role("link", name="Open", exact=True).click()
    expect(task_row(page, done)).to_have_count(0)
    expect(task_row(page, task)).to_be_visible()


def test_logs_render_markdown_and_never_run_a_script(page: Page, server, api: Api, analyst) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    case = api.case("Malware on a workstation")
    task = api.task(
        case,
        title="Analyse the sample <script>alert('title')</script>",
        description="Run it in the **sandbox** first.",
        assignee=analyst[0],
        status="InProgress",
    )
    api.log(task, "Older log: " + "a very long line of notes. " * 120)
    signed_in(page, server, analyst)
    page.goto(server.url + f"/tasks/{task['_id']}")
    expect(page.locator("#task-title")).to_have_text(task["title"])
    expect(page.locator("#task-description strong")).to_have_text("sandbox")
    expect(page.locator("#task-case")).to_contain_text(f"#{case['number']}")
    page.fill(
        "#log-message",
        "Found **persistence** in the registry, see [the report](https://example.com/r)",
    )
    page.press("#log-message", "Control+Enter")
    newest = page.locator("article.task-log").first
    expect(newest.locator(".log-body strong")).to_have_text("persistence")
    link = newest.get_by_role("link", name="the report")
    expect(link).to_have_attribute("href", "https://example.com/r")
    payload = "<script>alert('log')</script><img src=x onerror=alert('img')>"
    page.fill("#log-message", payload)
    page.get_by_role("button", name="Add log").click()
    expect(page.locator("article.task-log").first).to_contain_text(payload)
    expect(page.get_by_text(payload)).to_be_visible()
    # Newest first, the long one folded behind "Show more".
    logs = page.locator("article.task-log")
    expect(logs).to_have_count(3)
    expect(logs.nth(2).locator(".log-fold summary")).to_have_text(re.compile("Show more"))
    page.reload()
    counters_loaded(page)
    assert dialogs == [], dialogs
    screenshot(page, "task-logs")


def test_a_file_attached_to_a_log_downloads(page: Page, server, api: Api, analyst) -> None:
    case = api.case()
    task = api.task(case, assignee=analyst[0], status="InProgress")
    content = b"From: attacker@example.com\nSubject: invoice\n\nclick here\n"
    signed_in(page, server, analyst)
    page.goto(server.url + f"/tasks/{task['_id']}")
    page.fill("#log-message", "The original e-mail is attached.")
    page.set_input_files(
        "#log-attachments",
        files=[{"name": "phish.eml", "mimeType": "message/rfc822", "buffer": content}],
    )
    page.get_by_role("button", name="Add log").click()
    link = page.locator("article.task-log").first.get_by_role("link", name="phish.eml")
    expect(link).to_be_visible()
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename == "phish.eml"
    assert open(download.value.path(), "rb").read() == content
    [log] = api.call(
        "POST",
        "/query",
        json={"query": [{"_name": "getTask", "idOrName": task["_id"]}, {"_name": "logs"}]},
    )
    assert [a["name"] for a in log["attachments"]] == ["phish.eml"]


def test_closing_a_mandatory_task_without_a_log_is_refused(
    page: Page, server, api: Api, analyst
) -> None:
    case = api.case()
    task = api.task(case, title="Write the timeline", mandatory=True, status="InProgress")
    signed_in(page, server, analyst)
    page.goto(server.url + f"/cases/{case['number']}/tasks")
    row = task_row(page, task)
    expect(row).to_contain_text("Mandatory")
    row.get_by_role("button", name="Close").click()
    expect(page.locator("#flash")).to_contain_text(
        'Task "Write the timeline" is mandatory: add a log before completing it'
    )
    expect(row.locator("[data-status]")).to_have_text("In progress")
    assert api.get_task(task)["status"] == "InProgress"
    # With a log it closes, from the task page this time.
    api.log(task, "Timeline written in the case page.")
    page.goto(server.url + f"/tasks/{task['_id']}")
    page.locator("#task-actions").get_by_role("button", name="Close").click()
    expect(page.locator("#task-header [data-status]")).to_have_text("Completed")
    assert api.get_task(task)["status"] == "Completed"


def test_add_tasks_in_groups_and_act_on_several_at_once(
    page: Page, server, api: Api, analyst
) -> None:
    user = analyst[0]
    case = api.case("Ransomware note on a file server")
    first = api.task(case, title="Isolate the server", group="Containment", order=1, flag=True)
    second = api.task(case, title="Identify patient zero", group="Identification", order=0)
    api.task(case, title="Collect the ransom note", group="Identification", order=0, mandatory=True)
    api.task(case, title="Restore from backups", group="Recovery", order=3, status="Cancel")
    api.log(second, "Started with the VPN logs")
    signed_in(page, server, analyst)
    page.goto(server.url + f"/cases/{case['number']}/tasks")
    groups = page.locator("tbody.task-group").evaluate_all("els => els.map(e => e.dataset.group)")
    assert groups == ["Identification", "Containment", "Recovery"]
    expect(task_row(page, second).locator("td").nth(5)).to_have_text("1")
    page.get_by_text("Add a task").click()
    page.fill("#task-title", "Block the C2 domain")
    page.fill("#task-group", "Containment")
    page.fill("#task-due", "2030-01-15T09:30")
    page.fill("#task-description", "Ask the **network team**.")
    page.check("#task-mandatory")
    page.get_by_role("button", name=re.compile("^Add task")).click()
    group = page.locator('tbody.task-group[data-group="Containment"]')
    expect(group).to_contain_text("Block the C2 domain")
    [added] = [
        t
        for t in api.call(
            "POST",
            "/query",
            json={"query": [{"_name": "getCase", "idOrName": case["_id"]}, {"_name": "tasks"}]},
        )
        if t["title"] == "Block the C2 domain"
    ]
    assert (added["group"], added["mandatory"], added["status"]) == ("Containment", True, "Waiting")
    assert added["dueDate"] == datetime(2030, 1, 15, 9, 30, tzinfo=UTC).timestamp() * 1000
    assert added["description"] == "Ask the **network team**."
    # A refused task keeps what was typed, with the service's message.
    page.fill("#task-title", "x" * 129)
    page.evaluate("document.getElementById('task-title').removeAttribute('maxlength')")
    page.fill("#task-title", "x" * 129)
    page.fill("#task-group", "Eradication")
    page.get_by_role("button", name=re.compile("^Add task")).click()
    expect(page.locator("#add-task-error")).to_contain_text("title")
    expect(page.locator("#task-group")).to_have_value("Eradication")
    # Bulk: take two tasks at once.
    task_row(page, first).locator("input[name=ids]").check()
    task_row(page, second).locator("input[name=ids]").check()
    bar = page.locator("[data-bulk-for=ids]")
    expect(bar).to_contain_text("2 selected")
    bar.get_by_role("button", name="Take").click()
    expect(task_row(page, first).locator(".task-assignee")).to_have_text(user)
    for task in (first, second):
        taken = api.get_task(task)
        assert (taken["assignee"], taken["status"]) == (user, "InProgress")
    counters_loaded(page)
    screenshot(page, "case-tasks")


def test_another_organisations_analyst_gets_404_on_a_task(page: Page, server, api: Api) -> None:
    case = api.case()
    task = api.task(case, title="Secret task of main-org")
    server.create_org("tasks-other-org")
    other = make_user(server, "tasks-other-org")
    login(page, server, *other)
    answer = page.goto(server.url + f"/tasks/{task['_id']}")
    assert answer is not None and answer.status == 404
    expect(page.locator("#error-message")).to_have_text(f"Task {task['_id']} not found")
    expect(page.get_by_text("Secret task of main-org")).to_have_count(0)
    answer = page.goto(server.url + f"/cases/{case['number']}/tasks")
    assert answer is not None and answer.status == 404
    page.goto(server.url + "/tasks/waiting")
    expect(task_row(page, task)).to_have_count(0)


def test_assign_a_task_to_a_colleague_from_its_row(page: Page, server, api: Api, analyst) -> None:
    colleague, _password = make_user(server)
    case = api.case()
    task = api.task(case, title="Review the firewall rules")
    signed_in(page, server, analyst)
    page.goto(server.url + f"/cases/{case['number']}/tasks")
    row = task_row(page, task)
    row.get_by_role("button", name="Assign").click()
    row.get_by_role("button", name=re.compile(re.escape(colleague))).click()
    expect(row.locator(".task-assignee")).to_have_text(colleague)
    assert api.get_task(task)["assignee"] == colleague
    row.get_by_role("button", name="Flag").click()
    expect(row).to_contain_text("Flagged")
    assert api.get_task(task)["flag"] is True


def test_without_javascript_the_buttons_still_work(browser, server, api: Api, analyst) -> None:
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1440, "height": 900}
    )
    page = context.new_page()
    try:
        case = api.case()
        task = api.task(case, title="Call the user back")
        signed_in(page, server, analyst)
        page.goto(server.url + "/tasks/waiting")
        task_row(page, task).get_by_role("button", name="Take").click()
        expect(page).to_have_url(server.url + "/tasks/waiting")
        expect(task_row(page, task)).to_have_count(0)
        taken = api.get_task(task)
        assert (taken["assignee"], taken["status"]) == (analyst[0], "InProgress")
        page.goto(server.url + f"/tasks/{task['_id']}")
        page.fill("#log-message", "Called: the user confirms the login.")
        page.get_by_role("button", name="Add log").click()
        expect(page.locator("article.task-log").first).to_contain_text("the user confirms")
        page.locator("#task-actions").get_by_role("button", name="Close").click()
        expect(page.locator("#task-header [data-status]")).to_have_text("Completed")
    finally:
        context.close()


def test_a_partner_sees_the_action_asked_of_it_and_logs_its_answer(
    page: Page, server, api: Api
) -> None:
    partner = "tasks-partner-" + uuid.uuid4().hex[:6]
    server.create_org(partner)
    link(server, "main-org", partner)
    case = api.case("Shared incident with the subsidiary")
    api.call(
        "POST",
        f"/case/{case['_id']}/shares",
        json={"shares": [{"organisation": partner, "profile": "analyst", "taskRule": "all"}]},
    )
    task = api.task(case, title="Pull the proxy logs of the subsidiary")
    api.call("POST", f"/task/{task['_id']}/shares", json={"organisations": [partner]})
    api.call("PUT", f"/task/{task['_id']}/actionRequired/{partner}")
    login(page, server, *make_user(server, partner))
    page.goto(server.url + "/tasks/waiting")
    row = task_row(page, task)
    expect(row).to_contain_text("Action required")
    row.get_by_role("link", name=task["title"]).click()
    expect(page.locator("#task-header")).to_contain_text("Action required")
    page.fill("#log-message", "Proxy logs attached to the case.")
    page.get_by_role("button", name="Add log").click()
    expect(page.locator("article.task-log").first).to_contain_text("Proxy logs attached")
    [log] = api.call(
        "POST",
        "/query",
        json={"query": [{"_name": "getTask", "idOrName": task["_id"]}, {"_name": "logs"}]},
    )
    assert log["message"] == "Proxy logs attached to the case."


def test_a_log_file_downloads_in_the_organisation_chosen_in_the_switcher(
    page: Page, server
) -> None:
    """The download link is the API's route: it must act in the organisation the page shows,
    not in the analyst's default one."""
    second = "tasks-second-" + uuid.uuid4().hex[:6]
    server.create_org(second)
    user, password = make_user(server)
    answer = server.http("admin").put(
        f"{server.url}/api/v1/user/{user}/organisations",
        json={
            "organisations": [
                {"organisation": "main-org", "profile": "analyst", "default": True},
                {"organisation": second, "profile": "analyst"},
            ]
        },
        timeout=30,
    )
    assert answer.ok, answer.text
    theirs = server.http(second)
    case = theirs.post(
        server.url + "/api/v1/case", json={"title": "In the second", "description": "d"}
    )
    task = theirs.post(server.url + f"/api/v1/case/{case.json()['_id']}/task", json={"title": "t"})
    content = b"indicators of the second organisation\n"
    logged = theirs.post(
        server.url + f"/api/v1/task/{task.json()['_id']}/log",
        data={"_json": '{"message": "see the file"}'},
        files={"attachments": ("iocs.txt", content, "text/plain")},
    )
    assert logged.status_code == 201, logged.text
    login(page, server, user, password)
    page.locator("#org-menu").click()
    page.get_by_role("button", name=re.compile(second)).click()
    expect(page.locator("#org-menu")).to_have_text(second)
    page.goto(server.url + f"/tasks/{task.json()['_id']}")
    with page.expect_download() as download:
        page.get_by_role("link", name="iocs.txt").click()
    assert open(download.value.path(), "rb").read() == content
