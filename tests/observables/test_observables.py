"""Observables in cases and alerts (spec §6), through the real thehive4py client."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest
import pyzipper
from thehive4py.errors import TheHiveError
from thehive4py.query.filters import Eq, Like
from thehive4py.query.sort import Asc

from propolis.attachments.zipcrypto import encrypted_zip
from tests.observables.helpers import error_of, new_alert, new_case, query, unique


def _file(tmp_path: Path, name: str, content: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(content)
    return str(path)


def _zip(members: dict[str, bytes], password: bytes | None = None, aes: bool = False) -> bytes:
    buffer = io.BytesIO()
    if aes:
        with pyzipper.AESZipFile(buffer, "w", encryption=pyzipper.WZ_AES) as archive:
            archive.setpassword(password)
            for name, data in members.items():
                archive.writestr(name, data)
    elif password:  # a single-entry ZipCrypto archive, the kind malware is exchanged in
        ((name, data),) = members.items()
        buffer.write(b"".join(encrypted_zip(name, [data], len(data), password=password)))
    else:
        with zipfile.ZipFile(buffer, "w") as archive:
            for name, data in members.items():
                archive.writestr(name, data)
    return buffer.getvalue()


# --------------------------------------------------------------------------- creation


def test_one_observable_per_value_and_blank_values_skipped(thehive):
    case = new_case(thehive)
    created = thehive.observable.create_in_case(
        case["_id"], {"dataType": "ip", "data": ["10.0.0.1", "  ", "", "10.0.0.2"], "tags": ["t1"]}
    )
    assert [o["data"] for o in created] == ["10.0.0.1", "10.0.0.2"]
    first = created[0]
    assert first["_type"] == "Observable" and first["dataType"] == "ip"
    assert first["tags"] == ["t1"] and first["tlp"] == 2 and first["tlpLabel"] == "AMBER"
    assert first["ioc"] is False and first["sighted"] is False and first["reports"] == {}
    assert first["startDate"] == first["_createdAt"] and first["extraData"] == {}
    # one rendering everywhere: create == GET == traversal == listObservable
    assert thehive.observable.get(first["_id"]) == first
    assert thehive.case.find_observables(case["_id"], sortby=Asc("_createdAt")) == created
    listed = thehive.observable.find(filters=Eq("_id", first["_id"]))
    assert listed == [first]


def test_alert_observables_update_the_alert(thehive):
    alert = new_alert(thehive)
    assert alert["observableCount"] == 0
    created = thehive.alert.create_observable(
        alert["_id"], {"dataType": "domain", "data": "example.org", "message": "seen in mail"}
    )
    assert created[0]["message"] == "seen in mail"
    after = thehive.alert.get(alert["_id"])
    assert after["observableCount"] == 1
    assert after["_updatedBy"] == "admin@thehive.local" and "_updatedAt" in after
    assert thehive.alert.find_observables(alert["_id"]) == created


def test_a_file_observable_downloads_raw_and_as_encrypted_zip(thehive, tmp_path):
    content = b"MZ\x90\x00 not really malware " + bytes(range(256))
    path = _file(tmp_path, "dropper.exe", content)
    case = new_case(thehive)
    (observable,) = thehive.observable.create_in_case(
        case["_id"], {"dataType": "file", "message": "sample"}, observable_path=path
    )
    attachment = observable["attachment"]
    assert "data" not in observable
    assert attachment["name"] == "dropper.exe" and attachment["name"] in path
    assert attachment["size"] == len(content)
    assert attachment["hashes"] == [
        hashlib.sha256(content).hexdigest(),
        hashlib.sha1(content).hexdigest(),
        hashlib.md5(content).hexdigest(),
    ]
    assert attachment["id"] == hashlib.sha256(content).hexdigest()
    assert thehive.observable.get(observable["_id"]) == observable

    raw = tmp_path / "raw.bin"
    thehive.observable.download_attachment(observable["_id"], attachment["_id"], str(raw))
    assert raw.read_bytes() == content

    zipped = tmp_path / "sample.zip"
    thehive.observable.download_attachment(
        observable["_id"], attachment["_id"], str(zipped), as_zip=True
    )
    with zipfile.ZipFile(zipped) as archive:
        assert archive.namelist() == ["dropper.exe"]
        assert archive.read("dropper.exe", pwd=b"malware") == content


def test_download_headers_and_storage_id(server, thehive, tmp_path):
    case = new_case(thehive)
    (observable,) = thehive.observable.create_in_case(
        case["_id"], {"dataType": "file"}, observable_path=_file(tmp_path, "n.txt", b"hello")
    )
    http = server.http("main-org")
    base = f"{server.url}/api/v1/observable/{observable['_id']}/attachment"
    response = http.get(f"{base}/{observable['attachment']['id']}/download")
    assert response.status_code == 200 and response.content == b"hello"
    assert response.headers["Content-Type"] == "text/plain"
    assert response.headers["Content-Length"] == "5"
    assert response.headers["Content-Disposition"] == 'attachment; filename="n.txt"'
    zipped = http.get(f"{base}/{observable['attachment']['_id']}/download?asZip=True")
    assert zipped.headers["Content-Type"] == "application/zip"
    assert zipped.headers["Content-Disposition"] == 'attachment; filename="n.txt.zip"'
    assert int(zipped.headers["Content-Length"]) == len(zipped.content)
    # an attachment of another observable is not this observable's file
    other = thehive.observable.create_in_case(
        case["_id"], {"dataType": "file"}, observable_path=_file(tmp_path, "o.txt", b"other")
    )[0]
    wrong = http.get(f"{base}/{other['attachment']['_id']}/download")
    assert wrong.status_code == 404 and wrong.json()["type"] == "NotFoundError"


@pytest.mark.parametrize(
    ("password", "aes"), [(None, False), (b"infected", False), (b"infected", True)]
)
def test_a_zip_upload_becomes_one_observable_per_file(thehive, tmp_path, password, aes):
    members = {"a.exe": b"first sample", "b.dll": b"second sample"}
    if password and not aes:
        members = {"a.exe": b"first sample"}
    archive = _file(tmp_path, "samples.zip", _zip(members, password, aes))
    alert = new_alert(thehive)
    body = {"dataType": "file", "isZip": True, "tags": ["zip"]}
    if password:
        body["zipPassword"] = password.decode()
    created = thehive.observable.create_in_alert(alert["_id"], body, observable_path=archive)
    assert sorted(o["attachment"]["name"] for o in created) == sorted(members)
    assert all(o["tags"] == ["zip"] for o in created)
    for observable in created:
        target = tmp_path / ("out-" + observable["attachment"]["name"])
        thehive.observable.download_attachment(
            observable["_id"], observable["attachment"]["_id"], str(target)
        )
        assert target.read_bytes() == members[observable["attachment"]["name"]]
    assert thehive.alert.get(alert["_id"])["observableCount"] == len(members)


def test_bad_zips_are_rejected_and_create_nothing(thehive, tmp_path):
    alert = new_alert(thehive)
    protected = _file(tmp_path, "p.zip", _zip({"a.exe": b"x" * 100}, b"infected"))
    for body, path in (
        ({"dataType": "file", "isZip": True, "zipPassword": "wrong"}, protected),
        ({"dataType": "file", "isZip": True}, protected),
        ({"dataType": "file", "isZip": True}, _file(tmp_path, "no.zip", b"not a zip at all")),
    ):
        error = error_of(
            thehive.observable.create_in_alert, alert["_id"], body, observable_path=path
        )
        assert error["type"] == "BadRequest"
    assert thehive.alert.find_observables(alert["_id"]) == []
    assert thehive.alert.get(alert["_id"])["observableCount"] == 0


def test_re_adding_an_observable_merges_into_the_existing_one(thehive):
    """TheHive 5.5: adding a value the case already holds succeeds and leaves one observable,
    with the tags merged and the flags, message, TLP and PAP taken as sent."""
    case = new_case(thehive)
    (first,) = thehive.observable.create_in_case(
        case["_id"],
        {"dataType": "domain", "data": "dup.example", "tags": ["a"], "message": "old", "tlp": 1},
    )
    again = thehive.observable.create_in_case(
        case["_id"],
        {
            "dataType": "domain",
            "data": ["dup.example", "new.example"],
            "tags": ["b", "a"],
            "message": "new",
            "tlp": 3,
            "pap": 0,
            "ioc": True,
            "sighted": True,
            "ignoreSimilarity": True,
        },
    )
    assert [o["data"] for o in again] == ["dup.example", "new.example"]
    merged = again[0]
    assert merged["_id"] == first["_id"]
    assert (merged["tags"], merged["message"], merged["tlp"], merged["pap"]) == (
        ["a", "b"],
        "new",
        3,
        0,
    )
    assert merged["ioc"] and merged["sighted"] and merged["ignoreSimilarity"]
    assert thehive.observable.get(first["_id"]) == merged
    found = thehive.case.find_observables(case["_id"])
    assert sorted(o["data"] for o in found) == ["dup.example", "new.example"]


def test_re_adding_without_fields_keeps_what_the_observable_has(thehive):
    case = new_case(thehive)
    body = {"dataType": "ip", "data": "10.9.8.7", "tags": ["kept"], "ioc": True, "tlp": 3}
    (first,) = thehive.observable.create_in_case(case["_id"], body)
    (again,) = thehive.observable.create_in_case(
        case["_id"], {"dataType": "ip", "data": "10.9.8.7"}
    )
    assert again["_id"] == first["_id"]
    assert (again["tags"], again["ioc"], again["tlp"]) == (["kept"], True, 3)
    # a value repeated in one request is one observable too
    twice = thehive.observable.create_in_case(
        case["_id"], {"dataType": "ip", "data": ["10.1.1.1", "10.1.1.1"]}
    )
    assert len(twice) == 1
    assert len(thehive.case.find_observables(case["_id"])) == 2
    # the same value in another case is another observable
    other = new_case(thehive)
    (elsewhere,) = thehive.observable.create_in_case(
        other["_id"], {"dataType": "ip", "data": "10.9.8.7"}
    )
    assert elsewhere["_id"] != first["_id"] and elsewhere["tags"] == []


def test_re_adding_in_an_alert_and_a_file_merges_too(thehive, tmp_path):
    alert = new_alert(thehive)
    body = {"dataType": "domain", "data": "example.com", "tags": ["x"]}
    (first,) = thehive.observable.create_in_alert(alert["_id"], body)
    (again,) = thehive.observable.create_in_alert(
        alert["_id"], {"dataType": "domain", "data": "example.com", "tags": ["y"], "sighted": True}
    )
    assert again["_id"] == first["_id"] and again["tags"] == ["x", "y"] and again["sighted"]
    assert thehive.alert.get(alert["_id"])["observableCount"] == 1
    path = _file(tmp_path, "same.bin", b"same bytes")
    (file_first,) = thehive.observable.create_in_alert(
        alert["_id"], {"dataType": "file", "message": "one"}, observable_path=path
    )
    (file_again,) = thehive.observable.create_in_alert(
        alert["_id"], {"dataType": "file", "message": "two", "ioc": True}, observable_path=path
    )
    assert file_again["_id"] == file_first["_id"]
    assert file_again["message"] == "two" and file_again["ioc"]
    assert file_again["attachment"]["id"] == file_first["attachment"]["id"]
    assert len(thehive.alert.find_observables(alert["_id"])) == 2
    assert thehive.alert.get(alert["_id"])["observableCount"] == 2


def test_re_adding_is_audited_as_an_update(thehive):
    case = new_case(thehive)
    (first,) = thehive.observable.create_in_case(case["_id"], {"dataType": "other", "data": "v"})
    thehive.observable.create_in_case(
        case["_id"], {"dataType": "other", "data": "v", "tags": ["t"]}
    )
    audits = query(
        thehive,
        {"_name": "listAudit"},
        {"_name": "filter", "_eq": {"_field": "objectId", "_value": first["_id"]}},
    )
    assert sorted(a["action"] for a in audits) == ["create", "update"]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"dataType": "ip", "data": "300.1.1.1"}, "not an IPv4 or IPv6 address"),
        ({"dataType": "ip", "data": ["10.0.0.9", "host.example"]}, "not an IPv4"),
        ({"dataType": "hash", "data": "abc123"}, "MD5, SHA-1, SHA-256 or SHA-512"),
        ({"dataType": "hash", "data": "z" * 32}, "MD5, SHA-1, SHA-256 or SHA-512"),
        ({"dataType": "mail", "data": "not-an-address"}, "e-mail address"),
        ({"dataType": "domain", "data": "bad domain.example"}, "not a domain name"),
        ({"dataType": "url", "data": "http://x y"}, "whitespace"),
        ({"dataType": "no-such-type", "data": "x"}, "no-such-type"),
        ({"dataType": "other", "data": ["", " "]}, "data"),
        ({"dataType": "other", "data": 12}, "data"),
        ({"dataType": "file", "data": "x"}, "data is not allowed"),
        ({"dataType": "file"}, "needs a file"),
        ({"data": "x"}, "dataType"),
        ({"dataType": "other", "data": "x", "tlp": 9}, "tlp"),
    ],
)
def test_invalid_input_is_a_clear_4xx_and_changes_nothing(thehive, body, fragment):
    case = new_case(thehive)
    error = error_of(thehive.observable.create_in_case, case["_id"], body)
    assert fragment in error["message"]
    assert thehive.case.find_observables(case["_id"]) == []


def test_valid_values_of_checked_types_are_accepted(thehive):
    case = new_case(thehive)
    values = {
        "ip": ["192.168.1.1", "2001:db8::1", "10.0.0.0/8"],
        "hash": ["d41d8cd98f00b204e9800998ecf8427e", "A" * 40, "0" * 64, "f" * 128],
        "mail": ["john.doe@example.com"],
        "domain": ["example.com", "xn--bcher-kva.example", "sub_domain.example.", "*.example"],
        "url": ["example.com", "https://example.com/a?b=c"],
        "other": ["anything goes here, even spaces"],
    }
    for data_type, data in values.items():
        created = thehive.observable.create_in_case(
            case["_id"], {"dataType": data_type, "data": data}
        )
        assert [o["data"] for o in created] == data


def test_unknown_container_is_404(thehive):
    for call in (thehive.observable.create_in_case, thehive.observable.create_in_alert):
        error = error_of(call, "~999999999", {"dataType": "ip", "data": "1.1.1.1"})
        assert error["type"] == "NotFoundError"


# --------------------------------------------------------------------------- update / delete


def test_update_fields_and_data_type_rule(thehive):
    case = new_case(thehive)
    (observable,) = thehive.observable.create_in_case(
        case["_id"], {"dataType": "domain", "data": "upd.example", "tags": ["a", "b"]}
    )
    thehive.observable.update(
        observable["_id"],
        {
            "dataType": "fqdn",
            "message": "now an fqdn",
            "tlp": 3,
            "pap": 1,
            "ioc": True,
            "sighted": True,
            "sightedAt": 1234,
            "ignoreSimilarity": True,
            "addTags": ["c"],
            "removeTags": ["a"],
        },
    )
    after = thehive.observable.get(observable["_id"])
    assert after["dataType"] == "fqdn" and after["message"] == "now an fqdn"
    assert (after["tlp"], after["tlpLabel"], after["pap"], after["papLabel"]) == (
        3,
        "AMBER+STRICT",
        1,
        "GREEN",
    )
    assert after["ioc"] and after["sighted"] and after["sightedAt"] == 1234
    assert after["ignoreSimilarity"] is True and after["tags"] == ["b", "c"]
    assert after["_updatedBy"] == "admin@thehive.local" and after["data"] == "upd.example"

    error = error_of(thehive.observable.update, observable["_id"], {"dataType": "file"})
    assert error["message"] == "Can not update dataType: isAttachment does not match"
    for bad in ({"tlp": 7}, {"ioc": "yes"}, {"dataType": "no-such-type"}, {"tags": "x" * 200}):
        error_of(thehive.observable.update, observable["_id"], bad)
    assert thehive.observable.get(observable["_id"]) == after


def test_bulk_update_changes_all_or_nothing(thehive):
    case = new_case(thehive)
    created = thehive.observable.create_in_case(
        case["_id"], {"dataType": "domain", "data": ["b1.example", "b2.example"]}
    )
    ids = [o["_id"] for o in created]
    thehive.observable.bulk_update({"ids": ids, "dataType": "other", "message": "bulk"})
    for observable_id in ids:
        after = thehive.observable.get(observable_id)
        assert (after["dataType"], after["message"]) == ("other", "bulk")
    error = error_of(
        thehive.observable.bulk_update, {"ids": [ids[0], "~999999999"], "message": "partial"}
    )
    assert error["type"] == "NotFoundError"
    assert thehive.observable.get(ids[0])["message"] == "bulk"


def test_delete_removes_it_and_decrements_the_alert(thehive):
    alert = new_alert(thehive)
    created = thehive.observable.create_in_alert(
        alert["_id"], {"dataType": "ip", "data": ["10.1.0.1", "10.1.0.2"]}
    )
    thehive.observable.delete(created[0]["_id"])
    with pytest.raises(TheHiveError):
        thehive.observable.get(created[0]["_id"])
    assert thehive.alert.get(alert["_id"])["observableCount"] == 1
    assert thehive.alert.find_observables(alert["_id"]) == [created[1]]
    error_of(thehive.observable.delete, created[0]["_id"])


# --------------------------------------------------------------------------- queries


def test_query_fields_including_attachment_ones(thehive, tmp_path):
    case = new_case(thehive)
    content = b"query me " + unique().encode()
    (file_observable,) = thehive.observable.create_in_case(
        case["_id"],
        {"dataType": "file"},
        observable_path=_file(tmp_path, "query-me.txt", content),
    )
    thehive.observable.create_in_case(
        case["_id"], {"dataType": "other", "data": "plain", "tags": ["q"]}
    )
    md5 = hashlib.md5(content).hexdigest()
    sha256 = hashlib.sha256(content).hexdigest()
    in_case = [{"_name": "getCase", "idOrName": case["_id"]}, {"_name": "observables"}]

    def ids(*filters):
        ops = in_case + [{"_name": "filter", **f} for f in filters]
        return [o["_id"] for o in query(thehive, *ops)]

    expected = [file_observable["_id"]]
    assert ids({"_eq": {"_field": "attachment.hashes", "_value": md5}}) == expected
    assert ids({"_eq": {"_field": "attachment.id", "_value": sha256}}) == expected
    assert ids({"_eq": {"_field": "attachment.name", "_value": "query-me.txt"}}) == expected
    assert ids({"_eq": {"_field": "attachment.size", "_value": len(content)}}) == expected
    assert ids({"_eq": {"_field": "attachment.contentType", "_value": "text/plain"}}) == expected
    assert ids({"_has": "attachment.name"}) == expected
    assert ids({"_eq": {"_field": "dataType", "_value": "file"}}) == expected
    assert len(ids({"_eq": {"_field": "tags", "_value": "q"}})) == 1
    assert len(ids({"_eq": {"_field": "tlpLabel", "_value": "AMBER"}})) == 2
    assert thehive.observable.count(filters=Like("attachment.name", "query-me")) >= 1
    sorted_desc = query(thehive, *in_case, {"_name": "sort", "_fields": [{"dataType": "desc"}]})
    assert [o["dataType"] for o in sorted_desc] == ["other", "file"]
    bad = error_of(
        query, thehive, *in_case, {"_name": "filter", "_eq": {"_field": "nope", "_value": 1}}
    )
    assert bad["type"] == "BadRequest"


def test_similarity_seen_summary_and_links(thehive):
    value = unique("shared") + ".example"
    first, second = new_alert(thehive), new_alert(thehive)
    case = new_case(thehive)
    base = thehive.observable.create_in_alert(first["_id"], {"dataType": "domain", "data": value})[
        0
    ]
    thehive.observable.create_in_alert(
        second["_id"], {"dataType": "domain", "data": value, "ioc": True}
    )
    thehive.observable.create_in_case(case["_id"], {"dataType": "domain", "data": value})
    # the same text under another type is not "the same observable"
    thehive.observable.create_in_case(case["_id"], {"dataType": "other", "data": value})

    (rendered,) = query(
        thehive,
        {"_name": "getObservable", "idOrName": base["_id"]},
        {"_name": "page", "from": 0, "to": 1, "extraData": ["seenSummary", "links", "isOwner"]},
    )
    extra = rendered["extraData"]
    assert extra["seenSummary"]["count"] == 2 and extra["seenSummary"]["ioc"] is True
    assert extra["seenSummary"]["cases"] == 1 and extra["seenSummary"]["alerts"] == 1
    assert sorted(link["_type"] for link in extra["links"]) == ["Alert", "Case"]
    assert {link["_id"] for link in extra["links"]} == {second["_id"], case["_id"]}
    assert extra["isOwner"] is True
    assert {k: v for k, v in rendered.items() if k != "extraData"} == {
        k: v for k, v in base.items() if k != "extraData"
    }

    similar = query(
        thehive, {"_name": "getObservable", "idOrName": base["_id"]}, {"_name": "similar"}
    )
    assert len(similar) == 2 and all(o["data"] == value for o in similar)
    parents = query(
        thehive, {"_name": "getObservable", "idOrName": base["_id"]}, {"_name": "alert"}
    )
    assert [a["_id"] for a in parents] == [first["_id"]]

    # ignoreSimilarity takes an observable out of every similarity computation
    case_copy = thehive.case.find_observables(case["_id"], filters=Eq("dataType", "domain"))[0]
    thehive.observable.update(case_copy["_id"], {"ignoreSimilarity": True})
    similar = query(
        thehive, {"_name": "getObservable", "idOrName": base["_id"]}, {"_name": "similar"}
    )
    assert len(similar) == 1


def test_similar_in_between_containers(thehive):
    value = unique("sim") + ".example"
    alert, other_alert = new_alert(thehive), new_alert(thehive)
    thehive.observable.create_in_alert(alert["_id"], {"dataType": "domain", "data": value})
    thehive.observable.create_in_alert(
        alert["_id"], {"dataType": "domain", "data": "only-here.example"}
    )
    thehive.observable.create_in_alert(other_alert["_id"], {"dataType": "domain", "data": value})
    similar = thehive.alert.get_similar_observables(alert["_id"], other_alert["_id"])
    assert [o["data"] for o in similar] == [value]


# --------------------------------------------------------------------------- tenancy


def test_another_organisation_neither_sees_nor_changes_them(thehive, fresh_org, tmp_path):
    _name, outsider = fresh_org
    case, alert = new_case(thehive), new_alert(thehive)
    (in_case,) = thehive.observable.create_in_case(
        case["_id"], {"dataType": "file"}, observable_path=_file(tmp_path, "secret.bin", b"s3")
    )
    (in_alert,) = thehive.observable.create_in_alert(
        alert["_id"], {"dataType": "ip", "data": "10.9.9.9"}
    )
    for observable in (in_case, in_alert):
        for call, args in (
            (outsider.observable.get, (observable["_id"],)),
            (outsider.observable.update, (observable["_id"], {"message": "mine"})),
            (outsider.observable.delete, (observable["_id"],)),
        ):
            assert error_of(call, *args)["type"] == "NotFoundError"
    error = error_of(
        outsider.observable.download_attachment,
        in_case["_id"],
        in_case["attachment"]["_id"],
        str(tmp_path / "stolen"),
    )
    assert error["type"] == "NotFoundError"
    assert error_of(outsider.observable.bulk_update, {"ids": [in_alert["_id"]], "ioc": True})
    assert outsider.observable.find(filters=Eq("_id", in_case["_id"])) == []
    assert outsider.observable.count() == 0
    for call, ref in (
        (outsider.observable.create_in_case, case["_id"]),
        (outsider.observable.create_in_alert, alert["_id"]),
    ):
        assert error_of(call, ref, {"dataType": "other", "data": "x"})["type"] == "NotFoundError"
    # and nothing changed on the owner's side
    assert thehive.observable.get(in_alert["_id"]) == in_alert
    assert thehive.observable.get(in_case["_id"]) == in_case


def test_multipart_without_json_defaults_to_a_file(server, thehive):
    case = new_case(thehive)
    response = server.http("main-org").post(
        f"{server.url}/api/v1/case/{case['_id']}/observable",
        files={"attachment": ("bare.bin", b"\x00\x01", "application/octet-stream")},
    )
    assert response.status_code == 201, response.text
    (observable,) = response.json()
    assert observable["dataType"] == "file" and observable["attachment"]["name"] == "bare.bin"
    typed = server.http("main-org").post(
        f"{server.url}/api/v1/case/{case['_id']}/observable?dataType=other",
        files={"_json": (None, json.dumps({"data": "via query param"}))},
    )
    assert typed.status_code == 201, typed.text
    assert typed.json()[0]["dataType"] == "other"


# --------------------------------------------------------------------------- copies into cases


def test_promoting_an_alert_copies_its_observables_and_files(thehive, tmp_path):
    alert = new_alert(thehive)
    thehive.observable.create_in_alert(
        alert["_id"], {"dataType": "ip", "data": "10.7.7.7", "tags": ["from-alert"]}
    )
    (file_observable,) = thehive.observable.create_in_alert(
        alert["_id"], {"dataType": "file"}, observable_path=_file(tmp_path, "p.bin", b"payload")
    )
    case = thehive.alert.promote_to_case(alert["_id"])
    copies = thehive.case.find_observables(case["_id"], sortby=Asc("_createdAt"))
    assert [(o["dataType"], o.get("data")) for o in copies] == [("ip", "10.7.7.7"), ("file", None)]
    copied_file = copies[1]["attachment"]
    assert copied_file["_id"] != file_observable["attachment"]["_id"]
    assert copied_file["hashes"] == file_observable["attachment"]["hashes"]
    target = tmp_path / "copy.bin"
    thehive.observable.download_attachment(copies[1]["_id"], copied_file["_id"], str(target))
    assert target.read_bytes() == b"payload"
    # merging a second alert with the same IP merges its tags instead of duplicating it
    second = new_alert(thehive)
    thehive.observable.create_in_alert(
        second["_id"], {"dataType": "ip", "data": "10.7.7.7", "tags": ["second"]}
    )
    thehive.alert.merge_into_case(second["_id"], case["_id"])
    ips = thehive.case.find_observables(case["_id"], filters=Eq("dataType", "ip"))
    assert len(ips) == 1 and ips[0]["tags"] == ["from-alert", "second"]
