from __future__ import annotations

from sqlalchemy.orm import Mapped

from propolis.core.columns import boolean, fk, json_list, ms, string, text
from propolis.core.db import Entity


class Pattern(Entity):
    """A MITRE ATT&CK technique (platform-wide catalogue)."""

    __tablename__ = "pattern"

    pattern_id: Mapped[str] = string(32, nullable=False, unique=True)
    name: Mapped[str] = string(255, nullable=False)
    description: Mapped[str | None] = text()
    tactics: Mapped[list[str]] = json_list()
    url: Mapped[str] = string(512, nullable=False)
    pattern_type: Mapped[str] = string(64, nullable=False, default="attack-pattern")
    platforms: Mapped[list[str]] = json_list()
    revoked: Mapped[bool] = boolean()
    parent: Mapped[str | None] = string(32)


class Procedure(Entity):
    __tablename__ = "procedure"

    org_id: Mapped[int] = fk("organisation.id", nullable=False)
    case_id: Mapped[int | None] = fk("case_file.id")
    alert_id: Mapped[int | None] = fk("alert.id")
    pattern_id: Mapped[str] = string(32, nullable=False)
    occur_date: Mapped[int] = ms(nullable=False)
    tactic: Mapped[str | None] = string(32)
    description: Mapped[str | None] = text()
