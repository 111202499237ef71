"""Custom fields: the platform-wide definitions (admin organisation) and their typed values on
alerts, cases and case templates (spec §13).

Definitions are written only here. Values are written by the owner's service (case, alert or
case template) through :func:`set_custom_fields` and :func:`copy_values`, inside the owner's
own mutation: those helpers validate and write but record no event of their own, because the
owner's create/update event already describes the change (one event per mutation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from propolis.core import events, validate
from propolis.core.db import find_by_ref, now_ms
from propolis.core.errors import (
    AuthorizationError,
    BadRequest,
    CreateError,
    invalid,
    missing,
)
from propolis.core.schemas import check
from propolis.core.security import Actor
from propolis.fields.models import CustomField, CustomFieldValue
from propolis.fields.schemas import CustomFieldCreate, CustomFieldUpdate

FIELD_TYPES = ("string", "integer", "float", "boolean", "date", "url")
OWNERS = ("case", "alert", "case_template")
# value_string is indexed (and so bounded); longer strings go to the unbounded value_text.
INDEXED_STRING_MAX = 1024
# values_number is a double: larger integers would silently lose precision.
MAX_EXACT_INT = 2**53


# --------------------------------------------------------------------------- definitions


def find_field(session: Session, ref: str) -> CustomField | None:
    """By ``~id`` or by reference name."""
    return find_by_ref(session, CustomField, CustomField.name, ref)


def get_field(session: Session, ref: str) -> CustomField:
    field = find_field(session, ref)
    if field is None:
        raise missing("CustomField", ref)
    return field


def list_fields(session: Session) -> list[CustomField]:
    return list(
        session.scalars(select(CustomField).order_by(CustomField.created_at, CustomField.id))
    )


def create_field(session: Session, actor: Actor, data: dict[str, Any]) -> CustomField:
    _require_admin(actor)
    sent = check(CustomFieldCreate, data).known()
    name, field_type = sent["name"], sent["type"]
    if session.scalar(select(CustomField.id).where(CustomField.name == name)) is not None:
        raise CreateError(f"CustomField {name} already exists")
    field = CustomField(
        name=name,
        display_name=sent.get("displayName") or name,
        group=sent.get("group") or "default",
        description=sent["description"],
        type=field_type,
        mandatory=bool(sent.get("mandatory")),
        options=_options(sent, field_type),
        created_by=actor.login,
        created_at=now_ms(),
    )
    session.add(field)
    session.flush()
    events.record(
        session, actor.login, actor.org_id, "create", "CustomField", field.id, {"name": name}
    )
    return field


def update_field(session: Session, actor: Actor, field: CustomField, data: dict[str, Any]) -> None:
    _require_admin(actor)
    sent = check(CustomFieldUpdate, data).known()
    changes: dict[str, Any] = {}
    if "type" in sent:
        new_type = sent["type"]
        if new_type is not None and new_type != field.type:
            if is_in_use(session, field):
                raise BadRequest(
                    f"The type of custom field {field.name} cannot change while values use it"
                )
            field.type = changes["type"] = new_type
    if "displayName" in sent:
        field.display_name = changes["displayName"] = sent["displayName"] or field.name
    if "group" in sent:
        field.group = changes["group"] = sent["group"] or "default"
    if "description" in sent:
        field.description = changes["description"] = sent["description"]
    if "mandatory" in sent:
        field.mandatory = changes["mandatory"] = bool(sent["mandatory"])
    if "options" in sent or "type" in changes:
        # options are re-checked against the (possibly new) type
        field.options = changes["options"] = _options(
            {"options": sent.get("options", field.options)}, field.type
        )
    if changes:
        field.touch(actor.login)
        events.record(
            session, actor.login, actor.org_id, "update", "CustomField", field.id, changes
        )


def delete_field(session: Session, actor: Actor, field: CustomField, force: bool) -> None:
    """Without ``force`` a field still holding values is kept (400); with it, values go too."""
    _require_admin(actor)
    used = value_count(session, field)
    if used and not force:
        raise BadRequest(
            f"Custom field {field.name} is used by {used} value(s); use force to delete it"
        )
    session.execute(delete(CustomFieldValue).where(CustomFieldValue.field_id == field.id))
    session.delete(field)
    events.record(
        session,
        actor.login,
        actor.org_id,
        "delete",
        "CustomField",
        field.id,
        {"name": field.name, "deletedValues": used},
    )


def value_count(session: Session, field: CustomField) -> int:
    return int(
        session.scalar(select(func.count()).where(CustomFieldValue.field_id == field.id)) or 0
    )


def fields_in_use(session: Session) -> set[int]:
    """The ids of the fields some alert, case or template has a value of: one probe of the
    value table's ``field_id`` indexes per field (a few dozen), not a count of the values."""
    used = select(CustomFieldValue.id).where(CustomFieldValue.field_id == CustomField.id).exists()
    return set(session.scalars(select(CustomField.id).where(used)))


