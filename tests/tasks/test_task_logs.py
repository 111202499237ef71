"""Task logs (spec §9): JSON and multipart creation, attachments, update, delete, tenancy."""

from __future__ import annotations

import uuid

import pytest
from thehive4py.errors import TheHiveError


def query(client, *operations):
    return client.session.make_request("POST", "/api/v1/query", json={"query": list(operations)})


def get_log(client, log_id: str) -> list:
    return query(client, {"_name": "getLog", "idOrName": log_id})


@pytest.fixture
def task(thehive) -> dict:
    case = thehive.case.create(
        case={"title": "logs-" + uuid.uuid4().hex[:8], "description": "task log tests"}
    )
    return thehive.task.create(case_id=case["_id"], task={"title": "investigate"})


@pytest.fixture
def files(tmp_path) -> list[str]:
    paths = []
    for name, content in (("one.txt", "first file"), ("two.txt", "second file")):
        path = tmp_path / name
        path.write_text(content)
        paths.append(str(path))
    return paths


def test_create_equals_get_log(thehive, task):
    log = thehive.task_log.create(
        task_id=task["_id"],
        task_log={"message": "found it", "includeInTimeline": 1_700_000_000_000},
    )
    assert log["_type"] == "Log"
    assert log["message"] == "found it" and log["owner"] == "admin@thehive.local"
    assert log["date"] == log["_createdAt"]
    assert log["includeInTimeline"] == 1_700_000_000_000
    assert log["attachments"] == [] and log["extraData"] == {}
    assert thehive.task_log.get(task_log_id=log["_id"]) == log
    assert thehive.task.find_logs(task_id=task["_id"]) == [log]


def test_start_date_is_the_log_date(thehive, task):
    log = thehive.task.create_log(
        task_id=task["_id"], task_log={"message": "m", "startDate": 1_600_000_000_000}
    )
    assert log["date"] == 1_600_000_000_000


def test_create_with_attachments(thehive, task, files):
    # thehive4py sends the local paths in _json.attachments and the files as parts
    log = thehive.task_log.create(
        task_id=task["_id"], task_log={"message": "with files", "attachments": files}
    )
    assert sorted(a["name"] for a in log["attachments"]) == ["one.txt", "two.txt"]
    assert all(a["_type"] == "Attachment" for a in log["attachments"])
    assert thehive.task_log.get(task_log_id=log["_id"]) == log


def test_add_download_and_delete_attachments(server, thehive, task, files):
    log = thehive.task_log.create(task_id=task["_id"], task_log={"message": "m"})
    thehive.task_log.add_attachment(task_log_id=log["_id"], attachment_paths=files)
    attachments = thehive.task_log.get(task_log_id=log["_id"])["attachments"]
    assert len(attachments) == 2
    first = next(a for a in attachments if a["name"] == "one.txt")
    response = server.http().get(
        server.url + f"/api/v1/log/{log['_id']}/attachment/{first['_id']}/download"
    )
    assert response.status_code == 200 and response.content == b"first file"
    for attachment in attachments:
        thehive.task_log.delete_attachment(task_log_id=log["_id"], attachment_id=attachment["_id"])
    after = thehive.task_log.get(task_log_id=log["_id"])
    assert after.get("attachments", []) == []
    assert after["_updatedBy"] == "admin@thehive.local"


def test_attachments_traversal(thehive, task, files):
    log = thehive.task_log.create(
        task_id=task["_id"], task_log={"message": "m", "attachments": files[:1]}
    )
    found = query(thehive, {"_name": "getLog", "idOrName": log["_id"]}, {"_name": "attachments"})
    assert [a["_id"] for a in found] == [log["attachments"][0]["_id"]]


def test_update_message(thehive, task):
    log = thehive.task_log.create(task_id=task["_id"], task_log={"message": "draft"})
    thehive.task_log.update(task_log_id=log["_id"], fields={"message": "final"})
    updated = thehive.task_log.get(task_log_id=log["_id"])
    assert updated["message"] == "final" and updated["_updatedBy"] == "admin@thehive.local"


