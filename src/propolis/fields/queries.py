"""Query-language support for custom fields: ``listCustomField``/``getCustomField`` and the
``customFields.<name>`` filter/sort fields of alerts, cases and case templates.

A ``customFields.<name>`` field is not a column of the owner's table: each comparison the
query engine makes on it is compiled to an ``EXISTS`` sub-select on ``custom_field_value``
(for the named field and the outer row), comparing the typed value columns, which the
``(field_id, value_string)`` / ``(field_id, value_number)`` indexes serve. Sorting uses
correlated scalar sub-selects (the smallest value of the field on each row).
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import ColumnElement, Integer, exists, false, func, or_, select
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import ClauseList
from sqlalchemy.sql.operators import ColumnOperators

from propolis.core.errors import BadRequest
from propolis.core.query import (
    BOOL,
    LIST,
    STR,
    EntitySpec,
    Field,
    QueryContext,
    ResultSet,
    initial,
    meta_fields,
    register_entity,
)
from propolis.fields import service
from propolis.fields.models import CustomField, CustomFieldValue
from propolis.fields.render import render_fields

PREFIX = "customFields."

CUSTOM_FIELD = register_entity(
    EntitySpec(
        name="CustomField",
        model=CustomField,
        fields={
            **meta_fields(CustomField),
            "name": Field(CustomField.name),
            "displayName": Field(CustomField.display_name),
            "group": Field(CustomField.group),
            "description": Field(CustomField.description),
            "type": Field(CustomField.type),
            "mandatory": Field(CustomField.mandatory, BOOL),
            "options": Field(CustomField.options, LIST),
        },
        render=lambda ctx, rows, extra: render_fields(rows),
    )
)


@initial("listCustomField")
def list_custom_field(ctx: QueryContext, op: dict[str, Any]) -> ResultSet:
    return ResultSet(CUSTOM_FIELD, select(CustomField))


@initial("getCustomField")
def get_custom_field(ctx: QueryContext, op: dict[str, Any]) -> ResultSet:
    field = service.find_field(ctx.session, str(op.get("idOrName", "")))
    return ResultSet(
        CUSTOM_FIELD, select(CustomField).where(CustomField.id == (field.id if field else -1))
    )


# --------------------------------------------------------------------------- customFields.<name>


def custom_field_resolver(owner_column: Any):  # noqa: ANN201
    """A ``DynamicField`` resolving ``customFields.<name>`` for an owner kind.

    ``owner_column`` names the owner: preferably the value column (``CustomFieldValue.case_id``,
    ``.alert_id`` or ``.case_template_id``); the owner's id column (``Case.id``...) or the
    owner name (``"case"``, ``"alert"``, ``"case_template"``) are accepted too."""
    value_column, outer_id = _owner_columns(owner_column)

    def resolve(name: str) -> Field | None:
        if not name.startswith(PREFIX) or len(name) == len(PREFIX):
            return None
        field_name = name[len(PREFIX) :]
        # TheHive 4 addressed values as customFields.<name>.<type>
        base, _dot, suffix = field_name.rpartition(".")
        if base and suffix in service.FIELD_TYPES:
            field_name = base
        return Field(CustomFieldValueRef(field_name, value_column, outer_id), STR)

    return resolve


def _owner_columns(owner: Any) -> tuple[Any, Any]:
    """(value column in custom_field_value, id column of the owner's table)."""
    if isinstance(owner, str):
        owner = service.owner_column(owner)
    column = getattr(owner, "expression", owner)
    if column.table is CustomFieldValue.__table__:
        (fk,) = column.foreign_keys
        return owner, fk.column
    for kind in service.OWNERS:
        value_column = service.owner_column(kind)
        (fk,) = value_column.expression.foreign_keys
        if fk.column.table is column.table:
            return value_column, owner
    raise ValueError(f"{owner!r} does not own custom field values")


class CustomFieldValueRef(ColumnOperators):
    """Stands for "the value of custom field <name> on the outer row" in the expressions the
    query engine builds (``==``, ``<``, ``ilike``, ``is_(None)``, ``asc()``...).

    The engine hands values already converted to strings (the field kind is STR because the
    field's type is only known in the database); each comparison therefore tries every typed
    column the value can be read as. A field's values all live in one typed column, so the
    other branches never match anything. (Relative dates, which the engine converts only for
    numeric kinds, are not supported on custom fields.)"""

    def __init__(self, name: str, value_column: Any, outer_id: Any) -> None:
        self.name = name
        self.value_column = value_column
        self.outer_id = outer_id

    def _base(self) -> list[ColumnElement[bool]]:
        field_id = select(CustomField.id).where(CustomField.name == self.name).scalar_subquery()
        return [CustomFieldValue.field_id == field_id, self.value_column == self.outer_id]

    def _exists(self, *criteria: ColumnElement[bool]) -> ColumnElement[bool]:
        return exists(select(CustomFieldValue.id).where(*self._base(), *criteria))

    def _has_value(self) -> ColumnElement[bool]:
        return self._exists(
            or_(
                CustomFieldValue.value_string.isnot(None),
                CustomFieldValue.value_text.isnot(None),
                CustomFieldValue.value_number.isnot(None),
                CustomFieldValue.value_boolean.isnot(None),
            )
        )

    def operate(self, op: Any, *other: Any, **kwargs: Any) -> Any:
        if op in (operators.asc_op, operators.desc_op):
            return ClauseList(*(op(key) for key in self._sort_keys(op is operators.desc_op)))
        if op in (operators.is_, operators.is_not) and other and other[0] is None:
            return ~self._has_value() if op is operators.is_ else self._has_value()
        if op in (operators.ilike_op, operators.like_op):
            text = str(other[0])
            branch = or_(
                op(CustomFieldValue.value_string, text, **kwargs),
                op(CustomFieldValue.value_text, text, **kwargs),
            )
            return self._exists(branch)
        if op in (
            operators.eq,
            operators.ne,
            operators.lt,
            operators.le,
            operators.gt,
            operators.ge,
        ):
            branches = _typed_branches(op, other[0])
            return self._exists(or_(false(), *branches)) if branches else false()
        raise BadRequest(f"Operator {op.__name__} is not supported on custom fields")

    def reverse_operate(self, op: Any, other: Any, **kwargs: Any) -> Any:
        raise BadRequest(f"Operator {op.__name__} is not supported on custom fields")

    def _sort_keys(self, descending: bool) -> list[Any]:
        # a multi-valued field sorts by its first value in the requested direction
        pick = func.max if descending else func.min

        def first_value(column: Any) -> Any:
            return select(pick(column)).where(*self._base()).scalar_subquery()

        return [
            first_value(CustomFieldValue.value_number),
            first_value(func.coalesce(CustomFieldValue.value_string, CustomFieldValue.value_text)),
            first_value(CustomFieldValue.value_boolean.cast(Integer)),
        ]


def _typed_branches(op: Any, value: Any) -> list[ColumnElement[bool]]:
    if value is None:
        return []
    text = value if isinstance(value, str) else str(value)
    branches = [op(CustomFieldValue.value_string, text)]
    if len(text) > service.INDEXED_STRING_MAX:
        branches.append(op(CustomFieldValue.value_text, text))
    number = _as_number(text)
    if number is not None:
        branches.append(op(CustomFieldValue.value_number, number))
    if op in (operators.eq, operators.ne) and text.lower() in ("true", "false"):
        branches.append(op(CustomFieldValue.value_boolean, text.lower() == "true"))
    return branches


def _as_number(text: str) -> float | None:
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


__all__ = ["custom_field_resolver", "CUSTOM_FIELD"]
