from __future__ import annotations

from sqlalchemy import Index
from sqlalchemy.orm import Mapped

from propolis.core.columns import boolean, fk, text
from propolis.core.db import Entity


class Comment(Entity):
    __tablename__ = "comment"
    __table_args__ = (
        # "[getCase, comments]" / "[getAlert, comments]" in creation order.
        Index("ix_comment_case_created", "case_id", "created_at"),
        Index("ix_comment_alert_created", "alert_id", "created_at"),
    )

    org_id: Mapped[int] = fk("organisation.id", nullable=False)
    case_id: Mapped[int | None] = fk("case_file.id", index=False)
    alert_id: Mapped[int | None] = fk("alert.id", index=False)
    message: Mapped[str] = text(nullable=False)
    is_edited: Mapped[bool] = boolean()
