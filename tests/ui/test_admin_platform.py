"""The platform's administration pages in Chromium against a real server: custom fields
(made in the browser, then offered and enforced on a case), observable types (the attachment
flag, usable when adding an observable), the audit log (filters, links, one organisation's
events only) and the platform status (figures that match the server's state)."""

from __future__ import annotations

import re
import sys
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.harness import ADMIN_LOGIN, ADMIN_PASSWORD, Server
from tests.ui.conftest import ANALYZERS, LAPTOP, login, make_user, screenshot


@pytest.fixture(autouse=True)
def patient_expectations():
    """Several sessions share a small machine: a page may take a few seconds to answer."""
    expect.set_options(timeout=20_000)
    yield
    expect.set_options(timeout=5_000)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def new_case(server: Server, org: str = "main-org", auth=None, title: str = "Case") -> dict:
    answer = server.http(org, auth).post(
        server.url + "/api/v1/case",
        json={"title": unique(title), "description": "d"},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def as_platform_admin(page: Page, server: Server) -> None:
    """The platform administrator, acting in the admin organisation (their default)."""
    login(page, server, ADMIN_LOGIN, ADMIN_PASSWORD)


def other_browser(browser: Browser, server: Server, user: str, password: str) -> Page:
    """A second person, in a browser context of their own."""
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    login(page, server, user, password)
    return page


def today() -> str:
    return datetime.now(UTC).date().isoformat()


# --------------------------------------------------------------------------- custom fields


def create_field(page: Page, name: str, field_type: str, options: str = "", **flags) -> None:
    page.fill("#cf-name", name)
    page.fill("#cf-display", flags.get("display", name.title()))
    page.select_option("#cf-type", field_type)
    page.fill("#cf-options", options)
    page.fill("#cf-description", flags.get("description", ""))
    if flags.get("mandatory"):
        page.check("#cf-mandatory")
    page.click("#create-field")


def test_a_custom_field_made_in_the_browser_is_offered_and_enforced_on_a_case(
    page: Page, server, browser: Browser
) -> None:
    name = unique("change-ref")
    as_platform_admin(page, server)
    page.goto(server.url + "/admin/custom-fields")
    create_field(
        page,
        name,
        "string",
        "INC\nCHG\n",
        display="Change reference",
        description="The ticket of the change",
        mandatory=True,
    )
    row = page.locator(f"#custom-fields tr[data-field='{name}']")
    expect(row).to_contain_text("Change reference")
    expect(row.locator(".badge.tag")).to_have_text(["INC", "CHG"])
    expect(row).to_contain_text("required to close")
    expect(page.get_by_role("status")).to_contain_text(f"Custom field {name} created")
    create_field(page, unique("hours-lost"), "float", display="Hours lost")
    create_field(page, unique("escalated"), "boolean", display="Escalated")
    screenshot(page, "admin-custom-fields")

    # An analyst of main-org adds the field to a case: its options are offered.
    case = new_case(server)
    analyst = other_browser(browser, server, *make_user(server))
    analyst.goto(server.url + f"/cases/{case['number']}")
    analyst.select_option("#add-field", name)
    analyst.locator("#add-field").locator("xpath=ancestor::form").locator("button").click()
    field_input = analyst.locator(f"#cf-{name}")
    expect(field_input.locator("option")).to_have_text(["—", "INC", "CHG"])

    # Mandatory: the case does not close while the field has no value (API and closure page).
    api = server.http()
    closing = api.patch(
        server.url + f"/api/v1/case/{case['_id']}", json={"status": "FalsePositive"}, timeout=30
    )
    assert closing.status_code == 400 and name in closing.json()["message"], closing.text
    analyst.goto(server.url + f"/cases/{case['number']}/close")
    analyst.check("#resolution-falsepositive")
    analyst.click("#confirm-close")
    expect(analyst.locator("#closure-error")).to_contain_text(name)
    analyst.select_option(f"#cf-{name}", "CHG")
    analyst.click("#confirm-close")
    expect(analyst).to_have_url(re.compile(rf"/cases/{case['number']}$"))
    closed = api.get(server.url + f"/api/v1/case/{case['_id']}", timeout=30).json()
    assert closed["status"] == "FalsePositive"
    assert [(f["name"], f.get("value")) for f in closed["customFields"]] == [(name, "CHG")]
    analyst.context.close()


def test_a_refused_field_shows_why_and_keeps_what_was_typed(page: Page, server) -> None:
    name = unique("seats")
    as_platform_admin(page, server)
    page.goto(server.url + "/admin/custom-fields")
    create_field(page, name, "integer", "1\ntwo\n3")
    expect(page.locator("#field-error")).to_have_text(
        "Invalid value for options: must be a number (integer)"
    )
    expect(page.locator("#cf-name")).to_have_value(name)
    expect(page.locator("#cf-options")).to_have_value("1\ntwo\n3")
    expect(page.locator("#cf-type")).to_have_value("integer")
    missing = server.http("admin").get(server.url + f"/api/v1/customField/{name}", timeout=30)
    assert missing.status_code == 404

    # Corrected, it is made; the same name again is refused with the service's words.
    page.fill("#cf-options", "1\n2\n3")
    page.click("#create-field")
    expect(page.locator(f"#custom-fields tr[data-field='{name}']")).to_contain_text("integer")
    create_field(page, name, "string")
    expect(page.locator("#field-error")).to_have_text(f"CustomField {name} already exists")


def test_a_field_in_use_is_deleted_only_with_its_values(page: Page, server) -> None:
    name = unique("owner")
    admin_api = server.http("admin")
    made = admin_api.post(
        server.url + "/api/v1/customField",
        json={"name": name, "type": "string", "description": "who owns it"},
        timeout=30,
    )
    assert made.status_code == 201, made.text
    case = new_case(server)
    server.http().patch(
        server.url + f"/api/v1/case/{case['_id']}",
        json={f"customFields.{name}": "alice"},
        timeout=30,
    ).raise_for_status()

    as_platform_admin(page, server)
    page.goto(server.url + "/admin/custom-fields")
    page.locator(f"#custom-fields tr[data-field='{name}'] a").click()
    expect(page.locator("#value-count")).to_have_text("1")
    page.fill("#cf-display", "Owner of the asset")
    page.click("#save-field")
    expect(page.locator(f"#custom-fields tr[data-field='{name}']")).to_contain_text(
        "Owner of the asset"
    )

    page.locator(f"#custom-fields tr[data-field='{name}'] a").click()
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#delete-field")
    expect(page.locator("#delete-error")).to_have_text(
        f"Custom field {name} is used by 1 value(s); use force to delete it"
    )
    assert admin_api.get(server.url + f"/api/v1/customField/{name}", timeout=30).ok
    page.check("#force-delete")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#delete-field")
    expect(page.get_by_role("status")).to_contain_text(f"Custom field {name} deleted")
    assert admin_api.get(server.url + f"/api/v1/customField/{name}", timeout=30).status_code == 404
    fields = server.http().get(server.url + f"/api/v1/case/{case['_id']}", timeout=30).json()
    assert fields["customFields"] == []


# --------------------------------------------------------------------------- observable types


def test_an_observable_type_with_the_attachment_flag_holds_files(
    page: Page, server, browser: Browser, tmp_path
) -> None:
    name = unique("pcap")
    as_platform_admin(page, server)
    page.goto(server.url + "/admin/observable-types")
    expect(page.locator("#observable-types tr[data-type='file']")).to_contain_text("attachment")
    expect(page.locator("#observable-types tr[data-type='ip'] button")).to_have_count(0)
    page.fill("#type-name", name)
    page.check("#type-attachment")
    page.click("#create-type")
    row = page.locator(f"#observable-types tr[data-type='{name}']")
    expect(row).to_contain_text("attachment")
    expect(row).to_contain_text("custom")
    screenshot(page, "admin-observable-types")

    # An analyst adds a file of that type; a text value of it is refused.
    case = new_case(server)
    analyst = other_browser(browser, server, *make_user(server))
    analyst.goto(server.url + f"/cases/{case['number']}/observables")
    capture = tmp_path / "capture.pcap"
    capture.write_bytes(b"\xd4\xc3\xb2\xa1" + uuid.uuid4().bytes)
    analyst.click("#add-observables-toggle")
    expect(analyst.locator("#add-observables")).to_have_class(re.compile(r"\bshow\b"))
    analyst.select_option("#add-type", name)
    analyst.set_input_files("#add-file", str(capture))
    analyst.click("#add-submit")
    expect(analyst.locator("#observables-table")).to_contain_text("capture.pcap")
    analyst.context.close()

    # In use, it cannot be deleted (the button says so; a forced request gets the reason).
    page.reload()
    expect(row.locator("button")).to_be_disabled()
    type_id = row.locator("form").get_attribute("action").split("/")[3]
    answer = page.request.post(
        server.url + f"/admin/observable-types/{type_id}/delete",
        form={"csrf_token": page.locator("meta[name=csrf-token]").get_attribute("content")},
    )
    assert answer.status == 400
    assert f"Observable type {name} is used by observables" in answer.text()


def test_unused_custom_types_are_deleted_and_built_in_ones_kept(page: Page, server) -> None:
    name = unique("ticket-id")
    as_platform_admin(page, server)
    page.goto(server.url + "/admin/observable-types")
    page.fill("#type-name", name)
    page.click("#create-type")
    row = page.locator(f"#observable-types tr[data-type='{name}']")
    expect(row).to_contain_text("text value")
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("status")).to_contain_text(f"Observable type {name} deleted")
    expect(row).to_have_count(0)
    # A built-in type has no delete button, and a crafted request gets the service's reason.
    builtin = server.http("admin").get(server.url + "/api/v1/observable/type/hash", timeout=30)
    answer = page.request.post(
        server.url + f"/admin/observable-types/{builtin.json()['_id']}/delete",
        form={"csrf_token": page.locator("meta[name=csrf-token]").get_attribute("content")},
    )
    assert answer.status == 400 and "hash is built in" in answer.text()


