"""The alert queue and the alert preview in a real browser: new alerts without a reload,
filters and sort in the address, bulk actions, similar cases, import and merge.

Alerts and cases are made through the API (as a SIEM feeder and a colleague would); what
the browser did is checked through the API too."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.ui.conftest import login, make_user, screenshot

NEW_ALERT_WAIT_MS = 20_000


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def api(server):
    return server.http("main-org")


@pytest.fixture(scope="module")
def analyst(server):
    return make_user(server)


def post_alert(server, api, **fields) -> dict:
    body = {
        "type": "siem",
        "source": "splunk",
        "sourceRef": unique("ref"),
        "title": unique("alert"),
        "description": "Seen by the **SIEM**",
        **fields,
    }
    answer = api.post(server.url + "/api/v1/alert", json=body, timeout=30)
    assert answer.status_code == 201, answer.text
    return answer.json()


def get_alert(server, api, alert_id: str) -> dict:
    answer = api.get(f"{server.url}/api/v1/alert/{alert_id}", timeout=30)
    assert answer.ok, answer.text
    return answer.json()


def make_case(
    server, api, observables: list[tuple[str, str]], iocs: tuple[str, ...] = (), **fields
) -> dict:
    answer = api.post(
        server.url + "/api/v1/case",
        json={"title": unique("case"), "description": "d", **fields},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    case = answer.json()
    for data_type, data in observables:
        added = api.post(
            f"{server.url}/api/v1/case/{case['_id']}/observable",
            json={"dataType": data_type, "data": data, "ioc": data in iocs},
            timeout=30,
        )
        assert added.status_code == 201, added.text
    return case


def rows(page: Page):
    return page.locator("table.alert-table tbody tr")


def test_a_new_alert_shows_up_in_the_open_list_without_a_reload(page: Page, server, api, analyst):
    tag = unique("live")
    post_alert(server, api, title="Brute force on VPN", severity=3, tags=[tag, "vpn"])
    post_alert(
        server,
        api,
        title="Malware beacon",
        severity=4,
        tags=[tag, "malware"],
        observables=[{"dataType": "ip", "data": "203.0.113.7"}],
    )
    login(page, server, *analyst)
    page.goto(server.url + "/alerts")
    expect(rows(page).filter(has_text="Malware beacon")).to_have_count(1)
    page.evaluate("window.__sameDocument = true")

    fresh = post_alert(server, api, title="Phishing reported by a user", tags=[tag])

    banner = page.locator("#show-new-alerts")
    expect(banner).to_be_visible(timeout=NEW_ALERT_WAIT_MS)
    expect(page.locator(".new-alerts-banner")).to_contain_text("1 new alert")
    # The rows did not move on their own: the new one waits for the analyst's click.
    expect(rows(page).filter(has_text="Phishing reported")).to_have_count(0)
    banner.click()
    expect(page.locator(f'tr[data-alert="{fresh["_id"]}"]')).to_be_visible()
    assert page.evaluate("window.__sameDocument === true"), "the page was reloaded"
    expect(page.locator("#show-new-alerts")).to_have_count(0)
    screenshot(page, "alerts-list")


def test_filters_and_sort_change_the_rows_and_stay_in_the_address(page: Page, server, api, analyst):
    tag = unique("filter")
    post_alert(server, api, title="zulu low one", severity=1, tags=[tag], source="edr")
    post_alert(server, api, title="alpha critical one", severity=4, tags=[tag], source="edr")
    post_alert(server, api, title="mike critical two", severity=4, tags=[tag], source="ids")
    login(page, server, *analyst)
    page.goto(server.url + "/alerts")
    page.fill("#f-tags", tag)
    page.press("#f-tags", "Enter")
    expect(page).to_have_url(re.compile(f"tags={tag}"))
    expect(rows(page)).to_have_count(3)

    page.get_by_role("link", name="Sev").click()
    expect(page).to_have_url(re.compile("sort=severity"))
    titles = rows(page).locator(".alert-title > a")
    # Equal severities: by date, in the same direction.
    expect(titles).to_have_text(["zulu low one", "alpha critical one", "mike critical two"])
    page.get_by_role("link", name=re.compile("^Sev")).click()
    expect(page).to_have_url(re.compile("sort=-severity"))
    expect(titles).to_have_text(["mike critical two", "alpha critical one", "zulu low one"])

    page.select_option("#f-severity", "4")
    expect(page).to_have_url(re.compile("severity=4"))
    expect(page).to_have_url(re.compile("sort=-severity"))
    expect(titles).to_have_text(["mike critical two", "alpha critical one"])

    # The address is the list: pasted in another tab, it shows the same rows.
    address = page.url
    other = page.context.new_page()
    other.goto(address)
    expect(other.locator("#f-severity")).to_have_value("4")
    expect(rows(other).locator(".alert-title > a")).to_have_text(
        ["mike critical two", "alpha critical one"]
    )
    other.fill("#f-q", "alpha")
    other.press("#f-q", "Enter")
    expect(rows(other)).to_have_count(1)
    other.close()


def test_bulk_status_change_and_bulk_delete(page: Page, server, api, analyst):
    tag = unique("bulk")
    first = post_alert(server, api, title="bulk one", tags=[tag])
    second = post_alert(server, api, title="bulk two", tags=[tag])
    third = post_alert(server, api, title="bulk three", tags=[tag])
    login(page, server, *analyst)
    page.goto(f"{server.url}/alerts?tags={tag}")
    expect(rows(page)).to_have_count(3)
    expect(page.locator("#bulk-bar")).to_be_hidden()
    for alert in (first, second):
        page.locator(f'input[name=ids][value="{alert["_id"]}"]').check()
    expect(page.locator("#bulk-bar [data-bulk-count]")).to_have_text("2")
    page.select_option("#bulk-status", "FalsePositive")
    page.locator("#bulk-set-status").click()
    # Closed alerts leave the default view (waiting for an analyst).
    expect(rows(page)).to_have_count(1)
    for alert in (first, second):
        found = get_alert(server, api, alert["_id"])
        assert (found["status"], found["stage"]) == ("FalsePositive", "Closed")
    assert get_alert(server, api, third["_id"])["status"] == "New"

    page.locator(f'input[name=ids][value="{third["_id"]}"]').check()
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#bulk-delete").click()
    expect(page.locator("main")).to_contain_text("No alert matches these filters")
    gone = api.get(f"{server.url}/api/v1/alert/{third['_id']}", timeout=30)
    assert gone.status_code == 404


def test_a_refused_bulk_action_shows_the_services_message(page: Page, server, api, analyst):
    tag = unique("refused")
    alert = post_alert(server, api, title="merge me nowhere", tags=[tag])
    login(page, server, *analyst)
    page.goto(f"{server.url}/alerts?tags={tag}")
    page.locator(f'input[name=ids][value="{alert["_id"]}"]').check()
    page.fill("#bulk-case", "999999")
    page.press("#bulk-case", "Enter")  # Enter in the case number means "merge"
    expect(page.locator("#flash")).to_contain_text("999999")
    assert get_alert(server, api, alert["_id"])["stage"] == "New"


def test_preview_shows_similar_cases_with_the_share_of_common_observables(
    page: Page, server, api, analyst
):
    tag = unique("similar")
    shared = [("domain", f"{unique('evil')}.example"), ("ip", "198.51.100.23")]
    case = make_case(
        server, api, [*shared, ("hash", uuid.uuid4().hex)], iocs=(shared[0][1],), tags=[tag]
    )
    closed = make_case(server, api, [shared[1], ("hash", uuid.uuid4().hex)])
    answer = api.patch(
        f"{server.url}/api/v1/case/{closed['_id']}",
        json={"status": "TruePositive", "summary": "seen before", "impactStatus": "NoImpact"},
        timeout=30,
    )
    assert answer.status_code == 204, answer.text
    alert = post_alert(
        server,
        api,
        title="Callback to a known domain",
        severity=3,
        tags=[tag, "c2"],
        description="The **EDR** saw a callback.\n\n- host: `ws-042`\n- user: jdoe",
        observables=[{"dataType": d, "data": v, "ioc": d == "domain"} for d, v in shared]
        + [{"dataType": "url", "data": "https://example.org/only-in-the-alert"}],
    )
    login(page, server, *analyst)
    page.goto(f"{server.url}/alerts?tags={tag}")
    expect(rows(page).locator(".similar-count")).to_have_text(["2"])
    rows(page).locator(".alert-title > a").click()
    expect(page).to_have_url(f"{server.url}/alerts/{alert['_id']}")
    expect(page.locator("#alert-description strong")).to_have_text("EDR")
    expect(page.locator("#alert-observables tbody tr")).to_have_count(3)
    items = page.locator(".similar-case")
    # Most observables in common first.
    expect(items).to_have_count(2)
    expect(items.first).to_have_attribute("data-case", str(case["number"]))
    item = page.locator(f'.similar-case[data-case="{case["number"]}"]')
    expect(item).to_contain_text("Observables 67 % (2/3)")
    expect(item).to_contain_text("IOCs 100 % (1/1)")
    expect(items.nth(1)).to_contain_text("Observables 50 % (1/2)")
    item.get_by_role("button", name="See which observables").click()
    expect(item.locator(".similar-observables li")).to_have_count(2)
    expect(item.locator(".similar-observables")).to_contain_text(shared[0][1])
    screenshot(page, "alert-preview")
    page.locator('#similar-chips a[data-status="TruePositive"]').click()
    expect(page).to_have_url(re.compile("similar=TruePositive"))
    expect(items).to_have_count(1)
    expect(items.first).to_have_attribute("data-case", str(closed["number"]))


def test_import_with_a_template_creates_a_case_assigned_to_the_importer(
    page: Page, server, api, analyst
):
    template = api.post(
        server.url + "/api/v1/caseTemplate",
        json={
            "name": unique("phishing"),
            "displayName": "Phishing triage",
            "tasks": [{"title": "Analyse headers"}, {"title": "Block sender", "order": 1}],
        },
        timeout=30,
    )
    assert template.status_code == 201, template.text
    alert = post_alert(
        server,
        api,
        title="Phishing to import",
        observables=[{"dataType": "mail", "data": "a@b.example"}],
    )
    login(page, server, *analyst)
    page.goto(f"{server.url}/alerts/{alert['_id']}")
    page.select_option("#import-template", label="Phishing triage")
    page.locator("#import-alert").click()
    expect(page).to_have_url(re.compile(r"/cases/\d+$"))
    number = page.url.rsplit("/", 1)[1]
    case = api.get(f"{server.url}/api/v1/case/{number}", timeout=30).json()
    assert case["assignee"] == analyst[0]
    assert case["title"] == "Phishing to import"
    tasks = api.post(
        server.url + "/api/v1/query",
        json={"query": [{"_name": "getCase", "idOrName": case["_id"]}, {"_name": "tasks"}]},
        timeout=30,
    ).json()
    assert sorted(t["title"] for t in tasks) == ["Analyse headers", "Block sender"]
    imported = get_alert(server, api, alert["_id"])
    assert (imported["stage"], imported["caseId"]) == ("Imported", case["_id"])


def test_merge_into_a_case_by_its_number(page: Page, server, api, analyst):
    case = make_case(server, api, [])
    alert = post_alert(
        server, api, title="Merge me", observables=[{"dataType": "ip", "data": "192.0.2.99"}]
    )
    login(page, server, *analyst)
    page.goto(f"{server.url}/alerts/{alert['_id']}")
    page.fill("#merge-case", str(case["number"]))
    page.locator("#merge-alert").click()
    expect(page).to_have_url(f"{server.url}/cases/{case['number']}")
    merged = get_alert(server, api, alert["_id"])
    assert (merged["stage"], merged["caseId"]) == ("Imported", case["_id"])
    observables = api.post(
        server.url + "/api/v1/query",
        json={"query": [{"_name": "getCase", "idOrName": case["_id"]}, {"_name": "observables"}]},
        timeout=30,
    ).json()
    assert [o["data"] for o in observables] == ["192.0.2.99"]


def test_an_analyst_of_another_organisation_gets_404_on_the_alert(page: Page, server, api):
    alert = post_alert(server, api, title="main-org only")
    server.create_org("alerts-elsewhere")
    outsider = make_user(server, org="alerts-elsewhere")
    login(page, server, *outsider)
    answer = page.goto(f"{server.url}/alerts/{alert['_id']}")
    assert answer is not None and answer.status == 404
    expect(page.locator("body")).not_to_contain_text("main-org only")
    page.goto(f"{server.url}/alerts?stage=all")
    expect(page.locator("body")).not_to_contain_text("main-org only")


def read_flag(server, api, alert_id: str) -> bool:
    found = api.post(
        server.url + "/api/v1/query",
        json={
            "query": [
                {"_name": "getAlert", "idOrName": alert_id},
                {"_name": "page", "from": 0, "to": 1, "extraData": ["read"]},
            ]
        },
        timeout=30,
    ).json()
    return found[0]["extraData"]["read"]


def test_mark_read_in_bulk_then_start_and_close_from_the_preview(page: Page, server, api, analyst):
    tag = unique("triage")
    alert = post_alert(server, api, title="triage me", tags=[tag])
    login(page, server, *analyst)
    page.goto(f"{server.url}/alerts?tags={tag}")
    row = page.locator(f'tr[data-alert="{alert["_id"]}"]')
    expect(row.locator(".unread-dot")).to_be_visible()
    row.locator("input[name=ids]").check()
    page.get_by_role("button", name="Mark read").click()
    expect(row.locator(".unread-dot")).to_have_count(0)
    assert read_flag(server, api, alert["_id"]) is True

    row.locator(".alert-title > a").click()
    page.locator("#start-alert").click()
    expect(page.locator("#alert-status")).to_have_text("InProgress")
    expect(page.locator("#alert-assignee")).to_have_text(analyst[0])
    page.get_by_role("button", name="Close…").click()
    page.select_option("#close-status", "TruePositive")
    page.fill("#close-summary", "Confirmed with the user")
    page.get_by_role("button", name="Close alert").click()
    expect(page.locator("#alert-status")).to_have_text("TruePositive")
    closed = get_alert(server, api, alert["_id"])
    assert (closed["stage"], closed["assignee"], closed["summary"]) == (
        "Closed",
        analyst[0],
        "Confirmed with the user",
    )


def test_a_read_only_analyst_sees_the_queue_without_actions(page: Page, server, api):
    tag = unique("readonly")
    alert = post_alert(server, api, title="look but do not touch", tags=[tag])
    login(page, server, *make_user(server, profile="read-only"))
    page.goto(f"{server.url}/alerts?tags={tag}")
    expect(rows(page)).to_have_count(1)
    expect(page.locator("input[name=ids]")).to_have_count(0)
    page.goto(f"{server.url}/alerts/{alert['_id']}")
    expect(page.locator("#alert-title")).to_have_text("look but do not touch")
    expect(page.locator("#alert-actions, #import-form, #merge-form")).to_have_count(0)


def test_script_payloads_in_an_alert_are_shown_as_text(page: Page, server, api, analyst):
    tag = unique("xss")
    title = '<img src=x onerror="window.__pwned=1">'
    alert = post_alert(
        server,
        api,
        title=title,
        tags=[tag, "<b onmouseover=window.__pwned=2>tag</b>"],
        description="<script>window.__pwned=3</script> [click](javascript:window.__pwned=4)",
        observables=[{"dataType": "other", "data": "<svg onload=window.__pwned=5>"}],
    )
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    login(page, server, *analyst)
    page.goto(f"{server.url}/alerts?tags={tag}")
    expect(rows(page).locator(".alert-title > a")).to_have_text(title)
    page.goto(f"{server.url}/alerts/{alert['_id']}")
    expect(page.locator("#alert-title")).to_have_text(title)
    expect(page.locator("#alert-observables")).to_contain_text("<svg onload=window.__pwned=5>")
    expect(page.locator("#alert-description script")).to_have_count(0)
    expect(page.locator('#alert-description a[href^="javascript"]')).to_have_count(0)
    page.locator("#alert-description").hover()
    assert page.evaluate("window.__pwned === undefined")
    assert dialogs == []
