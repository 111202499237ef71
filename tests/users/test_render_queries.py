"""Rendering a list of users costs a fixed number of queries, whatever its length."""

from __future__ import annotations

from sqlalchemy import event, select

from propolis.bootstrap import bootstrap
from propolis.core.db import Database
from propolis.core.migrate import upgrade
from propolis.core.security import ADMIN_ORG, system_actor
from propolis.orgs import service as orgs
from propolis.orgs.models import Organisation
from propolis.users import service
from propolis.users.auth import actor_for
from propolis.users.models import User
from propolis.users.render import render_users


def _count_queries(db: Database, action) -> int:  # noqa: ANN001
    statements: list[str] = []

    def on_execute(conn, cursor, statement, *args) -> None:  # noqa: ANN001
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", on_execute)
    try:
        action()
    finally:
        event.remove(db.engine, "before_cursor_execute", on_execute)
    return len(statements)


def test_rendering_users_makes_a_fixed_number_of_queries(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'render.db'}")
    upgrade(db.engine)
    with db.session() as session:
        bootstrap(session, "secret")
    with db.session() as session:
        admin = session.scalar(select(Organisation).where(Organisation.name == ADMIN_ORG))
        platform = system_actor(admin.id, admin.name)
        for name in ("blue", "red"):
            orgs.create(session, platform, {"name": name, "description": name})
        for i in range(8):
            login = f"user{i}@example.com"
            for org in ("blue", "red"):
                data = {"login": login, "name": login, "profile": "analyst", "organisation": org}
                service.create_user(session, platform, data)
    with db.session() as session:
        users = session.scalars(select(User).where(User.login.like("user%"))).all()
        viewer = actor_for(session, users[0], "blue")  # not the admin organisation
        small = _count_queries(db, lambda: render_users(session, viewer, users[:1]))
        rendered: list = []
        large = _count_queries(db, lambda: rendered.extend(render_users(session, viewer, users)))
    db.dispose()
    assert small == large == 2  # memberships, organisations visible to the viewer
    # Seen from "blue", memberships of "red" (not linked) are hidden, except for oneself.
    assert [o["organisation"] for o in rendered[1]["organisations"]] == ["blue"]
    assert [o["organisation"] for o in rendered[0]["organisations"]] == ["blue", "red"]
