"""A case merge keeps who sees what: every organisation a source case was shared with, the
tasks and observables shared explicitly with it, the action-required flags; moved files keep
distinct names and moved children show up in the merged case's history."""

from __future__ import annotations

import uuid

from tests.cases.conftest import new_case


def _task_ids(client, case_id: str) -> list[str]:
    return [t["_id"] for t in client.case.find_tasks(case_id)]


def test_merge_keeps_every_share(thehive, linked_org):
    partner, other = linked_org
    first = new_case(thehive, tasks=[{"title": "shared"}, {"title": "private"}])
    second = new_case(thehive, tasks=[{"title": "second"}])
    shared_task, private_task = _task_ids(thehive, first["_id"])
    ip = f"10.{uuid.uuid4().int % 250}.7.7"
    shared_ip = thehive.case.create_observable(first["_id"], {"dataType": "ip", "data": ip})[0]
    thehive.case.create_observable(second["_id"], {"dataType": "ip", "data": "10.9.9.9"})
    thehive.case.share(
        first["_id"],
        [
            {
                "organisation": partner,
                "profile": "analyst",
                "taskRule": "manual",
                "observableRule": "manual",
            }
        ],
    )
    thehive.task.share(shared_task, [partner])
    thehive.task.set_as_required(shared_task, partner)
    thehive.observable.share(shared_ip["_id"], [partner])
    assert _task_ids(other, first["_id"]) == [shared_task]

    merged = thehive.case.merge([first["_id"], second["_id"]])

    shares = thehive.case.list_shares(merged["_id"])
    assert [(s["organisationName"], s["profileName"]) for s in shares] == [(partner, "analyst")]
    assert (shares[0]["taskRule"], shares[0]["observableRule"]) == ("manual", "manual")
    # The partner still sees the task shared with it (same task, now in the merged case)...
    assert other.case.get(merged["_id"])["_id"] == merged["_id"]
    assert _task_ids(other, merged["_id"]) == [shared_task]
    assert other.task.get(shared_task)["title"] == "shared"
    assert [s["organisationName"] for s in thehive.task.list_shares(shared_task)] == [partner]
    assert thehive.task.get_required_actions(shared_task) == {"main-org": False, partner: True}
    # ... not the others, and only the observable shared with it.
    mine = _task_ids(thehive, merged["_id"])
    assert len(mine) == 3 and {shared_task, private_task} <= set(mine)
    assert [o["data"] for o in other.case.find_observables(merged["_id"])] == [ip]


def test_merge_moves_files_under_distinct_names_and_records_the_moves(thehive, tmp_path):
    report = tmp_path / "report.txt"
    first, second = new_case(thehive), new_case(thehive)
    for case, content in ((first, "one"), (second, "two")):
        report.write_text(content)
        thehive.case.add_attachment(case["_id"], [str(report)])
        thehive.case.create_page(
            case["_id"], {"title": "notes", "content": content, "category": "c"}
        )
    merged = thehive.case.merge([first["_id"], second["_id"]])

    names = sorted(a["name"] for a in thehive.case.find_attachments(merged["_id"]))
    assert names == ["report (1).txt", "report.txt"]
    assert len(thehive.case.find_pages(merged["_id"])) == 2
    history = thehive.session.make_request(
        "POST",
        "/api/v1/query",
        json={
            "query": [
                {"_name": "listAudit"},
                {"_name": "filter", "_eq": {"_field": "rootId", "_value": merged["_id"]}},
            ]
        },
    )
    moved = {
        (e["objectType"], e["details"].get("from")) for e in history if e["action"] == "update"
    }
    assert {("Attachment", first["_id"]), ("Attachment", second["_id"])} <= moved
    assert {("Page", first["_id"]), ("Page", second["_id"])} <= moved
