"""The schema the migrations build is the schema the code expects, on both backends.

A model changed without its Alembic revision (or two revisions landed on one parent) would
otherwise show only on an upgraded installation; here it fails at once: the revisions form
one line, and Alembic's comparison of the upgraded database with the models finds nothing.
"""

from __future__ import annotations

import os
import tempfile

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from propolis.core.db import Database
from propolis.core.migrate import _config, upgrade
from propolis.models import metadata
from tests.harness import new_postgres_database


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
