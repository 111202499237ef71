"""The cases list, the case page's Details tab and title bar, closing and reopening a case,
and the top bar's quick search, in Chromium against a real server. What the browser
changes is read back through the API (what every other client sees)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page, expect

from tests.analysis.conftest import engine_env
from tests.harness import Server
from tests.ui.conftest import login, make_user, screenshot


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    """The UI tests' server, with the test responders of tests/analysis/neurons."""
    srv = Server(tmp_path_factory.mktemp("data-ui-cases"), extra_env=engine_env())
    srv.start()
    srv.init_main_org()
    yield srv
    srv.stop()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def api(server, org: str = "main-org"):
    session = server.http(org)

    def call(method: str, path: str, **kwargs):
        answer = session.request(method, server.url + path, timeout=60, **kwargs)
        assert answer.ok, f"{method} {path}: {answer.status_code} {answer.text}"
        return answer.json() if answer.content else None

    return call


def new_case(server, **body) -> dict:
    body = {"title": unique("case"), "description": "d", **body}
    return api(server)("POST", "/api/v1/case", json=body)


def custom_field(server, field_type: str, **extra) -> str:
    name = unique(f"cf-{field_type}").replace("-", "")
    body = {
        "name": name,
        "displayName": f"{field_type.title()} {name[-4:]}",
        "type": field_type,
        "description": f"a {field_type} field",
        **extra,
    }
    api(server, "admin")("POST", "/api/v1/customField", json=body)
    return name


def values(case: dict) -> dict:
    return {f["name"]: f.get("value") for f in case["customFields"]}


@pytest.fixture
def analyst(page: Page, server) -> str:
    user, password = make_user(server)
    login(page, server, user, password)
    return user


# --------------------------------------------------------------------------- the list


def test_the_list_filters_sorts_and_pages_from_the_address(page: Page, server, analyst):
    tag = unique("batch")
    made = [
        new_case(
            server,
            title=f"{tag} {'phishing' if index % 2 else 'malware'} {index:02d}",
            severity=4 if index % 4 == 0 else 2,
            tags=[tag, "even" if index % 2 == 0 else "odd"],
        )
        for index in range(34)
    ]
    # Some work in progress on the newest ones, for the list's assignee and task columns.
    call = api(server)
    for case in made[-3:]:
        call("PATCH", f"/api/v1/case/{case['_id']}", json={"assignee": analyst})
        for title in ("Triage", "Contain", "Report"):
            task = call("POST", f"/api/v1/case/{case['_id']}/task", json={"title": title})
            if title == "Triage":
                call("PATCH", f"/api/v1/task/{task['_id']}", json={"status": "Completed"})
    page.goto(server.url + f"/cases?tag={tag}")
    expect(page.locator("#cases-table tbody tr")).to_have_count(30)
    expect(page.locator(".pager")).to_contain_text("1–30 of 34")
    # Newest first: the last case made is on top.
    expect(page.locator("#cases-table tbody tr").first).to_contain_text(f"{tag} phishing 33")
    screenshot(page, "cases-list")

    page.select_option("#f-severity", "4")  # the form submits itself on change
    expect(page).to_have_url(re.compile(r"severity=4"))
    expect(page.locator("#cases-table tbody tr")).to_have_count(9)
    for badge in page.locator("#cases-table tbody tr .severity").all_inner_texts():
        assert badge == "CRITICAL"

    page.fill("#f-q", "phishing")
    page.press("#f-q", "Enter")
    expect(page).to_have_url(re.compile(r"q=phishing"))
    # Critical ones are the multiples of 4: all even, so none is a phishing one.
    expect(page.locator(".empty")).to_contain_text("No case matches")

    today = datetime.now(UTC).date()
    page.goto(server.url + f"/cases?tag={tag}&since={today}&until={today}")
    expect(page.locator(".pager")).to_contain_text("of 34")
    page.fill("#f-until", str(today.replace(year=today.year - 1)))
    page.press("#f-until", "Enter")
    expect(page.locator(".empty")).to_contain_text("No case matches")

    page.goto(server.url + f"/cases?tag={tag}&tag=odd&sort=title&size=15")
    rows = page.locator("#cases-table tbody tr .case-title div:first-child")
    expect(rows).to_have_count(15)
    titles = rows.all_inner_texts()
    assert titles == sorted(titles) and titles[0] == f"{tag} phishing 01"
    page.get_by_role("link", name="Title ▲").click()  # the header turns the order around
    expect(rows.first).to_have_text(f"{tag} phishing 33")
    page.get_by_role("link", name="Next ›").click()
    expect(page).to_have_url(re.compile(r"page=2"))
    expect(rows).to_have_count(2)
    expect(page.locator(".pager")).to_contain_text("16–17 of 17")


