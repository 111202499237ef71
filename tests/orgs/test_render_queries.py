"""Rendering a list of organisations costs a fixed number of queries, whatever its length
and however many links the organisations have (no query per organisation or per link)."""

from __future__ import annotations

from sqlalchemy import event, select

from propolis.bootstrap import bootstrap
from propolis.core.db import Database
from propolis.core.migrate import upgrade
from propolis.core.security import ADMIN_ORG, system_actor
from propolis.orgs import service
from propolis.orgs.models import Organisation
from propolis.orgs.render import render_orgs


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


def test_rendering_organisations_makes_a_fixed_number_of_queries(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'render.db'}")
    upgrade(db.engine)
    with db.session() as session:
        bootstrap(session, "secret")
    with db.session() as session:
        admin = session.scalar(select(Organisation).where(Organisation.name == ADMIN_ORG))
        actor = system_actor(admin.id, admin.name)
        names = [f"org-{i}" for i in range(10)]
        for name in names:
            service.create(session, actor, {"name": name, "description": name})
        for other in names[1:]:
            service.link(session, actor, names[0], other, "supervised", "notify")
        service.link(session, actor, names[1], names[2])
    with db.session() as session:
        orgs = session.scalars(select(Organisation).where(Organisation.name.in_(names))).all()
        small = _count_queries(db, lambda: render_orgs(session, orgs[:2]))
        rendered: list = []
        large = _count_queries(db, lambda: rendered.extend(render_orgs(session, orgs)))
    db.dispose()
    assert small == large == 1
    by_name = {o["name"]: o for o in rendered}
    assert len(by_name["org-0"]["links"]) == 9
    assert {"toOrganisation": "org-0", "linkType": "notify", "otherLinkType": "supervised"} in (
        by_name["org-3"]["links"]
    )
