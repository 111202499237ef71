"""Query-language registration for attachments (spec §3.4): the ``attachments`` traversal from
organisations, alerts, cases and task logs."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, select

from propolis.attachments import service
from propolis.attachments.models import Attachment
from propolis.attachments.render import render_attachments
from propolis.core.query import (
    INT,
    LIST,
    EntitySpec,
    Field,
    QueryContext,
    ResultSet,
    ids_of,
    meta_fields,
    register_entity,
    traversal,
)
from propolis.observables.queries import hash_array

ATTACHMENT = register_entity(
    EntitySpec(
        name="Attachment",
        model=Attachment,
        fields={
            **meta_fields(Attachment),
            "name": Field(Attachment.name),
            "size": Field(Attachment.size, INT),
            "contentType": Field(Attachment.content_type),
            "id": Field(Attachment.sha256),
            "hashes": Field(hash_array(Attachment.sha256, Attachment.sha1, Attachment.md5), LIST),
        },
        render=lambda ctx, rows, extra: render_attachments(rows),
    )
)


def _of(*where: Any) -> ResultSet:
    # The source set (getCase, getAlert, getLog...) is already limited to what the caller
    # sees; its files need no second visibility check.
    return ResultSet(ATTACHMENT, select(Attachment).where(*where))


@traversal("Organisation", "attachments")
def organisation_attachments(ctx: QueryContext, result: ResultSet, op: dict[str, Any]) -> ResultSet:
    """Organisation-level files, only ever those of the caller's own organisation."""
    return _of(
        and_(
            service.organisation_level(),
            Attachment.org_id.in_(ids_of(result)),
            Attachment.org_id == ctx.actor.org_id,
        ),
    )


@traversal("Alert", "attachments")
def alert_attachments(ctx: QueryContext, result: ResultSet, op: dict[str, Any]) -> ResultSet:
    return _of(Attachment.alert_id.in_(ids_of(result)))


@traversal("Case", "attachments")
def case_attachments(ctx: QueryContext, result: ResultSet, op: dict[str, Any]) -> ResultSet:
    return _of(Attachment.case_id.in_(ids_of(result)))


@traversal("Log", "attachments")
def log_attachments(ctx: QueryContext, result: ResultSet, op: dict[str, Any]) -> ResultSet:
    return _of(Attachment.log_id.in_(ids_of(result)))
