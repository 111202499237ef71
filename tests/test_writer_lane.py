"""``core.lane.WriterLane`` on SQLite: calls queued while the lane works share one COMMIT,
each is answered only once that COMMIT is durable, a failing call takes none of its
neighbours with it, a failed COMMIT fails every call of its batch (and the lane goes on),
and a writer outside the lane joins the open batch rather than wait for a second one."""

from __future__ import annotations

import sqlite3
import threading

import pytest
from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlalchemy import event, text

from propolis.core.db import Database
from propolis.core.web import UnitOfWorkRoute, hot_write

WAIT = 10


@pytest.fixture
def db(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'lane.db'}")
    with database.session() as session:
        session.execute(text("CREATE TABLE note (name TEXT PRIMARY KEY)"))
    yield database
    database.dispose()


@pytest.fixture
def commits(db):
    """The COMMITs the database receives, counted."""
    seen: list[int] = []
    event.listen(db.engine, "commit", lambda _connection: seen.append(1))
    return seen


def stored(db: Database) -> set[str]:
    """What another connection sees: only what is committed."""
    with sqlite3.connect(db.engine.url.database) as connection:
        return {name for (name,) in connection.execute("SELECT name FROM note")}


def writing(db: Database, name: str, then=None):  # noqa: ANN001, ANN201
    def call() -> str:
        with db.session() as session:
            session.execute(text("INSERT INTO note (name) VALUES (:name)"), {"name": name})
            if then is not None:
                then()
        return name

    return call


class Answers:
    """The lane's answers, with what another connection saw when each came."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.got: dict[str, tuple[object, BaseException | None, set[str]]] = {}
        self.all_in = threading.Event()
        self.expected = 0

    def done_for(self, key: str):  # noqa: ANN201
        def done(value: object, failure: BaseException | None) -> None:
            self.got[key] = (value, failure, stored(self.db))
            if len(self.got) == self.expected:
                self.all_in.set()

        return done

    def wait(self, count: int) -> None:
        self.expected = count
        if len(self.got) == count:
            self.all_in.set()
        assert self.all_in.wait(WAIT), self.got


def hold_first_call(db: Database, answers: Answers) -> threading.Event:
    """Queue a first call that writes "first" and then waits, so that what is queued
    next waits behind it; set the returned event to let it end."""
    go_on = threading.Event()
    db.lane.submit(writing(db, "first", then=lambda: go_on.wait(WAIT)), answers.done_for("first"))
    return go_on


def test_queued_calls_share_one_commit_and_are_answered_once_it_is_durable(db, commits):
    answers = Answers(db)
    go_on = hold_first_call(db, answers)
    names = [f"n{i}" for i in range(10)]
    for name in names:
        db.lane.submit(writing(db, name), answers.done_for(name))
    assert answers.got == {}  # nothing answered before its batch is committed
    go_on.set()
    answers.wait(11)

    assert len(commits) == 1
    everything = {"first", *names}
    for key, (value, failure, seen) in answers.got.items():
        assert failure is None and value == key
        assert seen == everything  # answered once the batch was visible to others
    assert stored(db) == everything


def test_a_failing_call_takes_none_of_its_neighbours(db, commits):
    answers = Answers(db)
    go_on = hold_first_call(db, answers)

    def refuse() -> None:
        raise ValueError("refused after writing")

    db.lane.submit(writing(db, "before"), answers.done_for("before"))
    db.lane.submit(writing(db, "refused", then=refuse), answers.done_for("refused"))
    db.lane.submit(writing(db, "after"), answers.done_for("after"))
    go_on.set()
    answers.wait(4)

    assert isinstance(answers.got["refused"][1], ValueError)
    assert all(answers.got[key][1] is None for key in ("first", "before", "after"))
    assert stored(db) == {"first", "before", "after"}
    assert len(commits) == 1


def test_a_first_call_that_fails_leaves_the_lane_ready(db, commits):
    """The batch's first call runs without a savepoint: its failure rolls back the
    transaction, which held nothing else, and the next call starts a batch of its own."""
    answers = Answers(db)

    def refuse() -> None:
        raise ValueError("refused after writing")

    db.lane.submit(writing(db, "refused", then=refuse), answers.done_for("refused"))
    answers.wait(1)
    later = Answers(db)
    db.lane.submit(writing(db, "later"), later.done_for("later"))
    later.wait(1)
    assert isinstance(answers.got["refused"][1], ValueError)
    assert later.got["later"][:2] == ("later", None)
    assert stored(db) == {"later"}
    assert len(commits) == 1


def test_a_failed_commit_fails_every_call_of_its_batch_and_the_lane_goes_on(db):
    failures = iter([RuntimeError("disk full")])

    def failing_commit(_connection) -> None:  # noqa: ANN001
        failure = next(failures, None)
        if failure is not None:
            raise failure

    event.listen(db.engine, "commit", failing_commit)
    answers = Answers(db)
    go_on = hold_first_call(db, answers)
    for name in ("a", "b"):
        db.lane.submit(writing(db, name), answers.done_for(name))
    go_on.set()
    answers.wait(3)
    assert all(isinstance(failure, RuntimeError) for _v, failure, _s in answers.got.values())
    assert stored(db) == set()

    later = Answers(db)
    db.lane.submit(writing(db, "later"), later.done_for("later"))
    later.wait(1)
    assert later.got["later"][1] is None
    assert stored(db) == {"later"}


def test_a_writer_outside_the_lane_joins_the_open_batch(db, commits):
    db.group.max_age_s = 60  # the lane is held on purpose: the batch must not age out
    answers = Answers(db)
    go_on = hold_first_call(db, answers)
    outside_done = threading.Event()

    def outside() -> None:
        writing(db, "outside")()  # returns once its batch is durable
        outside_done.set()

    thread = threading.Thread(target=outside)
    thread.start()
    assert not outside_done.wait(0.3)  # the lane holds the turn
    go_on.set()
    answers.wait(1)
    thread.join(WAIT)
    assert outside_done.is_set()
    assert stored(db) == {"first", "outside"}
    assert len(commits) == 1


def test_a_call_that_writes_nothing_is_answered_at_once(db, commits):
    answers = Answers(db)
    db.lane.submit(lambda: "no writes", answers.done_for("quiet"))
    answers.wait(1)
    assert answers.got["quiet"][:2] == ("no writes", None)
    assert commits == []


def test_closing_the_lane_runs_and_commits_what_is_queued(db):
    answers = Answers(db)
    go_on = hold_first_call(db, answers)
    db.lane.submit(writing(db, "queued"), answers.done_for("queued"))
    closer = threading.Thread(target=db.lane.close)
    closer.start()
    go_on.set()
    closer.join(WAIT)
    answers.wait(2)
    assert stored(db) == {"first", "queued"}


def test_a_hot_write_that_the_direct_handler_cannot_serve_is_refused_at_start():
    """The lane is reached through the direct handler only: a route marked as a hot write
    that needs FastAPI's generic handler (here a typed query parameter) must fail loudly
    when it is declared, not run silently in the pool."""
    router = APIRouter(route_class=UnitOfWorkRoute)

    @hot_write
    def typed(count: int = Query(...)) -> Response:
        return Response(status_code=204)

    with pytest.raises(TypeError, match="hot write /typed"):
        router.add_api_route("/typed", typed, methods=["POST"])

    @hot_write
    def plain(ref: str) -> Response:
        return Response(status_code=204)

    router.add_api_route("/plain/{ref}", plain, methods=["POST"])  # a direct route: accepted
