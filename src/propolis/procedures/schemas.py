"""Procedures (MITRE ATT&CK) in TheHive's JSON shape (spec §14)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from propolis.core.schemas import MAX_CHILDREN, Date, Entity, Input, NonEmpty, Refs, Str, Text


class ProcedureCreate(Input):
    patternId: NonEmpty(32)
    occurDate: Date
    tactic: Str(32) | None = None
    description: Text | None = None


class ProcedureUpdate(Input):
    patternId: NonEmpty(32) = None
    occurDate: Date = None
    tactic: Str(32) | None = None
    description: Text | None = None


class ProcedureBulkCreate(Input):
    procedures: list[ProcedureCreate] = Field(max_length=MAX_CHILDREN)


class ProcedureBulkDelete(Input):
    ids: Refs


class ProcedureOut(Entity):
    type: str | None = Field(None, alias="_type")
    occurDate: int
    patternId: str
    patternName: str | None = None
    tactic: str | None = None
    tacticLabel: str | None = None
    description: str | None = None
    extraData: dict[str, Any]


class PatternOut(Entity):
    """A MITRE ATT&CK technique of the catalogue."""

    patternId: str
    name: str
    description: str | None = None
    tactics: list[str]
    url: str
    patternType: str
    revoked: bool
    platforms: list[str]
    extraData: dict[str, Any]
