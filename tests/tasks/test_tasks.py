"""Case tasks (spec §8): create, read, update (status dates, assignee), bulk update, delete,
queries and tenancy."""

from __future__ import annotations

import uuid

import pytest
from thehive4py.errors import TheHiveError
from thehive4py.query.filters import Eq
from thehive4py.query.sort import Asc


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def new_case(client) -> dict:
    return client.case.create(case={"title": unique("case"), "description": "tasks tests"})


def query(client, *operations):
    return client.session.make_request("POST", "/api/v1/query", json={"query": list(operations)})


@pytest.fixture
def case(thehive) -> dict:
    return new_case(thehive)


def test_create_equals_get_and_case_tasks(thehive, case):
    task = thehive.task.create(
        case_id=case["_id"],
        task={"title": unique("task"), "description": "look", "dueDate": 1_900_000_000_000},
    )
    assert task["_type"] == "Task"
    assert task["status"] == "Waiting" and task["group"] == "default" and task["order"] == 0
    assert task["flag"] is False and task["mandatory"] is False and task["extraData"] == {}
    assert "startDate" not in task and "assignee" not in task
    assert thehive.task.get(task_id=task["_id"]) == task
    assert thehive.case.find_tasks(case_id=case["_id"]) == [task]
    assert thehive.task.find(filters=Eq("title", task["title"])) == [task]


def test_list_and_count_in_a_fresh_organisation(fresh_org):
    _org, client = fresh_org
    first, second = new_case(client), new_case(client)
    tasks = [
        client.case.create_task(case_id=first["_id"], task={"title": "a"}),
        client.case.create_task(case_id=second["_id"], task={"title": "b"}),
        client.case.create_task(case_id=second["_id"], task={"title": "c"}),
    ]
    assert client.task.find(sortby=Asc("_createdAt")) == tasks
    assert client.task.count() == 3
    assert client.task.count(filters=Eq("title", "b")) == 1


def test_update_title_and_fields(thehive, case):
    task = thehive.task.create(case_id=case["_id"], task={"title": "before", "flag": False})
    thehive.task.update(
        task_id=task["_id"],
        fields={"title": "after", "flag": True, "group": "g", "order": 4, "mandatory": True},
    )
    updated = thehive.task.get(task_id=task["_id"])
    assert updated["title"] == "after" and updated["flag"] is True
    assert (updated["group"], updated["order"], updated["mandatory"]) == ("g", 4, True)
    assert updated["_updatedBy"] == "admin@thehive.local" and "_updatedAt" in updated


def test_status_sets_start_and_end_dates(thehive, case):
    task = thehive.task.create(case_id=case["_id"], task={"title": "work"})
    thehive.task.update(task_id=task["_id"], fields={"status": "InProgress"})
    started = thehive.task.get(task_id=task["_id"])
    assert started["status"] == "InProgress" and "startDate" in started
    assert "endDate" not in started
    thehive.task.update(task_id=task["_id"], fields={"status": "Completed"})
    done = thehive.task.get(task_id=task["_id"])
    assert done["startDate"] == started["startDate"]
    assert done["endDate"] >= done["startDate"]
    cancelled = thehive.task.create(case_id=case["_id"], task={"title": "x", "status": "Cancel"})
    assert "endDate" in cancelled


def test_explicit_dates_are_kept(thehive, case):
    task = thehive.task.create(
        case_id=case["_id"],
        task={"title": "t", "status": "InProgress", "startDate": 1_600_000_000_000},
    )
    assert task["startDate"] == 1_600_000_000_000


def test_assign_and_unassign(thehive, case):
    task = thehive.task.create(
        case_id=case["_id"], task={"title": "t", "assignee": "admin@thehive.local"}
    )
    assert task["assignee"] == "admin@thehive.local"
    thehive.task.update(task_id=task["_id"], fields={"assignee": None})
    assert "assignee" not in thehive.task.get(task_id=task["_id"])


