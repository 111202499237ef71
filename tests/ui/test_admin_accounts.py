"""Administration of accounts in the browser: users (create, passwords, lock, API keys,
memberships), organisations (create, describe, link, members) and profiles (checklists whose
permissions apply at once)."""

from __future__ import annotations

import re
import uuid

import requests
from playwright.sync_api import Page, expect

from tests.harness import ADMIN_LOGIN, ADMIN_PASSWORD
from tests.ui.conftest import login, make_user, screenshot
from tests.ui.test_every_page import audit_count

PASSWORD = "a long enough passphrase"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def api_status(server, auth, path: str = "/api/v1/user/current", **kwargs) -> int:
    """What the API answers the account (Basic auth or an API key in ``headers``)."""
    return requests.get(server.url + path, auth=auth, timeout=30, **kwargs).status_code


def sign_in_as(page: Page, server, user: str, password: str) -> None:
    page.context.clear_cookies()
    login(page, server, user, password)


def open_account(page: Page, server, user: str) -> None:
    page.goto(f"{server.url}/admin/users/{user}")
    expect(page.get_by_role("heading", level=1)).to_be_visible()


def test_an_org_admin_creates_an_analyst_who_sees_only_their_organisation(
    page: Page, server
) -> None:
    server.create_org("elsewhere-org")
    foreign = server.http("elsewhere-org").post(
        server.url + "/api/v1/case", json={"title": "not yours", "description": "d"}, timeout=30
    )
    assert foreign.status_code == 201, foreign.text
    outsider, _ = make_user(server, "elsewhere-org")
    org_admin, password = make_user(server, "main-org", "org-admin")
    login(page, server, org_admin, password)
    page.goto(server.url + "/admin")
    expect(page).to_have_url(server.url + "/admin/users")
    expect(page.locator("#users-table")).to_contain_text(org_admin)
    expect(page.locator("#users-table")).not_to_contain_text(outsider)

    # A refused creation keeps what was typed, says why, and changes nothing.
    before = audit_count(server)
    page.fill("#u-login", "not a login")
    page.fill("#u-name", "Ann Analyst")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("#create-error")).to_contain_text("login")
    expect(page.locator("#u-name")).to_have_value("Ann Analyst")
    assert audit_count(server) == before

    analyst = f"{unique('ann')}@example.com"
    page.fill("#u-login", analyst)
    page.select_option("#u-profile", "analyst")
    page.fill("#u-password", PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ann Analyst")
    expect(page.locator("[data-membership=main-org]")).to_contain_text("analyst")
    page.goto(server.url + "/admin/users")
    expect(page.locator(f"tr[data-user='{analyst}']")).to_contain_text("analyst")
    screenshot(page, "admin-users")

    sign_in_as(page, server, analyst, PASSWORD)
    expect(page.locator("#org-menu")).to_have_text("main-org")
    page.locator("#org-menu").click()
    choices = page.locator("form[action='/ui/organisation'] button[name=organisation]")
    expect(choices).to_have_count(1)
    expect(choices).to_contain_text("main-org")
    answer = page.goto(f"{server.url}/cases/{foreign.json()['_id']}")
    assert answer.status == 404
    assert api_status(server, (analyst, PASSWORD), f"/api/v1/case/{foreign.json()['_id']}") == 404
    assert page.goto(server.url + "/admin/users").status == 403


def test_a_generated_password_is_shown_once_and_signs_in(page: Page, server) -> None:
    org_admin, password = make_user(server, "main-org", "org-admin")
    user, old_password = make_user(server)
    login(page, server, org_admin, password)
    open_account(page, server, user)

    # Two different passwords typed: refused, the old one still works.
    page.fill("#pw-new", "first version of it")
    page.fill("#pw-confirm", "second version of it")
    page.get_by_role("button", name="Set password").click()
    expect(page.locator("[data-error=password]")).to_have_text("The two passwords differ")
    assert api_status(server, (user, old_password)) == 200

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#generate-password").click()
    generated = page.locator("#secret-value").input_value()
    assert len(generated) >= 16
    assert api_status(server, (user, generated)) == 200
    assert api_status(server, (user, old_password)) == 401
    open_account(page, server, user)  # shown once: never again
    expect(page.locator("#secret")).to_have_count(0)
    assert generated not in page.content()

    page.fill("#pw-new", PASSWORD)
    page.fill("#pw-confirm", PASSWORD)
    page.get_by_role("button", name="Set password").click()
    expect(page.locator("#notice")).to_have_text("Password set")
    assert api_status(server, (user, generated)) == 401
    sign_in_as(page, server, user, PASSWORD)
    expect(page.locator("#org-menu")).to_have_text("main-org")


def test_a_locked_account_is_refused_at_the_sign_in_form_until_unlocked(page: Page, server) -> None:
    org_admin, password = make_user(server, "main-org", "org-admin")
    user, user_password = make_user(server)
    login(page, server, org_admin, password)
    open_account(page, server, user)
    page.get_by_role("button", name="Lock").click()
    expect(page.locator("#user-state")).to_have_text("Locked")

    page.context.clear_cookies()
    page.goto(server.url + "/login")
    page.fill("input[name=login]", user)
    page.fill("input[name=password]", user_password)
    page.click("button[type=submit]")
    expect(page.locator("#login-error")).to_be_visible()
    expect(page).to_have_url(re.compile("/login"))

    sign_in_as(page, server, org_admin, password)
    open_account(page, server, user)
    page.get_by_role("button", name="Unlock").click()
    expect(page.locator("#user-state")).to_have_text("Active")
    sign_in_as(page, server, user, user_password)
    expect(page.locator("#org-menu")).to_have_text("main-org")


def test_an_api_key_is_shown_once_works_and_stops_when_revoked(page: Page, server) -> None:
    org_admin, password = make_user(server, "main-org", "org-admin")
    user, _ = make_user(server)
    login(page, server, org_admin, password)
    open_account(page, server, user)
    expect(page.locator("#key-state")).to_contain_text("no API key")
    page.get_by_role("button", name="Create key").click()
    key = page.locator("#secret-value").input_value()
    bearer = {"Authorization": f"Bearer {key}"}
    answer = requests.get(server.url + "/api/v1/user/current", headers=bearer, timeout=30)
    assert answer.json()["login"] == user

    open_account(page, server, user)
    expect(page.locator("#key-state")).to_contain_text("has an API key")
    assert key not in page.content()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke key").click()
    expect(page.locator("#notice")).to_have_text("API key revoked")
    assert api_status(server, None, headers=bearer) == 401


def test_the_platform_admin_creates_and_links_an_organisation_and_adds_a_member(
    page: Page, server
) -> None:
    name = unique("partner")
    member, member_password = make_user(server)
    login(page, server, ADMIN_LOGIN, ADMIN_PASSWORD)
    page.goto(server.url + "/admin/organisations")
    page.fill("#o-name", name)
    page.fill("#o-description", "Our partner CERT")
    page.get_by_role("button", name="Create organisation").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    page.goto(server.url + "/admin/organisations")  # the same name again: refused
    page.fill("#o-name", name)
    page.fill("#o-description", "a second one")
    page.get_by_role("button", name="Create organisation").click()
    expect(page.locator("#create-error")).to_contain_text("already exists")
    expect(page.locator("#o-description")).to_have_value("a second one")
    page.goto(f"{server.url}/admin/organisations/{name}")

    page.fill("#o-description", "Our partner CERT, night shift")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#o-description")).to_have_value("Our partner CERT, night shift")

    page.select_option("#l-other", "main-org")
    page.select_option("#l-type", "supervised")
    page.get_by_role("button", name="Link", exact=True).click()
    row = page.locator("#links-table tr[data-link=main-org]")
    expect(row).to_contain_text("supervised")
    links = server.http("admin").get(f"{server.url}/api/v1/organisation/{name}/links", timeout=30)
    assert [(x["organisation"]["name"], x["linkType"]) for x in links.json()] == [
        ("main-org", "supervised")
    ]

    open_account(page, server, member)
    # An administration profile outside the admin organisation: refused, nothing changed.
    before = audit_count(server)
    page.select_option("#add-organisation", name)
    page.select_option("#add-profile", "admin")
    page.get_by_role("button", name="Save organisations").click()
    expect(page.locator("[data-error=memberships]")).to_contain_text("admin organisation")
    expect(page.locator(f"[data-membership='{name}']")).to_have_count(0)
    assert audit_count(server) == before

    page.select_option("#add-organisation", name)
    page.select_option("#add-profile", "read-only")
    page.get_by_role("button", name="Save organisations").click()
    expect(page.locator(f"[data-membership='{name}']")).to_be_visible()
    screenshot(page, "admin-user")
    as_member = requests.get(
        server.url + "/api/v1/user/current",
        auth=(member, member_password),
        headers={"X-Organisation": name},
        timeout=30,
    )
    assert as_member.status_code == 200 and as_member.json()["profile"] == "read-only"

    page.goto(f"{server.url}/admin/organisations/{name}")
    expect(page.locator(f"#members-table tr[data-member='{member}']")).to_contain_text("read-only")
    page.goto(server.url + "/admin/organisations")
    expect(page.locator(f"tr[data-organisation='{name}']")).to_contain_text("main-org")
    screenshot(page, "admin-organisations")


def test_a_custom_profile_built_from_the_checklist_is_what_its_users_may_do(
    page: Page, server
) -> None:
    name = unique("triage")
    login(page, server, ADMIN_LOGIN, ADMIN_PASSWORD)
    page.goto(server.url + "/admin/profiles/analyst")
    expect(page.locator("input[name=permission]:not([disabled])")).to_have_count(0)
    expect(page.get_by_role("button", name="Save profile")).to_have_count(0)

    page.goto(server.url + "/admin/profiles")
    page.fill("#p-name", name)
    for permission in ("manageAlert/update", "manageTask", "manageObservable"):
        page.locator("#create-profile").get_by_label(permission, exact=True).check()
    screenshot(page, "admin-profiles")
    page.get_by_role("button", name="Create profile").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    expect(page.get_by_label("manageTask", exact=True)).to_be_checked()
    expect(page.get_by_label("manageCase/create", exact=True)).not_to_be_checked()

    user, user_password = make_user(server, "main-org", name)
    new_case = {"title": "by a triage user", "description": "d"}
    made = requests.post(
        server.url + "/api/v1/case", json=new_case, auth=(user, user_password), timeout=30
    )
    assert made.status_code == 403, made.text

    page.get_by_label("manageCase/create", exact=True).check()
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_label("manageCase/create", exact=True)).to_be_checked()
    made = requests.post(
        server.url + "/api/v1/case", json=new_case, auth=(user, user_password), timeout=30
    )
    assert made.status_code == 201, made.text

    # In use: the delete button says why it is off; an unused profile goes.
    expect(page.locator("#delete-profile")).to_be_disabled()
    page.goto(server.url + "/admin/profiles")
    spare = unique("spare")
    page.fill("#p-name", spare)
    page.get_by_role("button", name="Create profile").click()
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#delete-profile").click()
    expect(page).to_have_url(server.url + "/admin/profiles")
    expect(page.locator(f"tr[data-profile='{spare}']")).to_have_count(0)


