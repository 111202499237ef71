"""MISP connector without MISP servers: status, sync, export, and importing event files."""

from __future__ import annotations

import base64
import json
import uuid

import pytest
from thehive4py.errors import TheHiveError


def _event_file(tmp_path, document) -> str:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(document))
    return str(path)


def test_status_and_sync(thehive, thehive_admin):
    assert thehive.misp.get_status() == {"status": {}, "syncInProgress": False}
    assert thehive_admin.misp.sync() == ""


def test_export_to_an_unknown_server(thehive):
    case = thehive.case.create(case={"title": "to misp", "description": "d"})
    with pytest.raises(
        TheHiveError, match="NotFoundError - MISP server non-existent-misp not found"
    ):
        thehive.misp.export_case(case["_id"], "non-existent-misp")


def test_import_of_something_that_is_not_an_event(fresh_org, tmp_path):
    _name, client = fresh_org
    for document in ({}, [], {"Event": {"Attribute": []}}, {"info": ""}):
        with pytest.raises(TheHiveError, match="BadRequest - Could not convert json to MISP event"):
            client.misp.import_case({}, _event_file(tmp_path, document))
    path = tmp_path / "not-json.json"
    path.write_bytes(b"\xff\xfe garbage")
    with pytest.raises(TheHiveError, match="BadRequest - Could not convert json to MISP event"):
        client.misp.import_case({}, str(path))
    assert client.case.count() == 0


def test_import_an_event(fresh_org, tmp_path):
    _name, client = fresh_org
    info = "Phishing campaign " + uuid.uuid4().hex[:6]
    event = {
        "Event": {
            "uuid": "5f0c1e8a-0000-4000-8000-000000000001",
            "info": info,
            "date": "2024-03-01",
            "threat_level_id": "1",
            "Orgc": {"name": "CIRCL"},
            "Tag": [{"name": "tlp:green"}, {"name": "phishing"}],
            "Attribute": [
                {
                    "type": "ip-dst",
                    "value": "203.0.113.5",
                    "to_ids": True,
                    "category": "Network activity",
                },
                {"type": "domain|ip", "value": "evil.example|203.0.113.6"},
                {"type": "sha256", "value": "a" * 64, "comment": "dropper"},
                {"type": "email-src", "value": "bad@evil.example", "Tag": [{"name": "sender"}]},
                {"type": "url", "value": "https://evil.example/login"},
                {"type": "text", "value": "something else"},
                {
                    "type": "attachment",
                    "value": "note.txt",
                    "data": base64.b64encode(b"attached bytes").decode(),
                },
            ],
            "Object": [
                {"name": "file", "Attribute": [{"type": "filename", "value": "invoice.exe"}]}
            ],
        }
    }
    case = client.misp.import_case({"tasks": [{"title": "triage"}]}, _event_file(tmp_path, event))
    assert case["title"] == info
    assert case["severity"] == 3  # threat level 1 (high)
    assert case["tlp"] == 1
    assert case["tags"] == ["tlp:green", "phishing"]
    assert case["startDate"] == 1709251200000
    assert "5f0c1e8a-0000-4000-8000-000000000001" in case["description"]
    assert client.case.get(case["_id"]) == case

    observables = client.case.find_observables(case["_id"])
    found = {(o["dataType"], o.get("data")) for o in observables}
    assert found == {
        ("ip", "203.0.113.5"),
        ("domain", "evil.example"),
        ("ip", "203.0.113.6"),
        ("hash", "a" * 64),
        ("mail", "bad@evil.example"),
        ("url", "https://evil.example/login"),
        ("other", "something else"),
        ("filename", "invoice.exe"),
        ("file", None),
    }
    by_data = {o.get("data"): o for o in observables}
    assert by_data["203.0.113.5"]["ioc"] is True
    assert "misp:category=Network activity" in by_data["203.0.113.5"]["tags"]
    assert by_data["a" * 64]["message"] == "dropper"
    assert "sender" in by_data["bad@evil.example"]["tags"]
    assert by_data[None]["attachment"]["name"] == "note.txt"
    assert [t["title"] for t in client.case.find_tasks(case["_id"])] == ["triage"]
