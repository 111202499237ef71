"""Analysis connector inputs in TheHive's JSON shape (spec §21): analyzer jobs, responder
actions, and the workers an organisation enables."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from propolis.core.schemas import MAX_CHILDREN, Input, Int, NonEmpty, Str, Tlp

# Minutes of a job's cache or time limit: up to a year.
Minutes = Int(0, 525_600)
RateUnit = Literal["Second", "Minute", "Hour", "Day", "Month"]


class JobCreate(Input):
    analyzerId: NonEmpty(255)
    cortexId: NonEmpty(255)
    artifactId: NonEmpty(64)
    parameters: dict[str, Any] | None = None


class JobsCreate(Input):
    jobs: list[JobCreate] = Field(max_length=MAX_CHILDREN)


class ActionCreate(Input):
    responderId: NonEmpty(255)
    cortexId: Str(255) | None = None
    objectType: NonEmpty(32)
    objectId: NonEmpty(64)
    tlp: Tlp | None = None
    parameters: dict[str, Any] | None = None


class WorkerUpdate(Input):
    name: NonEmpty(255) | None = None
    configuration: dict[str, Any] | None = None
    jobCache: Minutes | None = None
    jobTimeout: Minutes | None = None
    rate: Int(1, 1_000_000_000) | None = None
    rateUnit: RateUnit | None = None


class WorkerEnable(WorkerUpdate):
    definitionId: NonEmpty(255)
    kind: Literal["analyzer", "responder"] | None = None
