"""Builders shared by the observable and attachment tests."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from thehive4py.errors import TheHiveError


def unique(prefix: str = "x") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def new_alert(client: Any, **overrides: Any) -> dict[str, Any]:
    body = {
        "type": "obs-test",
        "source": "pytest",
        "sourceRef": unique("ref"),
        "title": unique("alert"),
        "description": "observables under test",
    }
    body.update(overrides)
    return client.alert.create(alert=body)


def new_case(client: Any, **overrides: Any) -> dict[str, Any]:
    body = {"title": unique("case"), "description": "observables under test"}
    body.update(overrides)
    return client.case.create(case=body)


def error_of(call: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """Call a thehive4py method that must fail with a 4xx; return TheHive's error JSON."""
    with pytest.raises(TheHiveError) as info:
        call(*args, **kwargs)
    response = info.value.response
    assert response is not None, info.value
    assert 400 <= response.status_code < 500, response.text
    body = response.json()
    assert {"type", "message"} <= body.keys()
    return body


def query(client: Any, *operations: dict[str, Any]) -> Any:
    return client.session.make_request("POST", "/api/v1/query", json={"query": list(operations)})
