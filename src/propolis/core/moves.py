"""Re-parenting rows from cases that are merged into another one. Each domain's service
calls :func:`move_to_case` for its own table; the rows keep their id and history, and each
move is one audit event rooted at the new case (so the merged case's history shows it)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from propolis.core import events
from propolis.core.security import Actor


def move_to_case(
    session: Session,
    actor: Actor,
    model: Any,
    object_type: str,
    source_ids: list[int],
    target: Any,
    *where: Any,
    own_root: bool = False,
) -> list[Any]:
    """Rows of ``model`` below the ``source_ids`` cases (and matching ``where``) now belong
    to ``target``; returns them, oldest first. ``own_root``: the row is the root of its own
    history (an alert), not the case."""
    rows = list(
        session.scalars(
            select(model).where(model.case_id.in_(source_ids), *where).order_by(model.id)
        )
    )
    for row in rows:
        before = row.case_id
        row.case_id = target.id
        events.record(
            session,
            actor.login,
            actor.org_id,
            "update",
            object_type,
            row.id,
            {"caseId": target.eid, "from": f"~{before}"},
            root_id=row.id if own_root else target.id,
        )
    session.flush()
    return rows
