"""Analysis connector inputs in TheHive's JSON shape (spec §21): analyzer jobs, responder
actions, and the workers an organisation enables."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from propolis.core.schemas import MAX_CHILDREN, Entity, Input, Int, NonEmpty, Output, Str, Tlp

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


# --------------------------------------------------------------------------- answers


class JobOut(Entity):
    """TheHive's ``OutputAnalyzerJob`` (spec §21.2)."""

    analyzerId: str
    analyzerName: str
    analyzerDefinition: str
    status: str
    startDate: int
    endDate: int | None = None
    cortexId: str
    cortexJobId: str
    operations: str = Field(description="JSON text of the operations of the report")
    report: dict[str, Any] | None = None
    fromCache: bool | None = None


class ActionOut(Entity):
    """A responder action (TheHive's ``OutputAction``)."""

    responderId: str
    responderName: str
    responderDefinition: str
    objectType: str
    objectId: str
    status: str
    startDate: int
    endDate: int | None = None
    cortexId: str | None = None
    cortexJobId: str | None = None
    operations: str = Field(description="JSON text of the operations of the report")
    report: str = Field(description="JSON text of the report, without its operations")


class ConnectorWorkerOut(Output):
    """An analyzer or responder as the connector lists it (``OutputAnalyzer``)."""

    id: str
    name: str
    version: str
    description: str
    dataTypeList: list[str]
    cortexIds: list[str]
    maxTlp: int
    maxPap: int


class WorkerOut(Entity):
    """An enabled analyzer or responder, as its administrators see it (secrets masked)."""

    kind: str
    name: str
    definitionId: str
    version: str
    description: str
    dataTypeList: list[str]
    configuration: dict[str, Any]
    obsolete: bool
    maxTlp: int
    maxPap: int
    jobCache: int | None = None
    jobTimeout: int | None = None
    rate: int | None = None
    rateUnit: str | None = None


class DefinitionOut(Output):
    """An analyzer or responder definition found on disk (or built in)."""

    id: str
    name: str
    version: str
    kind: str
    source: str
    description: str
    author: str
    url: str
    license: str
    dataTypeList: list[str]
    baseConfig: str
    configurationItems: list[dict[str, Any]]
    config: dict[str, Any]
    builtin: bool


class CatalogProblem(Output):
    source: str
    kind: str
    reason: str


class CatalogProblemsOut(Output):
    invalid: list[CatalogProblem]
    warnings: list[CatalogProblem]


class CatalogScanOut(CatalogProblemsOut):
    """How many definitions of each kind the scan found, and what it could not use."""

    analyzer: int
    responder: int


# Cortex's own API (spec cortex.md): objects carry both ``_id`` and ``id``.


class CortexObject(Output):
    id_: str = Field(alias="_id")
    type_: str = Field(alias="_type")
    id: str


class CortexWorkerOut(CortexObject):
    name: str
    workerDefinitionId: str
    version: str
    description: str
    dataTypeList: list[str]
    type: str
    maxTlp: int
    maxPap: int
    configuration: dict[str, Any] | None = None


class CortexJobOut(CortexObject):
    """An analyzer job or responder action as a Cortex job; ``report`` (report routes) is
    the report, the failure, or the status word while it runs."""

    workerId: str
    workerName: str
    workerDefinitionId: str
    organization: str
    type: str
    status: str
    dataType: str | None = None
    tlp: int
    pap: int | None = None
    message: str
    parameters: dict[str, Any]
    date: int
    startDate: int
    endDate: int | None = None
    report: dict[str, Any] | str | None = None
    fromCache: bool | None = None


class CortexArtifactOut(CortexObject):
    """An artifact an analyzer reported (its own fields besides these)."""

    createdAt: int | None = None
    createdBy: str | None = None


class CortexUserOut(CortexObject):
    login: str
    name: str
    roles: list[str]
    status: str
    organization: str
    permissions: list[str]
    hasKey: bool
    hasPassword: bool
