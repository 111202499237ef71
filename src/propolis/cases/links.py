"""Case links (spec §5.15), linked "similar" cases (§5.10) and similar observables (§5.11)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, union
from sqlalchemy.orm import Session, aliased

from propolis import access
from propolis.alerts.service import get_alert
from propolis.cases import service
from propolis.cases.models import Case, CaseLink, ExternalLink
from propolis.core import validate
from propolis.core.errors import BadRequest, missing
from propolis.core.security import Actor
from propolis.observables.models import Observable
from propolis.observables.service import similar_in


def _link_type(data: dict[str, Any]) -> str:
    return validate.nonempty(data, "type", max_len=64).strip()


def add_case_link(session: Session, actor: Actor, case: Case, data: dict[str, Any]) -> None:
    """A typed, directional link from ``case`` to another visible case."""
    service.require_case_permission(session, actor, case, "manageCase/update")
    link_type = _link_type(data)
    other = service.get_case(session, actor, validate.nonempty(data, "caseId", max_len=64))
    if other.id == case.id:
        raise BadRequest("A case cannot be linked to itself")
    exists_row = session.scalar(
        select(CaseLink.id).where(
            CaseLink.case_id == case.id,
            CaseLink.linked_case_id == other.id,
            CaseLink.type == link_type,
        )
    )
    if exists_row is None:
        session.add(CaseLink(case_id=case.id, linked_case_id=other.id, type=link_type))
        service.record_case_update(session, actor, case, {"linkCase": other.id, "type": link_type})


def remove_case_link(session: Session, actor: Actor, case: Case, data: dict[str, Any]) -> None:
    service.require_case_permission(session, actor, case, "manageCase/update")
    link_type = _link_type(data)
    other = service.get_case(session, actor, validate.nonempty(data, "caseId", max_len=64))
    result = session.execute(
        delete(CaseLink).where(
            CaseLink.case_id == case.id,
            CaseLink.linked_case_id == other.id,
            CaseLink.type == link_type,
        )
    )
    if result.rowcount == 0:
        raise missing("Link to case", other.eid)
    service.record_case_update(session, actor, case, {"unlinkCase": other.id, "type": link_type})


def add_external_link(session: Session, actor: Actor, case: Case, data: dict[str, Any]) -> None:
    service.require_case_permission(session, actor, case, "manageCase/update")
    link_type = _link_type(data)
    url = validate.nonempty(data, "url", max_len=2048).strip()
    exists_row = session.scalar(
        select(ExternalLink.id).where(
            ExternalLink.case_id == case.id, ExternalLink.url == url, ExternalLink.type == link_type
        )
    )
    if exists_row is None:
        session.add(ExternalLink(case_id=case.id, url=url, type=link_type))
        service.record_case_update(session, actor, case, {"linkUrl": url, "type": link_type})


def remove_external_link(session: Session, actor: Actor, case: Case, data: dict[str, Any]) -> None:
    service.require_case_permission(session, actor, case, "manageCase/update")
    link_type = _link_type(data)
    url = validate.nonempty(data, "url", max_len=2048).strip()
    result = session.execute(
        delete(ExternalLink).where(
            ExternalLink.case_id == case.id, ExternalLink.url == url, ExternalLink.type == link_type
        )
    )
    if result.rowcount == 0:
        raise missing("Link to", url)
    service.record_case_update(session, actor, case, {"unlinkUrl": url, "type": link_type})


def link_types(session: Session, actor: Actor) -> list[str]:
    """Distinct link types used on the cases the organisation can see, sorted."""
    stmt = union(
        select(CaseLink.type).where(access.case_visible(actor, CaseLink.case_id)),
        select(ExternalLink.type).where(access.case_visible(actor, ExternalLink.case_id)),
    )
    return sorted(set(session.scalars(stmt)))


# --------------------------------------------------------------------------- similarity


def linked_cases(session: Session, actor: Actor, case: Case) -> list[tuple[Case, list[Observable]]]:
    """Other visible cases sharing an observable with ``case`` (same fingerprint, i.e. same
    type and data or same file), with their matching observables. One query, driven by the
    fingerprint index."""
    mine = aliased(Observable)
    theirs = aliased(Observable)
    fingerprints = select(mine.fingerprint).where(
        mine.case_id == case.id,
        mine.ignore_similarity.is_(False),
        access.visible_observable_filter(actor, mine),
    )
    rows = session.execute(
        select(theirs, Case)
        .join(Case, Case.id == theirs.case_id)
        .where(
            theirs.fingerprint.in_(fingerprints),
            theirs.case_id != case.id,
            theirs.ignore_similarity.is_(False),
            access.visible_observable_filter(actor, theirs),
            access.case_visible(actor, Case.id),
        )
        .order_by(Case.created_at, Case.id, theirs.created_at, theirs.id)
    ).all()
    grouped: dict[int, tuple[Case, list[Observable]]] = {}
    for observable, other in rows:
        grouped.setdefault(other.id, (other, []))[1].append(observable)
    return list(grouped.values())


def similar_observables(
    session: Session, actor: Actor, case: Case, other_ref: str
) -> list[Observable]:
    """Observables of ``case`` that also appear in another case or in an alert."""
    other = access.find_case(session, actor, other_ref)
    if other is not None:
        return similar_in(session, actor, "case", case.id, "case", other.id)
    alert = get_alert(session, actor, other_ref)
    return similar_in(session, actor, "case", case.id, "alert", alert.id)
