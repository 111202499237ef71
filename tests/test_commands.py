"""First start, settings and the basic commands, as a newcomer meets them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import requests

from tests.harness import Server


def _propolis(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "propolis.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROPOLIS_")}
    env.update(extra)
    return env


def test_config_masks_secrets(tmp_path):
    env = _clean_env(
        PROPOLIS_DATA_DIR=str(tmp_path),
        PROPOLIS_ADMIN_PASSWORD="very-secret-admin",
        PROPOLIS_DATABASE_URL="postgresql+psycopg://bob:db-password@127.0.0.1/x",
    )
    result = _propolis("config", env=env)
    assert result.returncode == 0, result.stderr
    assert "very-secret-admin" not in result.stdout
    assert "db-password" not in result.stdout
    shown = json.loads(result.stdout)
    assert shown["admin_password"] == "********"
    assert shown["database_url"].startswith("postgresql+psycopg://bob:***@127.0.0.1")


def test_toml_file_is_read_and_environment_wins(tmp_path):
    config = tmp_path / "propolis.toml"
    config.write_text('port = 9123\nhost = "127.0.0.2"\n')
    env = _clean_env(PROPOLIS_CONFIG_FILE=str(config), PROPOLIS_HOST="127.0.0.3")
    shown = json.loads(_propolis("config", env=env).stdout)
    assert shown["port"] == 9123
    assert shown["host"] == "127.0.0.3"


def test_first_start_generates_a_password_once_and_it_works(tmp_path):
    env = _clean_env(PROPOLIS_DATA_DIR=str(tmp_path))
    first = _propolis("init", env=env)
    assert first.returncode == 0, first.stderr
    password = re.search(r"password: (\S+)", first.stdout).group(1)
    again = _propolis("init", env=env)
    assert again.returncode == 0 and "password" not in again.stdout
    server = Server(tmp_path)  # its PROPOLIS_ADMIN_PASSWORD does not change an existing admin
    server.start()
    try:
        me = requests.get(
            server.url + "/api/v1/user/current", auth=("admin@thehive.local", password), timeout=10
        )
        assert me.status_code == 200 and me.json()["login"] == "admin@thehive.local"
        wrong = requests.get(
            server.url + "/api/v1/user/current", auth=("admin@thehive.local", "secret"), timeout=10
        )
        assert wrong.status_code == 401
    finally:
        server.stop()
