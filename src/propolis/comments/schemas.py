"""Comments in TheHive's JSON shape (spec §10)."""

from __future__ import annotations

from propolis.core.schemas import TEXT_MAX, Entity, Input, NonEmpty


class CommentIn(Input):
    message: NonEmpty(TEXT_MAX)


class CommentUpdate(Input):
    message: NonEmpty(TEXT_MAX) = None


class CommentOut(Entity):
    message: str
