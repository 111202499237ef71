"""Attachments in TheHive's JSON shape (spec §16.2)."""

from __future__ import annotations

from typing import Any

from propolis.core.schemas import Entity, Output


class AttachmentOut(Entity):
    name: str
    hashes: list[str]
    size: int
    contentType: str
    id: str
    path: str
    extraData: dict[str, Any]


class AttachmentsOut(Output):
    attachments: list[AttachmentOut]
