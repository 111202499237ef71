from __future__ import annotations

from sqlalchemy.orm import Mapped

from propolis.core.columns import fk, ms, string
from propolis.core.db import Entity


class Attachment(Entity):
    """A stored file. The bytes live once per sha256 in the content-addressed store; this row
    is one use of them (a name and a container). Exactly one container column is set, except
    for observable files, which the observable row points to."""

    __tablename__ = "attachment"

    org_id: Mapped[int] = fk("organisation.id", nullable=False)
    name: Mapped[str] = string(512, nullable=False)
    content_type: Mapped[str] = string(255, nullable=False)
    size: Mapped[int] = ms(nullable=False)
    sha256: Mapped[str] = string(64, nullable=False, index=True)
    sha1: Mapped[str] = string(40, nullable=False)
    md5: Mapped[str] = string(32, nullable=False)
    case_id: Mapped[int | None] = fk("case_file.id")
    alert_id: Mapped[int | None] = fk("alert.id")
    log_id: Mapped[int | None] = fk("task_log.id")
    # Organisation-level attachments have no container at all (only org_id).
    for_observable: Mapped[bool] = ms(nullable=False, default=0)
