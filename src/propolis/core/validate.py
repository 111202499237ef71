"""Input checking shared by the services. Each helper raises TheHive's
``AttributeCheckingError`` (400) naming the field, so bad input changes nothing."""

from __future__ import annotations

from typing import Any

from propolis.core.errors import INT64_MAX, INT64_MIN, AttributeCheckingError, invalid

_MISSING = object()
# Epoch milliseconds of years 1 and 9999 (core.schemas.Date has the same bounds).
DATE_MIN = -62_135_596_800_000
DATE_MAX = 253_402_300_799_999


def required(data: dict[str, Any], name: str) -> Any:
    if data.get(name) is None:
        raise AttributeCheckingError(
            f"Missing attribute {name}",
            errors=[{"name": name, "type": "MissingAttributeError"}],
        )
    return data[name]


def string(
    data: dict[str, Any],
    name: str,
    *,
    req: bool = False,
    min_len: int = 0,
    max_len: int | None = None,
    default: Any = None,
) -> str | None:
    value = required(data, name) if req else data.get(name, default)
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid(name, "must be a string", value)
    if len(value) < min_len or (max_len is not None and len(value) > max_len):
        raise invalid(name, f"length must be between {min_len} and {max_len}", value)
    return value


def nonempty(
    data: dict[str, Any], name: str, max_len: int | None = None, req: bool = True
) -> str | None:
    return string(data, name, req=req, min_len=1, max_len=max_len)


def integer(
    data: dict[str, Any],
    name: str,
    *,
    req: bool = False,
    low: int | None = None,
    high: int | None = None,
    default: Any = None,
) -> int | None:
    value = required(data, name) if req else data.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)
        else:
            raise invalid(name, "must be an integer", value)
    if isinstance(value, float):
        if not value.is_integer():
            raise invalid(name, "must be an integer", value)
        value = int(value)
    # The database stores 64-bit integers: nothing larger gets as far as a 500.
    low = INT64_MIN if low is None else low
    high = INT64_MAX if high is None else high
    if value < low or value > high:
        raise invalid(name, f"must be between {low} and {high}", value)
    return value


def boolean(data: dict[str, Any], name: str, default: Any = None) -> bool | None:
    value = data.get(name, default)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise invalid(name, "must be a boolean", value)
    return value


def date(data: dict[str, Any], name: str, *, req: bool = False, default: Any = None) -> int | None:
    """Epoch milliseconds, within the years a datetime can show (1 to 9999)."""
    return integer(data, name, req=req, low=DATE_MIN, high=DATE_MAX, default=default)


def severity(data: dict[str, Any], default: int | None = None) -> int | None:
    return integer(data, "severity", low=1, high=4, default=default)


def tlp(data: dict[str, Any], default: int | None = None) -> int | None:
    return integer(data, "tlp", low=0, high=4, default=default)


def pap(data: dict[str, Any], default: int | None = None) -> int | None:
    return integer(data, "pap", low=0, high=3, default=default)


def tags(data: dict[str, Any], name: str = "tags") -> list[str] | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise invalid(name, "must be a list of strings", value)
    out: list[str] = []
    for tag in value:
        tag = tag.strip()
        if not tag or len(tag) > 128:
            raise invalid(name, "each tag must have 1 to 128 characters", tag)
        if tag not in out:
            out.append(tag)
    return out


def one_of(
    data: dict[str, Any], name: str, allowed: list[str] | set[str], default: Any = None
) -> str | None:
    value = data.get(name, default)
    if value is None:
        return None
    if value not in allowed:
        raise invalid(name, f"must be one of {', '.join(sorted(allowed))}", value)
    return value


def id_list(data: dict[str, Any], name: str = "ids") -> list[str]:
    value = required(data, name)
    if not isinstance(value, list) or not all(isinstance(v, (str, int)) for v in value):
        raise invalid(name, "must be a list of ids", value)
    return [str(v) for v in value]


def apply_tag_changes(current: list[str], data: dict[str, Any]) -> list[str] | None:
    """``tags`` replaces the set; ``addTags``/``removeTags`` edit it. None when untouched."""
    new = tags(data, "tags") if "tags" in data else None
    result = list(new if new is not None else current)
    add = tags(data, "addTags") or []
    remove = set(tags(data, "removeTags") or [])
    if new is None and not add and not remove:
        return None
    for tag in add:
        if tag not in result:
            result.append(tag)
    return [t for t in result if t not in remove]


# --------------------------------------------------------------------------- NUL characters

NUL = "\x00"
NUL_MESSAGE = "Text may not contain the NUL character (U+0000)"


def contains_nul(value: Any) -> bool:
    """Whether a decoded document holds a NUL anywhere (keys included). PostgreSQL's text
    and JSONB cannot store one; SQLite can: refusing it at the door keeps both alike."""
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(contains_nul(k) or contains_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(contains_nul(item) for item in value)
    return False


def without_nul(value: Any) -> Any:
    """A document made by a program (an analyzer's report) with each NUL replaced by U+FFFD,
    so that it can be stored on every backend."""
    if isinstance(value, str):
        return value.replace(NUL, "\ufffd") if NUL in value else value
    if isinstance(value, dict):
        return {without_nul(k): without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_nul(item) for item in value]
    return value
