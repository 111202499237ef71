"""Organisations in TheHive's JSON shape (spec §18)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from propolis.core.schemas import MAX_CHILDREN, Bool, Entity, Input, NonEmpty, Output, Str

SharingRule = Literal["manual", "autoShare", "existingOnly", "upcomingOnly", "all"]
LinkType = Literal["default", "supervised", "notify"]
# An avatar is a data URL or base64 image: bounded, not parsed here (orgs.avatar checks it).
Avatar = Str(2_000_000)


class OrganisationCreate(Input):
    name: NonEmpty(64)
    description: Str(1_048_576)
    locked: Bool | None = None
    taskRule: SharingRule | None = None
    observableRule: SharingRule | None = None
    avatar: Avatar | None = None


class OrganisationUpdate(Input):
    name: NonEmpty(64) = None
    description: Str(1_048_576) = None
    locked: Bool = None
    taskRule: SharingRule = None
    observableRule: SharingRule = None
    avatar: Avatar | None = None


class OrganisationLink(Input):
    linkType: LinkType | None = None
    otherLinkType: LinkType | None = None


class OrganisationLinkTo(OrganisationLink):
    toOrganisation: NonEmpty(64)


class OrganisationLinks(Input):
    links: list[OrganisationLinkTo] = Field(max_length=MAX_CHILDREN)


class OrganisationOut(Entity):
    name: str
    description: str


class OrganisationLinkOut(Output):
    linkType: str
    otherLinkType: str
    organisation: OrganisationOut


class SharingProfileOut(Output):
    name: str
    description: str
    autoShare: bool
    editable: bool
    permissionProfile: str
    taskRule: str
    observableRule: str
