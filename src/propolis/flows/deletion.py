"""Deleting a case or alerts removes their rows everywhere: the database cascades what
hangs below them, and the rows that point the other way (an observable's file row) are
removed here. The stored bytes no row references any more are removed by
``propolis storage gc`` (:mod:`propolis.flows.storage_gc`)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from propolis.alerts import service as alerts
from propolis.alerts.models import Alert
from propolis.attachments import service as attachments
from propolis.cases import service as cases
from propolis.cases.models import Case
from propolis.core.security import Actor
from propolis.observables import service as observables


def delete_case(session: Session, actor: Actor, case: Case) -> None:
    files = observables.file_ids_in(session, case_ids=[case.id])
    cases.delete_case(session, actor, case)
    attachments.delete_unused_observable_files(session, files)


def delete_alerts(session: Session, actor: Actor, found: list[Alert]) -> None:
    files = observables.file_ids_in(session, alert_ids=[a.id for a in found])
    alerts.delete_alerts(session, actor, found)
    attachments.delete_unused_observable_files(session, files)
