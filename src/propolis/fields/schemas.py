"""Custom field definitions in TheHive's JSON shape (spec §13)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from propolis.core.schemas import Bool, Entity, Input, NonEmpty, Text

FieldType = Literal["string", "integer", "float", "boolean", "date", "url"]


class CustomFieldCreate(Input):
    name: NonEmpty(64)
    displayName: NonEmpty(255) | None = None
    group: NonEmpty(128) | None = None
    description: Text
    type: FieldType
    mandatory: Bool | None = None
    options: list[Any] | None = Field(None, max_length=10_000)


class CustomFieldUpdate(Input):
    displayName: NonEmpty(255) | None = None
    group: NonEmpty(128) | None = None
    description: Text = None
    type: FieldType | None = None
    mandatory: Bool | None = None
    options: list[Any] | None = Field(None, max_length=10_000)


class CustomFieldOut(Entity):
    name: str
    displayName: str | None = None
    group: str | None = None
    description: str | None = None
    type: str = Field(alias="_type")
    fieldType: str = Field(alias="type")
    mandatory: bool
    options: list[Any]


# A case metric's name is how cases and templates refer to it: a plain identifier.
MetricName = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
# metrics: {name: number | null}
MetricsIn = Annotated[dict[str, Any], Field(max_length=1_000)]


class CaseMetricCreate(Input):
    name: MetricName
    title: NonEmpty(255) | None = None
    description: Text | None = None


class CaseMetricUpdate(Input):
    title: NonEmpty(255) | None = None
    description: Text | None = None


class CaseMetricOut(Entity):
    name: str
    title: str
    description: str
