"""Administration of analyzers and responders in Chromium against a real server whose
catalogue holds test definitions (tests/ui/admin_analyzers): the catalogue with an invalid
definition and why; enabling an analyzer with a secret, a list and a number through the
generated form; a required item left empty (refused, nothing changed); editing without
retyping the secret; a test run and its report; a responder; and the secret found in no
page and no API answer while the analyzer really receives it."""

from __future__ import annotations

import re
import sys
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.harness import Server
from tests.ui.conftest import ANALYZERS, login, make_user, screenshot
from tests.ui.pages import Browser
from tests.ui.test_every_page import audit_count

CATALOGUE = Path(__file__).parent / "admin_analyzers"
# The analyzer checks it by digest (Secretive.json's config.expected_key_sha256).
SECRET = "pr0p0lis-S3cret-Key-7f3a91"
RESPONDER_SECRET = "n0tifier-T0ken-5be2c8"
JOB_DONE = 60_000  # ms: a job starts a process; a busy machine may take a while


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    """A server with the admin pages' test catalogue (and the Verdict analyzer), nothing
    enabled."""
    srv = Server(
        tmp_path_factory.mktemp("data-ui-admin-analyzers"),
        extra_env={
            "PROPOLIS_ANALYZERS_PATH": f"{CATALOGUE / 'analyzers'}:{ANALYZERS}",
            "PROPOLIS_RESPONDERS_PATH": str(CATALOGUE / "responders"),
            "PROPOLIS_ANALYSIS_PYTHON": sys.executable,
            "PROPOLIS_JOB_HEARTBEAT_SECONDS": "0.5",
        },
    )
    srv.start()
    srv.init_main_org()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def admin(server) -> tuple[str, str]:
    return make_user(server, "main-org", "org-admin")


@pytest.fixture(autouse=True)
def patient_expectations():
    expect.set_options(timeout=20_000)
    yield
    expect.set_options(timeout=5_000)


def workers_of(server: Server) -> dict[str, dict]:
    answer = server.http("main-org").get(server.url + "/api/v1/analysis/worker", timeout=30)
    assert answer.ok, answer.text
    return {w["name"]: w for w in answer.json()}


def open_enable_form(page: Page, server: Server, kind: str, definition: str) -> None:
    page.goto(f"{server.url}/admin/{kind}s")
    row = page.locator(f"#catalogue tr[data-definition='{definition}']")
    row.get_by_role("link", name=re.compile("^Enable")).click()
    expect(page.locator("#worker-form")).to_be_visible()


def item(page: Page, name: str):
    return page.locator(f".config-item[data-item='{name}']")


def test_the_catalogue_lists_every_definition_and_the_invalid_ones(server, admin, page: Page):
    login(page, server, *admin)
    page.goto(server.url + "/admin/analyzers")
    row = page.locator("#catalogue tr[data-definition='Secretive_2_1']")
    for shown in ("Secretive", "2.1", "Propolis tests", "ip, domain", "AGPL-V3", "1 required"):
        expect(row).to_contain_text(shown)
    expect(row).to_contain_text("says whether it got the expected API key")
    expect(page.locator("#catalogue tr[data-definition='Verdict_1_0']")).to_be_visible()
    expect(page.locator("#enabled")).to_have_count(0)
    expect(page.get_by_text("No analyzer is enabled in main-org yet")).to_be_visible()
    invalid = page.locator("#invalid-definitions")
    expect(invalid).to_contain_text("Broken.json")
    expect(invalid).to_contain_text("missing or non-string 'author'")
    page.click("#rescan")
    expect(page.locator("#rescan-result")).to_contain_text("1 invalid")
    page.fill("#catalogue-filter", "hostile")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#catalogue tbody tr")).to_have_count(1)
    expect(page.locator("#catalogue tbody tr")).to_have_attribute("data-definition", "Verdict_1_0")


def test_a_required_item_left_empty_is_refused_and_nothing_changes(server, admin, page: Page):
    login(page, server, *admin)
    open_enable_form(page, server, "analyzer", "Secretive_2_1")
    # Defaults are prefilled: the list's default value, the number, the global limits.
    expect(item(page, "servers").locator("input")).to_have_value("https://one.example")
    expect(item(page, "threshold").locator("input")).to_have_value("50")
    expect(item(page, "check_tlp").locator("input")).to_be_checked()
    expect(item(page, "max_tlp").locator("select")).to_have_value("2")
    expect(item(page, "api_key")).to_contain_text("not set")
    before = audit_count(server)
    item(page, "threshold").locator("input").fill("75")
    page.click("#save")
    expect(page.locator("#form-error")).to_contain_text("api_key")
    expect(item(page, "api_key").locator(".item-error")).to_contain_text("is required")
    expect(item(page, "threshold").locator("input")).to_have_value("75")  # what was typed
    assert "Secretive" not in workers_of(server)
    assert audit_count(server) == before