def is_in_use(session: Session, field: CustomField) -> bool:
    return (
        session.scalar(
            select(CustomFieldValue.id).where(CustomFieldValue.field_id == field.id).limit(1)
        )
        is not None
    )


def _require_admin(actor: Actor) -> None:
    if not actor.in_admin_org:
        raise AuthorizationError("Custom fields are managed in the admin organisation")
    actor.require("manageCustomField")


def _options(data: dict[str, Any], field_type: str) -> list[Any]:
    options = data.get("options")
    if options is None:
        return []
    if not isinstance(options, list):
        raise invalid("options", "must be a list", options)
    typed = [_typed(field_type, option, "options") for option in options]
    if any(option is None for option in typed):
        raise invalid("options", "must not contain null", options)
    return typed


# --------------------------------------------------------------------------- value typing


def _typed(field_type: str, value: Any, label: str) -> Any:
    """The value converted to the field's type, or a 400 naming ``label``."""
    if value is None:
        return None
    if field_type in ("string", "url"):
        if not isinstance(value, str):
            raise invalid(label, f"must be a string ({field_type})", value)
        return value
    if field_type == "boolean":
        if not isinstance(value, bool):
            raise invalid(label, "must be a boolean", value)
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise invalid(label, f"must be a number ({field_type})", value)
    if not math.isfinite(value):
        raise invalid(label, "must be a finite number", value)
    if field_type == "float":
        return float(value) if isinstance(value, float) else value
    if isinstance(value, float):
        if not value.is_integer():
            raise invalid(label, f"must be an integer ({field_type})", value)
        value = int(value)
    if abs(value) > MAX_EXACT_INT:
        raise invalid(label, "is too large", value)
    return value


def _store(row: CustomFieldValue, field_type: str, value: Any) -> None:
    row.value_string = row.value_text = None
    row.value_number = None
    row.value_boolean = None
    if value is None:
        return
    if field_type in ("string", "url"):
        if len(value) <= INDEXED_STRING_MAX:
            row.value_string = value
        else:
            row.value_text = value
    elif field_type == "boolean":
        row.value_boolean = value
    else:
        row.value_number = value


def _load(row: CustomFieldValue, field_type: str) -> Any:
    if field_type in ("string", "url"):
        return row.value_string if row.value_string is not None else row.value_text
    if field_type == "boolean":
        return row.value_boolean
    if row.value_number is None:
        return None
    if field_type == "float":
        return row.value_number
    return int(row.value_number)


# --------------------------------------------------------------------------- values


@dataclass
class _Item:
    field: CustomField
    value: Any
    order: int


def owner_column(owner: str):  # noqa: ANN201
    """The column of ``custom_field_value`` naming an owner kind."""
    if owner not in OWNERS:
        raise ValueError(f"unknown custom field owner {owner!r}")
    return getattr(CustomFieldValue, f"{owner}_id")


