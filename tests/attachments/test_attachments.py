"""Attachments of organisations, alerts and cases (spec §16), through thehive4py."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import requests

from tests.harness import Server
from tests.observables.helpers import error_of, new_alert, new_case, query, unique


def _file(tmp_path: Path, name: str, content: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(content)
    return str(path)


def _org_files(client, org: str) -> list[dict]:
    return client.organisation.find_attachments(org)


def test_organisation_attachments_round_trip(fresh_org, tmp_path):
    org, client = fresh_org
    content = b"policy document " + unique().encode()
    added = client.organisation.add_attachment([_file(tmp_path, "policy.txt", content)])
    (attachment,) = added
    assert attachment["_type"] == "Attachment" and attachment["name"] == "policy.txt"
    assert attachment["size"] == len(content) and attachment["contentType"] == "text/plain"
    assert attachment["hashes"] == [
        hashlib.sha256(content).hexdigest(),
        hashlib.sha1(content).hexdigest(),
        hashlib.md5(content).hexdigest(),
    ]
    assert attachment["id"] == attachment["hashes"][0]
    assert _org_files(client, org) == added

    target = tmp_path / "downloaded"
    client.organisation.download_attachment(attachment["_id"], str(target))
    assert target.read_bytes() == content

    client.organisation.delete_attachment(attachment["_id"])
    assert _org_files(client, org) == []
    assert error_of(client.organisation.delete_attachment, attachment["_id"])["type"] == (
        "NotFoundError"
    )


def test_can_rename_decides_what_a_second_file_of_the_same_name_does(fresh_org, tmp_path):
    org, client = fresh_org
    client.organisation.add_attachment([_file(tmp_path, "report.pdf", b"v1")])
    (renamed,) = client.organisation.add_attachment(
        [_file(tmp_path, "report.pdf", b"v2")], can_rename=True
    )
    assert renamed["name"] == "report (1).pdf"
    error = error_of(
        client.organisation.add_attachment, [_file(tmp_path, "report.pdf", b"v3")], False
    )
    assert error["type"] == "CreateError"
    assert sorted(a["name"] for a in _org_files(client, org)) == ["report (1).pdf", "report.pdf"]


def test_alert_attachments(thehive, tmp_path):
    alert = new_alert(thehive)
    paths = [_file(tmp_path, "mail.eml", b"From: x"), _file(tmp_path, "shot.png", b"\x89PNG")]
    added = thehive.alert.add_attachment(alert["_id"], paths)
    assert [a["name"] for a in added] == ["mail.eml", "shot.png"]
    assert thehive.alert.find_attachments(alert["_id"]) == added
    assert "_updatedAt" in thehive.alert.get(alert["_id"])

    target = tmp_path / "back.eml"
    with pytest.warns(DeprecationWarning):
        thehive.alert.download_attachment(alert["_id"], added[0]["_id"], str(target))
    assert target.read_bytes() == b"From: x"
    # the organisation-level route serves any visible attachment
    thehive.organisation.download_attachment(added[1]["_id"], str(target))
    assert target.read_bytes() == b"\x89PNG"

    thehive.alert.delete_attachment(alert["_id"], added[0]["_id"])
    assert thehive.alert.find_attachments(alert["_id"]) == [added[1]]
    error = error_of(thehive.alert.delete_attachment, alert["_id"], added[0]["_id"])
    assert error["type"] == "NotFoundError"


def test_case_attachments(thehive, tmp_path):
    case = new_case(thehive)
    (added,) = thehive.case.add_attachment(case["_id"], [_file(tmp_path, "notes.txt", b"n")])
    assert thehive.case.find_attachments(case["_id"]) == [added]
    assert "_updatedAt" in thehive.case.get(case["_id"])
    filtered = query(
        thehive,
        {"_name": "getCase", "idOrName": case["_id"]},
        {"_name": "attachments"},
        {"_name": "filter", "_eq": {"_field": "hashes", "_value": hashlib.md5(b"n").hexdigest()}},
    )
    assert filtered == [added]
    target = tmp_path / "out"
    with pytest.warns(DeprecationWarning):
        thehive.case.download_attachment(case["_id"], added["_id"], str(target))
    assert target.read_bytes() == b"n"
    # an attachment of another case is not found through this case
    other = new_case(thehive)
    error = error_of(thehive.case.delete_attachment, other["_id"], added["_id"])
    assert error["type"] == "NotFoundError"
    thehive.case.delete_attachment(case["_id"], added["_id"])
    assert thehive.case.find_attachments(case["_id"]) == []


def test_observable_files_are_not_case_attachments(thehive, tmp_path):
    case = new_case(thehive)
    thehive.observable.create_in_case(
        case["_id"], {"dataType": "file"}, observable_path=_file(tmp_path, "s.bin", b"sample")
    )
    assert thehive.case.find_attachments(case["_id"]) == []


def test_inline_view_etag_and_headers(server, fresh_org, tmp_path):
    org, client = fresh_org
    (attachment,) = client.organisation.add_attachment([_file(tmp_path, "é-doc.txt", b"hi")])
    http = server.http(org)
    url = f"{server.url}/api/v1/attachment/{attachment['_id']}"
    first = http.get(url)
    assert first.status_code == 200 and first.content == b"hi"
    assert first.headers["Content-Type"] == "text/plain"
    assert first.headers["Content-Length"] == "2"
    assert first.headers["Content-Disposition"].startswith("inline; filename=")
    assert "filename*=UTF-8''%C3%A9-doc.txt" in first.headers["Content-Disposition"]
    etag = first.headers["ETag"]
    again = http.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    changed = http.get(url, headers={"If-None-Match": '"something-else"'})
    assert changed.status_code == 200
    # the storage id (sha256) works in place of the _id
    by_hash = http.get(f"{url.rsplit('/', 1)[0]}/{attachment['id']}/download")
    assert by_hash.content == b"hi"
    assert by_hash.headers["Content-Disposition"] == (
        "attachment; filename=\"_-doc.txt\"; filename*=UTF-8''%C3%A9-doc.txt"
    )


def test_bad_uploads_are_4xx(server, thehive):
    http = server.http("main-org")
    case = new_case(thehive)
    for path in ("/api/v1/attachment", f"/api/v1/case/{case['_id']}/attachments"):
        as_json = http.post(server.url + path, json={"attachments": []})
        assert as_json.status_code == 400 and as_json.json()["type"] == "BadRequest"
        no_file = http.post(server.url + path, files={"other": (None, "x")})
        assert no_file.status_code == 400
    assert thehive.case.find_attachments(case["_id"]) == []
    bad_flag = http.post(
        server.url + "/api/v1/attachment",
        data={"canRename": "maybe"},
        files={"attachments": ("x.txt", b"x", "text/plain")},
    )
    assert bad_flag.status_code == 400


def test_another_organisation_cannot_reach_them(thehive, fresh_org, tmp_path):
    _org, outsider = fresh_org
    alert, case = new_alert(thehive), new_case(thehive)
    (alert_file,) = thehive.alert.add_attachment(alert["_id"], [_file(tmp_path, "a.txt", b"a")])
    (case_file,) = thehive.case.add_attachment(case["_id"], [_file(tmp_path, "c.txt", b"c")])
    (org_file,) = thehive.organisation.add_attachment([_file(tmp_path, unique("o"), b"o")])
    target = _file(tmp_path, "stolen", b"")
    for attachment in (alert_file, case_file, org_file):
        for call, args in (
            (outsider.organisation.download_attachment, (attachment["_id"], target)),
            (outsider.organisation.delete_attachment, (attachment["_id"],)),
        ):
            assert error_of(call, *args)["type"] == "NotFoundError"
    assert error_of(outsider.alert.delete_attachment, alert["_id"], alert_file["_id"])
    assert error_of(outsider.case.delete_attachment, case["_id"], case_file["_id"])
    assert error_of(outsider.alert.add_attachment, alert["_id"], [target])["type"] == (
        "NotFoundError"
    )
    assert outsider.organisation.find_attachments("main-org") == []
    # and the owner still has them all
    assert thehive.alert.find_attachments(alert["_id"]) == [alert_file]
    assert thehive.case.find_attachments(case["_id"]) == [case_file]
    thehive.organisation.delete_attachment(org_file["_id"])


@pytest.fixture(scope="module")
def small_server(tmp_path_factory):
    """A server whose upload limit is 1 KiB (SQLite: the limit does not depend on storage)."""
    srv = Server(
        tmp_path_factory.mktemp("small-uploads"), extra_env={"PROPOLIS_MAX_UPLOAD_BYTES": "1024"}
    )
    srv.start()
    srv.init_main_org()
    yield srv
    srv.stop()


def test_uploads_over_the_limit_are_413_and_store_nothing(small_server, tmp_path):
    client = small_server.client(organisation="main-org")
    big = _file(tmp_path, "big.bin", b"x" * 5000)
    small = _file(tmp_path, "small.bin", b"y" * 10)
    error = error_of(client.organisation.add_attachment, [small, big])
    assert error["type"] == "BadRequest"
    assert client.organisation.find_attachments("main-org") == []
    stored = list((small_server.data_dir / "attachments").rglob("*"))
    assert not [p for p in stored if p.is_file()]
    # a chunked upload (no Content-Length) is cut off while streaming, with the same answer
    http = small_server.http("main-org")

    def chunks():
        body = (
            b'--b\r\nContent-Disposition: form-data; name="attachments"; filename="c.bin"\r\n'
            b"Content-Type: application/octet-stream\r\n\r\n" + b"z" * 4000 + b"\r\n--b--\r\n"
        )
        yield from (body[i : i + 500] for i in range(0, len(body), 500))

    response = http.post(
        small_server.url + "/api/v1/attachment",
        data=chunks(),
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    )
    assert response.status_code == 413, response.text
    assert client.organisation.find_attachments("main-org") == []
    assert requests.get(small_server.url + "/api/status", timeout=5).ok
