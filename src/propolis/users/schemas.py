"""Users and profiles in TheHive's JSON shape (spec §19, §20)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from propolis.core.schemas import Bool, Entity, Input, NonEmpty, Output, Str

UserType = Literal["Normal", "Service", "External"]
Password = NonEmpty(1024)
ProfileType = Literal["Organisation", "Admin", "External"]


class UserCreate(Input):
    login: NonEmpty(255)
    name: NonEmpty(128)
    profile: NonEmpty(64)
    email: Str(255) | None = None
    password: Password | None = None
    organisation: Str(64) | None = None
    type: UserType | None = None
    locked: Bool | None = None
    avatar: Str(2_000_000) | None = None


class UserUpdate(Input):
    name: NonEmpty(128) = None
    profile: NonEmpty(64) = None
    email: Str(255) | None = None
    organisation: Str(64) | None = None
    type: UserType = None
    locked: Bool = None
    avatar: Str(2_000_000) | None = None
    defaultOrganisation: NonEmpty(64) = None


class PasswordSet(Input):
    password: Password


class PasswordChange(Input):
    password: Password
    currentPassword: Str(1024)


class UserOrganisation(Input):
    organisation: NonEmpty(64)
    profile: NonEmpty(64)
    default: Bool | None = None


class UserOrganisations(Input):
    organisations: list[UserOrganisation] = Field(min_length=1, max_length=1_000)


class ProfileCreate(Input):
    name: NonEmpty(64)
    permissions: list[NonEmpty(128)] | None = Field(None, max_length=1_000)
    type: ProfileType | None = None


class ProfileUpdate(Input):
    name: NonEmpty(64) = None
    permissions: list[NonEmpty(128)] | None = Field(None, max_length=1_000)


class UserOut(Entity):
    type: str | None = Field(None, alias="_type")
    login: str
    name: str
    organisation: str | None = None
    profile: str | None = None
    permissions: list[str] | None = None
    organisations: list[dict[str, Any]] | None = None


class ProfileOut(Entity):
    name: str
    permissions: list[str]


class UserOrganisationOut(Output):
    organisation: str
    profile: str
    default: bool


class UserOrganisationsOut(Output):
    organisations: list[UserOrganisationOut]


class LoginOut(UserOut):
    """The user, and the token a browser session sends back in ``X-CSRF-Token``."""

    csrfToken: str
