"""The live stream (GET /ui/stream): what colleagues do, as it happens, to the right people.

Streams are opened as the browser opens them: a session cookie from ``POST /api/v1/login``.
Where a test shows that an event does *not* reach a stream, it waits for a later event that
the stream does see: the stream delivers in id order, so the earlier one would have come
first (no sleeping, no timing).
"""

from __future__ import annotations

import os
import queue
import re
import signal
import threading
import uuid
from dataclasses import dataclass

import httpx
import pytest
import requests

from tests.harness import Server, new_postgres_database
from tests.routetable import link
from tests.ui.conftest import login, screenshot

PASSWORD = "stream-tests-password"
WAIT = 30  # seconds; only reached when something is broken


@dataclass
class Message:
    id: int
    event: str
    data: str


class Stream:
    """An open ``/ui/stream``, read on a thread into a queue of messages."""

    def __init__(self, server: Server, cookie: str, last_event_id: int | None = None) -> None:
        headers = {"Last-Event-ID": str(last_event_id)} if last_event_id is not None else {}
        self._client = httpx.Client(
            base_url=server.url,
            cookies={"PROPOLIS_SESSION": cookie},
            timeout=httpx.Timeout(WAIT, read=None),
        )
        self._response = self._client.send(
            self._client.build_request("GET", "/ui/stream", headers=headers), stream=True
        )
        assert self._response.status_code == 200, self._response.read()
        assert self._response.headers["content-type"].startswith("text/event-stream")
        self._messages: queue.Queue[Message | None] = queue.Queue()
        self._listening = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        assert self._listening.wait(WAIT), "the stream never said it was listening"

    def _read(self) -> None:
        fields: dict[str, list[str]] = {}
        try:
            for line in self._response.iter_lines():
                if line.startswith(":"):
                    self._listening.set()
                elif line:
                    name, _, value = line.partition(":")
                    fields.setdefault(name, []).append(value.removeprefix(" "))
                elif "data" in fields:
                    self._messages.put(
                        Message(
                            int(fields["id"][-1]), fields["event"][-1], "\n".join(fields["data"])
                        )
                    )
                    fields = {}
        except httpx.HTTPError:
            pass  # closed by the test
        finally:
            self._messages.put(None)

    def next(self) -> Message:
        message = self._messages.get(timeout=WAIT)
        assert message is not None, "the stream ended"
        return message

    def until(self, text: str) -> list[Message]:
        """Every message up to and including the first one containing ``text``."""
        seen = []
        while True:
            message = self.next()
            seen.append(message)
            if text in message.data:
                return seen

    def close(self) -> None:
        self._response.close()
        self._client.close()


# --------------------------------------------------------------------------- helpers


