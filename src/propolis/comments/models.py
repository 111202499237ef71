from __future__ import annotations

from sqlalchemy.orm import Mapped

from propolis.core.columns import boolean, fk, text
from propolis.core.db import Entity


class Comment(Entity):
    __tablename__ = "comment"

    org_id: Mapped[int] = fk("organisation.id", nullable=False)
    case_id: Mapped[int | None] = fk("case_file.id")
    alert_id: Mapped[int | None] = fk("alert.id")
    message: Mapped[str] = text(nullable=False)
    is_edited: Mapped[bool] = boolean()