# --------------------------------------------------------------------------- audit log


@pytest.fixture(scope="module")
def audit_world(server):
    """main-org's org-admin and two analysts who each did something, and another
    organisation whose events main-org's admin must never see."""
    org_admin = make_user(server, profile="org-admin")
    alice, bob = make_user(server), make_user(server)
    alice_case = new_case(server, auth=alice, title="Alice case")
    alert = server.http("main-org", bob).post(
        server.url + "/api/v1/alert",
        json={
            "type": "siem",
            "source": "audit-test",
            "sourceRef": unique("ref"),
            "title": unique("Bob alert"),
            "description": "d",
        },
        timeout=30,
    )
    assert alert.status_code == 201, alert.text
    bob_task = server.http("main-org", bob).post(
        server.url + f"/api/v1/case/{alice_case['_id']}/task",
        json={"title": unique("Bob task")},
        timeout=30,
    )
    assert bob_task.status_code == 201, bob_task.text
    server.create_org("other-org")
    secret_case = new_case(server, org="other-org", title="Other org secret")
    return {
        "org_admin": org_admin,
        "alice": alice,
        "bob": bob,
        "alice_case": alice_case,
        "alert": alert.json(),
        "task": bob_task.json(),
        "secret_case": secret_case,
    }


def apply_filters(page: Page, button: str) -> None:
    """Submit the filters and wait for the new page to load: rows read while the next page is
    still arriving would be the old page's, or half of the new one's."""
    with page.expect_navigation(wait_until="load"):
        page.click(button)


