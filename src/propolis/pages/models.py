from __future__ import annotations

from sqlalchemy.orm import Mapped

from propolis.core.columns import fk, ms, string, text
from propolis.core.db import Entity


class Page(Entity):
    __tablename__ = "case_page"

    case_id: Mapped[int] = fk("case_file.id", nullable=False)
    title: Mapped[str] = string(512, nullable=False)
    content: Mapped[str] = text(nullable=False)
    category: Mapped[str] = string(128, nullable=False)
    order: Mapped[int] = ms(nullable=False, default=0)


class PageTemplate(Entity):
    __tablename__ = "page_template"

    org_id: Mapped[int] = fk("organisation.id", nullable=False)
    title: Mapped[str] = string(512, nullable=False)
    content: Mapped[str] = text(nullable=False)
    category: Mapped[str] = string(128, nullable=False)
    order: Mapped[int] = ms(nullable=False, default=0)
