"""Procedures (TTPs): a MITRE ATT&CK technique observed in a case or an alert (spec §14).

The technique is referenced by its ATT&CK id (``patternId``); the name shown to users comes
from the platform-wide :class:`Pattern` catalogue at render time, so an unknown id is
accepted and simply rendered without a name.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from propolis.access import owned_by_visible_parent, require_on_parent
from propolis.core import events, moves
from propolis.core.db import now_ms, parse_id
from propolis.core.errors import invalid, missing
from propolis.core.schemas import check
from propolis.core.security import Actor
from propolis.procedures.models import Procedure
from propolis.procedures.schemas import ProcedureCreate, ProcedureUpdate

PERMISSION = "manageProcedure"

# ATT&CK tactic short names (kill-chain phase names) and their display labels.
TACTIC_LABELS = {
    "reconnaissance": "Reconnaissance",
    "resource-development": "Resource Development",
    "initial-access": "Initial Access",
    "execution": "Execution",
    "persistence": "Persistence",
    "privilege-escalation": "Privilege Escalation",
    "defense-evasion": "Defense Evasion",
    "credential-access": "Credential Access",
    "discovery": "Discovery",
    "lateral-movement": "Lateral Movement",
    "collection": "Collection",
    "command-and-control": "Command and Control",
    "exfiltration": "Exfiltration",
    "impact": "Impact",
}


def tactic_label(tactic: str) -> str:
    """The label of a tactic; tactics unknown here (new ATT&CK matrices) get a title-cased one."""
    return TACTIC_LABELS.get(tactic) or " ".join(w.capitalize() for w in tactic.split("-"))


# --------------------------------------------------------------------------- input


def _tactic(value: str | None) -> str | None:
    """Tactics are stored trimmed; a blank one is none."""
    return (value.strip() or None) if value is not None else None


def _new_values(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise invalid("procedure", "must be an object", data)
    values = check(ProcedureCreate, data)
    return {
        "pattern_id": values.patternId.strip(),
        "occur_date": values.occurDate,
        "tactic": _tactic(values.tactic),
        "description": values.description,
    }


# --------------------------------------------------------------------------- reads


def visible_procedures(actor: Actor):  # noqa: ANN201
    """Procedures of the cases visible to the caller and of its organisation's alerts."""
    return select(Procedure).where(owned_by_visible_parent(Procedure, actor))


def get_procedure(session: Session, actor: Actor, ref: str) -> Procedure:
    procedure_id = parse_id(ref)
    found = None
    if procedure_id is not None:
        found = session.scalar(visible_procedures(actor).where(Procedure.id == procedure_id))
    if found is None:
        raise missing("Procedure", ref)
    return found


def get_procedures(session: Session, actor: Actor, refs: list[str]) -> list[Procedure]:
    """All the listed procedures (once each), or 404 naming the first one that is not
    visible."""
    ids = {ref: parse_id(ref) for ref in dict.fromkeys(refs)}
    wanted = [i for i in ids.values() if i is not None]
    found = {
        p.id: p for p in session.scalars(visible_procedures(actor).where(Procedure.id.in_(wanted)))
    }
    for ref, procedure_id in ids.items():
        if procedure_id not in found:
            raise missing("Procedure", ref)
    return list({i: found[i] for i in ids.values()}.values())


# --------------------------------------------------------------------------- writes


def create_procedure(
    session: Session, actor: Actor, *, case: Any = None, alert: Any = None, data: Any
) -> Procedure:
    require_on_parent(session, actor, PERMISSION, case=case)
    return _insert(session, actor, case, alert, _new_values(data))


def create_procedures(
    session: Session, actor: Actor, *, case: Any = None, alert: Any = None, items: Any
) -> list[Procedure]:
    """Bulk creation: every item is validated before anything is written."""
    require_on_parent(session, actor, PERMISSION, case=case)
    if not isinstance(items, list):
        raise invalid("procedures", "must be a list of procedures", items)
    values = [_new_values(item) for item in items]
    return [_insert(session, actor, case, alert, v) for v in values]


def _insert(
    session: Session, actor: Actor, case: Any, alert: Any, values: dict[str, Any]
) -> Procedure:
    procedure = Procedure(
        org_id=actor.org_id,
        case_id=case.id if case is not None else None,
        alert_id=alert.id if alert is not None else None,
        created_by=actor.login,
        created_at=now_ms(),
        **values,
    )
    session.add(procedure)
    session.flush()
    events.record(
        session,
        actor.login,
        actor.org_id,
        "create",
        "Procedure",
        procedure.id,
        {"patternId": procedure.pattern_id, "occurDate": procedure.occur_date},
        root_id=procedure.case_id or procedure.alert_id,
    )
    return procedure


def update_procedure(
    session: Session, actor: Actor, procedure: Procedure, data: dict[str, Any]
) -> None:
    require_on_parent(session, actor, PERMISSION, case_id=procedure.case_id)
    values = check(ProcedureUpdate, data).known()
    changes: dict[str, Any] = {}
    if "patternId" in values:
        procedure.pattern_id = changes["patternId"] = values["patternId"].strip()
    if "occurDate" in values:
        procedure.occur_date = changes["occurDate"] = values["occurDate"]
    if "tactic" in values:
        procedure.tactic = changes["tactic"] = _tactic(values["tactic"])
    if "description" in values:
        procedure.description = changes["description"] = values["description"]
    if not changes:
        return
    procedure.touch(actor.login)
    events.record(
        session,
        actor.login,
        actor.org_id,
        "update",
        "Procedure",
        procedure.id,
        changes,
        root_id=procedure.case_id or procedure.alert_id,
    )


def delete_procedures(session: Session, actor: Actor, procedures: list[Procedure]) -> None:
    for procedure in procedures:
        require_on_parent(session, actor, PERMISSION, case_id=procedure.case_id)
        events.record(
            session,
            actor.login,
            actor.org_id,
            "delete",
            "Procedure",
            procedure.id,
            {"patternId": procedure.pattern_id},
            root_id=procedure.case_id or procedure.alert_id,
        )
        session.delete(procedure)
    session.flush()


def copy_procedures(session: Session, actor: Actor, alert: Any, case: Any) -> list[Procedure]:
    """Copy an alert's procedures into a case (promotion, import, merge). A procedure the case
    already has (same technique, tactic and date) is not duplicated."""
    source = session.scalars(
        select(Procedure)
        .where(Procedure.alert_id == alert.id)
        .order_by(Procedure.created_at, Procedure.id)
    ).all()
    if not source:
        return []
    existing = {
        tuple(row)
        for row in session.execute(
            select(Procedure.pattern_id, Procedure.tactic, Procedure.occur_date).where(
                Procedure.case_id == case.id
            )
        )
    }
    copies = []
    for procedure in source:
        key = (procedure.pattern_id, procedure.tactic, procedure.occur_date)
        if key in existing:
            continue
        existing.add(key)
        values = {
            "pattern_id": procedure.pattern_id,
            "occur_date": procedure.occur_date,
            "tactic": procedure.tactic,
            "description": procedure.description,
        }
        copies.append(_insert(session, actor, case, None, values))
    return copies


def move_to_case(
    session: Session, actor: Actor, source_ids: list[int], target: Any
) -> list[Procedure]:
    """The procedures of merged cases now belong to the merged case ``target``."""
    return moves.move_to_case(session, actor, Procedure, "Procedure", source_ids, target)