def test_delete(thehive, task):
    log = thehive.task_log.create(task_id=task["_id"], task_log={"message": "bye"})
    thehive.task_log.delete(task_log_id=log["_id"])
    with pytest.raises(TheHiveError):
        thehive.task_log.get(task_log_id=log["_id"])
    assert thehive.task.find_logs(task_id=task["_id"]) == []


def test_list_log_and_extra_data(thehive, task):
    log = thehive.task_log.create(task_id=task["_id"], task_log={"message": "listed"})
    [found] = query(
        thehive,
        {"_name": "listLog"},
        {"_name": "filter", "_id": log["_id"]},
        {"_name": "page", "from": 0, "to": 1, "extraData": ["taskId", "task"]},
    )
    assert found["extraData"]["taskId"] == task["_id"]
    assert found["extraData"]["task"]["title"] == task["title"]


@pytest.mark.parametrize("body", [{}, {"message": 5}, {"message": "m", "startDate": "now"}])
def test_bad_create_is_rejected(server, thehive, task, body):
    response = server.http().post(server.url + f"/api/v1/task/{task['_id']}/log", json=body)
    assert response.status_code == 400
    assert {"type", "message"} <= set(response.json())
    assert thehive.task.find_logs(task_id=task["_id"]) == []


def test_bad_update_changes_nothing(server, thehive, task):
    log = thehive.task_log.create(task_id=task["_id"], task_log={"message": "keep"})
    response = server.http().patch(server.url + f"/api/v1/log/{log['_id']}", json={"message": None})
    assert response.status_code == 400
    assert thehive.task_log.get(task_log_id=log["_id"]) == log


def test_adding_no_file_is_rejected(server, thehive, task):
    log = thehive.task_log.create(task_id=task["_id"], task_log={"message": "m"})
    response = server.http().post(server.url + f"/api/v1/log/{log['_id']}/attachments")
    assert response.status_code == 400
    assert thehive.task_log.get(task_log_id=log["_id"]) == log


def test_attachment_of_another_log_is_404(thehive, task, files):
    owner = thehive.task_log.create(
        task_id=task["_id"], task_log={"message": "a", "attachments": files[:1]}
    )
    other = thehive.task_log.create(task_id=task["_id"], task_log={"message": "b"})
    with pytest.raises(TheHiveError) as error:
        thehive.task_log.delete_attachment(
            task_log_id=other["_id"], attachment_id=owner["attachments"][0]["_id"]
        )
    assert error.value.response.status_code == 404
    assert thehive.task_log.get(task_log_id=owner["_id"]) == owner


def test_other_organisations_cannot_see_or_change_logs(server, thehive, task, fresh_org, files):
    log = thehive.task_log.create(
        task_id=task["_id"], task_log={"message": "secret", "attachments": files[:1]}
    )
    org, other = fresh_org
    assert get_log(other, log["_id"]) == []
    assert query(other, {"_name": "listLog"}) == []
    for call in (
        lambda: other.task_log.update(task_log_id=log["_id"], fields={"message": "hijack"}),
        lambda: other.task_log.delete(task_log_id=log["_id"]),
        lambda: other.task_log.add_attachment(task_log_id=log["_id"], attachment_paths=files),
        lambda: other.task_log.delete_attachment(
            task_log_id=log["_id"], attachment_id=log["attachments"][0]["_id"]
        ),
    ):
        with pytest.raises(TheHiveError) as error:
            call()
        assert error.value.response.status_code == 404
    download = server.http(org).get(
        server.url + f"/api/v1/log/{log['_id']}/attachment/{log['attachments'][0]['_id']}/download"
    )
    assert download.status_code == 404
    assert thehive.task_log.get(task_log_id=log["_id"]) == log
