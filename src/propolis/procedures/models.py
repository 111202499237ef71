from __future__ import annotations

from sqlalchemy import Index
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
    # Further ATT&CK attributes, filled by the STIX import (empty for the seeded catalogue).
    data_sources: Mapped[list[str]] = json_list()
    defense_bypassed: Mapped[list[str]] = json_list()
    detection: Mapped[str | None] = text()
    permissions_required: Mapped[list[str]] = json_list()
    remote_support: Mapped[bool] = boolean()
    system_requirements: Mapped[list[str]] = json_list()
    version: Mapped[str | None] = string(16)
    capec_id: Mapped[str | None] = string(32)
    capec_url: Mapped[str | None] = string(512)


class Procedure(Entity):
    __tablename__ = "procedure"
    __table_args__ = (
        # "[getCase, procedures]" and the list sorted by creation use these.
        Index("ix_procedure_case_created", "case_id", "created_at"),
        Index("ix_procedure_alert_created", "alert_id", "created_at"),
    )

    org_id: Mapped[int] = fk("organisation.id", nullable=False)
    case_id: Mapped[int | None] = fk("case_file.id", index=False)
    alert_id: Mapped[int | None] = fk("alert.id", index=False)
    pattern_id: Mapped[str] = string(32, nullable=False)
    occur_date: Mapped[int] = ms(nullable=False)
    tactic: Mapped[str | None] = string(32)
    description: Mapped[str | None] = text()
