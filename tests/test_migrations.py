"""The schema the migrations build is the schema the code expects, on both backends.

A model changed without its Alembic revision (or two revisions landed on one parent) would
otherwise show only on an upgraded installation; here it fails at once: the revisions form
one line, and Alembic's comparison of the upgraded database with the models finds nothing.
"""

from __future__ import annotations

import hashlib
import os
import tempfile

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from propolis.core.db import Database
from propolis.core.migrate import MIGRATIONS, _config, upgrade
from propolis.models import metadata
from tests.harness import new_postgres_database

# Every revision that has landed on main may already have run on someone's database: it is
# never edited again (a change is a new revision). Add a new revision's digest when it lands.
RELEASED = {
    "0001_initial_schema.py": "35ad2997068e026aa0453ded04dfad8737e7c7309acf1060e2faa446aeca0897",
    "0002_partial_observable_indexes.py": (
        "e80c19749d43bd0d964ea44cf7fe0ff3af8631c0566fcf4d8903c97eb0857717"
    ),
    "0003_audit_log_indexes.py": "4dc6088df2b546e58e24b65bd6e15f4d20fc896b0899f1a58ebe3392b5f652cb",
    "0004_address_failure.py": "caa9f96de55263a0734ad51cab53d74ed91250031b7fc57337bd00b7fb31be8e",
    "0005_case_metrics.py": "020d5be9da10a1f84754106be441492e658e5bc18fe538e34e16cad8253940db",
    "0006_partial_observable_unique.py": (
        "8436b6e425751f896a18fc8a3715ab27bf29ab41d5aabc56eae644cd626b0116"
    ),
}


def test_released_revisions_are_never_edited():
    versions = MIGRATIONS / "versions"
    changed = [
        name
        for name, digest in RELEASED.items()
        if hashlib.sha256((versions / name).read_bytes()).hexdigest() != digest
    ]
    assert changed == [], f"released revisions edited (write a new one instead): {changed}"
    unlisted = {p.name for p in versions.glob("0*.py")} - set(RELEASED)
    assert unlisted <= {max(p.name for p in versions.glob("0*.py"))}, (
        f"revisions without their digest in RELEASED: {sorted(unlisted)}"
    )


def test_the_revisions_form_one_line():
    script = ScriptDirectory.from_config(_config())
    assert len(script.get_heads()) == 1, f"several heads: {script.get_heads()}"


def _database_urls() -> list:
    urls = [pytest.param(lambda: f"sqlite:///{tempfile.mkdtemp()}/m.db", id="sqlite")]
    postgres = os.environ.get("PROPOLIS_TEST_POSTGRES_URL")
    if postgres:
        urls.append(pytest.param(lambda: new_postgres_database(postgres), id="postgresql"))
    return urls


@pytest.mark.parametrize("make_url", _database_urls())
def test_the_migrated_schema_is_the_models_schema(make_url):
    db = Database(make_url())
    try:
        upgrade(db.engine)
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, metadata)
    finally:
        db.engine.dispose()
    assert differences == [], "\n".join(str(d) for d in differences)


def _dummy_row(table, **given):  # noqa: ANN001
    """A row of ``table`` with ``given`` values and a placeholder in every other required
    column (what a revision does to the row, not its content, is under test)."""
    row = dict(given)
    for column in table.columns:
        if column.name in row or column.nullable or column.server_default is not None:
            continue
        python_type = getattr(column.type, "python_type", None) if not _is_json(column) else None
        row[column.name] = {int: 1, bool: False, str: f"{table.name}-{column.name}"}.get(
            python_type, []
        )
    return row


def _is_json(column) -> bool:  # noqa: ANN001
    return "JSON" in type(column.type).__name__.upper() or "JSON" in repr(column.type).upper()


def test_a_table_rebuild_keeps_the_rows_that_reference_it(tmp_path):
    """0006 rebuilds the observable table on SQLite: the shares and analyzer jobs that
    reference an observable must survive it (with foreign keys on, dropping the old table
    would have cascaded to them)."""
    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    tables = metadata.tables
    rows = [
        ("organisation", {"id": 1, "name": "org"}),
        ("profile", {"id": 2, "name": "profile"}),
        ("case_file", {"id": 3, "org_id": 1}),
        ("observable", {"id": 4, "org_id": 1, "case_id": 3, "fingerprint": "f"}),
        ("share", {"id": 5, "case_id": 3, "org_id": 1, "profile_id": 2}),
        ("share_observable", {"id": 6, "share_id": 5, "observable_id": 4}),
        ("analyzer_job", {"id": 7, "org_id": 1, "observable_id": 4}),
    ]
    try:
        upgrade(db.engine, "0005")
        with db.engine.begin() as connection:
            for name, given in rows:
                connection.execute(tables[name].insert().values(_dummy_row(tables[name], **given)))
        upgrade(db.engine)
        with db.engine.connect() as connection:
            for name, given in rows:
                table = tables[name]
                found = connection.execute(table.select().where(table.c.id == given["id"]))
                assert found.first() is not None, f"{name} row lost by the migration"
            foreign_keys = connection.exec_driver_sql("PRAGMA foreign_keys").scalar()
        assert foreign_keys == 1  # back on for the server's use of the connection
    finally:
        db.engine.dispose()
