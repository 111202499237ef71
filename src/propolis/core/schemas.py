"""Building blocks of the per-domain ``schemas.py``: TheHive's value types bounded to what the
database stores, the base classes of input and output models, and the translation of a
Pydantic ``ValidationError`` into TheHive's ``AttributeCheckingError``.

Inputs use TheHive's JSON field names as attribute names (``caseTemplate``, ``startDate``), so
``model_dump(exclude_unset=True)`` is exactly what the client sent, under the API's names.
Unknown fields are kept (TheHive clients send extra fields; the services ignore them).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, ValidationError

from propolis.core.errors import INT64_MAX, INT64_MIN, AttributeCheckingError, safe_value
from propolis.core.validate import DATE_MAX, DATE_MIN

# Dates are epoch milliseconds in a BIGINT; the range a Python datetime can show (years 1-9999).
# Text columns have no length of their own: a megabyte of characters is far above any real
# description and keeps one field from filling the database.
TEXT_MAX = 1_048_576
ID_MAX = 128
# Objects created by one request (tasks or pages of a case, procedures, ids of a bulk call)
# and observables of one alert or one call: bounds that keep a request to seconds of work.
MAX_CHILDREN = 1_000
MAX_OBSERVABLES = 10_000


def _no_bool(value: Any) -> Any:
    """JSON ``true`` is not the number 1 (Pydantic's lax mode would take it)."""
    if isinstance(value, bool):
        raise ValueError("must be a number, not a boolean")
    return value


def _one_or_many(value: Any) -> Any:
    """TheHive accepts a single tag where a list is expected; tags are trimmed, and a tag
    sent twice is kept once (in the order sent)."""
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list):
        out: list[Any] = []
        seen: set[str] = set()
        for item in value:
            item = item.strip() if isinstance(item, str) else item
            if isinstance(item, str):
                if item in seen:
                    continue
                seen.add(item)
            out.append(item)
        return out
    return value


def _as_str_id(value: Any) -> Any:
    """Ids may arrive as numbers (``~123`` or ``123``); they are strings to the services."""
    if isinstance(value, int) and not isinstance(value, bool) and INT64_MIN <= value <= INT64_MAX:
        return str(value)
    return value


Int64 = Annotated[int, BeforeValidator(_no_bool), Field(ge=INT64_MIN, le=INT64_MAX)]
Date = Annotated[int, BeforeValidator(_no_bool), Field(ge=DATE_MIN, le=DATE_MAX)]
Severity = Annotated[int, BeforeValidator(_no_bool), Field(ge=1, le=4)]
Tlp = Annotated[int, BeforeValidator(_no_bool), Field(ge=0, le=4)]
Pap = Annotated[int, BeforeValidator(_no_bool), Field(ge=0, le=3)]
Bool = StrictBool
Text = Annotated[str, Field(max_length=TEXT_MAX)]
Tag = Annotated[str, Field(min_length=1, max_length=128)]
Tags = Annotated[list[Tag], BeforeValidator(_one_or_many), Field(max_length=10_000)]
Ref = Annotated[str, BeforeValidator(_as_str_id), Field(min_length=1, max_length=ID_MAX)]
Refs = Annotated[list[Ref], Field(max_length=MAX_OBSERVABLES)]


def Str(max_length: int, min_length: int = 0) -> Any:  # noqa: N802 - reads like a type
    return Annotated[str, Field(min_length=min_length, max_length=max_length)]


def Int(ge: int, le: int) -> Any:  # noqa: N802
    return Annotated[int, BeforeValidator(_no_bool), Field(ge=ge, le=le)]


def NonEmpty(max_length: int = 255) -> Any:  # noqa: N802
    return Annotated[str, Field(min_length=1, max_length=max_length)]


# customFields: a list of {name, value[, order]} or an object {name: value | {type: value}}.
CustomFieldsIn = Annotated[list[dict[str, Any]] | dict[str, Any], Field(max_length=MAX_CHILDREN)]


class Input(BaseModel):
    """A request body: TheHive's field names, extra fields kept for the services to ignore."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    def sent(self) -> dict[str, Any]:
        """What the client sent (validated, coerced), under the API's field names."""
        return self.model_dump(exclude_unset=True, by_alias=True)

    def known(self) -> dict[str, Any]:
        """The declared fields the client sent (extra fields left out), for the services."""
        sent = self.model_fields_set & set(type(self).model_fields)
        return self.model_dump(include=sent, by_alias=True, exclude_unset=True)


class Output(BaseModel):
    """A rendered object. Only documents the answer: routes return orjson bytes directly."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Entity(Output):
    """The fields every TheHive entity carries."""

    id: str = Field(alias="_id")
    type: str = Field(alias="_type")
    createdBy: str | None = Field(None, alias="_createdBy")
    createdAt: int | None = Field(None, alias="_createdAt")
    updatedBy: str | None = Field(None, alias="_updatedBy")
    updatedAt: int | None = Field(None, alias="_updatedAt")


class ErrorOut(Output):
    """TheHive's error JSON."""

    type: str
    message: str


# --------------------------------------------------------------------------- errors


def _field_name(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "body"


def attribute_error(exc: ValidationError) -> AttributeCheckingError:
    """Pydantic's errors as TheHive's ``AttributeCheckingError`` (400), first error in the
    message, every error listed."""
    errors = []
    for error in exc.errors(include_url=False):
        name = _field_name(error["loc"])
        if error["type"] == "missing":
            errors.append({"name": name, "type": "MissingAttributeError", "message": "missing"})
        else:
            errors.append(
                {
                    "name": name,
                    "type": "InvalidFormatAttributeError",
                    "message": error["msg"],
                    "value": safe_value(error.get("input")),
                }
            )
    first = errors[0] if errors else {"name": "body", "message": "invalid"}
    if first.get("type") == "MissingAttributeError":
        message = f"Missing attribute {first['name']}"
    else:
        message = f"Invalid value for {first['name']}: {first['message']}"
    return AttributeCheckingError(message, errors=errors)


def check(model: type[BaseModel], data: Any) -> Any:
    """``model`` validated from ``data``, or TheHive's 400."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise attribute_error(exc) from None
