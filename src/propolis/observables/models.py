from __future__ import annotations

from sqlalchemy import Index, text
from sqlalchemy.orm import Mapped

from propolis.core.columns import boolean, fk, fk_set_null, json_list, json_obj, ms, string
from propolis.core.columns import text as text_column
from propolis.core.db import Entity


class ObservableType(Entity):
    __tablename__ = "observable_type"

    name: Mapped[str] = string(64, nullable=False, unique=True)
    is_attachment: Mapped[bool] = boolean()


def _partial(name: str, column: str, *more: str, unique: bool = False) -> Index:
    """An index of the rows whose ``column`` is set (both databases support the clause)."""
    condition = text(f"{column} IS NOT NULL")
    return Index(
        name, column, *more, unique=unique, sqlite_where=condition, postgresql_where=condition
    )


class Observable(Entity):
    """A piece of evidence in exactly one case or one alert."""

    __tablename__ = "observable"
    __table_args__ = (
        # Similarity/correlation ("where else was this seen") is one indexed lookup.
        Index("ix_observable_fingerprint", "fingerprint", "org_id"),
        # A container's observables. Partial: an observable is in a case or in an alert, and
        # each row is entered only in its own kind's index (the other's would hold a NULL
        # entry per row, written with every alert's observables and never read); a query
        # with ``case_id = ...`` (or ``IN``, or a join on it) implies the index's condition.
        _partial("ix_observable_case_created", "case_id", "created_at"),
        _partial("ix_observable_alert_created", "alert_id", "created_at"),
        _partial("ix_observable_attachment_id", "attachment_id"),  # file observables only
        # listObservable filtered by dataType, and the "type still in use" check on delete.
        Index("ix_observable_data_type", "data_type"),
        # No duplicate in one case or one alert, even with concurrent writers. Partial like
        # the others: a NULL container never collides, and as a full unique constraint each
        # alert observable put a (NULL, fingerprint) entry - at a random place, so a page
        # of its own in every commit - into the case-side index.
        _partial("uq_observable_case_fingerprint", "case_id", "fingerprint", unique=True),
        _partial("uq_observable_alert_fingerprint", "alert_id", "fingerprint", unique=True),
    )

    org_id: Mapped[int] = fk("organisation.id", nullable=False, index=False)
    case_id: Mapped[int | None] = fk("case_file.id", index=False)
    alert_id: Mapped[int | None] = fk("alert.id", index=False)
    data_type: Mapped[str] = string(64, nullable=False)
    data: Mapped[str | None] = text_column()
    # sha256 of "dataType\0data", or of the file content for attachment observables.
    fingerprint: Mapped[str] = string(64, nullable=False)
    attachment_id: Mapped[int | None] = fk_set_null("attachment.id", index=False)
    message: Mapped[str | None] = text_column()
    start_date: Mapped[int] = ms(nullable=False)
    tlp: Mapped[int] = ms(nullable=False, default=2)
    pap: Mapped[int] = ms(nullable=False, default=2)
    tags: Mapped[list[str]] = json_list()
    ioc: Mapped[bool] = boolean()
    sighted: Mapped[bool] = boolean()
    sighted_at: Mapped[int | None] = ms()
    ignore_similarity: Mapped[bool] = boolean()
    reports: Mapped[dict] = json_obj()