def _owner_of(case_id: int | None, alert_id: int | None, case_template_id: int | None):  # noqa: ANN202
    given = [
        (name, value)
        for name, value in (
            ("case", case_id),
            ("alert", alert_id),
            ("case_template", case_template_id),
        )
        if value is not None
    ]
    if len(given) != 1:
        raise ValueError("exactly one of case_id, alert_id, case_template_id is required")
    return given[0]


def apply_update(
    session: Session, actor: Actor, data: dict[str, Any], **owner: int
) -> dict[str, Any]:
    """The custom-field part of a PATCH body: ``customFields`` replaces every value, and
    ``"customFields.<name>": value`` sets one. Returns the changes, for the owner's event."""
    dotted = {
        k[len("customFields.") :]: v for k, v in data.items() if k.startswith("customFields.")
    }
    changes: dict[str, Any] = {}
    if "customFields" in data:
        value = data["customFields"] if data["customFields"] is not None else []
        set_custom_fields(session, actor, value=value, replace=True, **owner)
        changes["customFields"] = value
    if dotted:
        set_custom_fields(session, actor, value=dotted, replace=False, **owner)
        changes.update({f"customFields.{k}": v for k, v in dotted.items()})
    return changes


def set_custom_fields(
    session: Session,
    actor: Actor,
    *,
    case_id: int | None = None,
    alert_id: int | None = None,
    case_template_id: int | None = None,
    value: Any,
    replace: bool = True,
) -> None:
    """Set the custom field values of one owner from either input form of §13.3.

    ``replace=True`` makes the owner's values exactly the given ones (PATCH ``customFields``,
    creation); ``replace=False`` only rewrites the fields named in ``value`` (dotted
    ``customFields.<name>`` updates, input values overriding a template's defaults).
    A ``null`` value keeps the field on the owner without a value. Raises 4xx on unknown
    fields, mistyped values and values outside the field's options, before writing anything.
    """
    owner, owner_id = _owner_of(case_id, alert_id, case_template_id)
    items = parse_values(session, value)
    column = owner_column(owner)
    named = {item.field.id for item in items}
    stmt = delete(CustomFieldValue).where(column == owner_id)
    if not replace:
        if not named:
            return
        stmt = stmt.where(CustomFieldValue.field_id.in_(named))
    session.execute(stmt)
    _insert(session, actor, column.key, owner_id, items)


def parse_values(session: Session, value: Any) -> list[_Item]:
    """Validate the list or object form into typed items (no writes)."""
    if value is None:
        return []
    if isinstance(value, dict):
        pairs = [(name, v, None) for name, v in value.items()]
    elif isinstance(value, list):
        pairs = [_list_item(item) for item in value]
    else:
        raise invalid("customFields", "must be a list or an object", value)
    fields = _fields_by_name(session, [name for name, _v, _o in pairs])
    items: list[_Item] = []
    for index, (name, raw, order) in enumerate(pairs):
        field = fields.get(name)
        if field is None:
            raise missing("CustomField", name)
        values = raw if isinstance(raw, list) else [raw]
        if not values:
            values = [None]
        for single in values:
            typed = _typed(field.type, single, f"customFields.{name}")
            _check_option(field, typed)
            items.append(_Item(field, typed, index if order is None else order))
    return items


def _list_item(item: Any) -> tuple[str, Any, int | None]:
    if not isinstance(item, dict) or not isinstance(item.get("name"), str):
        raise invalid("customFields", "each item needs a name", item)
    order = validate.integer(item, "order")
    return item["name"], item.get("value"), order


def _fields_by_name(session: Session, names: list[str]) -> dict[str, CustomField]:
    if not names:
        return {}
    rows = session.scalars(select(CustomField).where(CustomField.name.in_(set(names))))
    return {field.name: field for field in rows}


def _check_option(field: CustomField, value: Any) -> None:
    if value is None or not field.options:
        return
    if value not in field.options:
        raise invalid(
            f"customFields.{field.name}",
            f"must be one of {', '.join(str(o) for o in field.options)}",
            value,
        )


