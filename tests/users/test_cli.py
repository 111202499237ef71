"""The ``propolis user ...`` and ``propolis org ...`` commands, run as real processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from propolis.core.db import Database
from propolis.users.auth import check_password
from propolis.users.models import User


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli-data")


def propolis(data_dir: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PROPOLIS_DATA_DIR=str(data_dir), PROPOLIS_ADMIN_PASSWORD="secret")
    env.pop("PROPOLIS_DATABASE_URL", None)
    env["COLUMNS"] = "200"  # rich wraps tables to the terminal width
    return subprocess.run(
        [sys.executable, "-m", "propolis.cli", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def password_works(data_dir: Path, login: str, password: str) -> bool:
    db = Database(f"sqlite:///{(data_dir / 'propolis.db').resolve()}")
    try:
        return check_password(db, login, password) is not None
    finally:
        db.dispose()


def user_exists(data_dir: Path, login: str) -> bool:
    db = Database(f"sqlite:///{(data_dir / 'propolis.db').resolve()}")
    try:
        with db.session(write=False) as session:
            return session.scalar(select(User.id).where(User.login == login)) is not None
    finally:
        db.dispose()


def test_org_add_and_list(data_dir):
    added = propolis(data_dir, "org", "add", "blue-team", "--description", "Blue team")
    assert added.returncode == 0, added.stderr
    assert "blue-team" in added.stdout
    listed = propolis(data_dir, "org", "list")
    assert listed.returncode == 0, listed.stderr
    assert "blue-team" in listed.stdout and "Blue team" in listed.stdout
    assert "admin" in listed.stdout
    again = propolis(data_dir, "org", "add", "blue-team")
    assert again.returncode == 1
    assert "already exists" in again.stderr, again.stderr


def test_user_add_passwd_and_list(data_dir):
    propolis(data_dir, "org", "add", "red-team")
    added = propolis(
        data_dir,
        "user",
        "add",
        "Alice@Example.com",
        "--name",
        "Alice",
        "--org",
        "red-team",
        "--profile",
        "org-admin",
        "--password",
        "first",
    )
    assert added.returncode == 0, added.stderr
    assert "alice@example.com" in added.stdout
    assert password_works(data_dir, "alice@example.com", "first")
    changed = propolis(data_dir, "user", "passwd", "alice@example.com", "--password", "second")
    assert changed.returncode == 0, changed.stderr
    assert password_works(data_dir, "alice@example.com", "second")
    assert not password_works(data_dir, "alice@example.com", "first")
    listed = propolis(data_dir, "user", "list")
    assert listed.returncode == 0, listed.stderr
    assert "alice@example.com" in listed.stdout and "red-team (org-admin)" in listed.stdout
    assert "admin@thehive.local" in listed.stdout
    assert "system@thehive.local" not in listed.stdout


def test_passwd_prompts_when_no_password_is_given(data_dir):
    propolis(data_dir, "org", "add", "green-team")
    propolis(data_dir, "user", "add", "bob@example.com", "--name", "Bob", "--org", "green-team")
    assert not password_works(data_dir, "bob@example.com", "prompted")
    result = propolis(data_dir, "user", "passwd", "bob@example.com", stdin="prompted\nprompted\n")
    assert result.returncode == 0, result.stderr
    assert password_works(data_dir, "bob@example.com", "prompted")


@pytest.mark.parametrize(
    "args, message",
    [
        (["user", "add", "carol@example.com", "--name", "C", "--org", "nope"], "nope not found"),
        (
            ["user", "add", "carol@example.com", "--name", "C", "--org", "admin", "--profile", "x"],
            "Profile x not found",
        ),
        (["user", "add", "not-a-login", "--name", "C", "--org", "admin"], "login"),
        (["user", "passwd", "nobody@example.com", "--password", "x"], "not found"),
        (["org", "add", "~1"], "name"),
    ],
)
def test_errors_exit_with_code_1_and_change_nothing(data_dir, args, message):
    result = propolis(data_dir, *args)
    assert result.returncode == 1
    assert message in result.stderr
    assert not user_exists(data_dir, "carol@example.com")


def test_names_are_shown_as_typed_not_as_markup(data_dir):
    propolis(data_dir, "org", "add", "purple-team")
    added = propolis(
        data_dir, "user", "add", "eve@example.com", "--name", "Eve [/bold]", "--org", "purple-team"
    )
    assert added.returncode == 0, added.stderr
    assert "Eve [/bold]" in propolis(data_dir, "user", "list").stdout
