"""The seed's whole day, in the browser, against a real server: an alert arrives, the
analyst sees it was seen before, imports it with a template, works the tasks, enriches an
observable, sees a colleague's work live, closes the case, and merges a late alert into it.

Accounts and the case template are made through the API here (their admin pages have
tests of their own: test_admin_accounts.py, test_admin_templates.py); everything the
analyst does goes through the pages."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from tests.harness import Server
from tests.ui.conftest import login, make_user, screenshot, verdict_server

JOB_DONE = 60_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    """A server with the Verdict test analyzer enabled in main-org, and the phishing
    template the SOC imports its mail alerts with."""
    srv = verdict_server(tmp_path_factory.mktemp("data-ui-day"), {"seconds": 1})
    api = srv.http("main-org")
    template = api.post(
        srv.url + "/api/v1/caseTemplate",
        json={
            "name": "phishing",
            "displayName": "Phishing",
            "titlePrefix": "[PHISH]",
            "severity": 3,
            "tasks": [
                {"title": "Collect the mail headers", "group": "triage", "order": 0},
                {"title": "Block the sender", "group": "containment", "order": 1},
            ],
        },
        timeout=30,
    )
    assert template.status_code == 201, template.text
    yield srv
    srv.stop()


@pytest.fixture(autouse=True)
def patient_expectations():
    """A shared small machine: pages and jobs may take a few seconds."""
    expect.set_options(timeout=20_000)
    yield
    expect.set_options(timeout=5_000)


def api_get(server: Server, path: str) -> dict:
    answer = server.http("main-org").get(server.url + path, timeout=30)
    assert answer.ok, answer.text
    return answer.json()


def post_alert(server: Server, ref: str, observables: list[dict]) -> dict:
    answer = server.http("main-org").post(
        server.url + "/api/v1/alert",
        json={
            "type": "mail",
            "source": "mailbox",
            "sourceRef": ref,
            "title": f"Phishing reported ({ref})",
            "description": "A user forwarded a **suspicious** mail.",
            "severity": 2,
            "observables": observables,
        },
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


SENDER_IP = {"dataType": "ip", "data": "203.0.113.66"}
DOMAIN = {"dataType": "domain", "data": "login-micros0ft.example"}
MAIL = {"dataType": "mail", "data": "ceo@login-micros0ft.example"}


def test_the_analysts_whole_day(browser: Browser, server: Server) -> None:
    alice_login, alice_password = make_user(server, profile="analyst")
    bob_login, bob_password = make_user(server, profile="analyst")
    # Last week's case shares two of the three observables the new alert will carry.
    earlier = server.http("main-org").post(
        server.url + "/api/v1/case",
        json={"title": "Earlier phishing wave", "description": "d"},
        timeout=30,
    )
    earlier_case = earlier.json()
    for item in (SENDER_IP, DOMAIN):
        server.http("main-org").post(
            server.url + f"/api/v1/case/{earlier_case['_id']}/observable", json=item, timeout=30
        ).raise_for_status()

    alice = browser.new_context(viewport={"width": 1440, "height": 900})
    page = alice.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    login(page, server, alice_login, alice_password)

    # 1. The alert arrives while Alice looks at the queue: it shows up without a reload.
    page.goto(server.url + "/alerts")
    alert = post_alert(server, "day-1", [SENDER_IP, DOMAIN, MAIL])
    page.locator("#show-new-alerts").click()
    row = page.locator("#alert-list tr", has_text="Phishing reported (day-1)")
    expect(row).to_be_visible()

    # 2. Its preview says it was seen before: two of the earlier case's two observables.
    page.goto(server.url + f"/alerts/{alert['_id']}")
    similar = page.locator(f'#similar-cases li[data-case="{earlier_case["number"]}"]')
    expect(similar.locator(".similar-observables-ratio")).to_have_text("Observables 100 % (2/2)")

    # 3. Imported with the phishing template: the case is Alice's, with the template's tasks.
    page.locator("#import-template").select_option(label="Phishing")
    page.locator("#import-alert").click()
    expect(page).to_have_url(re.compile(r"/cases/\d+$"))
    number = page.url.rsplit("/", 1)[1]
    case = api_get(server, f"/api/v1/case/{number}")
    assert case["assignee"] == alice_login
    assert case["title"].startswith("[PHISH]")
    tasks = (
        server.http("main-org")
        .post(
            server.url + "/api/v1/query",
            json={"query": [{"_name": "getCase", "idOrName": case["_id"]}, {"_name": "tasks"}]},
            timeout=30,
        )
        .json()
    )
    assert sorted(t["title"] for t in tasks) == ["Block the sender", "Collect the mail headers"]

    # 4. A task is taken, logged and closed.
    page.goto(server.url + f"/cases/{number}/tasks")
    task_row = page.locator("tr", has_text="Collect the mail headers")
    task_row.locator('[data-action="take"]').click()
    expect(task_row.locator(".status")).to_have_attribute("data-status", "InProgress")
    headers_task = next(t for t in tasks if t["title"] == "Collect the mail headers")
    page.goto(server.url + f"/tasks/{headers_task['_id']}")
    page.fill("#log-message", "Headers show the mail came from **203.0.113.66**.")
    page.locator("#add-log button[type=submit]").click()
    expect(page.locator(".task-log .log-body strong").first).to_have_text("203.0.113.66")
    page.locator('#task-actions [data-action="close"]').click()
    expect(page.locator('[data-status="Completed"]').first).to_be_visible()
    done = api_get(server, f"/api/v1/task/{headers_task['_id']}")
    assert (done["status"], done["assignee"]) == ("Completed", alice_login)

    # 5. The sender's address is analyzed; the analyzer's verdict shows as a coloured tag.
    observables = (
        server.http("main-org")
        .post(
            server.url + "/api/v1/query",
            json={
                "query": [{"_name": "getCase", "idOrName": case["_id"]}, {"_name": "observables"}]
            },
            timeout=30,
        )
        .json()
    )
    ip = next(o for o in observables if o["data"] == SENDER_IP["data"])
    page.goto(server.url + f"/observables/{ip['_id']}")
    verdict = page.locator("#analyzers tr[data-analyzer=Verdict]")
    verdict.get_by_role("button", name="Run").click()
    expect(verdict.locator(".job-status")).to_have_text("Success", timeout=JOB_DONE)
    expect(verdict.locator(".taxonomy-malicious")).to_be_visible()

    # 6. Bob works on the same case in his own browser: Alice's stream shows it live.
    page.goto(server.url + f"/cases/{number}")
    bob = browser.new_context(viewport={"width": 1440, "height": 900})
    bob_page = bob.new_page()
    login(bob_page, server, bob_login, bob_password)
    block_task = next(t for t in tasks if t["title"] == "Block the sender")
    bob_page.goto(server.url + f"/tasks/{block_task['_id']}")
    bob_page.fill("#log-message", "Sender domain blocked on the mail gateway.")
    bob_page.locator("#add-log button[type=submit]").click()
    expect(bob_page.get_by_text("Sender domain blocked on the mail gateway.")).to_be_visible()
    entry = page.locator("#stream-list .stream-entry", has_text=bob_login).first
    expect(entry).to_be_visible()
    screenshot(page, "analyst-day-case")
    bob.close()

    # 7. The case is closed with a resolution.
    page.goto(server.url + f"/cases/{number}/close")
    page.locator("#resolution-truepositive").check()
    page.locator("#impact-withimpact").check()
    page.fill("#closure-summary", "Credential phishing; sender blocked, **no click** found.")
    page.locator("#confirm-close").click()
    closed = api_get(server, f"/api/v1/case/{number}")
    assert (closed["stage"], closed["status"]) == ("Closed", "TruePositive")

    # 8. A late alert about the same wave is merged into the case from its preview.
    late = post_alert(server, "day-2", [DOMAIN])
    page.goto(server.url + f"/alerts/{late['_id']}")
    page.fill("#merge-case", number)
    page.locator("#merge-alert").click()
    expect(page).to_have_url(re.compile(rf"/cases/{number}"))
    merged = api_get(server, f"/api/v1/alert/{late['_id']}")
    assert merged["caseId"] == case["_id"]
    assert dialogs == []
    alice.close()
