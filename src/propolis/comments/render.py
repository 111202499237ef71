"""The one rendering of comments (``OutputComment``). Unlike every other entity, comments
carry their audit fields without the leading underscore (spec §10)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from propolis.comments.models import Comment
from propolis.core.security import Actor


def render_comments(
    session: Session, actor: Actor, comments: list[Comment], extra: list[str] | None = None
) -> list[dict[str, Any]]:
    return [_render(c) for c in comments]


def _render(comment: Comment) -> dict[str, Any]:
    out: dict[str, Any] = {
        "_id": comment.eid,
        "_type": "Comment",
        "createdBy": comment.created_by,
        "createdAt": comment.created_at,
    }
    if comment.updated_at is not None:
        out["updatedBy"] = comment.updated_by
        out["updatedAt"] = comment.updated_at
    out["message"] = comment.message
    out["isEdited"] = comment.is_edited
    out["extraData"] = {}
    return out
