"""Small builders shared by the alert tests."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from thehive4py.errors import TheHiveError


def unique(prefix: str = "ref") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def alert_input(**overrides: Any) -> dict[str, Any]:
    body = {
        "type": "external",
        "source": "pytest",
        "sourceRef": unique(),
        "title": "suspicious login",
        "description": "seen on the VPN",
    }
    body.update(overrides)
    return body


def error_of(call: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """Call a thehive4py method that must fail with a 4xx; return the error JSON."""
    with pytest.raises(TheHiveError) as info:
        call(*args, **kwargs)
    response = info.value.response
    assert response is not None, info.value
    assert 400 <= response.status_code < 500, response.text
    body = response.json()
    assert {"type", "message"} <= body.keys()
    return body
