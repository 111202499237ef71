from __future__ import annotations

from sqlalchemy import Index
from sqlalchemy.orm import Mapped

from propolis.core.columns import boolean, fk, ms, string, text
from propolis.core.db import Entity


class Task(Entity):
    """A task of a case, or of a case template (exactly one of the two is set)."""

    __tablename__ = "task"
    __table_args__ = (Index("ix_task_case_order", "case_id", "order"),)

    case_id: Mapped[int | None] = fk("case_file.id", index=False)
    case_template_id: Mapped[int | None] = fk("case_template.id")
    title: Mapped[str] = string(128, nullable=False)
    group: Mapped[str] = string(128, nullable=False, default="default")
    description: Mapped[str | None] = text()
    status: Mapped[str] = string(16, nullable=False, default="Waiting")
    flag: Mapped[bool] = boolean()
    start_date: Mapped[int | None] = ms()
    end_date: Mapped[int | None] = ms()
    due_date: Mapped[int | None] = ms()
    order: Mapped[int] = ms(nullable=False, default=0)
    assignee: Mapped[str | None] = string(255, index=True)
    mandatory: Mapped[bool] = boolean()


class TaskLog(Entity):
    __tablename__ = "task_log"

    task_id: Mapped[int] = fk("task.id", nullable=False)
    message: Mapped[str] = text(nullable=False)
    date: Mapped[int] = ms(nullable=False)
    include_in_timeline: Mapped[int | None] = ms()
    owner: Mapped[str] = string(255, nullable=False)
