"""Observables in TheHive's JSON shape (spec §6.2, §6.4, §6.5)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from propolis.core.schemas import (
    ID_MAX,
    MAX_OBSERVABLES,
    Bool,
    Date,
    Entity,
    Input,
    NonEmpty,
    Output,
    Pap,
    Refs,
    Str,
    Tags,
    Text,
    Tlp,
)

DataValue = Text | Annotated[list[Text], Field(max_length=MAX_OBSERVABLES)]


class ObservableCreate(Input):
    """``InputObservable``. ``dataType`` may also come from the query string, so it is not
    required here; ``attachment`` is a part name, a list of them or a stored attachment."""

    dataType: NonEmpty(ID_MAX) | None = None
    data: DataValue | None = None
    message: Text | None = None
    startDate: Date | None = None
    attachment: Any = None
    tlp: Tlp | None = None
    pap: Pap | None = None
    tags: Tags | None = None
    ioc: Bool | None = None
    sighted: Bool | None = None
    sightedAt: Date | None = None
    ignoreSimilarity: Bool | None = None
    isZip: Bool | None = None
    zipPassword: Str(1024) | None = None


class ObservableUpdate(Input):
    """``InputUpdateObservable``: ``data`` and ``attachment`` are immutable."""

    dataType: NonEmpty(ID_MAX) = None
    message: Text | None = None
    tlp: Tlp = None
    pap: Pap = None
    tags: Tags | None = None
    addTags: Tags | None = None
    removeTags: Tags | None = None
    ioc: Bool = None
    sighted: Bool = None
    sightedAt: Date | None = None
    ignoreSimilarity: Bool = None


class ObservableBulkUpdate(ObservableUpdate):
    ids: Refs


class ObservableTypeCreate(Input):
    name: NonEmpty(64)  # the column's length
    isAttachment: Bool | None = None


class ObservableOut(Entity):
    dataType: str
    data: str | None = None
    startDate: int
    attachment: dict[str, Any] | None = None
    tlp: int
    tlpLabel: str
    pap: int
    papLabel: str
    tags: list[str]
    ioc: bool
    sighted: bool
    sightedAt: int | None = None
    reports: dict[str, Any]
    message: str | None = None
    extraData: dict[str, Any]
    ignoreSimilarity: bool


class ObservableCreateFailure(Output):
    type: str
    message: str


class ObservablesPartial(Output):
    """207: some values were created, some failed."""

    success: list[ObservableOut]
    failure: list[dict[str, Any]]


class ObservableTypeOut(Entity):
    name: str
    isAttachment: bool


ObservableList = list[ObservableOut]
_ = Field
