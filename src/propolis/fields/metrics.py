"""Case metrics (TheHive 4): platform-wide number definitions managed like custom fields (the
admin organisation, ``manageCustomField``), their values on cases (``metrics: {name:
number}``) and their defaults on case templates, copied into the cases made from them.

Definitions are written only here, each change with its one audit event. Values are written
by the owner's service (case or case template) through :func:`apply_update`,
:func:`set_metrics` and :func:`copy_metrics`, inside the owner's own mutation: those record
no event of their own, the owner's update event lists the change.
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from propolis.core import events
from propolis.core.db import find_by_ref, now_ms
from propolis.core.errors import AuthorizationError, BadRequest, CreateError, invalid, missing
from propolis.core.schemas import check
from propolis.core.security import Actor
from propolis.fields.models import CaseMetric, CaseMetricValue
from propolis.fields.schemas import CaseMetricCreate, CaseMetricUpdate

OWNERS = ("case", "case_template")
PREFIX = "metrics."
# Values are doubles: larger integers would silently lose precision.
MAX_EXACT_INT = 2**53


# --------------------------------------------------------------------------- definitions


def find_metric(session: Session, ref: str) -> CaseMetric | None:
    """By ``~id`` or by name."""
    return find_by_ref(session, CaseMetric, CaseMetric.name, ref)


def get_metric(session: Session, ref: str) -> CaseMetric:
    metric = find_metric(session, ref)
    if metric is None:
        raise missing("CaseMetric", ref)
    return metric


def list_metrics(session: Session) -> list[CaseMetric]:
    return list(session.scalars(select(CaseMetric).order_by(CaseMetric.name, CaseMetric.id)))


def create_metric(session: Session, actor: Actor, data: dict[str, Any]) -> CaseMetric:
    _require_admin(actor)
    sent = check(CaseMetricCreate, data).known()
    name = sent["name"]
    if session.scalar(select(CaseMetric.id).where(CaseMetric.name == name)) is not None:
        raise CreateError(f"CaseMetric {name} already exists")
    metric = CaseMetric(
        name=name,
        title=sent.get("title") or name,
        description=sent.get("description") or "",
        created_by=actor.login,
        created_at=now_ms(),
    )
    session.add(metric)
    session.flush()
    events.record(
        session, actor.login, actor.org_id, "create", "CaseMetric", metric.id, {"name": name}
    )
    return metric


def update_metric(session: Session, actor: Actor, metric: CaseMetric, data: dict[str, Any]) -> None:
    """The title and description change; the name, which cases refer to, does not."""
    _require_admin(actor)
    if "name" in data and data["name"] != metric.name:
        raise invalid("name", "cannot change (cases and templates refer to it)", data["name"])
    sent = check(CaseMetricUpdate, data).known()
    changes: dict[str, Any] = {}
    if "title" in sent and (sent["title"] or metric.name) != metric.title:
        metric.title = changes["title"] = sent["title"] or metric.name
    if "description" in sent and (sent["description"] or "") != metric.description:
        metric.description = changes["description"] = sent["description"] or ""
    if changes:
        metric.touch(actor.login)
        events.record(
            session, actor.login, actor.org_id, "update", "CaseMetric", metric.id, changes
        )


def delete_metric(session: Session, actor: Actor, metric: CaseMetric, force: bool) -> None:
    """Without ``force`` a metric still set on cases or templates is kept (400); with it,
    its values go too (the database cascades them)."""
    _require_admin(actor)
    used = value_count(session, metric)
    if used and not force:
        raise BadRequest(
            f"Case metric {metric.name} is used by {used} case(s) or template(s); "
            "use force to delete it"
        )
    session.execute(delete(CaseMetricValue).where(CaseMetricValue.metric_id == metric.id))
    session.delete(metric)
    events.record(
        session,
        actor.login,
        actor.org_id,
        "delete",
        "CaseMetric",
        metric.id,
        {"name": metric.name, "deletedValues": used},
    )


def value_count(session: Session, metric: CaseMetric) -> int:
    return int(
        session.scalar(select(func.count()).where(CaseMetricValue.metric_id == metric.id)) or 0
    )


def usage(session: Session) -> dict[int, int]:
    """How many cases and templates use each metric (one query, for the admin list)."""
    rows = session.execute(
        select(CaseMetricValue.metric_id, func.count()).group_by(CaseMetricValue.metric_id)
    )
    return {metric_id: int(count) for metric_id, count in rows}


def _require_admin(actor: Actor) -> None:
    if not actor.in_admin_org:
        raise AuthorizationError("Case metrics are managed in the admin organisation")
    actor.require("manageCustomField")


# --------------------------------------------------------------------------- values


def number(value: Any, label: str) -> float | int | None:
    """A metric value as sent: a finite number (or null, "no value yet"), else a 400."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise invalid(label, "must be a number", value)
    if not math.isfinite(value) or abs(value) > MAX_EXACT_INT:
        raise invalid(label, "must be a finite number of at most 2^53", value)
    return value


