"""An alert's observable count: kept by the alerts domain, below the observables service
that calls it (an observable added to or removed from an alert changes the count)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from propolis.alerts.models import Alert
from propolis.core.security import Actor


def observables_changed(session: Session, actor: Actor, alert: Alert, delta: int) -> None:
    """Observables were added to (delta > 0) or removed from (delta < 0) the alert: keeps
    ``observableCount`` and ``_updatedAt`` current."""
    if delta == 0:
        return
    # An SQL increment, so that two concurrent writers do not lose a count.
    alert.observable_count = Alert.observable_count + delta
    alert.touch(actor.login)
    session.flush()
