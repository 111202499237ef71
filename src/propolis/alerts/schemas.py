"""Alerts in TheHive's JSON shape (spec §4.2, §4.4, §4.5)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from propolis.core.schemas import (
    ID_MAX,
    MAX_CHILDREN,
    MAX_OBSERVABLES,
    Bool,
    CustomFieldsIn,
    Date,
    Entity,
    Input,
    NonEmpty,
    Pap,
    Ref,
    Refs,
    Severity,
    Str,
    Tags,
    Text,
    Tlp,
)
from propolis.observables.schemas import ObservableCreate
from propolis.procedures.schemas import ProcedureCreate


class AlertCreate(Input):
    """``InputAlert``. ``caseTemplate`` is stored as given (spec §4.2: not checked)."""

    type: NonEmpty(32)
    source: NonEmpty(32)
    sourceRef: NonEmpty(128)
    title: NonEmpty(512)
    description: Text
    externalLink: Text | None = None
    severity: Severity | None = None
    date: Date | None = None
    lastSyncDate: Date | None = None
    tags: Tags | None = None
    flag: Bool | None = None
    tlp: Tlp | None = None
    pap: Pap | None = None
    customFields: CustomFieldsIn | None = None
    summary: Text | None = None
    status: NonEmpty(64) | None = None
    assignee: Str(255) | None = None
    caseTemplate: Str(255) | None = None
    observables: list[ObservableCreate] | None = Field(None, max_length=MAX_OBSERVABLES)
    procedures: list[ProcedureCreate] | None = Field(None, max_length=MAX_CHILDREN)

    @field_validator("observables")
    @classmethod
    def _observable_values(cls, value: list[ObservableCreate] | None) -> Any:
        """Each value of an observable's ``data`` list is one observable."""
        total = sum(len(o.data) if isinstance(o.data, list) else 1 for o in value or [])
        if total > MAX_OBSERVABLES:
            raise ValueError(f"at most {MAX_OBSERVABLES} observable values per alert")
        return value


class AlertUpdate(Input):
    """``InputUpdateAlert``: a required field may be changed, not removed (no ``null``);
    ``null`` removes an optional one."""

    type: NonEmpty(32) = None
    source: NonEmpty(32) = None
    sourceRef: NonEmpty(128) = None
    title: NonEmpty(512) = None
    description: Text = None
    externalLink: Text | None = None
    severity: Severity = None
    date: Date = None
    lastSyncDate: Date | None = None
    tags: Tags | None = None
    addTags: Tags | None = None
    removeTags: Tags | None = None
    flag: Bool = None
    follow: Bool = None
    tlp: Tlp = None
    pap: Pap = None
    customFields: CustomFieldsIn | None = None
    summary: Text | None = None
    status: NonEmpty(64) = None
    assignee: Str(255) | None = None
    caseTemplate: Str(255) | None = None


class AlertBulkUpdate(AlertUpdate):
    ids: Refs


class AlertIds(Input):
    ids: Refs


class AlertBulkMerge(Input):
    caseId: Ref
    alertIds: Refs


class AlertOut(Entity):
    type: str = Field(alias="_type")
    alertType: str = Field(alias="type")
    source: str
    sourceRef: str
    title: str
    description: str
    externalLink: str | None = None
    severity: int
    severityLabel: str
    date: int
    tags: list[str]
    tlp: int
    tlpLabel: str
    pap: int
    papLabel: str
    follow: bool
    customFields: list[dict[str, Any]]
    caseTemplate: str | None = None
    observableCount: int
    caseId: str | None = None
    status: str
    stage: str
    assignee: str | None = None
    summary: str | None = None
    extraData: dict[str, Any]
    newDate: int
    inProgressDate: int | None = None
    closedDate: int | None = None
    importedDate: int | None = None
    timeToDetect: int


_ = ID_MAX