def test_unknown_assignee_is_404_and_changes_nothing(thehive, case):
    task = thehive.task.create(case_id=case["_id"], task={"title": "t"})
    with pytest.raises(TheHiveError) as error:
        thehive.task.update(task_id=task["_id"], fields={"title": "x", "assignee": "nobody@x"})
    assert error.value.response.status_code == 404
    assert thehive.task.get(task_id=task["_id"]) == task


def test_bulk_update(thehive, case):
    tasks = [thehive.task.create(case_id=case["_id"], task={"title": f"t{i}"}) for i in range(3)]
    thehive.task.bulk_update(
        fields={"ids": [t["_id"] for t in tasks[:2]], "status": "InProgress", "flag": True}
    )
    after = [thehive.task.get(task_id=t["_id"]) for t in tasks]
    assert [(t["status"], t["flag"]) for t in after] == [
        ("InProgress", True),
        ("InProgress", True),
        ("Waiting", False),
    ]


def test_bulk_update_is_all_or_nothing(thehive, case):
    task = thehive.task.create(case_id=case["_id"], task={"title": "t"})
    with pytest.raises(TheHiveError) as error:
        thehive.task.bulk_update(fields={"ids": [task["_id"], "~999999999"], "title": "changed"})
    assert error.value.response.status_code == 404
    assert thehive.task.get(task_id=task["_id"]) == task


def test_delete_removes_the_task_and_its_logs(thehive, case):
    task = thehive.task.create(case_id=case["_id"], task={"title": "t"})
    log = thehive.task.create_log(task_id=task["_id"], task_log={"message": "m"})
    thehive.task.delete(task_id=task["_id"])
    with pytest.raises(TheHiveError) as error:
        thehive.task.get(task_id=task["_id"])
    assert error.value.response.status_code == 404
    assert thehive.case.find_tasks(case_id=case["_id"]) == []
    assert query(thehive, {"_name": "getLog", "idOrName": log["_id"]}) == []


def test_deleting_the_case_removes_its_tasks(thehive):
    case = new_case(thehive)
    task = thehive.task.create(case_id=case["_id"], task={"title": "t"})
    thehive.case.delete(case_id=case["_id"])
    assert thehive.task.find(filters=Eq("_id", task["_id"])) == []


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"title": ""},
        {"title": "x" * 129},
        {"title": "t", "status": "Paused"},
        {"title": "t", "flag": "yes"},
        {"title": "t", "dueDate": "tomorrow"},
        {"title": "t", "order": 1.5},
        {"title": "t", "assignee": "nobody@example.com"},
    ],
)
def test_bad_create_is_rejected(server, fresh_org, body):
    org, client = fresh_org
    case = new_case(client)
    response = server.http(org).post(server.url + f"/api/v1/case/{case['_id']}/task", json=body)
    assert 400 <= response.status_code < 500, response.text
    assert {"type", "message"} <= set(response.json())
    assert client.task.count() == 0


@pytest.mark.parametrize(
    "body", [{"status": "Done"}, {"title": None}, {"title": 5}, {"startDate": "now"}]
)
def test_bad_update_changes_nothing(server, thehive, case, body):
    task = thehive.task.create(case_id=case["_id"], task={"title": "t"})
    response = server.http().patch(server.url + f"/api/v1/task/{task['_id']}", json=body)
    assert response.status_code == 400
    assert {"type", "message"} <= set(response.json())
    assert thehive.task.get(task_id=task["_id"]) == task


def test_task_in_unknown_case_is_404(thehive):
    with pytest.raises(TheHiveError) as error:
        thehive.task.create(case_id="~999999999", task={"title": "t"})
    assert error.value.response.status_code == 404


