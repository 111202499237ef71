from __future__ import annotations

from sqlalchemy import Index, UniqueConstraint
from sqlalchemy.orm import Mapped

from propolis.core.columns import boolean, fk, json_list, ms, serial_pk, string, text
from propolis.core.db import Base, Entity


class Case(Entity):
    __tablename__ = "case_file"
    __table_args__ = (
        # Case numbers count per organisation (the owner's).
        UniqueConstraint("org_id", "number", name="uq_case_number"),
        Index("ix_case_org_created", "org_id", "created_at"),
        # Case lists are sorted by creation across owned and shared cases (see
        # access.case_visible).
        Index("ix_case_created", "created_at"),
        Index("ix_case_org_status_created", "org_id", "status", "created_at"),
    )

    org_id: Mapped[int] = fk("organisation.id", nullable=False, index=False)  # owner
    number: Mapped[int] = ms(nullable=False)
    title: Mapped[str] = string(512, nullable=False)
    description: Mapped[str] = text(nullable=False)
    severity: Mapped[int] = ms(nullable=False, default=2)
    start_date: Mapped[int] = ms(nullable=False)
    end_date: Mapped[int | None] = ms()
    tags: Mapped[list[str]] = json_list()
    flag: Mapped[bool] = boolean()
    tlp: Mapped[int] = ms(nullable=False, default=2)
    pap: Mapped[int] = ms(nullable=False, default=2)
    status: Mapped[str] = string(64, nullable=False, default="New")
    stage: Mapped[str] = string(16, nullable=False, default="New")
    summary: Mapped[str | None] = text()
    impact_status: Mapped[str | None] = string(32)
    assignee: Mapped[str | None] = string(255, index=True)
    access_kind: Mapped[str] = string(32, nullable=False, default="OrganisationAccessKind")
    access_users: Mapped[list[str]] = json_list()
    case_template: Mapped[str | None] = string(255)
    task_rule: Mapped[str | None] = string(32)
    observable_rule: Mapped[str | None] = string(32)
    new_date: Mapped[int] = ms(nullable=False)
    in_progress_date: Mapped[int | None] = ms()
    closed_date: Mapped[int | None] = ms()
    alert_date: Mapped[int | None] = ms()
    alert_new_date: Mapped[int | None] = ms()
    alert_in_progress_date: Mapped[int | None] = ms()
    alert_imported_date: Mapped[int | None] = ms()


class Share(Entity):
    """An organisation's access to a case. The owner organisation has one too (owner=True):
    "cases visible to org X" is always "cases with a share for X"."""

    __tablename__ = "share"
    __table_args__ = (
        UniqueConstraint("org_id", "case_id", name="uq_share_org_case"),
        # The few shares with a guest organisation: the cases shared between organisations
        # (audit.stream.shared_cases) without walking every owner share.
        Index("ix_share_guest", "owner", "case_id"),
    )

    case_id: Mapped[int] = fk("case_file.id", nullable=False)
    org_id: Mapped[int] = fk("organisation.id", nullable=False, index=False)
    profile_id: Mapped[int] = fk("profile.id", nullable=False)
    owner: Mapped[bool] = boolean()
    task_rule: Mapped[str] = string(32, nullable=False, default="manual")
    observable_rule: Mapped[str] = string(32, nullable=False, default="manual")


class SharedTask(Base):
    __tablename__ = "share_task"
    __table_args__ = (UniqueConstraint("share_id", "task_id"),)

    id: Mapped[int] = serial_pk()
    share_id: Mapped[int] = fk("share.id", nullable=False)
    task_id: Mapped[int] = fk("task.id", nullable=False)
    action_required: Mapped[bool] = boolean()


class SharedObservable(Base):
    __tablename__ = "share_observable"
    __table_args__ = (UniqueConstraint("share_id", "observable_id"),)

    id: Mapped[int] = serial_pk()
    share_id: Mapped[int] = fk("share.id", nullable=False)
    observable_id: Mapped[int] = fk("observable.id", nullable=False)


class CaseLink(Base):
    """A typed, directional link from one case to another (``link/case/add``)."""

    __tablename__ = "case_link"
    __table_args__ = (UniqueConstraint("case_id", "linked_case_id", "type"),)

    id: Mapped[int] = serial_pk()
    case_id: Mapped[int] = fk("case_file.id", nullable=False)
    linked_case_id: Mapped[int] = fk("case_file.id", nullable=False)
    type: Mapped[str] = string(64, nullable=False)


class ExternalLink(Base):
    __tablename__ = "case_external_link"
    __table_args__ = (UniqueConstraint("case_id", "url", "type"),)

    id: Mapped[int] = serial_pk()
    case_id: Mapped[int] = fk("case_file.id", nullable=False)
    url: Mapped[str] = string(2048, nullable=False)
    type: Mapped[str] = string(64, nullable=False)


class CustomEvent(Entity):
    __tablename__ = "custom_event"

    case_id: Mapped[int] = fk("case_file.id", nullable=False)
    date: Mapped[int] = ms(nullable=False)
    end_date: Mapped[int | None] = ms()
    title: Mapped[str] = string(128, nullable=False)
    description: Mapped[str | None] = text()


class StatusValue(Entity):
    """A configurable case or alert status and the fixed stage it belongs to."""

    __tablename__ = "status_value"
    __table_args__ = (UniqueConstraint("kind", "value"),)

    kind: Mapped[str] = string(8, nullable=False)  # "case" | "alert"
    value: Mapped[str] = string(64, nullable=False)
    stage: Mapped[str] = string(16, nullable=False)
    color: Mapped[str | None] = string(16)
    position: Mapped[int] = ms(nullable=False, default=0)
