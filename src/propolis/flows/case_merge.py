"""Merging cases (spec §5.7): a new case takes the values of the sources; their tasks,
pages, procedures, comments, files, timeline events, links and alerts move to it through
their services (keeping their ids and history); observables are copied (duplicates merged);
custom fields and case metrics are copied; every share, task share and observable share is kept. The source
cases are then deleted."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from propolis import access
from propolis.alerts import service as alerts
from propolis.attachments import service as attachments
from propolis.cases import service as cases
from propolis.cases import shares
from propolis.cases.models import Case
from propolis.comments import service as comments
from propolis.core import events
from propolis.core.errors import BadRequest
from propolis.core.security import Actor
from propolis.fields import metrics
from propolis.fields import service as fields
from propolis.flows import case_create
from propolis.observables import service as observables
from propolis.pages import service as pages
from propolis.procedures import service as procedures
from propolis.tasks import service as tasks


def merge_cases(session: Session, actor: Actor, refs: list[str]) -> Case:
    sources = _sources(session, actor, refs)
    merged = case_create.create_case(session, actor, _merged_input(sources))
    source_ids = [c.id for c in sources]
    for move in (
        tasks.move_to_case,
        pages.move_to_case,
        procedures.move_to_case,
        comments.move_to_case,
        attachments.move_to_case,
        alerts.move_to_case,
        cases.absorb,
    ):
        move(session, actor, source_ids, merged)
    copies = _copy_observables(session, actor, source_ids, merged)
    # In reverse order so that the first case's values win.
    for case in reversed(sources):
        fields.copy_values(session, actor, "case", case.id, "case", merged.id)
        metrics.copy_case_metrics(session, case.id, merged.id)
    shares.replicate_for_merge(session, actor, sources, merged, copies)
    events.record(
        session,
        actor.login,
        actor.org_id,
        "merge",
        "Case",
        merged.id,
        {"from": [c.number for c in sources], "title": merged.title},
        root_id=merged.id,
    )
    files = observables.file_ids_in(session, case_ids=source_ids)
    cases.remove_cases(session, actor, sources, {"mergedInto": merged.id})
    attachments.delete_unused_observable_files(session, files)
    return merged


def _sources(session: Session, actor: Actor, refs: list[str]) -> list[Case]:
    found: list[Case] = []
    for ref in (r.strip() for r in refs):
        if not ref:
            continue
        case = access.get_case(session, actor, ref)
        if case not in found:
            found.append(case)
    if len(found) < 2:
        raise BadRequest("At least two different cases are needed to merge")
    for case in found:
        access.require_owner(session, actor, case, "merge it")
        access.require_case_permission(session, actor, case, "manageCase/merge")
    return found


def _merged_input(sources: list[Case]) -> dict[str, Any]:
    tags: list[str] = []
    for case in sources:
        tags.extend(t for t in case.tags or [] if t not in tags)
    summaries = [c.summary for c in sources if c.summary]
    data: dict[str, Any] = {
        "title": " / ".join(c.title for c in sources),
        "description": "\n\n".join(c.description for c in sources),
        "severity": max(c.severity for c in sources),
        "tlp": max(c.tlp for c in sources),
        "pap": max(c.pap for c in sources),
        "startDate": min(c.start_date for c in sources),
        "flag": any(c.flag for c in sources),
        "tags": tags,
        "status": "New",
    }
    if summaries:
        data["summary"] = "\n\n".join(summaries)
    if len(data["title"]) > 512:
        data["title"] = data["title"][:509] + "..."
    return data


def _copy_observables(
    session: Session, actor: Actor, source_ids: list[int], merged: Case
) -> dict[int, int]:
    """Source observable id -> the merged case's observable for it."""
    copies: dict[int, int] = {}
    for observable in observables.in_containers(session, case_ids=source_ids):
        copies[observable.id] = observables.copy_to_case(session, actor, observable, merged).id
    return copies