# --------------------------------------------------------------------------- details


def test_editing_the_details_tab_changes_what_the_api_returns(page: Page, server, analyst):
    names = {
        "choice": custom_field(server, "string", options=["phishing", "malware", "fraud"]),
        "text": custom_field(server, "string"),
        "integer": custom_field(server, "integer"),
        "float": custom_field(server, "float"),
        "boolean": custom_field(server, "boolean"),
        "date": custom_field(server, "date"),
        "url": custom_field(server, "url"),
    }
    case = new_case(
        server,
        severity=1,
        tags=["before"],
        customFields={name: None for name in names.values()},
    )
    page.goto(server.url + f"/cases/{case['number']}")
    expect(page.locator("#case-title")).to_have_text(case["title"])

    page.select_option("#prop-severity", "3")
    page.select_option("#prop-tlp", "3")
    page.fill("#prop-tags", "phishing, vip")
    page.click("#save-properties")
    expect(page.locator("#case-tags")).to_contain_text("vip")

    page.locator("#description summary").click()
    page.fill("#edit-description", "# Scope\n\nThe **CFO** clicked <script>alert(1)</script>")
    page.get_by_role("button", name="Save description").click()
    expect(page.locator("#case-description strong")).to_have_text("CFO")
    expect(page.locator("#case-description")).to_contain_text("<script>alert(1)</script>")

    field = {kind: f"#cf-{name}" for kind, name in names.items()}
    assert page.locator(field["choice"]).evaluate("e => e.tagName") == "SELECT"
    page.select_option(field["choice"], "malware")
    page.fill(field["text"], "finance floor")
    page.fill(field["integer"], "42")
    page.fill(field["float"], "2.5")
    page.check(field["boolean"])
    page.fill(field["date"], "2026-03-04T05:06")
    page.fill(field["url"], "https://intranet.example/ticket/7")
    page.click("#save-fields")
    expect(page.locator(field["integer"])).to_have_value("42")
    screenshot(page, "case-details")

    got = api(server)("GET", f"/api/v1/case/{case['_id']}")
    assert got["severity"] == 3 and got["tlp"] == 3
    assert got["tags"] == ["phishing", "vip"]
    assert got["description"].startswith("# Scope")
    march = int(datetime(2026, 3, 4, 5, 6, tzinfo=UTC).timestamp() * 1000)
    assert values(got) == {
        names["choice"]: "malware",
        names["text"]: "finance floor",
        names["integer"]: 42,
        names["float"]: 2.5,
        names["boolean"]: True,
        names["date"]: march,
        names["url"]: "https://intranet.example/ticket/7",
    }

    # Unchecking a box is a value too (false), and a number field refuses text with the
    # service's message, keeping what was typed.
    page.uncheck(field["boolean"])
    page.click("#save-fields")
    expect(page.locator(field["boolean"])).not_to_be_checked()
    assert values(api(server)("GET", f"/api/v1/case/{case['_id']}"))[names["boolean"]] is False


