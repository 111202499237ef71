"""``listAudit``: the one event record, queryable like everything else (newest first).

Platform administrators (admin organisation) see every event; others see their
organisation's events."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from propolis.core.events import AuditEvent
from propolis.core.query import (
    ID,
    INT,
    EntitySpec,
    Field,
    QueryContext,
    ResultSet,
    initial,
    register_entity,
)


def render_events(
    ctx: QueryContext, rows: list[AuditEvent], extra: list[str]
) -> list[dict[str, Any]]:
    return [
        {
            "_id": f"~{row.id}",
            "_type": "Audit",
            "_createdAt": row.created_at,
            "_createdBy": row.actor,
            "action": row.action,
            "objectType": row.object_type,
            "objectId": f"~{row.object_id}" if row.object_id is not None else None,
            "rootId": f"~{row.root_id}" if row.root_id is not None else None,
            "details": row.details,
            "extraData": {},
        }
        for row in rows
    ]


AUDIT = register_entity(
    EntitySpec(
        name="Audit",
        model=AuditEvent,
        fields={
            "_id": Field(AuditEvent.id, ID),
            "_createdAt": Field(AuditEvent.created_at, INT),
            "_createdBy": Field(AuditEvent.actor),
            "action": Field(AuditEvent.action),
            "objectType": Field(AuditEvent.object_type),
            "objectId": Field(AuditEvent.object_id, ID),
            "rootId": Field(AuditEvent.root_id, ID),
        },
        render=render_events,
        default_sort=[AuditEvent.id.desc()],
    )
)


@initial("listAudit")
def list_audit(ctx: QueryContext, op: dict[str, Any]) -> ResultSet:
    stmt = select(AuditEvent)
    if not ctx.actor.in_admin_org:
        stmt = stmt.where(AuditEvent.org_id == ctx.actor.org_id)
    return ResultSet(AUDIT, stmt)
