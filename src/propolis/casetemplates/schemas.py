"""Case templates in TheHive's JSON shape (spec §12)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from propolis.core.schemas import (
    MAX_CHILDREN,
    Bool,
    CustomFieldsIn,
    Entity,
    Input,
    NonEmpty,
    Pap,
    Refs,
    Severity,
    Str,
    Tags,
    Text,
    Tlp,
)
from propolis.fields.schemas import MetricsIn
from propolis.tasks.schemas import TaskCreate


class CaseTemplateCreate(Input):
    name: NonEmpty(128)
    displayName: Str(255) | None = None
    titlePrefix: Str(64) | None = None
    description: Text | None = None
    severity: Severity | None = None
    tlp: Tlp | None = None
    pap: Pap | None = None
    tags: Tags | None = None
    flag: Bool | None = None
    summary: Text | None = None
    tasks: list[TaskCreate] | None = Field(None, max_length=MAX_CHILDREN)
    customFields: CustomFieldsIn | None = None
    metrics: MetricsIn | None = None
    pageTemplateIds: Refs | None = None


class CaseTemplateUpdate(CaseTemplateCreate):
    name: NonEmpty(128) = None


class PageTemplateLinks(Input):
    pageTemplateIds: Refs | None = None


class CaseTemplateOut(Entity):
    name: str
    tags: list[str]
    tasks: list[dict[str, Any]]
    customFields: list[dict[str, Any]]
