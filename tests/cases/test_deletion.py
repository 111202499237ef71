"""Deleting a case or an alert removes its rows everywhere (checked in the tables), and
``propolis storage gc`` then removes the stored files nothing references any more."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
import uuid

import sqlalchemy
from sqlalchemy import text

from tests.cases.conftest import new_case, unique
from tests.harness import Server


def _rows_below(database, column: str, object_id: str) -> dict[str, int]:
    """Rows of every table whose ``column`` (case_id / alert_id) names the deleted object."""
    found = {}
    with database.connect() as conn:
        inspector = sqlalchemy.inspect(conn)
        for table in inspector.get_table_names():
            if column in {c["name"] for c in inspector.get_columns(table)}:
                count = conn.execute(
                    text(f'SELECT count(*) FROM "{table}" WHERE {column} = :id'),
                    {"id": int(object_id.lstrip("~"))},
                ).scalar()
                if count:
                    found[table] = count
    return found


def _orphan_file_rows(database) -> list[int]:
    """Observable file rows whose observable is gone."""
    with database.connect() as conn:
        return list(
            conn.execute(
                text(
                    "SELECT id FROM attachment WHERE for_observable = 1 AND id NOT IN "
                    "(SELECT attachment_id FROM observable WHERE attachment_id IS NOT NULL)"
                )
            ).scalars()
        )


def _gc(server) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "propolis.cli", "storage", "gc", "--grace", "0"],
        env=server.env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _stored(server) -> set[str]:
    return {p.name for p in (server.data_dir / "attachments").glob("*/*") if p.is_file()}


def _referenced(database) -> set[str]:
    with database.connect() as conn:
        files = conn.execute(text("SELECT sha256 FROM attachment")).scalars()
        datastore = conn.execute(text("SELECT sha256 FROM datastore_file")).scalars()
        return set(files) | set(datastore)


def _file(tmp_path, name: str) -> tuple[str, str]:
    """A file with unique content: (path, sha256)."""
    content = f"{name} {uuid.uuid4()}".encode()
    path = tmp_path / name
    path.write_bytes(content)
    return str(path), hashlib.sha256(content).hexdigest()


def test_deleting_a_case_leaves_no_rows_and_gc_removes_its_files(
    thehive, server, database, tmp_path
):
    case = new_case(thehive, tasks=[{"title": "t"}], customFields=[])
    task_id = thehive.case.find_tasks(case["_id"])[0]["_id"]
    case_file, case_sha = _file(tmp_path, "evidence.txt")
    log_file, log_sha = _file(tmp_path, "log.txt")
    observable_file, observable_sha = _file(tmp_path, "sample.bin")
    thehive.case.add_attachment(case["_id"], [case_file])
    thehive.task_log.create(task_id=task_id, task_log={"message": "m", "attachments": [log_file]})
    thehive.case.create_observable(case["_id"], {"dataType": "file"}, observable_file)
    thehive.case.create_observable(case["_id"], {"dataType": "domain", "data": unique() + ".x"})
    thehive.case.create_page(case["_id"], {"title": "p", "content": "c", "category": "notes"})
    thehive.comment.create_in_case(case["_id"], {"message": "a comment"})
    stored = _stored(server)
    assert case_sha in stored and log_sha in stored and observable_sha in stored

    thehive.case.delete(case["_id"])

    assert _rows_below(database, "case_id", case["_id"]) == {}
    assert _orphan_file_rows(database) == []
    assert "files removed" in _gc(server)
    stored = _stored(server)
    assert not {case_sha, log_sha, observable_sha} & stored
    assert stored <= _referenced(database)


def test_deleting_an_alert_leaves_no_rows_and_gc_removes_its_files(
    thehive, server, database, tmp_path
):
    observable_file, observable_sha = _file(tmp_path, "attached.bin")
    alert_file, alert_sha = _file(tmp_path, "mail.eml")
    alert = thehive.alert.create(
        alert={
            "type": "t",
            "source": "s",
            "sourceRef": unique(),
            "title": "alert",
            "description": "d",
            "observables": [{"dataType": "ip", "data": "10.1.2.3"}],
        }
    )
    thehive.alert.create_observable(alert["_id"], {"dataType": "file"}, observable_file)
    thehive.alert.add_attachment(alert["_id"], [alert_file])
    thehive.comment.create_in_alert(alert["_id"], {"message": "a comment"})

    thehive.alert.delete(alert["_id"])

    assert _rows_below(database, "alert_id", alert["_id"]) == {}
    assert _orphan_file_rows(database) == []
    _gc(server)
    stored = _stored(server)
    assert not {observable_sha, alert_sha} & stored
    assert stored <= _referenced(database)


def test_gc_keeps_files_still_in_use(thehive, server, database, tmp_path):
    path, sha = _file(tmp_path, "shared.txt")
    kept, deleted = new_case(thehive), new_case(thehive)
    for case in (kept, deleted):  # the same bytes, stored once, used twice
        thehive.case.add_attachment(case["_id"], [path])
    thehive.case.delete(deleted["_id"])
    _gc(server)
    assert sha in _stored(server)
    names = [a["name"] for a in thehive.case.find_attachments(kept["_id"])]
    assert names == ["shared.txt"]


def test_serve_collects_on_a_schedule(tmp_path):
    """``propolis serve`` runs the collection itself (here every half second, with a grace
    of 2 s: with none, a run falling between an upload's file and its row's commit takes
    the file, as the grace exists to prevent; a busy CI machine hit that window)."""
    server = Server(
        tmp_path / "data",
        extra_env={"PROPOLIS_STORAGE_GC_INTERVAL": "0.5", "PROPOLIS_STORAGE_GC_GRACE": "2"},
    )
    server.data_dir.mkdir()
    server.start()
    try:
        server.init_main_org()
        client = server.client(organisation="main-org")
        path, sha = _file(tmp_path, "gone.txt")
        case = new_case(client)
        client.case.add_attachment(case["_id"], [path])
        time.sleep(3.5)  # older than the grace, several runs later
        assert sha in _stored(server)  # in use: kept
        client.case.delete(case["_id"])
        deadline = time.monotonic() + 10
        while sha in _stored(server) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert sha not in _stored(server)
    finally:
        server.stop()
