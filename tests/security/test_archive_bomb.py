"""Issue 7, finding 4: case archives (``.thar``) are decompressed within limits. A crafted
archive (a few hundred KB expanding to hundreds of MB) is refused with a 4xx, imports
nothing, and does not blow the server's memory."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import zipfile
from pathlib import Path

import pytest

from tests.security.conftest import MIB, peak_rss

PASSWORD = "bomb"
BOMB_SIZE = 300 * MIB


def _write_stream(archive: zipfile.ZipFile, name: str, size: int, chunk: bytes) -> None:
    info = zipfile.ZipInfo(name)
    info.compress_type = zipfile.ZIP_DEFLATED
    with archive.open(info, "w", force_zip64=True) as member:
        for _ in range(size // len(chunk)):
            member.write(chunk)


def _manifest(files: list[str]) -> dict:
    return {
        "version": 1,
        "case": {"title": "bomb", "description": "crafted", "severity": 2},
        "attachments": [
            {"name": f"f{i}", "contentType": "application/octet-stream", "sha256": sha}
            for i, sha in enumerate(files)
        ],
    }


@pytest.fixture(scope="module")
def attachment_bomb(tmp_path_factory) -> Path:
    """A valid manifest whose attachment is 300 MB of zeros (compresses ~1000:1). Not
    encrypted: the reader takes plain members as well."""
    path = tmp_path_factory.mktemp("bombs") / "attachment.thar"
    sha = hashlib.sha256()
    for _ in range(BOMB_SIZE // MIB):
        sha.update(bytes(MIB))
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("case.json", json.dumps(_manifest([sha.hexdigest()])))
        _write_stream(archive, f"files/{sha.hexdigest()}", BOMB_SIZE, bytes(MIB))
    return path


@pytest.fixture(scope="module")
def manifest_bomb(tmp_path_factory) -> Path:
    """A manifest padded with 300 MB of blanks: valid JSON, absurd size."""
    path = tmp_path_factory.mktemp("bombs") / "manifest.thar"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo("case.json")
        info.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(info, "w", force_zip64=True) as member:
            member.write(json.dumps(_manifest([]))[:-1].encode())
            for _ in range(BOMB_SIZE // MIB):
                member.write(b" " * MIB)
            member.write(b"}")
    return path


def _case_count(server) -> int:  # noqa: ANN001
    response = server.http().post(
        server.url + "/api/v1/query", json={"query": [{"_name": "listCase"}, {"_name": "count"}]}
    )
    response.raise_for_status()
    return response.json()


@pytest.mark.parametrize("bomb", ["attachment_bomb", "manifest_bomb"])
def test_archive_bomb_is_refused_without_importing_or_blowing_memory(guarded, bomb, request):
    path: Path = request.getfixturevalue(bomb)
    assert path.stat().st_size < 2 * MIB  # the point of a bomb
    before_cases = _case_count(guarded)
    before_rss = peak_rss(guarded)
    with path.open("rb") as handle:
        response = guarded.http().post(
            guarded.url + "/api/v1/case/import",
            files={"_json": (None, json.dumps({"password": PASSWORD})), "file": handle},
            timeout=300,
        )
    assert 400 <= response.status_code < 500, response.text[:300]
    assert response.json()["type"]
    assert _case_count(guarded) == before_cases
    assert peak_rss(guarded) - before_rss < 100 * MIB


def test_a_real_archive_still_imports(guarded, tmp_path):
    client = guarded.client(organisation="main-org")
    case = client.case.create({"title": "to export", "description": "d"})
    note = tmp_path / "note.txt"
    note.write_bytes(base64.b64encode(os.urandom(3 * MIB)))  # several MB, like real files
    client.case.add_attachment(case["_id"], [str(note)])
    path = tmp_path / "case.thar"
    client.case.export_to_file(case["_id"], "pw", str(path))
    imported = client.case.import_from_file({"password": "pw"}, str(path))["case"]
    assert imported["title"] == "to export"


def test_a_zip_bomb_as_misp_malware_sample_is_refused(guarded, tmp_path):
    """A MISP event's malware sample is a zip too (password ``infected``)."""
    raw = tmp_path / "sample.zip"
    with zipfile.ZipFile(raw, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        _write_stream(archive, "sample.exe", BOMB_SIZE, bytes(MIB))
    event = {
        "Event": {
            "uuid": "5f0c1e8a-0000-4000-8000-0000000000bb",
            "info": "bomb sample",
            "date": "2024-03-01",
            "threat_level_id": "1",
            "Attribute": [
                {
                    "type": "malware-sample",
                    "value": "sample.exe|0123456789abcdef0123456789abcdef",
                    "category": "Payload delivery",
                    "data": base64.b64encode(raw.read_bytes()).decode(),
                }
            ],
        }
    }
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    before_cases = _case_count(guarded)
    before_rss = peak_rss(guarded)
    with path.open("rb") as handle:
        response = guarded.http().post(
            guarded.url + "/api/v1/connector/misp/case/import",
            files={"_json": (None, "{}"), "file": handle},
            timeout=300,
        )
    assert 400 <= response.status_code < 500, response.text[:300]
    assert _case_count(guarded) == before_cases
    assert peak_rss(guarded) - before_rss < 100 * MIB
