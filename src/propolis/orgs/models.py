from __future__ import annotations

from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped

from propolis.core.columns import boolean, fk, serial_pk, string, text
from propolis.core.db import Base, Entity


class Organisation(Entity):
    __tablename__ = "organisation"

    name: Mapped[str] = string(64, nullable=False, unique=True)
    description: Mapped[str] = text(nullable=False)
    task_rule: Mapped[str] = string(32, nullable=False, default="manual")
    observable_rule: Mapped[str] = string(32, nullable=False, default="manual")
    locked: Mapped[bool] = boolean()
    avatar: Mapped[str | None] = text()


class OrganisationLink(Base):
    """One direction of a link: ``from_org`` sees ``to_org`` with ``link_type``."""

    __tablename__ = "organisation_link"
    __table_args__ = (UniqueConstraint("from_org_id", "to_org_id"),)

    id: Mapped[int] = serial_pk()
    from_org_id: Mapped[int] = fk("organisation.id", nullable=False)
    to_org_id: Mapped[int] = fk("organisation.id", nullable=False)
    link_type: Mapped[str] = string(32, nullable=False, default="default")
