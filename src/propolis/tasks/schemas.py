"""Tasks and task logs in TheHive's JSON shape (spec §8, §9)."""

from __future__ import annotations

from typing import Any, Literal

from propolis.core.schemas import (
    Bool,
    Date,
    Entity,
    Input,
    Int64,
    NonEmpty,
    Refs,
    Str,
    Text,
)

TaskStatus = Literal["Waiting", "InProgress", "Completed", "Cancel"]


class TaskCreate(Input):
    title: NonEmpty(128)
    group: NonEmpty(128) | None = None
    description: Text | None = None
    status: TaskStatus | None = None
    flag: Bool | None = None
    startDate: Date | None = None
    endDate: Date | None = None
    dueDate: Date | None = None
    order: Int64 | None = None
    assignee: Str(255) | None = None
    mandatory: Bool | None = None


class TaskUpdate(TaskCreate):
    """The same fields, each optional (a PATCH sends only what changes)."""

    title: NonEmpty(128) = None


class TaskBulkUpdate(TaskUpdate):
    ids: Refs


class LogCreate(Input):
    """``InputTaskLog``. thehive4py sends ``attachments`` as local paths: ignored, the files
    come as multipart parts."""

    message: Text
    startDate: Date | None = None
    includeInTimeline: Date | None = None
    attachments: Any = None


class LogUpdate(Input):
    message: Text = None
    includeInTimeline: Date | None = None


class TaskOut(Entity):
    title: str
    group: str
    description: str | None = None
    status: str
    flag: bool
    startDate: int | None = None
    endDate: int | None = None
    assignee: str | None = None
    order: int
    dueDate: int | None = None
    mandatory: bool
    extraData: dict[str, Any]


class LogOut(Entity):
    message: str
    date: int
    attachments: list[dict[str, Any]] | None = None
    owner: str | None = None
    includeInTimeline: int | None = None
    extraData: dict[str, Any]
