from __future__ import annotations

from sqlalchemy import Index, UniqueConstraint
from sqlalchemy.orm import Mapped

from propolis.core.columns import (
    fk,
    fk_set_null,
    json_list,
    json_obj,
    ms,
    serial_pk,
    string,
    text,
)
from propolis.core.db import Base, Entity


class AnalysisWorker(Entity):
    """An analyzer or responder definition enabled in one organisation, with its
    configuration (Cortex's "worker"). Secret configuration values are stored sealed."""

    __tablename__ = "analysis_worker"
    __table_args__ = (UniqueConstraint("org_id", "kind", "name", name="uq_worker_org_kind_name"),)

    org_id: Mapped[int] = fk("organisation.id", nullable=False, index=False)
    kind: Mapped[str] = string(16, nullable=False)  # "analyzer" | "responder"
    definition_id: Mapped[str] = string(255, nullable=False)
    name: Mapped[str] = string(255, nullable=False)
    version: Mapped[str] = string(64, nullable=False)
    description: Mapped[str] = text(nullable=False)
    data_types: Mapped[list[str]] = json_list()
    # The definition as it was when enabled: an "obsolete" worker (its file gone) still runs.
    definition: Mapped[dict] = json_obj()
    configuration: Mapped[dict] = json_obj()
    job_cache: Mapped[int | None] = ms()  # minutes; None = server default
    job_timeout: Mapped[int | None] = ms()  # minutes; None = server default
    rate: Mapped[int | None] = ms()
    rate_unit: Mapped[str | None] = string(16)


class AnalyzerJob(Entity):
    """An analyzer run on an observable (TheHive's ``case_artifact_job``)."""

    __tablename__ = "analyzer_job"
    __table_args__ = (
        Index("ix_analyzer_job_status", "status", "heartbeat_at"),
        Index("ix_analyzer_job_cache", "cache_tag", "created_at"),
        Index("ix_analyzer_job_worker_created", "worker_id", "created_at"),
    )

    org_id: Mapped[int] = fk("organisation.id", nullable=False)
    observable_id: Mapped[int | None] = fk("observable.id")
    worker_id: Mapped[int | None] = fk_set_null("analysis_worker.id")
    analyzer_id: Mapped[str] = string(255, nullable=False)
    analyzer_name: Mapped[str] = string(255, nullable=False)
    analyzer_definition: Mapped[str | None] = string(255)
    cortex_id: Mapped[str] = string(255, nullable=False)
    cortex_job_id: Mapped[str] = string(255, nullable=False, default="")
    status: Mapped[str] = string(16, nullable=False, default="Waiting")
    start_date: Mapped[int] = ms(nullable=False)
    end_date: Mapped[int | None] = ms()
    parameters: Mapped[dict] = json_obj()
    report: Mapped[dict | None] = json_obj()
    operations: Mapped[list] = json_list()
    error_message: Mapped[str | None] = text()
    # What the program is given, fixed when the job is created (the observable may change).
    data_type: Mapped[str | None] = string(64)
    data: Mapped[str | None] = text()
    tlp: Mapped[int] = ms(nullable=False, default=2)
    pap: Mapped[int] = ms(nullable=False, default=2)
    message: Mapped[str | None] = text()
    # A file job run through the Cortex API (no observable): Cortex's attachment object
    # ``{name, hashes, size, contentType, id}`` (id = sha256 in the file store); {} otherwise.
    attachment: Mapped[dict] = json_obj()
    # md5 of worker|config|dataType|tlp|data|parameters (Cortex's job cache, spec 5.2)
    cache_tag: Mapped[str | None] = string(32)
    # InProgress: set by the worker running the job, a stale heartbeat means the worker died.
    # Waiting: when the job was last queued again (None: only at its creation).
    heartbeat_at: Mapped[int | None] = ms()
    attempts: Mapped[int] = ms(nullable=False, default=0)


class DatastoreFile(Base):
    """A stored file an organisation may download from the Cortex datastore (§6.9): the file
    of a Cortex-API file job, or a file artifact of one of its reports."""

    __tablename__ = "datastore_file"
    __table_args__ = (UniqueConstraint("org_id", "sha256", name="uq_datastore_file_org_sha"),)

    id: Mapped[int] = serial_pk()
    org_id: Mapped[int] = fk("organisation.id", nullable=False, index=False)
    sha256: Mapped[str] = string(64, nullable=False)
    name: Mapped[str] = string(512, nullable=False)
    content_type: Mapped[str] = string(255, nullable=False)


class ResponderAction(Entity):
    __tablename__ = "responder_action"
    __table_args__ = (Index("ix_responder_action_status", "status", "heartbeat_at"),)

    org_id: Mapped[int] = fk("organisation.id", nullable=False)
    worker_id: Mapped[int | None] = fk_set_null("analysis_worker.id")
    responder_id: Mapped[str] = string(255, nullable=False)
    responder_name: Mapped[str] = string(255, nullable=False)
    responder_definition: Mapped[str | None] = string(255)
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
    tlp: Mapped[int] = ms(nullable=False, default=2)
    pap: Mapped[int] = ms(nullable=False, default=2)
    heartbeat_at: Mapped[int | None] = ms()
    attempts: Mapped[int] = ms(nullable=False, default=0)
    # A run through the Cortex API (cortex.md §6.7): the caller gives the object itself
    # ``{dataType, data, label, message}`` and applies the operations; {} for TheHive actions.
    request: Mapped[dict] = json_obj()
