"""The platform-wide MITRE ATT&CK catalogue (spec §14.4): lookup, and the import of a MITRE
ATT&CK STIX 2 bundle (``enterprise-attack.json`` as published by MITRE)."""

from __future__ import annotations

import json
from typing import Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from propolis.core import events
from propolis.core.db import find_by_ref, now_ms
from propolis.core.errors import AuthorizationError, BadRequest, missing
from propolis.core.security import Actor
from propolis.procedures.models import Pattern, Procedure

# External-reference sources that carry an ATT&CK technique id (one per ATT&CK matrix).
ATTACK_SOURCES = {"mitre-attack", "mitre-mobile-attack", "mitre-ics-attack"}


def find_pattern(session: Session, ref: str) -> Pattern | None:
    """By ``~id`` or by ATT&CK id (``T1059.006``)."""
    return find_by_ref(session, Pattern, Pattern.pattern_id, ref)


def get_pattern(session: Session, ref: str) -> Pattern:
    pattern = find_pattern(session, ref)
    if pattern is None:
        raise missing("Pattern", ref)
    return pattern


def patterns_by_id(session: Session, pattern_ids: set[str]) -> dict[str, Pattern]:
    """Catalogue entries for several ATT&CK ids in one query (for batched rendering)."""
    if not pattern_ids:
        return {}
    rows = session.scalars(select(Pattern).where(Pattern.pattern_id.in_(pattern_ids)))
    return {p.pattern_id: p for p in rows}


def patterns_of_case(session: Session, case_id: int) -> list[Pattern]:
    """The techniques referenced by a case's procedures, known to the catalogue."""
    used = select(Procedure.pattern_id).where(Procedure.case_id == case_id)
    return list(
        session.scalars(
            select(Pattern).where(Pattern.pattern_id.in_(used)).order_by(Pattern.pattern_id)
        )
    )


# --------------------------------------------------------------------------- STIX import


def import_attack(session: Session, actor: Actor, stream: BinaryIO) -> list[Pattern]:
    """Create or update the catalogue from a STIX 2 bundle; returns the patterns written."""
    if not actor.in_admin_org:
        raise AuthorizationError("Only the admin organisation can import the ATT&CK catalogue")
    actor.require("managePattern")
    parsed = _parse_bundle(stream)
    existing = {p.pattern_id: p for p in session.scalars(select(Pattern))}
    now = now_ms()
    written, created = [], 0
    for values in parsed.values():
        pattern = existing.get(values["pattern_id"])
        if pattern is None:
            pattern = Pattern(created_by=actor.login, created_at=now)
            session.add(pattern)
            created += 1
        else:
            pattern.touch(actor.login, now)
        for key, value in values.items():
            setattr(pattern, key, value)
        written.append(pattern)
    session.flush()
    events.record(
        session,
        actor.login,
        actor.org_id,
        "import",
        "Pattern",
        None,
        {"created": created, "updated": len(written) - created},
    )
    return written


def _parse_bundle(stream: BinaryIO) -> dict[str, dict[str, Any]]:
    try:
        bundle = json.load(stream)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"The ATT&CK file is not valid JSON: {exc}") from exc
    objects = bundle.get("objects") if isinstance(bundle, dict) else None
    if not isinstance(objects, list):
        raise BadRequest("The ATT&CK file is not a STIX bundle (no objects list)")
    parsed: dict[str, dict[str, Any]] = {}
    for obj in objects:
        values = _attack_pattern(obj)
        if values is None:
            continue
        # A technique id can appear twice (a revoked object and its replacement): keep the
        # live one.
        previous = parsed.get(values["pattern_id"])
        if previous is None or previous["revoked"] or not values["revoked"]:
            parsed[values["pattern_id"]] = values
    if not parsed:
        raise BadRequest("The STIX bundle contains no ATT&CK attack-pattern")
    return parsed


def _attack_pattern(obj: Any) -> dict[str, Any] | None:
    """Column values of one STIX ``attack-pattern`` object; None for anything else."""
    if not isinstance(obj, dict) or obj.get("type") != "attack-pattern":
        return None
    refs = [r for r in obj.get("external_references") or [] if isinstance(r, dict)]
    attack = next(
        (r for r in refs if r.get("source_name") in ATTACK_SOURCES and r.get("external_id")), None
    )
    name = obj.get("name")
    if attack is None or not isinstance(name, str) or not name.strip():
        return None
    pattern_id = str(attack["external_id"]).strip()
    if not pattern_id or len(pattern_id) > 32:
        return None
    capec = next((r for r in refs if r.get("source_name") == "capec"), {})
    is_sub = bool(obj.get("x_mitre_is_subtechnique")) or "." in pattern_id
    return {
        "pattern_id": pattern_id,
        "name": name.strip()[:255],
        "description": _text(obj.get("description")),
        "tactics": [
            str(phase["phase_name"])
            for phase in obj.get("kill_chain_phases") or []
            if isinstance(phase, dict)
            and str(phase.get("kill_chain_name", "")).startswith("mitre")
            and phase.get("phase_name")
        ],
        "url": str(attack.get("url") or "")[:512],
        "pattern_type": "attack-pattern",
        "platforms": _strings(obj.get("x_mitre_platforms")),
        "revoked": bool(obj.get("revoked")) or bool(obj.get("x_mitre_deprecated")),
        "parent": pattern_id.split(".")[0] if is_sub else None,
        "data_sources": _strings(obj.get("x_mitre_data_sources")),
        "defense_bypassed": _strings(obj.get("x_mitre_defense_bypassed")),
        "detection": _text(obj.get("x_mitre_detection")),
        "permissions_required": _strings(obj.get("x_mitre_permissions_required")),
        "remote_support": bool(obj.get("x_mitre_remote_support")),
        "system_requirements": _strings(obj.get("x_mitre_system_requirements")),
        "version": _text(obj.get("x_mitre_version"), 16),
        "capec_id": _text(capec.get("external_id"), 32),
        "capec_url": _text(capec.get("url"), 512),
    }


def _strings(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def _text(value: Any, max_len: int | None = None) -> str | None:
    if value is None or value == "":
        return None
    text = str(value)
    return text[:max_len] if max_len else text