def insert_values(
    session: Session,
    actor: Actor,
    items: list[_Item],
    *,
    case_id: int | None = None,
    alert_id: int | None = None,
) -> list[dict[str, Any]]:
    """Write the values of an owner being created (it has none yet), checked beforehand by
    :func:`parse_values`; returns them rendered as :func:`values_for` would read them back."""
    if not items:
        return []
    owner, owner_id = _owner_of(case_id, alert_id, None)
    written = _insert(session, actor, owner_column(owner).key, owner_id, items)
    session.flush()
    fields = {item.field.id: item.field for item in items}
    written.sort(key=lambda row: (row.order, row.id))
    return [render_value(row, fields[row.field_id]) for row in written]


def _insert(
    session: Session, actor: Actor, owner_key: str, owner_id: int, items: list[_Item]
) -> list[CustomFieldValue]:
    now = now_ms()
    written = []
    # one null row per field stays "attached, no value"; skip it when real values exist
    with_value = {item.field.id for item in items if item.value is not None}
    seen_null: set[int] = set()
    for item in items:
        if item.value is None:
            if item.field.id in with_value or item.field.id in seen_null:
                continue
            seen_null.add(item.field.id)
        row = CustomFieldValue(
            field_id=item.field.id,
            order=item.order,
            created_by=actor.login,
            created_at=now,
            **{owner_key: owner_id},
        )
        _store(row, item.field.type, item.value)
        session.add(row)
        written.append(row)
    return written


def copy_values(
    session: Session,
    actor: Actor,
    from_owner: str,
    from_id: int,
    to_owner: str,
    to_id: int,
) -> None:
    """Copy the values of one owner to another (template -> case, alert -> case, case merge).

    Fields the target already has keep the target's values: the copy fills gaps, so input
    values given at case creation win over a template's defaults whatever the call order."""
    source = owner_column(from_owner)
    target = owner_column(to_owner)
    present = set(session.scalars(select(CustomFieldValue.field_id).where(target == to_id)))
    rows = session.scalars(
        select(CustomFieldValue)
        .where(source == from_id)
        .order_by(CustomFieldValue.order, CustomFieldValue.id)
    ).all()
    now = now_ms()
    for row in rows:
        if row.field_id in present:
            continue
        session.add(
            CustomFieldValue(
                field_id=row.field_id,
                order=row.order,
                value_string=row.value_string,
                value_text=row.value_text,
                value_number=row.value_number,
                value_boolean=row.value_boolean,
                created_by=actor.login,
                created_at=now,
                **{target.key: to_id},
            )
        )


def values_for(session: Session, owner: str, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Rendered ``OutputCustomFieldValue`` lists of many owners in one query, sorted by order."""
    out: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    if not ids:
        return out
    column = owner_column(owner)
    rows = session.execute(
        select(CustomFieldValue, CustomField)
        .join(CustomField, CustomField.id == CustomFieldValue.field_id)
        .where(column.in_(ids))
        .order_by(CustomFieldValue.order, CustomFieldValue.id)
    ).all()
    for row, field in rows:
        out[getattr(row, column.key)].append(render_value(row, field))
    return out


def render_value(row: CustomFieldValue, field: CustomField) -> dict[str, Any]:
    out: dict[str, Any] = {"_id": row.eid, "name": field.name, "type": field.type}
    value = _load(row, field.type)
    if value is not None:
        out["value"] = value
    out["order"] = row.order
    return out


def missing_mandatory(session: Session, case_id: int) -> list[str]:
    """Names of the mandatory custom fields the case has no value for (closing needs them)."""
    filled = (
        select(CustomFieldValue.field_id)
        .where(CustomFieldValue.case_id == case_id)
        .where(
            CustomFieldValue.value_string.isnot(None)
            | CustomFieldValue.value_text.isnot(None)
            | CustomFieldValue.value_number.isnot(None)
            | CustomFieldValue.value_boolean.isnot(None)
        )
    )
    return list(
        session.scalars(
            select(CustomField.name)
            .where(CustomField.mandatory.is_(True), CustomField.id.not_in(filled))
            .order_by(CustomField.name)
        )
    )
