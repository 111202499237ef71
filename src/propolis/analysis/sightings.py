"""What the built-in Sightings analyzer reports: where else an observable was seen in what
one organisation can see (the cases shared with it, its alerts), and how those cases ended.

It is computed by the engine, in the server, for the organisation of the job row (never a
name the caller sent), and handed to the analyzer program in its input: the program gets no
database access (its environment holds no database URL).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from propolis.alerts.models import Alert
from propolis.cases.models import Case, Share
from propolis.observables.models import Observable

LIMIT = 200
# The key of a built-in definition that asks for this context in its input document
CONTEXT = "sightings"


def sightings(
    session: Session, org_id: int, fingerprint: str, exclude_case: int | None
) -> dict[str, list[dict[str, Any]]]:
    visible_cases = select(Share.case_id).where(Share.org_id == org_id)
    case_rows = session.execute(
        select(Case, Observable)
        .join(Observable, Observable.case_id == Case.id)
        .where(Observable.fingerprint == fingerprint, Case.id.in_(visible_cases))
        .order_by(Case.created_at.desc())
        .limit(LIMIT)
    ).all()
    alert_rows = session.execute(
        select(Alert, Observable)
        .join(Observable, Observable.alert_id == Alert.id)
        .where(Observable.fingerprint == fingerprint, Alert.org_id == org_id)
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
