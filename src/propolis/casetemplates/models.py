from __future__ import annotations

from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped

from propolis.core.columns import boolean, fk, json_list, ms, serial_pk, string, text
from propolis.core.db import Base, Entity


class CaseTemplate(Entity):
    __tablename__ = "case_template"
    __table_args__ = (UniqueConstraint("org_id", "name", name="uq_case_template_name"),)

    org_id: Mapped[int] = fk("organisation.id", nullable=False, index=False)
    name: Mapped[str] = string(128, nullable=False)
    display_name: Mapped[str] = string(255, nullable=False)
    title_prefix: Mapped[str | None] = string(64)
    description: Mapped[str | None] = text()
    severity: Mapped[int | None] = ms()
    tags: Mapped[list[str]] = json_list()
    flag: Mapped[bool] = boolean()
    tlp: Mapped[int | None] = ms()
    pap: Mapped[int | None] = ms()
    summary: Mapped[str | None] = text()


class CaseTemplatePageTemplate(Base):
    __tablename__ = "case_template_page_template"
    __table_args__ = (UniqueConstraint("case_template_id", "page_template_id"),)

    id: Mapped[int] = serial_pk()
    case_template_id: Mapped[int] = fk("case_template.id", nullable=False)
    page_template_id: Mapped[int] = fk("page_template.id", nullable=False)
