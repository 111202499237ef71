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