def shown_rows(page: Page) -> list[str]:
    return page.locator("#audit-log tbody tr").all_inner_texts()


def audit_total(page: Page) -> int:
    return int(page.locator("#audit-total").inner_text())


def api_count(server: Server, auth, conditions: list[dict]) -> int:
    query = [{"_name": "listAudit"}]
    if conditions:
        query.append({"_name": "filter", "_and": conditions})
    answer = server.http("main-org", auth).post(
        server.url + "/api/v1/query", json={"query": [*query, {"_name": "count"}]}, timeout=30
    )
    assert answer.ok, answer.text
    return answer.json()


def test_the_audit_log_filters_by_user_object_action_and_date(
    page: Page, server, audit_world
) -> None:
    org_admin, alice, bob = audit_world["org_admin"], audit_world["alice"], audit_world["bob"]
    login(page, server, *org_admin)
    page.goto(server.url + "/admin/audit")
    everything = audit_total(page)
    assert everything == api_count(server, org_admin, [])
    screenshot(page, "admin-audit")

    page.fill("#audit-user", bob[0])
    apply_filters(page, "#audit-filter")
    rows = shown_rows(page)
    assert rows and all(bob[0] in row for row in rows)
    assert any("added task" in row for row in rows) and any("created alert" in row for row in rows)
    by_bob = [{"_eq": {"_field": "_createdBy", "_value": bob[0]}}]
    assert audit_total(page) == api_count(server, org_admin, by_bob) < everything

    page.select_option("#audit-type", "Alert")
    apply_filters(page, "#audit-filter")
    rows = shown_rows(page)
    assert len(rows) == 1 and audit_world["alert"]["title"] in rows[0]

    page.goto(server.url + "/admin/audit")
    page.select_option("#audit-type", "Case")
    page.select_option("#audit-action", "create")
    apply_filters(page, "#audit-filter")
    rows = shown_rows(page)
    assert any(audit_world["alice_case"]["title"] in row for row in rows)
    assert all(alice[0] in row or ADMIN_LOGIN in row for row in rows)
    assert all("created case" in row for row in rows)

    # Dates are whole days (UTC): today holds them, tomorrow nothing.
    page.fill("#audit-from", today())
    page.fill("#audit-to", today())
    apply_filters(page, "#audit-filter")
    assert any(audit_world["alice_case"]["title"] in row for row in shown_rows(page))
    tomorrow = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
    page.fill("#audit-from", tomorrow)
    page.fill("#audit-to", "")
    apply_filters(page, "#audit-filter")
    expect(page.locator(".empty")).to_have_text("No event matches these filters.")
    apply_filters(page, "#audit-clear")
    assert audit_total(page) >= everything