def parse_metrics(session: Session, value: Any) -> dict[CaseMetric, float | int | None]:
    """``{name: number | null}`` checked against the definitions (no writes)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise invalid("metrics", "must be an object of metric names and numbers", value)
    names = [name for name in value if isinstance(name, str)]
    known = {
        m.name: m for m in session.scalars(select(CaseMetric).where(CaseMetric.name.in_(names)))
    }
    parsed: dict[CaseMetric, float | int | None] = {}
    for name, raw in value.items():
        metric = known.get(name)
        if metric is None:
            raise missing("CaseMetric", str(name))
        parsed[metric] = number(raw, f"metrics.{name}")
    return parsed


def owner_column(owner: str):  # noqa: ANN201
    if owner not in OWNERS:
        raise ValueError(f"unknown case metric owner {owner!r}")
    return getattr(CaseMetricValue, f"{owner}_id")


def set_metrics(
    session: Session,
    *,
    value: Any,
    replace: bool,
    case_id: int | None = None,
    case_template_id: int | None = None,
) -> dict[str, Any]:
    """Set an owner's metric values: ``replace`` makes them exactly ``value``, otherwise only
    the metrics named change. Checks everything before writing; returns what was set."""
    owner_key, owner_id = _owner(case_id, case_template_id)
    parsed = parse_metrics(session, value)
    column = owner_column(owner_key)
    stmt = delete(CaseMetricValue).where(column == owner_id)
    if not replace:
        if not parsed:
            return {}
        stmt = stmt.where(CaseMetricValue.metric_id.in_([m.id for m in parsed]))
    session.execute(stmt)
    for metric, number_value in parsed.items():
        session.add(
            CaseMetricValue(metric_id=metric.id, value=number_value, **{column.key: owner_id})
        )
    return {metric.name: number_value for metric, number_value in parsed.items()}


def apply_update(session: Session, data: dict[str, Any], **owner: int) -> dict[str, Any]:
    """The metric part of a PATCH body: ``metrics`` replaces every value and
    ``"metrics.<name>": number`` sets one. Returns the changes, for the owner's event."""
    changes: dict[str, Any] = {}
    if "metrics" in data:
        changes["metrics"] = set_metrics(session, value=data["metrics"], replace=True, **owner)
    dotted = {k[len(PREFIX) :]: v for k, v in data.items() if k.startswith(PREFIX)}
    if dotted:
        written = set_metrics(session, value=dotted, replace=False, **owner)
        changes.update({PREFIX + name: v for name, v in written.items()})
    return changes


def copy_metrics(session: Session, template_id: int, case_id: int) -> None:
    """A template's metric defaults into a new case; metrics the case already has (given
    with the case's input) keep their value."""
    _copy_into_case(session, CaseMetricValue.case_template_id == template_id, case_id)


def copy_case_metrics(session: Session, source_case_id: int, case_id: int) -> None:
    """A merged case's metrics into the merge's result, where it has none of its own."""
    _copy_into_case(session, CaseMetricValue.case_id == source_case_id, case_id)


def _copy_into_case(session: Session, source: Any, case_id: int) -> None:
    present = select(CaseMetricValue.metric_id).where(CaseMetricValue.case_id == case_id)
    rows = session.execute(
        select(CaseMetricValue.metric_id, CaseMetricValue.value).where(
            source, CaseMetricValue.metric_id.not_in(present)
        )
    ).all()
    for metric_id, value in rows:
        session.add(CaseMetricValue(metric_id=metric_id, value=value, case_id=case_id))


def metrics_for(session: Session, owner: str, ids: list[int]) -> dict[int, dict[str, Any]]:
    """``{owner id: {metric name: number | None}}`` of many owners in one query."""
    out: dict[int, dict[str, Any]] = {i: {} for i in ids}
    if not ids:
        return out
    column = owner_column(owner)
    rows = session.execute(
        select(column, CaseMetric.name, CaseMetricValue.value)
        .join(CaseMetric, CaseMetric.id == CaseMetricValue.metric_id)
        .where(column.in_(ids))
        .order_by(CaseMetric.name)
    )
    for owner_id, name, value in rows:
        out[owner_id][name] = rendered_number(value)
    return out


def rendered_number(value: float | None) -> float | int | None:
    """Whole numbers as integers (``3``, not ``3.0``), as a client sent them."""
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value


def _owner(case_id: int | None, case_template_id: int | None) -> tuple[str, int]:
    if (case_id is None) == (case_template_id is None):
        raise ValueError("exactly one of case_id, case_template_id is required")
    return ("case", case_id) if case_id is not None else ("case_template", case_template_id)  # type: ignore[return-value]
