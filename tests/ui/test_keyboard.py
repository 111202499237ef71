"""Keyboard use and themes: what an analyst who lives in the app all day relies on."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.ui.conftest import login, make_user, screenshot


def test_shortcuts_overlay_and_go_to_keys(page: Page, server) -> None:
    user, password = make_user(server)
    login(page, server, user, password)
    page.keyboard.press("?")
    overlay = page.locator("#shortcuts")
    expect(overlay).to_be_visible()
    expect(overlay).to_contain_text("Quick search")
    overlay.get_by_role("button", name="Close").click()
    expect(overlay).to_be_hidden()
    page.keyboard.press("g")
    page.keyboard.press("a")
    expect(page).to_have_url(re.compile(r"/alerts"))
    page.keyboard.press("g")
    page.keyboard.press("c")
    expect(page).to_have_url(re.compile(r"/cases"))
    page.keyboard.press("/")
    expect(page.locator("#quick-search")).to_be_focused()
    # Typing in a field never triggers a shortcut.
    page.keyboard.type("ga")
    expect(page).to_have_url(re.compile(r"/cases"))
    expect(page.locator("#quick-search")).to_have_value("ga")


def test_dark_theme_is_remembered_across_pages(page: Page, server) -> None:
    api = server.http("main-org")
    for i, severity in enumerate((1, 2, 3, 4)):
        api.post(
            server.url + "/api/v1/alert",
            json={
                "type": "edr",
                "source": "sensor",
                "sourceRef": f"dark-{i}",
                "title": f"Suspicious process tree on host-{i}",
                "description": "d",
                "severity": severity,
                "tags": ["edr", "lateral-movement"] if i % 2 else ["edr"],
                "observables": [{"dataType": "hostname", "data": f"host-{i}"}],
            },
        ).raise_for_status()
    user, password = make_user(server)
    login(page, server, user, password)
    html = page.locator("html")
    start = html.get_attribute("data-bs-theme")
    page.keyboard.press("t")
    flipped = "dark" if start == "light" else "light"
    expect(html).to_have_attribute("data-bs-theme", flipped)
    page.goto(server.url + "/alerts")
    expect(html).to_have_attribute("data-bs-theme", flipped)
    # The organisation's latest activity fills the stream panel (the four alerts above).
    expect(page.locator("#stream-list .stream-entry").first).to_be_visible()
    if flipped == "dark":
        screenshot(page, "alerts-dark")


def test_rows_are_walked_and_opened_from_the_keyboard(page: Page, server) -> None:
    api = server.http("main-org")
    for i in range(3):
        api.post(
            server.url + "/api/v1/case", json={"title": f"Keyboard case {i}", "description": "d"}
        ).raise_for_status()
    user, password = make_user(server)
    login(page, server, user, password)
    page.goto(server.url + "/cases")
    page.keyboard.press("j")
    page.keyboard.press("j")
    selected = page.locator("table[data-rows] tbody tr.row-selected")
    expect(selected).to_have_count(1)
    target = selected.get_attribute("data-href")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(re.escape(target) + "$"))