def test_enabling_an_analyzer_with_a_secret_a_list_and_a_number(server, admin, page: Page):
    login(page, server, *admin)
    open_enable_form(page, server, "analyzer", "Secretive_2_1")
    item(page, "api_key").locator("input[type=password]").fill(SECRET)
    servers = item(page, "servers")
    servers.locator("input").first.fill("https://a.example")
    servers.get_by_role("button", name="+ add a value").click()
    servers.locator("input").nth(1).fill("https://b.example")
    servers.get_by_role("button", name="+ add a value").click()
    servers.locator("input").nth(2).fill("https://dropped.example")
    servers.locator("[data-multi-remove]").nth(2).click()
    expect(servers.locator("input")).to_have_count(2)
    item(page, "threshold").locator("input").fill("75")
    item(page, "verbose").locator("input").check()
    item(page, "max_pap").locator("select").select_option("1")
    item(page, "jobTimeout").locator("input").fill("5")
    page.fill("#rate", "30")
    page.select_option("select[name=rateUnit]", "Hour")
    page.click("#save")
    expect(page).to_have_url(re.compile(r"/admin/analyzers/~\d+$"))
    expect(item(page, "api_key").locator(".secret-state")).to_have_text("set")
    expect(item(page, "api_key").locator("input[type=password]")).to_have_value("")
    screenshot(page, "admin-analyzer-config")

    worker = workers_of(server)["Secretive"]
    configuration = worker["configuration"]
    assert configuration["servers"] == ["https://a.example", "https://b.example"]
    assert configuration["threshold"] == 75
    assert configuration["verbose"] is True
    assert configuration["max_pap"] == 1 and configuration["max_tlp"] == 2
    assert configuration["api_key"] == "********"
    assert (worker["rate"], worker["rateUnit"], worker["jobTimeout"]) == (30, "Hour", 5)
    assert (worker["maxTlp"], worker["maxPap"]) == (2, 1)


def run_test(page: Page, value: str) -> None:
    page.locator("#test-form select[name=dataType]").select_option("ip")
    page.locator("#test-form input[name=data]").fill(value)
    page.click("#run-test")
    status = page.locator("#test-job .job-status")
    expect(status).to_have_text(re.compile("Success|Failure"), timeout=JOB_DONE)
    assert status.inner_text() == "Success", page.locator("#test-job").inner_text()


def test_the_test_button_runs_the_analyzer_and_shows_its_report(server, admin, page: Page):
    login(page, server, *admin)
    page.goto(server.url + "/admin/analyzers")
    page.locator("#enabled tr[data-worker='Secretive'] a").first.click()
    run_test(page, "203.0.113.7")
    # The report as the observable's report page shows it: taxonomy, tree, raw.
    expect(page.locator("#report-summary")).to_contain_text("Secretive:Key")
    tree = page.locator("#report-tree")
    expect(tree).to_contain_text("secretOk")
    expect(tree.locator("li", has_text="secretOk")).to_contain_text("true")
    expect(tree).to_contain_text("203.0.113.7")
    expect(tree).to_contain_text("https://b.example")
    screenshot(page, "admin-analyzer-test")
    # The job is the organisation's, made by the admin, listed with the analyzer's jobs.
    page.reload()
    expect(page.locator("#recent-jobs")).to_contain_text("203.0.113.7")


def test_editing_without_retyping_the_secret_keeps_it(server, admin, page: Page):
    login(page, server, *admin)
    worker = workers_of(server)["Secretive"]
    page.goto(f"{server.url}/admin/analyzers/{worker['_id']}")
    item(page, "threshold").locator("input").fill("80")
    page.click("#save")
    expect(page.locator("#saved")).to_be_visible()
    expect(item(page, "threshold").locator("input")).to_have_value("80")
    expect(item(page, "api_key").locator(".secret-state")).to_have_text("set")
    run_test(page, "198.51.100.9")
    expect(page.locator("#report-tree li", has_text="secretOk")).to_contain_text("true")
    configuration = workers_of(server)["Secretive"]["configuration"]
    assert configuration["threshold"] == 80
    assert configuration["servers"] == ["https://a.example", "https://b.example"]


