"""Signing in, the top bar, the profile page, and the rules every page follows
(CSRF on writes, the Content-Security-Policy, errors as pages)."""

from __future__ import annotations

import re

import requests
from playwright.sync_api import Page, expect

from tests.harness import ADMIN_LOGIN, ADMIN_PASSWORD
from tests.ui.conftest import login, make_user, screenshot


def console_errors(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


def test_sign_in_lands_on_home_and_sign_out_ends_the_session(page: Page, server) -> None:
    errors = console_errors(page)
    user, password = make_user(server)
    page.goto(server.url + "/login")
    screenshot(page, "sign-in")
    login(page, server, user, password)
    expect(page.locator("#org-menu")).to_have_text("main-org")
    expect(page.get_by_role("link", name=re.compile("^Alerts"))).to_be_visible()
    screenshot(page, "home")
    # No CSP violation, no script error: every script comes from our own files. (After
    # signing out, the stream's reconnection may meet a 401 before the page is left.)
    assert errors == [], errors
    page.locator("#user-menu").click()
    page.locator("#sign-out").click()
    expect(page).to_have_url(re.compile(r"/login"))
    page.goto(server.url + "/profile")
    expect(page).to_have_url(re.compile(r"/login\?next=/profile"))


def test_a_wrong_password_keeps_the_analyst_on_the_form_with_a_message(page: Page, server):
    page.goto(server.url + "/login")
    page.fill("input[name=login]", ADMIN_LOGIN)
    page.fill("input[name=password]", "not the password")
    page.click("button[type=submit]")
    expect(page.locator("#login-error")).to_have_text("Wrong login or password")
    expect(page.locator("input[name=login]")).to_have_value(ADMIN_LOGIN)


def test_sign_in_returns_to_the_page_asked_for_and_never_elsewhere(page: Page, server):
    def fill_and_submit() -> None:
        page.fill("input[name=login]", ADMIN_LOGIN)
        page.fill("input[name=password]", ADMIN_PASSWORD)
        page.click("button[type=submit]")

    page.goto(server.url + "/profile")
    fill_and_submit()
    expect(page).to_have_url(server.url + "/profile")
    page.context.clear_cookies()
    page.goto(server.url + "/login?next=//evil.example/x")
    fill_and_submit()
    expect(page).to_have_url(server.url + "/")


def test_profile_changes_the_password_and_renews_the_api_key(page: Page, server) -> None:
    user, password = make_user(server)
    login(page, server, user, password)
    page.goto(server.url + "/profile")
    page.fill("#currentPassword", password)
    page.fill("#new-password", "a brand new passphrase")
    page.fill("#confirm", "a brand new passphrase")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("status")).to_have_text("Password changed")
    assert requests.get(
        server.url + "/api/v1/user/current", auth=(user, "a brand new passphrase"), timeout=10
    ).ok
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name=re.compile("my key")).click()
    key = page.locator("#api-key").input_value()
    answer = requests.get(
        server.url + "/api/v1/user/current",
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    assert answer.json()["login"] == user
    screenshot(page, "profile")


def test_writes_without_the_csrf_token_are_refused_and_change_nothing(server) -> None:
    """Another site can make the browser send the cookie, never the page's token."""
    browser = requests.Session()
    form = browser.get(server.url + "/login", timeout=10).text
    token = re.search(r'name="login_csrf" value="([^"]+)"', form).group(1)
    browser.post(
        server.url + "/login",
        data={"login_csrf": token, "login": ADMIN_LOGIN, "password": ADMIN_PASSWORD},
        timeout=10,
    )
    before = server.http().get(server.url + "/api/v1/user/current", timeout=10).json()
    refused = browser.post(server.url + "/profile/key", data={}, timeout=10)
    assert refused.status_code == 403
    assert "expired" in refused.text
    wrong = browser.post(server.url + "/profile/key", data={"csrf_token": "guess"}, timeout=10)
    assert wrong.status_code == 403
    after = server.http().get(server.url + "/api/v1/user/current", timeout=10).json()
    assert after.get("hasKey") == before.get("hasKey")
    assert after["_updatedAt"] == before["_updatedAt"]


def test_sign_in_without_the_form_token_is_refused(server) -> None:
    """Login CSRF: another site cannot sign the analyst in as someone else."""
    answer = requests.post(
        server.url + "/login",
        data={"login": ADMIN_LOGIN, "password": ADMIN_PASSWORD},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 403
    assert "PROPOLIS_SESSION" not in answer.headers.get("set-cookie", "")


def test_every_page_answer_carries_a_strict_content_security_policy(server) -> None:
    answer = requests.get(server.url + "/login", timeout=10)
    policy = answer.headers["content-security-policy"]
    script = next(d for d in policy.split(";") if d.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script
    assert answer.headers["x-frame-options"] == "DENY"


def test_organisation_switcher_acts_in_the_chosen_organisation(page: Page, server) -> None:
    server.create_org("second-org")
    admin = server.http("admin")
    user, password = make_user(server)
    answer = admin.put(
        f"{server.url}/api/v1/user/{user}/organisations",
        json={
            "organisations": [
                {"organisation": "main-org", "profile": "analyst", "default": True},
                {"organisation": "second-org", "profile": "read-only"},
            ]
        },
        timeout=10,
    )
    assert answer.ok, answer.text
    login(page, server, user, password)
    expect(page.locator("#org-menu")).to_have_text("main-org")
    page.locator("#org-menu").click()
    page.get_by_role("button", name=re.compile("second-org")).click()
    expect(page.locator("#org-menu")).to_have_text("second-org")
