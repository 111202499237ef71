"""The case's Observables tab and the observable page, in Chromium against a real server:
adding one value, many pasted values and a file; bulk actions; an analysis followed live
to its taxonomy tag and its report (hostile markup shown as text); TLP limits of an
analyzer; another organisation's observable is not found."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.harness import Server
from tests.ui.conftest import login, make_user, screenshot, verdict_server

JOB_DONE = 60_000  # ms: a job starts a process; a busy machine may take a while


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    """A server whose catalogue holds the Verdict test analyzer, enabled in main-org with
    TheHive's default limits (TLP and PAP up to AMBER)."""
    srv = verdict_server(
        tmp_path_factory.mktemp("data-ui-observables"),
        {"seconds": 2, "check_tlp": True, "max_tlp": 2},
    )
    yield srv
    srv.stop()


@pytest.fixture(autouse=True)
def patient_expectations():
    """Several sessions share a small machine: a page may take a few seconds to answer.
    The assertions wait longer than Playwright's 5 s, then the default comes back."""
    expect.set_options(timeout=20_000)
    yield
    expect.set_options(timeout=5_000)


def new_case(server: Server, title: str = "Phishing wave") -> dict:
    answer = server.http().post(
        server.url + "/api/v1/case",
        json={"title": f"{title} {uuid.uuid4().hex[:6]}", "description": "d"},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def add_observable(server: Server, case: dict, **body) -> dict:
    answer = server.http().post(
        server.url + f"/api/v1/case/{case['_id']}/observable", json=body, timeout=30
    )
    assert answer.status_code == 201, answer.text
    return answer.json()[0]


def observables_of(server: Server, case: dict) -> list[dict]:
    answer = server.http().post(
        server.url + "/api/v1/query",
        json={
            "query": [
                {"_name": "getCase", "idOrName": case["_id"]},
                {"_name": "observables"},
                {"_name": "sort", "_fields": [{"_createdAt": "asc"}]},
            ]
        },
        timeout=30,
    )
    assert answer.ok, answer.text
    return answer.json()


def signed_in(page: Page, server: Server, org: str = "main-org", profile: str = "analyst") -> None:
    user, password = make_user(server, org, profile)
    login(page, server, user, password)


def open_add_form(page: Page) -> None:
    """Unfold the add form and wait for Bootstrap's collapse to finish ("show" comes at the
    end of the animation): typing into a form still sliding open is a race."""
    page.click("#add-observables-toggle")
    expect(page.locator("#add-observables")).to_have_class(re.compile(r"\bshow\b"))


def open_tab(page: Page, server: Server, case: dict) -> None:
    page.goto(server.url + f"/cases/{case['number']}/observables")


def test_add_one_value_many_pasted_values_and_a_file(page: Page, server, tmp_path) -> None:
    case = new_case(server)
    signed_in(page, server)
    open_tab(page, server, case)
    expect(page.get_by_text("No observable in this case yet")).to_be_visible()

    open_add_form(page)
    page.select_option("#add-type", "domain")
    page.fill("#add-data", "evil.example.org")
    page.click("#add-submit")
    expect(page.locator("#observables-table")).to_contain_text("evil.example.org")

    open_add_form(page)
    page.select_option("#add-type", "ip")
    page.fill("#add-data", "10.1.1.1\n10.1.1.2\n\n10.1.1.3\n")
    page.fill("#add-tags", "pasted, wave-1")
    page.check("#add-ioc")
    page.select_option("#add-tlp", "3")
    page.click("#add-submit")
    expect(page.locator("#observables-table tbody tr")).to_have_count(4)

    evidence = tmp_path / "invoice.pdf.exe"
    evidence.write_bytes(b"MZ not really a program " + uuid.uuid4().bytes)
    open_add_form(page)
    page.select_option("#add-type", "file")
    page.set_input_files("#add-file", str(evidence))
    page.click("#add-submit")
    expect(page.locator("#observables-table")).to_contain_text("invoice.pdf.exe")

    found = observables_of(server, case)
    ips = [o for o in found if o["dataType"] == "ip"]
    assert sorted(o["data"] for o in ips) == ["10.1.1.1", "10.1.1.2", "10.1.1.3"]
    assert all(o["ioc"] and o["tlp"] == 3 and o["tags"] == ["pasted", "wave-1"] for o in ips)
    (file_observable,) = [o for o in found if o["dataType"] == "file"]
    assert file_observable["attachment"]["name"] == "invoice.pdf.exe"
    # the IOC star and the TLP stripe of the pasted rows
    row = page.locator("tr", has_text="10.1.1.2")
    expect(row.locator(".ioc-star")).to_be_visible()
    expect(row.locator("td.tlp-stripe-red")).to_have_count(1)
    expect(row.locator(".badge.tag", has_text="wave-1")).to_be_visible()


def test_a_refused_value_keeps_what_was_typed_and_adds_nothing(page: Page, server) -> None:
    case = new_case(server)
    signed_in(page, server)
    open_tab(page, server, case)
    open_add_form(page)
    page.select_option("#add-type", "ip")
    page.fill("#add-data", "10.2.2.2\nnot an address")
    page.click("#add-submit")
    expect(page.locator("#add-error")).to_contain_text("ip")
    expect(page.locator("#add-data")).to_have_value("10.2.2.2\nnot an address")
    assert observables_of(server, case) == []


def test_bulk_set_ioc_then_delete(page: Page, server) -> None:
    case = new_case(server)
    for value in ("a.example", "b.example", "c.example"):
        add_observable(server, case, dataType="domain", data=value)
    signed_in(page, server)
    open_tab(page, server, case)
    expect(page.locator("#bulk-bar")).to_be_hidden()
    for value in ("a.example", "b.example"):
        page.locator("tr", has_text=value).locator("input[name=ids]").check()
    expect(page.locator("#bulk-bar [data-bulk-count]")).to_have_text("2")
    page.get_by_role("button", name="★ Set IOC").click()
    expect(page.locator("tr", has_text="b.example").locator(".ioc-star")).to_be_visible()
    flags = {o["data"]: o["ioc"] for o in observables_of(server, case)}
    assert flags == {"a.example": True, "b.example": True, "c.example": False}

    # no tag typed: refused with a message, the ticks stay; typed: added
    page.locator("tr", has_text="c.example").locator("input[name=ids]").check()
    page.get_by_role("button", name="Add tags").click()
    expect(page.locator("#bulk-error")).to_contain_text("tags")
    expect(page.locator("tr", has_text="c.example").locator("input[name=ids]")).to_be_checked()
    page.get_by_label("Tags to add or remove").fill("spam, wave-2")
    page.get_by_role("button", name="Add tags").click()
    expect(page.locator("tr", has_text="c.example").locator(".badge.tag")).to_have_count(2)

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("tr", has_text="c.example").locator("input[name=ids]").check()
    page.click("#bulk-delete")
    expect(page.locator("#observables-table")).not_to_contain_text("c.example")
    assert sorted(o["data"] for o in observables_of(server, case)) == ["a.example", "b.example"]


def add_some_more(server: Server, case: dict) -> None:
    """What a case's observables usually look like (for the screenshot): several types,
    TLPs and flags, a value also in an alert."""
    value = "https://login.example.com/reset?session=4f2a"
    alert = server.http().post(
        server.url + "/api/v1/alert",
        json={
            "type": "phishing",
            "source": "mail-gateway",
            "sourceRef": uuid.uuid4().hex[:10],
            "title": "Reported phishing",
            "description": "d",
            "observables": [{"dataType": "url", "data": value}],
        },
        timeout=30,
    )
    assert alert.status_code == 201, alert.text
    add_observable(server, case, dataType="url", data=value, tlp=1, sighted=True, tags=["lure"])
    add_observable(
        server,
        case,
        dataType="hash",
        data="44d88612fea8a8f36de82e1278abb02f",
        tlp=3,
        tags=["dropper", "sandbox"],
    )
    add_observable(server, case, dataType="mail", data="it-support@example.com", tlp=0)


def test_bulk_run_analyzers(page: Page, server) -> None:
    case = new_case(server)
    for value in ("run-one.example", "run-two.example", "run-not.example"):
        add_observable(server, case, dataType="domain", data=value)
    signed_in(page, server)
    open_tab(page, server, case)
    for value in ("run-one.example", "run-two.example"):
        page.locator("tr", has_text=value).locator("input[name=ids]").check()
    page.get_by_role("button", name="Run analyzers").click()
    expect(page.locator("#bulk-bar")).to_be_hidden()  # the tab came back, nothing ticked
    analyzed = {}
    for observable in observables_of(server, case):
        answer = server.http().post(
            server.url + "/api/v1/query",
            json={
                "query": [
                    {"_name": "getObservable", "idOrName": observable["_id"]},
                    {"_name": "jobs"},
                ]
            },
            timeout=30,
        )
        assert answer.ok, answer.text
        analyzed[observable["data"]] = [job["analyzerName"] for job in answer.json()]
    assert analyzed == {
        "run-one.example": ["Verdict"],
        "run-two.example": ["Verdict"],
        "run-not.example": [],
    }


def test_an_analysis_followed_live_to_its_tag_and_its_report(page: Page, server) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    earlier = new_case(server, "Earlier incident")
    add_observable(server, earlier, dataType="ip", data="6.6.6.6", ioc=True)
    case = new_case(server)
    observable = add_observable(
        server, case, dataType="ip", data="6.6.6.6", tags=["c2"], message="Seen **beaconing**"
    )
    add_observable(server, case, dataType="domain", data="beacon.example.net", ioc=True)
    add_some_more(server, case)
    signed_in(page, server)

    page.goto(server.url + f"/observables/{observable['_id']}")
    expect(page.locator("#observable-value")).to_have_text("6.6.6.6")
    expect(page.locator("#observable-message strong")).to_have_text("beaconing")
    links = page.locator("#observable-links")
    expect(links.get_by_role("link", name=re.compile("Earlier incident"))).to_be_visible()
    row = page.locator("#analyzers tr[data-analyzer=Verdict]")
    expect(row.locator(".job-cell")).to_contain_text("never")
    row.get_by_role("button", name="Run").click()
    # the job's status changes in place, without a reload, until it is final
    expect(row.locator(".job-status")).to_have_text(re.compile("Waiting|InProgress"))
    expect(row.locator(".job-status")).to_have_text("Success", timeout=JOB_DONE)
    tag = row.locator(".taxonomy")
    expect(tag).to_have_text("Verdict:Score=99/100")
    expect(tag).to_have_class(re.compile(r"\btaxonomy-malicious\b"))
    expect(page.locator("#analysis")).not_to_have_attribute("hx-trigger", re.compile("."))
    expect(page.locator("#observable-analyses .taxonomy-malicious")).to_be_visible()
    # a second run (the analyzer's cache answers it at once) joins the history
    row.get_by_role("button", name="Run").click()
    expect(row.locator(".job-cell")).to_contain_text("(2 runs)")
    expect(row.locator(".job-status")).to_have_text("Success", timeout=JOB_DONE)
    screenshot(page, "observable-analysis")

    open_tab(page, server, case)
    listed = page.locator("tr", has_text="6.6.6.6")
    expect(listed.locator(".taxonomy-malicious")).to_have_text("Verdict:Score=99/100")
    expect(listed.locator(".badge.tag", has_text="c2")).to_be_visible()
    expect(listed.locator(".seen-ioc")).to_contain_text("seen in 1 case")
    screenshot(page, "case-observables")

    page.goto(server.url + f"/observables/{observable['_id']}")
    page.locator("#analyzers tr[data-analyzer=Verdict] .job-date").click()
    expect(page.locator("#report-summary .taxonomy-malicious")).to_be_visible()
    tree = page.locator("#report-tree")
    expect(tree).to_contain_text('<script>alert("report-script")</script>')
    expect(tree).to_contain_text("<img src=x id=report-img onerror=")
    expect(tree).to_contain_text("engine-two")
    assert page.locator("#report-img, a[href^='javascript:']").count() == 0
    expect(page.locator("#raw-report pre")).to_be_hidden()
    page.get_by_text("Show raw").click()
    expect(page.locator("#raw-report pre")).to_contain_text('"score": 99')
    screenshot(page, "analysis-report")
    expect(page.locator("#report-runs tr:has(td)")).to_have_count(2)
    assert dialogs == []


def test_an_alerts_observable_page_links_its_alert_and_the_cases(page: Page, server) -> None:
    case = new_case(server, "Phishing of the day")
    add_observable(server, case, dataType="mail", data="ceo@spoofed.example")
    alert = server.http().post(
        server.url + "/api/v1/alert",
        json={
            "type": "phishing",
            "source": "mail-gateway",
            "sourceRef": uuid.uuid4().hex[:10],
            "title": "Spoofed CEO",
            "description": "d",
            "observables": [{"dataType": "mail", "data": "ceo@spoofed.example"}],
        },
        timeout=30,
    )
    assert alert.status_code == 201, alert.text
    found = server.http().post(
        server.url + "/api/v1/query",
        json={
            "query": [
                {"_name": "getAlert", "idOrName": alert.json()["_id"]},
                {"_name": "observables"},
            ]
        },
        timeout=30,
    )
    (observable,) = found.json()
    signed_in(page, server)
    page.goto(server.url + f"/observables/{observable['_id']}")
    header = page.locator("#observable-header")
    expect(header.get_by_role("link", name="Spoofed CEO")).to_have_attribute(
        "href", f"/alerts/{alert.json()['_id']}"
    )
    expect(page.locator("#observable-links")).to_contain_text("Phishing of the day")
    expect(header.locator(".seen-plain")).to_have_text("seen in 1 case")


def test_a_read_only_user_is_offered_no_change(page: Page, server) -> None:
    case = new_case(server)
    observable = add_observable(server, case, dataType="domain", data="look.example")
    signed_in(page, server, profile="read-only")
    open_tab(page, server, case)
    expect(page.locator("#observables-table")).to_contain_text("look.example")
    expect(page.locator("#add-observables-toggle")).to_have_count(0)
    expect(page.locator("input[name=ids]")).to_have_count(0)
    page.goto(server.url + f"/observables/{observable['_id']}")
    expect(page.locator("#observable-value")).to_have_text("look.example")
    expect(page.locator("#edit-toggle, #delete-observable, #run-all")).to_have_count(0)
    expect(page.locator("#analyzers").get_by_role("button", name="Run")).to_have_count(0)


def test_edit_then_delete_on_the_observable_page(page: Page, server) -> None:
    case = new_case(server)
    observable = add_observable(server, case, dataType="domain", data="edit.example", tags=["x"])
    signed_in(page, server)
    page.goto(server.url + f"/observables/{observable['_id']}")
    page.click("#edit-toggle")
    page.fill("#edit-tags", "phishing, reviewed")
    page.check("#edit-ioc")
    page.fill("#edit-message", "Sender **domain**")
    page.click("#edit-submit")
    expect(page.locator("#observable-message strong")).to_have_text("domain")
    (after,) = observables_of(server, case)
    assert after["tags"] == ["phishing", "reviewed"] and after["ioc"] is True

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#delete-observable")
    expect(page).to_have_url(re.compile(rf"/cases/{case['number']}/observables$"))
    expect(page.get_by_text("No observable in this case yet")).to_be_visible()
    assert observables_of(server, case) == []


def test_tlp_red_forbids_an_analyzer_limited_to_amber(page: Page, server) -> None:
    case = new_case(server)
    observable = add_observable(server, case, dataType="domain", data="red.example", tlp=3)
    signed_in(page, server)
    page.goto(server.url + f"/observables/{observable['_id']}")
    row = page.locator("#analyzers tr[data-analyzer=Verdict]")
    expect(row.locator(".refusal")).to_contain_text("TLP")
    expect(row.get_by_role("button", name="Run")).to_have_count(0)
    expect(page.locator("#run-all")).to_be_disabled()


def test_another_organisations_analyst_does_not_find_the_observable(page: Page, server) -> None:
    case = new_case(server)
    observable = add_observable(server, case, dataType="domain", data="secret.example")
    server.create_org("observables-other")
    signed_in(page, server, "observables-other")
    for path in (
        f"/observables/{observable['_id']}",
        f"/observables/{observable['_id']}/report",
        f"/cases/{case['number']}/observables",
    ):
        answer = page.goto(server.url + path)
        assert answer is not None and answer.status == 404, path
        expect(page.locator("body")).not_to_contain_text("secret.example")
