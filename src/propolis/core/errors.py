"""Domain errors and their TheHive error-JSON form (``{"type": ..., "message": ...}``).

Services raise these; the app turns them into 4xx responses. Anything else escaping a
route is a bug (a 500, which thehive4py retries five times).
"""

from __future__ import annotations

from typing import Any


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
        errors=[{"name": field, "type": "InvalidFormatAttributeError", "value": value}],
    )
