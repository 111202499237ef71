"""Case archives: export to a password-protected ``.thar`` file and import as a new case."""

from __future__ import annotations

import pytest
import pyzipper
from thehive4py.errors import TheHiveError

from tests.cases.conftest import assert_error, new_case


@pytest.fixture
def full_case(thehive, tmp_path):
    """A case holding a bit of everything."""
    case = new_case(thehive, tags=["exported"], severity=3, summary="sum")
    case_id = case["_id"]
    task = thehive.case.create_task(case_id, {"title": "analyse", "group": "g"})
    log_file = tmp_path / "log.txt"
    log_file.write_text("log attachment")
    thehive.task_log.create(task["_id"], {"message": "a log", "attachments": [str(log_file)]})
    thehive.case.create_observable(
        case_id, {"dataType": "domain", "data": "thar.example", "ioc": True}
    )
    sample = tmp_path / "sample.bin"
    sample.write_bytes(b"\x00binary sample")
    thehive.case.create_observable(case_id, {"dataType": "file"}, observable_path=str(sample))
    thehive.case.create_page(case_id, {"title": "notes", "content": "# notes", "category": "c"})
    thehive.case.create_procedure(case_id, {"patternId": "T1059", "occurDate": 1000})
    thehive.comment.create_in_case(case_id, {"message": "a comment"})
    thehive.timeline.create_event(case_id, {"date": 1000, "title": "event"})
    attachment = tmp_path / "report.txt"
    attachment.write_text("case attachment")
    thehive.case.add_attachment(case_id, [str(attachment)])
    thehive.case.link_url(case_id, {"type": "ticket", "url": "https://example.com/t"})
    return thehive.case.get(case_id)


def test_export_then_import(thehive, fresh_org, full_case, tmp_path):
    path = tmp_path / "case.thar"
    thehive.case.export_to_file(full_case["_id"], "s3cret", str(path))
    with pyzipper.AESZipFile(path) as archive:  # really password protected
        with pytest.raises(RuntimeError):
            archive.read("case.json")

    _name, other = fresh_org
    result = other.case.import_from_file({"password": "s3cret"}, str(path))
    imported = result["case"]
    assert imported["_id"] != full_case["_id"] and imported["number"] == 1
    for key in ("title", "description", "severity", "tags", "summary", "tlp", "pap"):
        assert imported[key] == full_case[key]
    assert other.case.get(imported["_id"]) == imported

    case_id = imported["_id"]
    tasks = other.case.find_tasks(case_id)
    assert [(t["title"], t["group"]) for t in tasks] == [("analyse", "g")]
    logs = other.task.find_logs(tasks[0]["_id"])
    assert [log["message"] for log in logs] == ["a log"]
    assert [a["name"] for a in logs[0]["attachments"]] == ["log.txt"]
    observables = other.case.find_observables(case_id)
    assert sorted(o["dataType"] for o in observables) == ["domain", "file"]
    assert len(result["observables"]) == 2
    file_observable = next(o for o in observables if o["dataType"] == "file")
    target = tmp_path / "downloaded"
    other.observable.download_attachment(
        file_observable["_id"], file_observable["attachment"]["_id"], str(target)
    )
    assert target.read_bytes() == b"\x00binary sample"
    assert [p["title"] for p in other.case.find_pages(case_id)] == ["notes"]
    assert [p["patternId"] for p in other.case.find_procedures(case_id)] == ["T1059"]
    assert [c["message"] for c in other.case.find_comments(case_id)] == ["a comment"]
    assert [a["name"] for a in other.case.find_attachments(case_id)] == ["report.txt"]
    kinds = [e["kind"] for e in other.timeline.get(case_id)["events"]]
    assert "CustomEvent" in kinds


def test_import_with_a_wrong_password(thehive, fresh_org, tmp_path, server):
    case = new_case(thehive)
    path = tmp_path / "case.thar"
    thehive.case.export_to_file(case["_id"], "right", str(path))
    name, other = fresh_org
    with pytest.raises(TheHiveError, match="BadRequest"):
        other.case.import_from_file({"password": "wrong"}, str(path))
    assert other.case.count() == 0


def test_import_of_garbage_is_rejected(fresh_org, tmp_path, server):
    name, other = fresh_org
    path = tmp_path / "garbage.thar"
    path.write_bytes(b"not a zip at all")
    with pytest.raises(TheHiveError, match="BadRequest"):
        other.case.import_from_file({"password": "x"}, str(path))
    http = server.http(name)
    response = http.post(server.url + "/api/v1/case/import", json={"password": "x"})
    assert_error(response, 400)
    assert other.case.count() == 0


def test_export_needs_a_password_and_a_visible_case(thehive, fresh_org, http):
    case = new_case(thehive)
    assert_error(http("GET", f"/api/v1/case/{case['_id']}/export"), 400)
    _name, other = fresh_org
    with pytest.raises(TheHiveError, match="NotFoundError"):
        other.case.export_to_file(case["_id"], "pw", "/dev/null")
    response = http("GET", f"/api/v1/case/{case['_id']}/export?password=pw")
    assert response.status_code == 200
    assert response.headers["content-disposition"].endswith('.thar"')
