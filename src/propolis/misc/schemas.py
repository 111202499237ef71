"""Status, license and MISP connector answers in TheHive's JSON shape (spec §2, §22)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from propolis.core.schemas import Output


class ConnectorStatus(Output):
    enabled: bool
    status: Any
    servers: list[dict[str, Any]]


class Connectors(Output):
    cortex: ConnectorStatus
    misp: ConnectorStatus


class LicenseOut(Output):
    id_: str = Field(alias="_id")
    type_: str = Field(alias="_type")
    id: str
    plan: str
    kind: str
    validFrom: int
    expiresAt: int
    current: bool
    capabilities: list[str]
    quotas: dict[str, Any]


class LegacyStatusOut(Output):
    versions: dict[str, str]
    connectors: Connectors
    analysis: dict[str, Any]
    config: dict[str, Any]


class PublicStatusOut(Output):
    sso: bool
    version: str
    imports: dict[str, Any]


class StatusOut(Output):
    version: str
    gitDescription: str
    connectors: Connectors
    config: dict[str, Any]
    license: LicenseOut


class CurrentLicenseOut(Output):
    notFound: bool
    fallback: LicenseOut


class MispStatusOut(Output):
    status: dict[str, Any]
    syncInProgress: bool
