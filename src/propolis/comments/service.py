"""Comments on cases and alerts (spec §10)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from propolis.access import owned_by_visible_parent, require_on_parent
from propolis.comments.models import Comment
from propolis.comments.schemas import CommentIn, CommentUpdate
from propolis.core import events, moves
from propolis.core.db import now_ms, parse_id
from propolis.core.errors import AuthorizationError, missing
from propolis.core.schemas import check
from propolis.core.security import Actor

PERMISSION = "manageComment"


def visible_comments(actor: Actor):  # noqa: ANN201
    """Comments of the cases visible to the caller and of its organisation's alerts."""
    return select(Comment).where(owned_by_visible_parent(Comment, actor))


def get_comment(session: Session, actor: Actor, ref: str) -> Comment:
    comment_id = parse_id(ref)
    found = None
    if comment_id is not None:
        found = session.scalar(visible_comments(actor).where(Comment.id == comment_id))
    if found is None:
        raise missing("Comment", ref)
    return found


def create_comment(
    session: Session, actor: Actor, *, case: Any = None, alert: Any = None, data: dict[str, Any]
) -> Comment:
    require_on_parent(session, actor, PERMISSION, case=case)
    comment = Comment(
        org_id=actor.org_id,
        case_id=case.id if case is not None else None,
        alert_id=alert.id if alert is not None else None,
        message=check(CommentIn, data).message,
        is_edited=False,
        created_by=actor.login,
        created_at=now_ms(),
    )
    session.add(comment)
    session.flush()
    _record(session, actor, "create", comment, {"message": comment.message})
    return comment


def update_comment(session: Session, actor: Actor, comment: Comment, data: dict[str, Any]) -> None:
    """Only the author edits a comment: the text is signed with their name."""
    require_on_parent(session, actor, PERMISSION, case_id=comment.case_id)
    if comment.created_by != actor.login:
        raise AuthorizationError("Only the author of a comment can edit it")
    values = check(CommentUpdate, data).known()
    if "message" not in values:
        return
    comment.message = values["message"]
    comment.is_edited = True
    comment.touch(actor.login)
    _record(session, actor, "update", comment, {"message": comment.message})


def delete_comment(session: Session, actor: Actor, comment: Comment) -> None:
    require_on_parent(session, actor, PERMISSION, case_id=comment.case_id)
    _record(session, actor, "delete", comment, {})
    session.delete(comment)
    session.flush()


def _record(
    session: Session, actor: Actor, action: str, comment: Comment, details: dict[str, Any]
) -> None:
    events.record(
        session,
        actor.login,
        actor.org_id,
        action,
        "Comment",
        comment.id,
        details,
        root_id=comment.case_id or comment.alert_id,
    )


def move_to_case(
    session: Session, actor: Actor, source_ids: list[int], target: Any
) -> list[Comment]:
    """The comments of merged cases now belong to the merged case ``target``."""
    return moves.move_to_case(session, actor, Comment, "Comment", source_ids, target)
