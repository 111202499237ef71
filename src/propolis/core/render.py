"""Rendering helpers shared by every entity's one-and-only render function (spec §1.4:
the create response and every later read of an entity must be equal as JSON)."""

from __future__ import annotations

from typing import Any

from propolis.core.db import Entity

SEVERITY_LABELS = {1: "LOW", 2: "MEDIUM", 3: "HIGH", 4: "CRITICAL"}
TLP_LABELS = {0: "CLEAR", 1: "GREEN", 2: "AMBER", 3: "AMBER+STRICT", 4: "RED"}
PAP_LABELS = {0: "CLEAR", 1: "GREEN", 2: "AMBER", 3: "RED"}


def meta(entity: Entity, type_name: str | None) -> dict[str, Any]:
    """``_id``, ``_type``, ``_createdBy``, ``_createdAt`` and, once updated, ``_updated*``."""
    out: dict[str, Any] = {"_id": entity.eid}
    if type_name is not None:
        out["_type"] = type_name
    out["_createdBy"] = entity.created_by
    out["_createdAt"] = entity.created_at
    if entity.updated_at is not None:
        out["_updatedBy"] = entity.updated_by
        out["_updatedAt"] = entity.updated_at
    return out


def put(out: dict[str, Any], key: str, value: Any) -> None:
    """Optional fields with no value are omitted (spec §1.4)."""
    if value is not None:
        out[key] = value


def eid(value: int | None) -> str | None:
    return None if value is None else f"~{value}"


def labels(out: dict[str, Any], severity: int | None, tlp: int | None, pap: int | None) -> None:
    if severity is not None:
        out["severity"] = severity
        out["severityLabel"] = SEVERITY_LABELS.get(severity, str(severity))
    if tlp is not None:
        out["tlp"] = tlp
        out["tlpLabel"] = TLP_LABELS.get(tlp, str(tlp))
    if pap is not None:
        out["pap"] = pap
        out["papLabel"] = PAP_LABELS.get(pap, str(pap))
