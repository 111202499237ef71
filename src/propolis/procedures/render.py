"""The one rendering of procedures (``OutputProcedure``) and patterns (``OutputPattern``).

Lists are rendered in batch: the catalogue entries of all the listed procedures come from
one query."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from propolis.core.render import meta, put
from propolis.core.security import Actor
from propolis.procedures.models import Pattern, Procedure
from propolis.procedures.patterns import patterns_by_id
from propolis.procedures.service import tactic_label


def render_procedures(
    session: Session, actor: Actor, procedures: list[Procedure], extra: list[str] | None = None
) -> list[dict[str, Any]]:
    extra = extra or []
    wanted = {p.pattern_id for p in procedures}
    if "patternParent" in extra:
        wanted |= {p.pattern_id.split(".")[0] for p in procedures}
    catalogue = patterns_by_id(session, wanted)
    return [_render_procedure(p, catalogue, extra) for p in procedures]


def _render_procedure(
    procedure: Procedure, catalogue: dict[str, Pattern], extra: list[str]
) -> dict[str, Any]:
    # ``_type`` is not in TheHive 5's schema but harmless, and lets generic clients dispatch.
    out = meta(procedure, "Procedure")
    put(out, "description", procedure.description)
    out["occurDate"] = procedure.occur_date
    out["patternId"] = procedure.pattern_id
    pattern = catalogue.get(procedure.pattern_id)
    if pattern is not None:
        out["patternName"] = pattern.name
    if procedure.tactic:
        out["tactic"] = procedure.tactic
        out["tacticLabel"] = tactic_label(procedure.tactic)
    out["extraData"] = _procedure_extra(procedure, pattern, catalogue, extra)
    return out


def _procedure_extra(
    procedure: Procedure, pattern: Pattern | None, catalogue: dict[str, Pattern], extra: list[str]
) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if "pattern" in extra and pattern is not None:
        data["pattern"] = render_pattern(pattern)
    if "patternParent" in extra:
        parent_id = procedure.pattern_id.split(".")[0]
        parent = catalogue.get(parent_id) if parent_id != procedure.pattern_id else None
        if parent is not None:
            data["patternParent"] = render_pattern(parent)
    if "patternTactics" in extra:
        data["patternTactics"] = [
            {"name": t, "label": tactic_label(t)} for t in (pattern.tactics if pattern else [])
        ]
    if "tactic" in extra and procedure.tactic:
        data["tactic"] = {"name": procedure.tactic, "label": tactic_label(procedure.tactic)}
    return data


def render_pattern(pattern: Pattern) -> dict[str, Any]:
    out = meta(pattern, "Pattern")
    out["patternId"] = pattern.pattern_id
    out["name"] = pattern.name
    put(out, "description", pattern.description)
    out["tactics"] = list(pattern.tactics or [])
    out["url"] = pattern.url
    out["patternType"] = pattern.pattern_type
    put(out, "capecId", pattern.capec_id)
    put(out, "capecUrl", pattern.capec_url)
    out["revoked"] = pattern.revoked
    out["dataSources"] = list(pattern.data_sources or [])
    out["defenseBypassed"] = list(pattern.defense_bypassed or [])
    put(out, "detection", pattern.detection)
    out["permissionsRequired"] = list(pattern.permissions_required or [])
    out["platforms"] = list(pattern.platforms or [])
    out["remoteSupport"] = pattern.remote_support
    out["systemRequirements"] = list(pattern.system_requirements or [])
    put(out, "version", pattern.version)
    out["extraData"] = {}
    return out


def render_patterns(patterns: list[Pattern]) -> list[dict[str, Any]]:
    return [render_pattern(p) for p in patterns]
