from __future__ import annotations

from sqlalchemy import Boolean, Float, Index, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from propolis.core.columns import boolean, fk, json_list, ms, serial_pk, string, text
from propolis.core.db import Base, Entity


class CustomField(Entity):
    __tablename__ = "custom_field"

    name: Mapped[str] = string(64, nullable=False, unique=True)
    display_name: Mapped[str] = string(255, nullable=False)
    group: Mapped[str] = string(128, nullable=False, default="default")
    description: Mapped[str] = text(nullable=False)
    type: Mapped[str] = string(16, nullable=False)
    mandatory: Mapped[bool] = boolean()
    options: Mapped[list] = json_list()


class CustomFieldValue(Entity):
    """One value of a custom field on an alert, a case or a case template. Values are typed
    columns (not JSON) so that filters and sorts on ``customFields.<name>`` use indexes."""

    __tablename__ = "custom_field_value"
    __table_args__ = (
        Index("ix_cfv_field_string", "field_id", "value_string"),
        Index("ix_cfv_field_number", "field_id", "value_number"),
    )

    field_id: Mapped[int] = fk("custom_field.id", nullable=False, index=False)
    case_id: Mapped[int | None] = fk("case_file.id")
    alert_id: Mapped[int | None] = fk("alert.id")
    case_template_id: Mapped[int | None] = fk("case_template.id")
    order: Mapped[int] = ms(nullable=False, default=0)
    value_string: Mapped[str | None] = string(1024)
    # integers, floats and dates (ms) share one numeric column
    value_number: Mapped[float | None] = mapped_column(Float)
    value_boolean: Mapped[bool | None] = mapped_column(Boolean)
    value_text: Mapped[str | None] = text()


class CaseMetric(Entity):
    """A case metric (TheHive 4): a platform-wide, admin-defined number a case records
    (``metrics: {name: number}``), with defaults set by case templates."""

    __tablename__ = "case_metric"

    name: Mapped[str] = string(64, nullable=False, unique=True)
    title: Mapped[str] = string(255, nullable=False)
    description: Mapped[str] = text(nullable=False)


class CaseMetricValue(Base):
    """A metric's value on a case, or its default on a case template (one of the two)."""

    __tablename__ = "case_metric_value"
    __table_args__ = (
        UniqueConstraint("metric_id", "case_id", name="uq_case_metric_value_case"),
        UniqueConstraint("metric_id", "case_template_id", name="uq_case_metric_value_template"),
    )

    id: Mapped[int] = serial_pk()
    # the unique constraints above index metric_id first
    metric_id: Mapped[int] = fk("case_metric.id", nullable=False, index=False)
    case_id: Mapped[int | None] = fk("case_file.id")
    case_template_id: Mapped[int | None] = fk("case_template.id")
    value: Mapped[float | None] = mapped_column(Float)
