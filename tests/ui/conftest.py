"""Browser tests: real Chromium (pytest-playwright) against a real ``propolis serve``.

pytest-playwright's ``browser`` / ``context`` / ``page`` fixtures work unchanged; this module
points them at Debian's chromium (Playwright never downloads a browser), gives every page a
laptop viewport, and starts one fresh server per test module (SQLite, ``main-org`` created)
so that each module's screens start from known, empty data.
"""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page

from tests.harness import Server

CHROMIUM = os.environ.get("PROPOLIS_TEST_CHROMIUM", "/usr/bin/chromium")
LAPTOP = {"width": 1440, "height": 900}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
USER_PASSWORD = "ui-tests-password"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """The system's chromium, headless; no sandbox because the tests may run as root."""
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "headless": browser_type_launch_args.get("headless", True),
        "args": ["--no-sandbox", "--disable-dev-shm-usage"],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    return {**browser_context_args, "viewport": LAPTOP}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    """A fresh server for this module (overrides the suite's per-backend ``server``)."""
    srv = Server(tmp_path_factory.mktemp("data-ui"))
    srv.start()
    srv.init_main_org()
    yield srv
    srv.stop()


def make_user(server: Server, org: str = "main-org", profile: str = "analyst") -> tuple[str, str]:
    """A new user of ``org`` with ``profile``, made through the API: (login, password)."""
    login = f"ui-{uuid.uuid4().hex[:10]}@example.com"
    response = server.http(org).post(
        server.url + "/api/v1/user",
        json={"login": login, "name": "UI tester", "profile": profile, "password": USER_PASSWORD},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return login, USER_PASSWORD


def login(page: Page, server: Server, user: str, password: str) -> None:
    """Sign in through the login form; returns once the browser has left ``/login``."""
    page.goto(server.url + "/login")
    page.fill("input[name=login]", user)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    try:
        page.wait_for_url(lambda url: urlparse(url).path != "/login", timeout=10_000)
    except PlaywrightError as error:
        # A refused sign-in stays on /login: show what the page said rather than a timeout.
        raise AssertionError(
            f"sign-in as {user} failed: {page.inner_text('body')[:500]}"
        ) from error


def screenshot(page: Page, name: str) -> Path:
    """Write ``docs/screenshots/<name>.png`` as a laptop screen shows the page."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    if page.viewport_size != LAPTOP:
        page.set_viewport_size(LAPTOP)
    path = SCREENSHOTS / f"{name}.png"
    for attempt in range(3):
        try:
            page.screenshot(path=str(path))
            return path
        except PlaywrightError as error:
            # Chromium sometimes cannot capture a frame right after a resize, on a busy
            # machine (seen in CI): the page is fine, the picture is tried again.
            if "Unable to capture screenshot" not in str(error) or attempt == 2:
                raise
            page.wait_for_timeout(500)
    return path


ANALYZERS = Path(__file__).parent / "analyzers"


def verdict_server(data_dir: Path, configuration: dict) -> Server:
    """A started server whose catalogue holds the Verdict test analyzer (tests/ui/analyzers),
    enabled in main-org with ``configuration``."""
    srv = Server(
        data_dir,
        extra_env={
            "PROPOLIS_ANALYZERS_PATH": str(ANALYZERS),
            "PROPOLIS_ANALYSIS_PYTHON": sys.executable,
            "PROPOLIS_JOB_HEARTBEAT_SECONDS": "0.5",
        },
    )
    srv.start()
    srv.init_main_org()
    enabled = srv.http("main-org").post(
        srv.url + "/api/v1/analysis/worker",
        json={"kind": "analyzer", "definitionId": "Verdict_1_0", "configuration": configuration},
        timeout=30,
    )
    assert enabled.status_code == 201, enabled.text
    return srv