def test_a_test_above_the_tlp_ceiling_fails_with_the_reason(server, admin, page: Page):
    login(page, server, *admin)
    worker = workers_of(server)["Secretive"]
    page.goto(f"{server.url}/admin/analyzers/{worker['_id']}")
    page.locator("#test-form select[name=dataType]").select_option("ip")
    page.locator("#test-form input[name=data]").fill("192.0.2.1")
    page.locator("#test-form select[name=tlp]").select_option("3")
    page.click("#run-test")
    expect(page.locator("#test-job .job-status")).to_have_text("Failure", timeout=JOB_DONE)
    expect(page.locator("#report-error")).to_contain_text("TLP is higher than allowed")


def test_a_refused_test_says_why_and_runs_nothing(server, admin):
    worker = workers_of(server)["Secretive"]
    browser = Browser(server, *admin)
    before = audit_count(server)
    answer = browser.request(
        "POST",
        f"/admin/analyzers/{worker['_id']}/test",
        data={"dataType": "", "data": "192.0.2.1"},
        headers={"HX-Request": "true"},
    )
    assert answer.status_code == 400
    assert 'id="test-error"' in answer.text and "dataType" in answer.text
    assert audit_count(server) == before


def test_clearing_a_required_secret_is_refused(server, admin, page: Page):
    login(page, server, *admin)
    worker = workers_of(server)["Secretive"]
    page.goto(f"{server.url}/admin/analyzers/{worker['_id']}")
    before = audit_count(server)
    page.check("#clear-api_key")
    item(page, "threshold").locator("input").fill("90")
    page.click("#save")
    expect(item(page, "api_key").locator(".item-error")).to_contain_text("is required")
    expect(item(page, "api_key").locator(".secret-state")).to_have_text("set")
    assert audit_count(server) == before
    assert workers_of(server)["Secretive"]["configuration"]["threshold"] == 80


def test_a_refused_form_never_draws_a_typed_secret_again(server, admin, page: Page):
    login(page, server, *admin)
    open_enable_form(page, server, "analyzer", "Secretive_2_1")  # enabled already, same name
    item(page, "api_key").locator("input[type=password]").fill(SECRET)
    page.click("#save")
    expect(page.locator("#form-error")).to_contain_text("already enabled")
    expect(page.locator("#form-error")).to_contain_text("Type the secrets again")
    expect(item(page, "api_key").locator("input[type=password]")).to_have_value("")
    assert SECRET not in page.content()
    assert list(workers_of(server)).count("Secretive") == 1


def test_another_flavor_is_prefilled_from_its_enabled_sibling(server, admin, page: Page):
    login(page, server, *admin)
    open_enable_form(page, server, "analyzer", "Secretive_Scan_1_0")
    expect(page.locator("#prefilled")).to_contain_text("Prefilled from Secretive")
    servers = item(page, "servers").locator("input")
    expect(servers).to_have_count(2)
    expect(servers.nth(1)).to_have_value("https://b.example")
    expect(item(page, "threshold").locator("input")).to_have_value("80")
    expect(item(page, "api_key")).to_contain_text("not set")  # secrets are not copied
    assert SECRET not in page.content()


def test_a_responder_is_enabled_with_its_secret(server, admin, page: Page):
    login(page, server, *admin)
    open_enable_form(page, server, "responder", "Notifier_1_0")
    expect(item(page, "room").locator("input")).to_have_value("soc")
    item(page, "webhook_token").locator("input[type=password]").fill(RESPONDER_SECRET)
    page.click("#save")
    expect(page).to_have_url(re.compile(r"/admin/responders/~\d+$"))
    expect(item(page, "webhook_token").locator(".secret-state")).to_have_text("set")
    expect(page.locator("#run-test")).to_have_count(0)  # a responder acts on the world
    page.goto(server.url + "/admin/responders")
    expect(page.locator("#enabled tr[data-worker='Notifier']")).to_be_visible()
    expect(page.locator("#catalogue tr[data-definition='Notifier_1_0']")).to_contain_text("enabled")
    screenshot(page, "admin-responders")


