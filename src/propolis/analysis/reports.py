"""What an analyzer's report leaves on its observable: the last summary per analyzer, the
taxonomies shown as tags (through the observables service), and the artifacts tagged
``autoImport:true`` added to the same case."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from propolis import access
from propolis.analysis.models import AnalyzerJob
from propolis.cases.models import Case
from propolis.core.db import now_ms
from propolis.core.errors import PropolisError
from propolis.core.security import Actor
from propolis.observables import service as observables

log = logging.getLogger(__name__)
IMPORT_PERMISSION = "manageObservable"


def taxonomy_tag(taxonomy: dict[str, Any]) -> str:
    return f'{taxonomy.get("namespace")}:{taxonomy.get("predicate")}="{taxonomy.get("value")}"'


def taxonomies_of(report: dict[str, Any] | None) -> list[dict[str, Any]]:
    summary = (report or {}).get("summary")
    found = summary.get("taxonomies") if isinstance(summary, dict) else None
    if not isinstance(found, list):
        return []
    levels = ("info", "safe", "suspicious", "malicious")
    return [
        {
            "level": t.get("level") if t.get("level") in levels else "info",
            "namespace": str(t.get("namespace", "")),
            "predicate": str(t.get("predicate", "")),
            "value": t.get("value"),
        }
        for t in found
        if isinstance(t, dict)
    ]


def apply_analyzer_report(
    session: Session, actor: Actor, job: AnalyzerJob, observable: Any
) -> None:
    """The observable keeps the last analysis per analyzer (``reports``); the taxonomies are
    also shown as its tags, replacing the tags of that analyzer's previous run.

    What the job's user may not do (any more) is not done, and said in the job's report
    under ``notApplied``: the job itself ran, its report stays the user's to read."""
    taxonomies = taxonomies_of(job.report)
    previous = (observable.reports or {}).get(job.analyzer_name) or {}
    try:
        with session.begin_nested():
            observables.record_analysis(
                session,
                actor,
                observable,
                job.analyzer_name,
                {"taxonomies": taxonomies, "jobId": job.eid, "date": job.end_date or now_ms()},
                drop_tags={taxonomy_tag(t) for t in previous.get("taxonomies") or []},
                add_tags=[taxonomy_tag(t) for t in taxonomies],
            )
    except PropolisError as exc:
        _not_applied(job, f"report not recorded on the observable: {exc.message}")
        return
    _auto_import(session, actor, job, observable)


def _not_applied(job: AnalyzerJob, message: str) -> None:
    log.info("job %s: %s", job.id, message)
    report = dict(job.report or {})
    report["notApplied"] = [*(report.get("notApplied") or []), message]
    job.report = report


def _auto_import(session: Session, actor: Actor, job: AnalyzerJob, observable: Any) -> None:
    """Artifacts tagged ``autoImport:true`` become observables of the same case (§3.3), as
    the job's user would add them (``manageObservable`` through the case's share)."""
    if observable.case_id is None:
        return
    wanted = [
        a
        for a in (job.report or {}).get("artifacts") or []
        if "autoImport:true" in (a.get("tags") or []) and a.get("data") is not None
    ]
    if not wanted:
        return
    case = session.get(Case, observable.case_id)
    for artifact in wanted:
        data = {
            "dataType": artifact["dataType"],
            "data": artifact["data"],
            "tags": [t for t in artifact.get("tags") or [] if t != "autoImport:true"],
            "tlp": artifact.get("tlp", 2),
            "message": artifact.get("message") or f"Extracted by {job.analyzer_name}",
        }
        try:
            with session.begin_nested():
                access.require_may_act(session, actor, case, IMPORT_PERMISSION)
                observables.create_observables(session, actor, case=case, data=data)
        except PropolisError as exc:  # an unknown observable type, a right lacking...
            _not_applied(job, f"artifact {artifact.get('data')} not imported: {exc.message}")
