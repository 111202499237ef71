"""Cases, their shares, links and custom events in TheHive's JSON shape (spec §5, §15, §17)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from propolis.core.schemas import (
    MAX_CHILDREN,
    Bool,
    CustomFieldsIn,
    Date,
    Entity,
    Input,
    NonEmpty,
    Output,
    Pap,
    Ref,
    Refs,
    Severity,
    Str,
    Tags,
    Text,
    Tlp,
)
from propolis.fields.schemas import MetricsIn
from propolis.observables.schemas import ObservableOut
from propolis.pages.schemas import PageCreate
from propolis.procedures.schemas import ProcedureOut
from propolis.tasks.schemas import TaskCreate

SharingRule = Literal["manual", "autoShare", "existingOnly", "upcomingOnly", "all"]
ImpactStatus = Literal["NotApplicable", "WithImpact", "NoImpact"]


class Access(Input):
    kind: NonEmpty(64) = Field(alias="_kind")
    users: list[Str(255)] | None = Field(None, max_length=MAX_CHILDREN)


class ShareIn(Input):
    organisation: NonEmpty(64)
    share: Bool | None = None
    profile: NonEmpty(64) | None = None
    taskRule: SharingRule | None = None
    observableRule: SharingRule | None = None


class CaseCreate(Input):
    """``InputCase``."""

    title: NonEmpty(512)
    description: Text
    severity: Severity | None = None
    startDate: Date | None = None
    endDate: Date | None = None
    tags: Tags | None = None
    flag: Bool | None = None
    tlp: Tlp | None = None
    pap: Pap | None = None
    status: NonEmpty(64) | None = None
    summary: Text | None = None
    assignee: Str(255) | None = None
    access: Access | None = None
    customFields: CustomFieldsIn | None = None
    metrics: MetricsIn | None = None
    caseTemplate: Str(255) | None = None
    tasks: list[TaskCreate] | None = Field(None, max_length=MAX_CHILDREN)
    pages: list[PageCreate] | None = Field(None, max_length=MAX_CHILDREN)
    sharingParameters: list[ShareIn] | None = Field(None, max_length=1_000)
    taskRule: SharingRule | None = None
    observableRule: SharingRule | None = None


class CaseUpdate(Input):
    """``InputUpdateCase``: ``null`` clears ``summary``, ``assignee``, ``impactStatus`` and
    ``endDate``; the other fields may be changed, not removed."""

    title: NonEmpty(512) = None
    description: Text = None
    severity: Severity = None
    startDate: Date = None
    endDate: Date | None = None
    tags: Tags = None
    addTags: Tags | None = None
    removeTags: Tags | None = None
    flag: Bool = None
    tlp: Tlp = None
    pap: Pap = None
    status: NonEmpty(64) = None
    summary: Text | None = None
    assignee: Str(255) | None = None
    impactStatus: ImpactStatus | None = None
    customFields: CustomFieldsIn | None = None
    metrics: MetricsIn | None = None
    taskRule: SharingRule | None = None
    observableRule: SharingRule | None = None


class CaseBulkUpdate(CaseUpdate):
    ids: Refs


class CasePromote(Input):
    """The case values a promotion may override (``POST /alert/{id}/case``)."""

    title: NonEmpty(512) = None
    description: Text = None
    severity: Severity = None
    startDate: Date = None
    endDate: Date | None = None
    tags: Tags | None = None
    flag: Bool = None
    tlp: Tlp = None
    pap: Pap = None
    status: NonEmpty(64) = None
    summary: Text | None = None
    assignee: Str(255) | None = None
    caseTemplate: Str(255) | None = None
    customFields: CustomFieldsIn | None = None
    metrics: MetricsIn | None = None


class CaseIds(Input):
    ids: Refs


class CaseApplyTemplate(Input):
    ids: Refs
    caseTemplate: NonEmpty(255)


class CaseBulkAccess(Input):
    ids: Refs
    access: Access


class CaseAccess(Input):
    access: Access


class CaseOwner(Input):
    organisation: NonEmpty(64)
    keepProfile: Str(64) | None = None
    taskRule: SharingRule | None = None
    observableRule: SharingRule | None = None


class CaseLinkCase(Input):
    caseId: Ref
    type: NonEmpty(64) | None = None


class CaseLinkUrl(Input):
    url: NonEmpty(2048)
    type: NonEmpty(64) | None = None


class CustomEventCreate(Input):
    title: NonEmpty(128)
    date: Date
    endDate: Date | None = None
    description: Text | None = None


class CustomEventUpdate(Input):
    title: NonEmpty(128) = None
    date: Date = None
    endDate: Date | None = None
    description: Text | None = None


class SharesIn(Input):
    shares: list[ShareIn] = Field(max_length=1_000)


class OrganisationsIn(Input):
    organisations: list[NonEmpty(64)] = Field(max_length=1_000)


class ShareUpdate(Input):
    profile: NonEmpty(64)


class CaseOut(Entity):
    number: int
    title: str
    description: str
    severity: int
    severityLabel: str
    startDate: int
    endDate: int | None = None
    tags: list[str]
    flag: bool
    tlp: int
    tlpLabel: str
    pap: int
    papLabel: str
    status: str
    stage: str
    summary: str | None = None
    impactStatus: str | None = None
    assignee: str | None = None
    access: dict[str, Any]
    customFields: list[dict[str, Any]]
    extraData: dict[str, Any]
    newDate: int
    inProgressDate: int | None = None
    closedDate: int | None = None
    timeToDetect: int


class ShareOut(Entity):
    caseId: str
    profileName: str
    organisationName: str
    owner: bool
    taskRule: str
    observableRule: str


class CustomEventOut(Entity):
    title: str
    date: int
    endDate: int | None = None
    description: str | None = None


class LinkedCaseOut(CaseOut):
    """A case sharing observables with another, with the observables they share."""

    linkedWith: list[ObservableOut]
    linksCount: int


class CaseImportOut(Output):
    case: CaseOut
    observables: list[ObservableOut]
    procedures: list[ProcedureOut]
    errors: list[Any]


class ObservablesMergeOut(Output):
    """How many observables were left alone, kept with merged values, and deleted."""

    untouched: int
    updated: int
    deleted: int


class TimelineEventOut(Output):
    date: int | None
    kind: str
    entity: str
    entityId: str
    details: dict[str, Any]
    endDate: int | None = None


class TimelineOut(Output):
    events: list[TimelineEventOut]