def test_audit_entries_open_their_object(page: Page, server, audit_world) -> None:
    login(page, server, *audit_world["org_admin"])
    case, task, alert = audit_world["alice_case"], audit_world["task"], audit_world["alert"]
    page.goto(server.url + "/admin/audit?type=Case&action=create")
    page.locator("#audit-log a.audit-object", has_text=case["title"]).first.click()
    expect(page).to_have_url(re.compile(rf"/cases/~{case['_id'].lstrip('~')}$"))
    expect(page.locator("body")).to_contain_text(case["title"])

    page.goto(server.url + "/admin/audit?type=Task")
    page.locator("#audit-log a.audit-object", has_text=task["title"]).first.click()
    expect(page).to_have_url(re.compile(rf"/tasks/{task['_id']}$"))

    page.goto(server.url + "/admin/audit?type=Alert")
    page.locator("#audit-log a.audit-object", has_text=alert["title"]).first.click()
    expect(page).to_have_url(re.compile(rf"/alerts/{alert['_id']}$"))

    # A user's events link to the user's admin page; the details unfold, as text.
    page.goto(server.url + "/admin/audit?type=User&action=create")
    first = page.locator("#audit-log tbody tr").first
    href = first.locator("a.audit-object").get_attribute("href")
    assert re.fullmatch(r"/admin/users/~\d+", href)
    first.locator("details summary").click()
    expect(first.locator("details pre")).to_contain_text('"login"')
    login_shown = first.locator("a.audit-object").inner_text()
    first.locator("a.audit-object").click()
    expect(page).to_have_url(re.compile(re.escape(href) + "$"))
    expect(page.locator("#content")).to_contain_text(login_shown)


