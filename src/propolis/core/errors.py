"""Domain errors and their TheHive error-JSON form (``{"type": ..., "message": ...}``).

Services raise these; the app turns them into 4xx responses. Anything else escaping a
route is a bug (a 500, which thehive4py retries five times).
"""

from __future__ import annotations

from typing import Any

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


class PropolisError(Exception):
    status = 400
    type = "BadRequest"

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "message": self.message, **self.extra}


class BadRequest(PropolisError):
    pass


class AttributeCheckingError(PropolisError):
    type = "AttributeCheckingError"


class CreateError(PropolisError):
    type = "CreateError"


class NotSupported(PropolisError):
    type = "NotSupportedError"


class NotFound(PropolisError):
    status = 404
    type = "NotFoundError"


class AuthenticationError(PropolisError):
    status = 401
    type = "AuthenticationError"


class AuthorizationError(PropolisError):
    status = 403
    type = "AuthorizationError"


class PayloadTooLarge(PropolisError):
    status = 413
    type = "BadRequest"


def missing(entity: str, ref: object) -> NotFound:
    return NotFound(f"{entity} {ref} not found")


def invalid(field: str, message: str, value: object = None) -> AttributeCheckingError:
    """A single attribute failed validation (TheHive's AttributeCheckingError shape)."""
    return AttributeCheckingError(
        f"Invalid value for {field}: {message}",
        errors=[{"name": field, "type": "InvalidFormatAttributeError", "value": safe_value(value)}],
    )


_MAX_ECHO = 100


def safe_value(value: Any) -> Any:
    """A value an error may echo: JSON-serializable and short (never a 2**70 or a megabyte)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if INT64_MIN <= value <= INT64_MAX else _short(repr(value))
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else repr(value)
    if isinstance(value, str):
        return _short(value)
    return _short(repr(value))


def _short(text: str) -> str:
    return text if len(text) <= _MAX_ECHO else text[:_MAX_ECHO] + "…"