def test_other_organisations_cannot_see_or_change_tasks(thehive, case, fresh_org):
    task = thehive.task.create(case_id=case["_id"], task={"title": unique("private")})
    _org, other = fresh_org
    for call in (
        lambda: other.task.get(task_id=task["_id"]),
        lambda: other.task.update(task_id=task["_id"], fields={"title": "hijack"}),
        lambda: other.task.bulk_update(fields={"ids": [task["_id"]], "title": "hijack"}),
        lambda: other.task.delete(task_id=task["_id"]),
        lambda: other.task.create(case_id=case["_id"], task={"title": "intruder"}),
        lambda: other.task.create_log(task_id=task["_id"], task_log={"message": "hi"}),
    ):
        with pytest.raises(TheHiveError) as error:
            call()
        assert error.value.response.status_code == 404
    assert other.task.find(filters=Eq("title", task["title"])) == []
    assert query(other, {"_name": "getTask", "idOrName": task["_id"]}) == []
    assert thehive.task.get(task_id=task["_id"]) == task
    assert thehive.case.find_tasks(case_id=case["_id"]) == [task]


def test_my_tasks_and_waiting_tasks(fresh_org):
    _org, client = fresh_org
    case = new_case(client)
    mine = client.task.create(
        case_id=case["_id"], task={"title": "mine", "assignee": "admin@thehive.local"}
    )
    waiting = client.task.create(case_id=case["_id"], task={"title": "waiting"})
    client.task.create(case_id=case["_id"], task={"title": "busy", "status": "InProgress"})
    assert [t["_id"] for t in query(client, {"_name": "myTasks"})] == [mine["_id"]]
    waiting_ids = [t["_id"] for t in query(client, {"_name": "waitingTasks"})]
    assert waiting_ids == [mine["_id"], waiting["_id"]]


def test_extra_data(thehive, case):
    task = thehive.task.create(case_id=case["_id"], task={"title": "t"})
    [rendered] = query(
        thehive,
        {"_name": "getTask", "idOrName": task["_id"]},
        {
            "_name": "page",
            "from": 0,
            "to": 1,
            "extraData": ["caseId", "case", "isOwner", "shareCount", "actionRequired", "x"],
        },
    )
    extra = rendered["extraData"]
    assert extra["caseId"] == case["_id"]
    assert extra["case"]["_id"] == case["_id"]
    assert extra["isOwner"] is True and extra["shareCount"] == 0
    assert extra["actionRequired"] is False
    assert "x" not in extra
    [back] = query(thehive, {"_name": "getTask", "idOrName": task["_id"]}, {"_name": "case"})
    assert back["_id"] == case["_id"]


def test_a_mandatory_task_completes_only_once_it_has_a_log(thehive, case):
    task = thehive.task.create(case_id=case["_id"], task={"title": "proof", "mandatory": True})
    with pytest.raises(TheHiveError) as error:
        thehive.task.update(task_id=task["_id"], fields={"status": "Completed", "flag": True})
    assert error.value.response.status_code == 400
    assert "mandatory" in error.value.response.json()["message"]
    assert thehive.task.get(task_id=task["_id"]) == task  # nothing changed, flag included
    with pytest.raises(TheHiveError):
        thehive.task.bulk_update(fields={"ids": [task["_id"]], "status": "Completed"})
    thehive.task_log.create(task_id=task["_id"], task_log={"message": "done: see the report"})
    thehive.task.update(task_id=task["_id"], fields={"status": "Completed"})
    assert thehive.task.get(task_id=task["_id"])["status"] == "Completed"
    # Not mandatory (or no longer): no log needed.
    other = thehive.task.create(case_id=case["_id"], task={"title": "o", "mandatory": True})
    thehive.task.update(task_id=other["_id"], fields={"status": "Completed", "mandatory": False})
    assert thehive.task.get(task_id=other["_id"])["status"] == "Completed"


def test_log_count_extra_data(thehive, case):
    logged = thehive.task.create(case_id=case["_id"], task={"title": "logged"})
    empty = thehive.task.create(case_id=case["_id"], task={"title": "empty"})
    for message in ("one", "two"):
        thehive.task_log.create(task_id=logged["_id"], task_log={"message": message})
    rendered = query(
        thehive,
        {"_name": "getCase", "idOrName": case["_id"]},
        {"_name": "tasks"},
        {"_name": "page", "from": 0, "to": 10, "extraData": ["logCount"]},
    )
    counts = {task["_id"]: task["extraData"]["logCount"] for task in rendered}
    assert counts == {logged["_id"]: 2, empty["_id"]: 0}
