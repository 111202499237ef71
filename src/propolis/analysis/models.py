from __future__ import annotations

from sqlalchemy.orm import Mapped

from propolis.core.columns import fk, json_list, json_obj, ms, string, text
from propolis.core.db import Entity


class AnalyzerJob(Entity):
    """An analyzer run on an observable (TheHive's ``case_artifact_job``)."""

    __tablename__ = "analyzer_job"

    org_id: Mapped[int] = fk("organisation.id", nullable=False)
    observable_id: Mapped[int | None] = fk("observable.id")
    analyzer_id: Mapped[str] = string(255, nullable=False)
    analyzer_name: Mapped[str] = string(255, nullable=False)
    cortex_id: Mapped[str] = string(255, nullable=False)
    cortex_job_id: Mapped[str] = string(255, nullable=False, default="")
    status: Mapped[str] = string(16, nullable=False, default="Waiting")
    start_date: Mapped[int] = ms(nullable=False)
    end_date: Mapped[int | None] = ms()
    parameters: Mapped[dict] = json_obj()
    report: Mapped[dict | None] = json_obj()
    operations: Mapped[list] = json_list()
    error_message: Mapped[str | None] = text()


class ResponderAction(Entity):
    __tablename__ = "responder_action"

    org_id: Mapped[int] = fk("organisation.id", nullable=False)
    responder_id: Mapped[str] = string(255, nullable=False)
    responder_name: Mapped[str] = string(255, nullable=False)
    cortex_id: Mapped[str | None] = string(255)
    cortex_job_id: Mapped[str | None] = string(255)
    object_type: Mapped[str] = string(32, nullable=False)
    object_id: Mapped[int] = ms(nullable=False, index=True)
    status: Mapped[str] = string(16, nullable=False, default="Waiting")
    start_date: Mapped[int] = ms(nullable=False)
    end_date: Mapped[int | None] = ms()
    parameters: Mapped[dict] = json_obj()
    report: Mapped[dict] = json_obj()
    operations: Mapped[list] = json_list()
