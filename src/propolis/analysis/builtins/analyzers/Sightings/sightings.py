"""Built-in "internal sightings" analyzer: where else, in this organisation, the observable
was seen (other cases and alerts), and how those cases were closed.

It reads Propolis' own database (the server's environment names it) and only what the job's
organisation can see: cases shared with it and its alerts.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select

from propolis.analysis.neuron import Job, run, taxonomy

LIMIT = 200


def fingerprint(job: Job) -> str:
    if job.data_type == "file" and job.file is not None:
        digest = hashlib.sha256()
        with job.file.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
        return digest.hexdigest()
    return hashlib.sha256(f"{job.data_type}\0{job.data}".encode()).hexdigest()


def sightings(session: Any, org_name: str, print_: str, exclude_case: int | None) -> dict:
    from propolis.alerts.models import Alert
    from propolis.cases.models import Case, Share
    from propolis.observables.models import Observable
    from propolis.orgs.models import Organisation

    org_id = session.scalar(select(Organisation.id).where(Organisation.name == org_name))
    if org_id is None:
        return {"cases": [], "alerts": []}
    visible_cases = select(Share.case_id).where(Share.org_id == org_id)
    case_rows = session.execute(
        select(Case, Observable)
        .join(Observable, Observable.case_id == Case.id)
        .where(Observable.fingerprint == print_, Case.id.in_(visible_cases))
        .order_by(Case.created_at.desc())
        .limit(LIMIT)
    ).all()
    alert_rows = session.execute(
        select(Alert, Observable)
        .join(Observable, Observable.alert_id == Alert.id)
        .where(Observable.fingerprint == print_, Alert.org_id == org_id)
        .order_by(Alert.created_at.desc())
        .limit(LIMIT)
    ).all()
    cases = [
        {
            "number": case.number,
            "title": case.title,
            "status": case.status,
            "stage": case.stage,
            "impactStatus": case.impact_status,
            "ioc": observable.ioc,
            "sighted": observable.sighted,
            "seenAt": observable.created_at,
        }
        for case, observable in case_rows
        if case.id != exclude_case
    ]
    alerts = [
        {
            "title": alert.title,
            "source": alert.source,
            "sourceRef": alert.source_ref,
            "status": alert.status,
            "seenAt": observable.created_at,
        }
        for alert, observable in alert_rows
    ]
    return {"cases": cases, "alerts": alerts}


def main(job: Job) -> None:
    from propolis.core.db import Database
    from propolis.settings import Settings

    org = (job.input.get("parameters") or {}).get("organisation")
    if not org:
        job.error("This analyzer runs inside Propolis only (no organisation given)")
    db = Database(Settings().effective_database_url)
    try:
        with db.session(write=False) as session:
            number = str(job.input.get("message") or "")
            current = _case_id(session, org, int(number)) if number.isdigit() else None
            found = sightings(session, org, fingerprint(job), current)
    finally:
        db.dispose()
    true_positive = sum(1 for c in found["cases"] if c["status"] == "TruePositive")
    level = "malicious" if true_positive else ("suspicious" if found["cases"] else "info")
    job.report(
        found,
        taxonomies=[
            taxonomy(level, "Sightings", "Cases", len(found["cases"])),
            taxonomy("info", "Sightings", "Alerts", len(found["alerts"])),
            *(
                [taxonomy("malicious", "Sightings", "TruePositive", true_positive)]
                if true_positive
                else []
            ),
        ],
    )


def _case_id(session: Any, org_name: str, number: int) -> int | None:
    from propolis.cases.models import Case
    from propolis.orgs.models import Organisation

    return session.scalar(
        select(Case.id)
        .join(Organisation, Organisation.id == Case.org_id)
        .where(Organisation.name == org_name, Case.number == number)
    )


if __name__ == "__main__":
    run(main)
