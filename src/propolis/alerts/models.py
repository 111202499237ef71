from __future__ import annotations

from sqlalchemy import Index, UniqueConstraint
from sqlalchemy.orm import Mapped

from propolis.core.columns import boolean, fk, fk_set_null, json_list, ms, string, text
from propolis.core.db import Entity


class Alert(Entity):
    __tablename__ = "alert"
    __table_args__ = (
        # Dedup rule: (type, source, sourceRef) is unique per organisation.
        UniqueConstraint("org_id", "type", "source", "source_ref", name="uq_alert_dedup"),
        # The alert list: filter by status, sort by date / creation, page.
        Index("ix_alert_org_created", "org_id", "created_at"),
        Index("ix_alert_org_status_created", "org_id", "status", "created_at"),
        Index("ix_alert_org_date", "org_id", "date"),
        Index("ix_alert_org_status_date", "org_id", "status", "date"),
        # The analysts' queue: counts per stage (New, waiting = New + In progress) and the
        # newest first inside a stage; sorting by severity, newest first inside a level.
        Index("ix_alert_org_stage_date", "org_id", "stage", "date"),
        Index("ix_alert_org_severity_date", "org_id", "severity", "date"),
    )

    org_id: Mapped[int] = fk("organisation.id", nullable=False, index=False)
    type: Mapped[str] = string(32, nullable=False)
    source: Mapped[str] = string(32, nullable=False)
    source_ref: Mapped[str] = string(128, nullable=False)
    title: Mapped[str] = string(512, nullable=False)
    description: Mapped[str] = text(nullable=False)
    external_link: Mapped[str | None] = text()
    severity: Mapped[int] = ms(nullable=False, default=2)
    date: Mapped[int] = ms(nullable=False)
    last_sync_date: Mapped[int | None] = ms()
    tags: Mapped[list[str]] = json_list()
    flag: Mapped[bool] = boolean()
    tlp: Mapped[int] = ms(nullable=False, default=2)
    pap: Mapped[int] = ms(nullable=False, default=2)
    status: Mapped[str] = string(64, nullable=False, default="New")
    stage: Mapped[str] = string(16, nullable=False, default="New")
    summary: Mapped[str | None] = text()
    assignee: Mapped[str | None] = string(255, index=True)
    case_template: Mapped[str | None] = string(255)
    follow: Mapped[bool] = boolean(default=True)
    read: Mapped[bool] = boolean()
    case_id: Mapped[int | None] = fk_set_null("case_file.id")
    observable_count: Mapped[int] = ms(nullable=False, default=0)
    new_date: Mapped[int] = ms(nullable=False)
    in_progress_date: Mapped[int | None] = ms()
    closed_date: Mapped[int | None] = ms()
    imported_date: Mapped[int | None] = ms()