def new_user(server: Server, org: str, profile: str) -> str:
    login = f"stream-{uuid.uuid4().hex[:10]}@example.com"
    response = server.http(org).post(
        server.url + "/api/v1/user",
        json={"login": login, "name": login, "profile": profile, "password": PASSWORD},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return login


def session_cookie(server: Server, login: str) -> str:
    response = requests.post(
        server.url + "/api/v1/login", json={"user": login, "password": PASSWORD}, timeout=30
    )
    assert response.status_code == 200, response.text
    return response.cookies["PROPOLIS_SESSION"]


def as_user(server: Server, login: str, org: str) -> requests.Session:
    return server.http(org, auth=(login, PASSWORD))


def new_case(server: Server, login: str, org: str, title: str) -> str:
    response = as_user(server, login, org).post(
        server.url + "/api/v1/case", json={"title": title, "description": "d"}, timeout=30
    )
    assert response.status_code == 201, response.text
    return response.json()["_id"]


def new_task(server: Server, login: str, org: str, case_id: str, title: str) -> str:
    response = as_user(server, login, org).post(
        server.url + f"/api/v1/case/{case_id}/task", json={"title": title}, timeout=30
    )
    assert response.status_code == 201, response.text
    return response.json()["_id"]


def marker() -> str:
    return "marker-" + uuid.uuid4().hex[:10]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """Both storage backends: PostgreSQL hands out ids before commit, SQLite does not."""
    database_url = None
    if request.param == "postgresql":
        base = os.environ.get("PROPOLIS_TEST_POSTGRES_URL")
        if not base:
            if os.environ.get("CI"):
                pytest.fail("CI must provide PostgreSQL (PROPOLIS_TEST_POSTGRES_URL)")
            pytest.skip("PostgreSQL not configured (set PROPOLIS_TEST_POSTGRES_URL)")
        database_url = new_postgres_database(base)
    srv = Server(tmp_path_factory.mktemp(f"data-stream-{request.param}"), database_url)
    srv.start()
    srv.init_main_org()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def other_org(server: Server) -> str:
    name = "stream-other-" + uuid.uuid4().hex[:6]
    server.create_org(name)
    return name


# --------------------------------------------------------------------------- tests


def test_anonymous_stream_is_refused_with_401(server: Server) -> None:
    response = requests.get(server.url + "/ui/stream", allow_redirects=False, timeout=30)
    assert response.status_code == 401


def test_colleague_sees_the_event_and_another_organisation_never(
    server: Server, other_org: str
) -> None:
    writer = new_user(server, "main-org", "analyst")
    colleague = new_user(server, "main-org", "analyst")
    outsider = new_user(server, other_org, "analyst")
    mine = Stream(server, session_cookie(server, colleague))
    theirs = Stream(server, session_cookie(server, outsider))
    try:
        title = "Phishing " + marker()
        case_id = new_case(server, writer, "main-org", title)
        entry = mine.until(title)[-1]
        assert entry.event == "audit"
        assert writer in entry.data and "created case" in entry.data
        assert f'href="/cases/{case_id}"' in entry.data

        task_id = new_task(server, writer, "main-org", case_id, "Check the proxy logs")
        task_entry = mine.until("Check the proxy logs")[-1]
        assert "added task" in task_entry.data and f'href="/tasks/{task_id}"' in task_entry.data

        later = marker()
        new_case(server, outsider, other_org, later)
        seen_outside = theirs.until(later)
        assert not any(title in m.data or "proxy logs" in m.data for m in seen_outside)
    finally:
        mine.close()
        theirs.close()


def test_user_text_is_escaped_in_entries(server: Server) -> None:
    writer = new_user(server, "main-org", "analyst")
    stream = Stream(server, session_cookie(server, writer))
    try:
        tag = marker()
        new_case(server, writer, "main-org", f"<script>alert('{tag}')</script>")
        entry = stream.until(tag)[-1]
        assert "<script>" not in entry.data
        assert "&lt;script&gt;" in entry.data
    finally:
        stream.close()


def test_resume_with_last_event_id_sends_exactly_the_missed_events(server: Server) -> None:
    analyst = new_user(server, "main-org", "analyst")
    cookie = session_cookie(server, analyst)
    first = Stream(server, cookie)
    case_title = marker()
    case_id = new_case(server, analyst, "main-org", case_title)
    last_seen = first.until(case_title)[-1].id
    first.close()

    missed = [marker(), marker(), marker()]
    for title in missed:
        new_task(server, analyst, "main-org", case_id, title)

    again = Stream(server, cookie, last_event_id=last_seen)
    try:
        replayed = [again.next() for _ in missed]
        assert [next(t for t in missed if t in m.data) for m in replayed] == missed
        assert all(m.id > last_seen for m in replayed)
        live = marker()
        new_task(server, analyst, "main-org", case_id, live)
        assert live in again.next().data  # nothing repeated in between
    finally:
        again.close()


def test_user_management_events_only_for_who_manages_users(server: Server) -> None:
    analyst = new_user(server, "main-org", "analyst")
    org_admin = new_user(server, "main-org", "org-admin")
    analyst_stream = Stream(server, session_cookie(server, analyst))
    admin_stream = Stream(server, session_cookie(server, org_admin))
    try:
        created = new_user(server, "main-org", "read-only")
        assert "added user" in admin_stream.until("added user")[-1].data
        later = marker()
        new_case(server, org_admin, "main-org", later)
        seen = analyst_stream.until(later)
        assert not any(re.search(r'stream-what">[a-z ]*user<', m.data) for m in seen), seen
        assert created  # the user exists; only its event is hidden
    finally:
        analyst_stream.close()
        admin_stream.close()


def test_a_restricted_cases_events_only_reach_the_users_it_names(server: Server) -> None:
    insider = new_user(server, "main-org", "analyst")
    outsider = new_user(server, "main-org", "analyst")
    case_id = new_case(server, insider, "main-org", "Insider case " + marker())
    restricted = server.http("main-org").post(
        server.url + f"/api/v1/case/{case_id}/access",
        json={"access": {"_kind": "UserAccessKind", "users": [insider]}},
        timeout=30,
    )
    assert restricted.ok, restricted.text
    insider_stream = Stream(server, session_cookie(server, insider))
    outsider_stream = Stream(server, session_cookie(server, outsider))
    try:
        secret = "Interview " + marker()
        new_task(server, insider, "main-org", case_id, secret)
        insider_stream.until(secret)
        later = marker()
        new_case(server, insider, "main-org", later)
        assert not any(secret in m.data for m in outsider_stream.until(later))
    finally:
        insider_stream.close()
        outsider_stream.close()


def test_on_a_shared_case_the_owner_sees_the_partner_and_the_partner_only_what_it_is_shown(
    server: Server,
) -> None:
    partner = "stream-partner-" + uuid.uuid4().hex[:6]
    server.create_org(partner)
    link(server, "main-org", partner)
    owner_analyst = new_user(server, "main-org", "analyst")
    partner_analyst = new_user(server, partner, "analyst")
    case_id = new_case(server, owner_analyst, "main-org", "Shared " + marker())
    shared = server.http("main-org").post(
        server.url + f"/api/v1/case/{case_id}/shares",
        json={
            "shares": [
                {
                    "organisation": partner,
                    "profile": "analyst",
                    "taskRule": "manual",
                    "observableRule": "manual",
                }
            ]
        },
        timeout=30,
    )
    assert shared.status_code == 201, shared.text
    owner_stream = Stream(server, session_cookie(server, owner_analyst))
    partner_stream = Stream(server, session_cookie(server, partner_analyst))
    try:
        not_shared = "Owner only " + marker()
        new_task(server, owner_analyst, "main-org", case_id, not_shared)
        domain = marker() + ".example"
        added = as_user(server, partner_analyst, partner).post(
            server.url + f"/api/v1/case/{case_id}/observable",
            json={"dataType": "domain", "data": domain},
            timeout=30,
        )
        assert added.status_code == 201, added.text
        seen_by_owner = owner_stream.until(domain)
        assert partner_analyst in seen_by_owner[-1].data
        assert any(not_shared in m.data for m in seen_by_owner)
        seen_by_partner = partner_stream.until(domain)
        assert not any(not_shared in m.data for m in seen_by_partner)
    finally:
        owner_stream.close()
        partner_stream.close()


def test_two_server_processes_on_one_database(tmp_path) -> None:
    """A write through one process reaches a stream opened on another: the stream follows
    the audit table, not the memory of the process that wrote."""
    first = Server(tmp_path)
    first.start()
    second = None
    try:
        first.init_main_org()
        analyst = new_user(first, "main-org", "analyst")
        before = new_case(first, analyst, "main-org", "written before the second start")
        # Same data folder, same SQLite database: the second start migrates and bootstraps
        # again, which must leave everything in place.
        second = Server(tmp_path)
        second.start()
        assert (
            as_user(second, analyst, "main-org")
            .get(second.url + f"/api/v1/case/{before}", timeout=30)
            .ok
        )
        stream = Stream(second, session_cookie(second, analyst))
        try:
            title = marker()
            case_id = new_case(first, analyst, "main-org", title)
            entry = stream.until(title)[-1]
            assert f'href="/cases/{case_id}"' in entry.data
        finally:
            stream.close()
        # And back: a stream on the first process sees what the second writes.
        stream = Stream(first, session_cookie(first, analyst))
        try:
            title = marker()
            new_case(second, analyst, "main-org", title)
            stream.until(title)
        finally:
            stream.close()
    finally:
        if second is not None:
            second.stop()
        first.stop()


def test_history_pages_back_past_ten_events(server: Server) -> None:
    analyst = new_user(server, "main-org", "analyst")
    cookie = session_cookie(server, analyst)
    case_id = new_case(server, analyst, "main-org", marker())
    titles = [f"history-{i:02d}-{uuid.uuid4().hex[:6]}" for i in range(25)]
    for title in titles:
        new_task(server, analyst, "main-org", case_id, title)

    found: list[str] = []
    url = server.url + "/stream?limit=10"
    pages = 0
    while url and len(found) < len(titles):
        page = requests.get(url, cookies={"PROPOLIS_SESSION": cookie}, timeout=30)
        assert page.status_code == 200, page.text
        found += [t for t in re.findall(r"history-\d\d-[0-9a-f]{6}", page.text) if t in titles]
        older = re.search(r'href="(/stream\?[^"]*before=\d+[^"]*)"', page.text)
        url = server.url + older.group(1).replace("&amp;", "&") if older else None
        pages += 1
    assert found == list(reversed(titles))  # newest first, none twice, none missing
    assert pages >= 3


def test_the_panel_shows_recent_entries_and_a_colleagues_action_without_reload(
    server: Server, page
) -> None:
    watcher = new_user(server, "main-org", "analyst")
    colleague = new_user(server, "main-org", "analyst")
    earlier = "Earlier case " + marker()
    new_case(server, colleague, "main-org", earlier)
    login(page, server, watcher, PASSWORD)
    panel = page.locator("#stream-list")
    panel.locator("li", has_text=earlier).wait_for()

    title = "Live case " + marker()
    case_id = new_case(server, colleague, "main-org", title)
    entry = panel.locator("li", has_text=title)
    entry.wait_for()  # no reload: the stream put it there
    assert panel.locator("li").first.inner_text().find(title) >= 0  # newest on top
    assert entry.locator(f'a[href="/cases/{case_id}"]').count() == 1
    assert colleague in entry.inner_text()
    screenshot(page, "live-stream")


def test_the_panel_keeps_every_entry_once_across_reconnections(tmp_path, page) -> None:
    """Streams end every second here: the browser reconnects with Last-Event-ID, and
    what was written meanwhile shows up once, in order."""
    srv = Server(tmp_path, extra_env={"PROPOLIS_STREAM_MAX_SECONDS": "1"})
    srv.start()
    try:
        srv.init_main_org()
        watcher = new_user(srv, "main-org", "analyst")
        colleague = new_user(srv, "main-org", "analyst")
        case_id = new_case(srv, colleague, "main-org", "Reconnections " + marker())
        login(page, srv, watcher, PASSWORD)
        panel = page.locator("#stream-list")
        panel.locator("li").first.wait_for()
        titles = []
        for _ in range(4):
            titles.append(marker())
            new_task(srv, colleague, "main-org", case_id, titles[-1])
            page.wait_for_timeout(1500)  # a stream ends in between: not an assertion
        for title in titles:
            panel.locator("li", has_text=title).wait_for()
        texts = panel.locator("li").all_inner_texts()
        found = [t for text in texts for t in titles if t in text]
        assert found == list(reversed(titles))  # each once, newest on top
    finally:
        srv.stop()


def test_a_server_with_open_streams_stops_when_asked(tmp_path) -> None:
    """Uvicorn waits for open answers before stopping: the streams end on the signal."""
    srv = Server(tmp_path)
    srv.start()
    try:
        srv.init_main_org()
        stream = Stream(srv, session_cookie(srv, new_user(srv, "main-org", "analyst")))
        srv.process.terminate()
        # Without the streams ending, this would wait for PROPOLIS_STREAM_MAX_SECONDS (300);
        # Uvicorn ends by raising the signal again once it has shut down: -SIGTERM.
        assert srv.process.wait(timeout=60) == -signal.SIGTERM
        stream.close()
    finally:
        srv.stop()