def test_the_analyzers_page_shows_what_is_enabled(server, admin, page: Page):
    login(page, server, *admin)
    page.goto(server.url + "/admin/analyzers")
    row = page.locator("#enabled tr[data-worker='Secretive']")
    expect(row).to_contain_text("TLP:AMBER")
    expect(row).to_contain_text("PAP:GREEN")
    expect(row).to_contain_text("30 / hour")
    expect(page.locator("#catalogue tr[data-definition='Secretive_2_1']")).to_contain_text(
        "enabled"
    )
    screenshot(page, "admin-analyzers")


# --------------------------------------------------------------------------- the secret


def observable_run(server: Server) -> tuple[dict, dict, str]:
    """A case with an IP observable analyzed by Secretive through TheHive's connector."""
    http = server.http("main-org")
    case = http.post(
        server.url + "/api/v1/case",
        json={"title": f"Secret check {uuid.uuid4().hex[:6]}", "description": "d"},
        timeout=30,
    ).json()
    observable = http.post(
        server.url + f"/api/v1/case/{case['_id']}/observable",
        json={"dataType": "ip", "data": "192.0.2.44", "tlp": 1, "pap": 1},
        timeout=30,
    ).json()[0]
    worker = workers_of(server)["Secretive"]
    job = http.post(
        server.url + "/api/connector/cortex/job",
        json={"analyzerId": worker["_id"], "cortexId": "local", "artifactId": observable["_id"]},
        timeout=30,
    )
    assert job.status_code == 201, job.text
    waited = http.get(f"{server.url}/api/job/{job.json()['_id']}/waitreport?atMost=60s", timeout=90)
    assert waited.json()["status"] == "Success", waited.text
    assert waited.json()["report"]["full"]["secretOk"] is True  # it got the secret
    return case, observable, job.json()["_id"]


def test_the_secret_is_in_no_page_and_no_api_answer(server, admin):
    case, observable, job_id = observable_run(server)
    workers = workers_of(server)
    analyzer, responder = workers["Secretive"], workers["Notifier"]
    browser = Browser(server, *admin)
    pages = [
        "/admin/analyzers",
        "/admin/analyzers/definitions/Secretive_2_1",
        f"/admin/analyzers/{analyzer['_id']}",
        f"/admin/analyzers/{analyzer['_id']}/jobs/{job_id}",
        "/admin/responders",
        f"/admin/responders/{responder['_id']}",
        f"/cases/{case['number']}",
        f"/cases/{case['number']}/observables",
        f"/observables/{observable['_id']}",
        f"/observables/{observable['_id']}/report",
        f"/observables/{observable['_id']}/report?job={job_id}",
        "/stream",
        "/",
    ]
    for path in pages:
        answer = browser.request("GET", path)
        assert answer.status_code == 200, f"{path}: {answer.status_code}"
        for secret in (SECRET, RESPONDER_SECRET):
            assert secret not in answer.text, f"the secret is in the page {path}"

    http = server.http("main-org")
    api = [
        ("GET", "/api/v1/analysis/worker", None),
        ("GET", f"/api/v1/analysis/worker/{analyzer['_id']}", None),
        ("GET", f"/api/v1/analysis/worker/{responder['_id']}", None),
        ("GET", "/api/connector/cortex/analyzer", None),
        ("GET", f"/api/connector/cortex/analyzer/{analyzer['_id']}", None),
        ("GET", "/api/connector/cortex/analyzer/type/ip", None),
        ("GET", f"/api/connector/cortex/job/{job_id}", None),
        ("GET", "/api/analyzer", None),
        ("GET", f"/api/analyzer/{analyzer['_id']}", None),
        ("POST", "/api/analyzer/_search", {"query": {}, "range": "all"}),
        ("GET", "/api/responder", None),
        ("GET", f"/api/responder/{responder['_id']}", None),
        ("GET", f"/api/job/{job_id}", None),
        ("GET", f"/api/job/{job_id}/report", None),
        ("POST", "/api/job/_search", {"query": {}, "range": "all"}),
        ("POST", "/api/v1/query", {"query": [{"_name": "listJob"}]}),
        ("POST", "/api/v1/query", {"query": [{"_name": "listAudit"}]}),
    ]
    for method, path, body in api:
        answer = http.request(method, server.url + path, json=body, timeout=30)
        assert answer.ok, f"{method} {path}: {answer.status_code} {answer.text[:200]}"
        for secret in (SECRET, RESPONDER_SECRET):
            assert secret not in answer.text, f"the secret is in {method} {path}"
    jobs = http.post(
        server.url + "/api/v1/query", json={"query": [{"_name": "listJob"}]}, timeout=30
    ).json()
    assert len(jobs) >= 3  # the two tests and the observable's run were all looked at