def test_an_organisation_admin_never_sees_another_organisations_events(
    page: Page, server, audit_world
) -> None:
    secret = audit_world["secret_case"]
    login(page, server, *audit_world["org_admin"])
    crafted = [
        "/admin/audit",
        f"/admin/audit?user={ADMIN_LOGIN}&type=Case",
        "/admin/audit?type=Case&action=create&org=other-org&organisation=other-org",
        f"/admin/audit?size=200&rootId={secret['_id']}&objectId={secret['_id']}",
    ]
    for path in crafted:
        page.goto(server.url + path)
        expect(page.locator("h1")).to_contain_text("Audit log")
        assert secret["title"] not in page.content(), path
    # The admin's own events there are not listed either: only main-org's are.
    page.goto(server.url + f"/admin/audit?user={ADMIN_LOGIN}&size=200")
    main_org_only = [{"_eq": {"_field": "_createdBy", "_value": ADMIN_LOGIN}}]
    assert audit_total(page) == api_count(server, audit_world["org_admin"], main_org_only)

    # The platform administrator sees every organisation's, named.
    page.context.clear_cookies()
    as_platform_admin(page, server)
    page.goto(server.url + "/admin/audit?type=Case&action=create&size=200")
    row = page.locator("#audit-log tbody tr", has_text=secret["title"])
    expect(row).to_contain_text("other-org")


# --------------------------------------------------------------------------- status


def test_the_status_page_tells_the_servers_state(page: Page, server) -> None:
    as_platform_admin(page, server)
    page.goto(server.url + "/admin/status")
    expect(page.locator("#status-backend")).to_have_text("SQLite")
    version = server.http().get(server.url + "/api/v1/status", timeout=30).json()["version"]
    expect(page.locator("#status-version")).to_have_text(version)
    expect(page.locator("#status-python")).to_contain_text(
        ".".join(str(part) for part in sys.version_info[:3])
    )
    analysis = server.http().get(server.url + "/api/status", timeout=30).json()["analysis"]
    expect(page.locator("#status-queued")).to_have_text(str(analysis["queue"]["pending"]))
    expect(page.locator("#status-consumers")).to_contain_text(
        f"{analysis['workers']['alive']} of {analysis['workers']['expected']}"
    )
    expect(page.locator("#status-statistics")).to_contain_text("refreshed")
    screenshot(page, "admin-status")


def test_jobs_waiting_without_consumers_are_counted(page: Page, tmp_path) -> None:
    """A server whose analysis consumers are off: a job requested stays waiting in the queue,
    and the status page says so, with no consumer alive."""
    srv = Server(
        tmp_path,
        extra_env={
            "PROPOLIS_ANALYZERS_PATH": str(ANALYZERS),
            "PROPOLIS_ANALYSIS_PYTHON": sys.executable,
            "PROPOLIS_EMBEDDED_WORKERS": "false",
        },
    )
    srv.start()
    try:
        srv.init_main_org()
        api = srv.http()
        worker = api.post(
            srv.url + "/api/v1/analysis/worker",
            json={"kind": "analyzer", "definitionId": "Verdict_1_0", "configuration": {}},
            timeout=30,
        )
        assert worker.status_code == 201, worker.text
        case = new_case(srv)
        (observable,) = api.post(
            srv.url + f"/api/v1/case/{case['_id']}/observable",
            json={"dataType": "domain", "data": "waiting.example.org"},
            timeout=30,
        ).json()
        job = api.post(
            srv.url + "/api/v1/connector/cortex/job",
            json={
                "analyzerId": worker.json()["name"],
                "cortexId": "local",
                "artifactId": observable["_id"],
            },
            timeout=30,
        )
        assert job.status_code == 201, job.text

        as_platform_admin(page, srv)
        page.goto(srv.url + "/admin/status")
        expect(page.locator("#status-jobs-analyzers .jobs-waiting")).to_have_text("1")
        expect(page.locator("#status-jobs-analyzers .jobs-running")).to_have_text("0")
        expect(page.locator("#status-queued")).to_have_text("1")
        expect(page.locator("#status-consumers")).to_contain_text("none")
        expect(page.locator("#analysis-state")).to_contain_text("ERROR")
    finally:
        srv.stop()
