"""The live stream's follower, in process: a stream opened while the follower is reading a
batch must still get what that batch holds for it."""

from __future__ import annotations

import asyncio
import threading

from sqlalchemy import select

from propolis.audit.stream import Follower, last_id
from propolis.bootstrap import bootstrap
from propolis.core.db import Database
from propolis.core.migrate import upgrade
from propolis.core.security import ADMIN_ORG, system_actor
from propolis.flows.case_create import create_case
from propolis.orgs import service as orgs
from propolis.orgs.models import Organisation
from propolis.users import service as users
from propolis.users.auth import actor_for
from propolis.users.models import User
from tests.harness import run_in_own_loop

WAIT = 10.0


def _analysts(db: Database) -> tuple:
    """Two analysts of one organisation, as actors."""
    with db.session() as session:
        bootstrap(session, "secret")
    with db.session() as session:
        admin = session.scalar(select(Organisation).where(Organisation.name == ADMIN_ORG))
        platform = system_actor(admin.id, admin.name)
        orgs.create(session, platform, {"name": "blue", "description": "blue"})
        for login in ("watcher@example.com", "colleague@example.com"):
            data = {"login": login, "name": login, "profile": "analyst", "organisation": "blue"}
            users.create_user(session, platform, data)
    with db.session() as session:
        found = {u.login: u for u in session.scalars(select(User))}
        return tuple(
            actor_for(session, found[login], "blue")
            for login in ("watcher@example.com", "colleague@example.com")
        )


def test_a_stream_opened_during_a_read_gets_what_was_committed_meanwhile(tmp_path) -> None:
    """The race seen in CI: a browser's stream registers while the follower reads a batch,
    its catch-up read runs before the batch's case is committed, and the batch was read
    for the listeners known before it registered. The case must reach it all the same."""
    db = Database(f"sqlite:///{tmp_path / 'stream.db'}")
    upgrade(db.engine)
    watcher, colleague = _analysts(db)
    reading, may_read = threading.Event(), threading.Event()

    async def scenario() -> str:
        follower = Follower(db, poll_seconds=0.05)
        fetch = follower._fetch

        def fetch_when_told(session, actors):  # noqa: ANN001, ANN202
            reading.set()
            may_read.wait(WAIT)
            return fetch(session, actors)

        follower._fetch = fetch_when_told
        async with follower.subscribe(colleague):  # someone already listens
            assert await asyncio.to_thread(reading.wait, WAIT)  # a read has begun
            with db.session(write=False) as session:
                newest = last_id(session)
            async with follower.subscribe(watcher, after=newest) as entries:
                # The catch-up read is done (nothing new yet); now the case is committed,
                # then the follower's pending read goes on and sees it.
                await asyncio.to_thread(_create_case, db, colleague, "Live case")
                may_read.set()
                entry = await asyncio.wait_for(anext(aiter(entries)), WAIT)
            await follower.stop()
        return entry.label

    try:
        assert "Live case" in run_in_own_loop(scenario())
    finally:
        may_read.set()
        db.dispose()


def _create_case(db: Database, actor, title: str) -> None:  # noqa: ANN001
    with db.session() as session:
        create_case(session, actor, {"title": title, "description": "d"})


def test_a_stream_opened_as_the_follower_starts_gets_what_was_committed_meanwhile(
    tmp_path,
) -> None:
    """The follower starts from the newest event when its first listener comes. A case
    committed after that listener's catch-up read but before the follower's start read was
    in neither (seen in CI): the catch-up now waits until the follower knows its start."""
    db = Database(f"sqlite:///{tmp_path / 'stream.db'}")
    upgrade(db.engine)
    watcher, colleague = _analysts(db)
    may_start = threading.Event()

    async def scenario() -> str:
        follower = Follower(db, poll_seconds=0.05)
        read = follower._read

        def start_when_told(function, *args):  # noqa: ANN001, ANN002, ANN202
            if function is last_id:
                may_start.wait(WAIT)
            return read(function, *args)

        follower._read = start_when_told
        with db.session(write=False) as session:
            newest = last_id(session)

        async def commit_then_let_start() -> None:
            await asyncio.sleep(0.3)  # the stream has registered (and, before, read)
            await asyncio.to_thread(_create_case, db, colleague, "Case at the start")
            may_start.set()

        meanwhile = asyncio.create_task(commit_then_let_start())
        async with follower.subscribe(watcher, after=newest) as entries:
            entry = await asyncio.wait_for(anext(aiter(entries)), WAIT)
        await meanwhile
        await follower.stop()
        return entry.label

    try:
        assert "Case at the start" in run_in_own_loop(scenario())
    finally:
        may_start.set()
        db.dispose()