def test_an_org_admin_cannot_take_over_an_account_shared_with_another_organisation(
    page: Page, server
) -> None:
    """TheHive's rule: account-wide changes need manageUser in every organisation of the
    account. The page says why and nothing changes; the membership here stays editable."""
    server.create_org("shared-org")
    org_admin, password = make_user(server, "main-org", "org-admin")
    user, user_password = make_user(server)
    shared = server.http("admin").put(
        f"{server.url}/api/v1/user/{user}/organisations",
        json={
            "organisations": [
                {"organisation": "main-org", "profile": "analyst", "default": True},
                {"organisation": "shared-org", "profile": "analyst"},
            ]
        },
        timeout=30,
    )
    assert shared.ok, shared.text
    login(page, server, org_admin, password)
    open_account(page, server, user)
    before = audit_count(server)
    page.get_by_role("button", name="Lock").click()
    expect(page.locator("[data-error=status]")).to_contain_text("cannot manage")
    expect(page.locator("#user-state")).to_have_text("Active")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#generate-password").click()
    expect(page.locator("[data-error=password]")).to_contain_text("cannot manage")
    expect(page.locator("#secret")).to_have_count(0)
    assert audit_count(server) == before
    assert api_status(server, (user, user_password)) == 200

    page.select_option("#p-profile", "read-only")
    page.get_by_role("button", name="Change").click()
    expect(page.locator("#notice")).to_have_text("Profile changed")
    expect(page.locator("[data-membership=main-org]")).to_contain_text("read-only")


def test_removing_the_last_membership_deletes_the_account(page: Page, server) -> None:
    org_admin, password = make_user(server, "main-org", "org-admin")
    user, user_password = make_user(server)
    login(page, server, org_admin, password)
    open_account(page, server, org_admin)  # one's own account: no lock, no delete
    expect(page.locator("#delete-user")).to_have_count(0)

    open_account(page, server, user)
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#delete-user").click()
    expect(page).to_have_url(server.url + "/admin/users")
    expect(page.locator(f"tr[data-user='{user}']")).to_have_count(0)
    assert api_status(server, (user, user_password)) == 401
    assert page.goto(f"{server.url}/admin/users/{user}").status == 404