def test_title_bar_take_assign_flag_and_ttps(page: Page, server, analyst):
    case = new_case(server)
    page.goto(server.url + f"/cases/{case['number']}")
    page.click("#case-take")
    expect(page.locator("#case-assignee")).to_have_text(analyst)
    page.click("#case-assign")
    page.locator("#case-assign-menu").get_by_role("button", name=re.compile("Nobody")).click()
    expect(page.locator("#case-assignee")).to_have_text("nobody")
    page.click("#case-flag")
    expect(page.locator("#case-flag")).to_contain_text("Flagged")

    page.locator("#procedures summary").click()
    page.fill("#pattern-id", "T1566.001")
    page.fill("#tactic", "initial-access")
    page.locator("#add-procedure").get_by_role("button", name="Add").click()
    expect(page.locator("#procedures-table")).to_contain_text("T1566.001")
    page.locator("#procedures summary").click()
    too_long = "T1566." + "9" * 40  # a pattern id is at most 32 characters
    page.fill("#pattern-id", too_long)
    page.fill("#procedure-description", "kept on refusal")
    page.locator("#add-procedure").get_by_role("button", name="Add").click()
    expect(page.locator("#error-procedures")).to_contain_text("patternId")
    expect(page.locator("#pattern-id")).to_have_value(too_long)
    expect(page.locator("#procedure-description")).to_have_value("kept on refusal")

    got = api(server)("GET", f"/api/v1/case/{case['_id']}")
    assert got.get("assignee") is None and got["flag"] is True
    patterns = api(server)("GET", f"/api/v1/pattern/case/{case['_id']}")
    assert [p["patternId"] for p in patterns] == ["T1566.001"]


def test_a_responder_runs_from_the_title_bar_and_its_status_shows(page: Page, server, analyst):
    api(server)(
        "POST",
        "/api/v1/analysis/worker",
        json={"kind": "responder", "definitionId": "ProbeResponder_1_0"},
    )
    case = new_case(server)
    page.goto(server.url + f"/cases/{case['number']}")
    page.click("#case-responders")
    menu = page.locator("#case-responders-menu")
    expect(menu).to_contain_text("None yet")
    menu.get_by_role("button", name="ProbeResponder").click()
    expect(page.locator("#flash")).to_contain_text("ProbeResponder queued")
    # The open menu follows the action until it is done.
    expect(menu.locator("#case-actions-status")).to_contain_text("Success", timeout=30_000)
    got = api(server)("GET", f"/api/v1/case/{case['_id']}")
    assert "responded" in got["tags"]


def test_delete_asks_first_and_a_read_only_user_gets_no_action(page: Page, server, analyst):
    case = new_case(server)
    page.goto(server.url + f"/cases/{case['number']}")
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.click("#case-delete")
    expect(page).to_have_url(server.url + f"/cases/{case['number']}")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#case-delete")
    expect(page).to_have_url(re.compile(r"/cases$"))
    gone = server.http("main-org").get(server.url + f"/api/v1/case/{case['_id']}", timeout=30)
    assert gone.status_code == 404

    kept = new_case(server)
    page.context.clear_cookies()
    login(page, server, *make_user(server, "main-org", "read-only"))
    page.goto(server.url + f"/cases/{kept['number']}")
    expect(page.locator("#case-title")).to_have_text(kept["title"])
    for action in ("#case-take", "#case-assign", "#case-close", "#case-delete", "#save-properties"):
        expect(page.locator(action)).to_have_count(0)
    expect(page.locator("#prop-severity")).to_be_disabled()


# --------------------------------------------------------------------------- closure


