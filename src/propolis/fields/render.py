"""The one rendering of a custom field definition (``OutputCustomField``)."""

from __future__ import annotations

from typing import Any

from propolis.core.render import meta
from propolis.fields.models import CaseMetric, CustomField


def render_fields(fields: list[CustomField]) -> list[dict[str, Any]]:
    return [render_field(field) for field in fields]


def render_field(field: CustomField) -> dict[str, Any]:
    out = meta(field, "CustomField")
    out.update(
        name=field.name,
        displayName=field.display_name,
        group=field.group,
        description=field.description,
        type=field.type,
        options=list(field.options or []),
        mandatory=field.mandatory,
        extraData={},
    )
    return out


def render_metrics(metrics: list[CaseMetric]) -> list[dict[str, Any]]:
    return [render_metric(metric) for metric in metrics]


def render_metric(metric: CaseMetric) -> dict[str, Any]:
    """``OutputCaseMetric``: TheHive 4's case metric (name, title, description)."""
    out = meta(metric, "CaseMetric")
    out.update(name=metric.name, title=metric.title, description=metric.description)
    return out
