"""Case pages and page templates in TheHive's JSON shape (spec §11)."""

from __future__ import annotations

from typing import Any

from propolis.core.schemas import Entity, Input, Int64, NonEmpty, Text


class PageCreate(Input):
    title: NonEmpty(512)
    category: NonEmpty(128)
    content: Text
    order: Int64 | None = None


class PageUpdate(Input):
    title: NonEmpty(512) = None
    category: NonEmpty(128) = None
    content: Text = None
    order: Int64 | None = None


class PageOut(Entity):
    title: str
    category: str
    content: str
    order: int | None = None
    extraData: dict[str, Any] | None = None
