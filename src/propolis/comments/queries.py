"""Query-language registration for comments: ``listComment``, ``getComment`` and the
``comments`` traversals from cases and alerts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select

from propolis.alerts.models import Alert
from propolis.comments.models import Comment
from propolis.comments.render import render_comments
from propolis.comments.service import visible_comments
from propolis.core.db import parse_id
from propolis.core.query import (
    BOOL,
    INT,
    EntitySpec,
    Field,
    QueryContext,
    ResultSet,
    ids_of,
    initial,
    meta_fields,
    register_entity,
    traversal,
)


def _render(ctx: QueryContext, rows: list[Comment], extra: list[str]) -> list[dict[str, Any]]:
    return render_comments(ctx.session, ctx.actor, rows, extra)


COMMENT = register_entity(
    EntitySpec(
        name="Comment",
        model=Comment,
        fields={
            **meta_fields(Comment),
            # the rendered (underscore-less) names of the audit fields
            "createdBy": Field(Comment.created_by),
            "createdAt": Field(Comment.created_at, INT),
            "updatedBy": Field(Comment.updated_by),
            "updatedAt": Field(Comment.updated_at, INT),
            "message": Field(Comment.message),
            "isEdited": Field(Comment.is_edited, BOOL),
        },
        render=_render,
    )
)


@initial("listComment")
def list_comment(ctx: QueryContext, op: dict[str, Any]) -> ResultSet:
    return ResultSet(COMMENT, visible_comments(ctx.actor))


@initial("getComment")
def get_comment(ctx: QueryContext, op: dict[str, Any]) -> ResultSet:
    comment_id = parse_id(op.get("idOrName"))
    return ResultSet(COMMENT, visible_comments(ctx.actor).where(Comment.id == (comment_id or -1)))


@traversal("Case", "comments")
def case_comments(ctx: QueryContext, result: ResultSet, op: dict[str, Any]) -> ResultSet:
    return ResultSet(COMMENT, select(Comment).where(Comment.case_id.in_(ids_of(result))))


@traversal("Case", "allComments")
def case_all_comments(ctx: QueryContext, result: ResultSet, op: dict[str, Any]) -> ResultSet:
    """The case's comments and those of the alerts merged into it."""
    case_ids = ids_of(result)
    alert_ids = select(Alert.id).where(
        Alert.case_id.in_(case_ids), Alert.org_id == ctx.actor.org_id
    )
    stmt = select(Comment).where(
        or_(Comment.case_id.in_(case_ids), Comment.alert_id.in_(alert_ids))
    )
    return ResultSet(COMMENT, stmt)


@traversal("Alert", "comments")
def alert_comments(ctx: QueryContext, result: ResultSet, op: dict[str, Any]) -> ResultSet:
    return ResultSet(COMMENT, select(Comment).where(Comment.alert_id.in_(ids_of(result))))