def test_closing_needs_the_mandatory_fields_and_keeps_what_was_typed(page: Page, server, analyst):
    mandatory = custom_field(server, "string", mandatory=True, options=["contained", "eradicated"])
    case = new_case(server, customFields={mandatory: None})
    api(server)("POST", f"/api/v1/case/{case['_id']}/task", json={"title": "Collect logs"})
    page.goto(server.url + f"/cases/{case['number']}")
    page.click("#case-close")
    expect(page.locator("#closure-open-tasks")).to_contain_text("Collect logs")

    page.check("#resolution-truepositive")
    page.check("#impact-withimpact")
    page.fill("#closure-summary", "Phishing **contained**; mailbox purged.")
    page.click("#confirm-close")
    expect(page.locator("#closure-error")).to_contain_text(mandatory)
    expect(page.locator("#closure-summary")).to_have_value(
        "Phishing **contained**; mailbox purged."
    )
    expect(page.locator("#resolution-truepositive")).to_be_checked()
    expect(page.locator("#impact-withimpact")).to_be_checked()
    refused = api(server)("GET", f"/api/v1/case/{case['_id']}")
    assert refused["stage"] != "Closed" and "summary" not in refused

    page.select_option(f"#cf-{mandatory}", "contained")
    screenshot(page, "case-closure")
    page.click("#confirm-close")
    expect(page).to_have_url(re.compile(rf"/cases/{case['number']}$"))
    expect(page.locator("#resolution")).to_contain_text("contained")
    closed = api(server)("GET", f"/api/v1/case/{case['_id']}")
    assert closed["status"] == "TruePositive" and closed["stage"] == "Closed"
    assert closed["impactStatus"] == "WithImpact"
    assert closed["summary"] == "Phishing **contained**; mailbox purged."
    assert values(closed)[mandatory] == "contained"

    page.click("#case-reopen")
    expect(page.locator("#case-close")).to_be_visible()
    reopened = api(server)("GET", f"/api/v1/case/{case['_id']}")
    assert reopened["stage"] == "InProgress" and "closedDate" not in reopened


# --------------------------------------------------------------------------- search


def test_quick_search_jumps_to_a_case_and_finds_an_observable(page: Page, server, analyst):
    case = new_case(server, title=unique("search target"))
    value = f"{uuid.uuid4().hex[:10]}.evil.example"
    api(server)(
        "POST", f"/api/v1/case/{case['_id']}/observable", json={"dataType": "domain", "data": value}
    )
    twin = new_case(server, title=unique("same domain"))
    api(server)(
        "POST", f"/api/v1/case/{twin['_id']}/observable", json={"dataType": "domain", "data": value}
    )
    page.goto(server.url + "/")
    page.fill("#quick-search", f"#{case['number']}")
    page.press("#quick-search", "Enter")
    expect(page).to_have_url(server.url + f"/cases/{case['number']}")
    # The Details tab says which case shares what.
    related = page.locator("#related-cases")
    expect(related).to_contain_text(f"#{twin['number']} {twin['title']}")
    expect(related).to_contain_text(f"domain: {value}")

    page.fill("#quick-search", value)
    page.press("#quick-search", "Enter")
    expect(page.locator("#search-observables")).to_contain_text(value)
    holders = page.locator("#search-value-holders")
    expect(holders).to_contain_text(f"case #{case['number']}")
    expect(holders).to_contain_text(f"case #{twin['number']}")
    page.fill("main input[name=q]", case["title"])
    page.press("main input[name=q]", "Enter")
    expect(page.locator("#search-cases")).to_contain_text(case["title"])

    alert_title = unique("search alert")
    alert = {"type": "ui", "source": "tests", "sourceRef": unique("ref"), "description": "d"}
    api(server)("POST", "/api/v1/alert", json={**alert, "title": alert_title})
    page.fill("main input[name=q]", alert_title.split("-")[-1])  # words of the title
    page.press("main input[name=q]", "Enter")
    expect(page.locator("#search-alerts")).to_contain_text(alert_title)


def test_another_organisation_sees_nothing_of_the_case(page: Page, server):
    case = new_case(server, title=unique("secret case"))
    value = f"{uuid.uuid4().hex[:10]}.secret.example"
    api(server)(
        "POST", f"/api/v1/case/{case['_id']}/observable", json={"dataType": "domain", "data": value}
    )
    other = unique("other-org")
    server.create_org(other)
    user, password = make_user(server, other)
    login(page, server, user, password)
    answer = page.goto(server.url + f"/cases/{case['number']}")
    assert answer is not None and answer.status == 404
    for text in (value, case["title"], f"#{case['number']}"):
        page.goto(server.url + "/search?q=" + text.replace("#", "%23"))
        expect(page.locator("main")).to_contain_text("Nothing found")
