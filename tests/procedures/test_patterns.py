"""The MITRE ATT&CK pattern catalogue: lookup, queries and the STIX bundle import (§14.4)."""

from __future__ import annotations

import json
import uuid

from tests.alerts.helpers import unique


def _technique(external_id: str, name: str, tactics: list[str], **extra) -> dict:
    return {
        "type": "attack-pattern",
        "id": f"attack-pattern--{uuid.uuid4()}",
        "name": name,
        "description": f"{name} description",
        "kill_chain_phases": [
            {"kill_chain_name": "mitre-attack", "phase_name": tactic} for tactic in tactics
        ],
        "external_references": [
            {
                "source_name": "mitre-attack",
                "external_id": external_id,
                "url": f"https://attack.mitre.org/techniques/{external_id.replace('.', '/')}",
            },
            {"source_name": "capec", "external_id": "CAPEC-1", "url": "https://capec.mitre.org/1"},
        ],
        "x_mitre_platforms": ["Linux", "Windows"],
        "x_mitre_version": "1.2",
        **extra,
    }


def _bundle(*objects: dict) -> bytes:
    relationship = {"type": "relationship", "id": f"relationship--{uuid.uuid4()}"}
    return json.dumps(
        {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": [relationship, *objects]}
    ).encode()


def _import(http, url: str, content: bytes):
    return http.post(
        url + "/api/v1/pattern/import/attack",
        files={"file": ("enterprise-attack.json", content, "application/json")},
    )


def _query(http, url: str, query: list) -> list:
    response = http.post(url + "/api/v1/query", json={"query": query})
    assert response.status_code == 200, response.text
    return response.json()


def test_seeded_pattern_is_served(server):
    http = server.http("main-org")
    response = http.get(server.url + "/api/v1/pattern/T1059.006")
    assert response.status_code == 200
    pattern = response.json()
    assert pattern["_type"] == "Pattern"
    assert pattern["name"] == "Python" and pattern["tactics"] == ["execution"]
    assert pattern["url"] == "https://attack.mitre.org/techniques/T1059/006"
    assert http.get(server.url + "/api/v1/pattern/" + pattern["_id"]).json() == pattern
    missing = http.get(server.url + "/api/v1/pattern/T0000")
    assert missing.status_code == 404 and missing.json()["type"] == "NotFoundError"
    found = _query(http, server.url, [{"_name": "getPattern", "idOrName": "T1059.006"}])
    assert found == [pattern]
    listed = _query(
        http,
        server.url,
        [
            {"_name": "listPattern"},
            {"_name": "filter", "_eq": {"_field": "tactics", "_value": "initial-access"}},
        ],
    )
    assert {"T1566", "T1566.001"} <= {p["patternId"] for p in listed}


def test_import_creates_and_updates_patterns(server):
    admin = server.http("admin")
    new_id = f"T{uuid.uuid4().int % 10**6 + 10**7}"
    sub_id = f"{new_id}.001"
    bundle = _bundle(
        _technique(new_id, "Brand New Technique", ["execution", "persistence"]),
        _technique(sub_id, "Its Sub-technique", ["persistence"], x_mitre_is_subtechnique=True),
        _technique(new_id, "An older revoked twin", ["execution"], revoked=True),
        # an existing entry of the seeded catalogue gets updated
        _technique("T1059.006", "Python", ["execution"], x_mitre_detection="watch python"),
    )
    response = _import(admin, server.url, bundle)
    assert response.status_code == 201, response.text
    imported = {p["patternId"]: p for p in response.json()}
    assert set(imported) == {new_id, sub_id, "T1059.006"}
    created = imported[new_id]
    assert created["name"] == "Brand New Technique"
    assert created["tactics"] == ["execution", "persistence"]
    assert created["platforms"] == ["Linux", "Windows"]
    assert created["revoked"] is False
    assert created["capecId"] == "CAPEC-1" and created["version"] == "1.2"
    assert imported["T1059.006"]["detection"] == "watch python"
    http = server.http("main-org")
    assert http.get(server.url + f"/api/v1/pattern/{sub_id}").json()["name"] == "Its Sub-technique"

    # a procedure on the new technique gets its name and the parent in extraData
    thehive = server.client(organisation="main-org")
    case = thehive.case.create({"title": unique("case"), "description": "ttp"})
    procedure = thehive.procedure.create_in_case(
        case["_id"], {"patternId": sub_id, "occurDate": 1, "tactic": "persistence"}
    )
    assert procedure["patternName"] == "Its Sub-technique"
    case_patterns = http.get(server.url + f"/api/v1/pattern/case/{case['_id']}").json()
    assert [p["patternId"] for p in case_patterns] == [sub_id]

    # importing again updates in place (no duplicates)
    again = _import(admin, server.url, _bundle(_technique(new_id, "Renamed", ["impact"])))
    assert again.status_code == 201
    listed = _query(
        http,
        server.url,
        [
            {"_name": "listPattern"},
            {"_name": "filter", "_eq": {"_field": "patternId", "_value": new_id}},
        ],
    )
    assert [(p["name"], p["tactics"]) for p in listed] == [("Renamed", ["impact"])]
    assert listed[0]["_updatedBy"] == "admin@thehive.local"


def test_import_is_for_the_admin_organisation_only(server):
    response = _import(server.http("main-org"), server.url, _bundle(_technique("T7777", "x", [])))
    assert response.status_code == 403
    assert response.json()["type"] == "AuthorizationError"
    assert server.http("admin").get(server.url + "/api/v1/pattern/T7777").status_code == 404


def test_bad_bundles_are_rejected(server):
    admin = server.http("admin")
    for content in (b"not json", b"[]", b'{"objects": "nope"}', _bundle()):
        response = _import(admin, server.url, content)
        assert response.status_code == 400, content
        assert response.json()["type"] == "BadRequest"
    response = admin.post(server.url + "/api/v1/pattern/import/attack", json={"file": "x"})
    assert response.status_code == 400
    response = admin.post(
        server.url + "/api/v1/pattern/import/attack",
        files={"other": ("a.json", b"{}", "application/json")},
    )
    assert response.status_code == 400


def test_case_patterns_of_an_invisible_case_is_404(server, fresh_org):
    _name, other = fresh_org
    case = other.case.create({"title": "hidden", "description": "d"})
    response = server.http("main-org").get(server.url + f"/api/v1/pattern/case/{case['_id']}")
    assert response.status_code == 404
