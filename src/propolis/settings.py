"""All configuration, from environment variables (PROPOLIS_*) and an optional TOML file.

The TOML file is named by PROPOLIS_CONFIG_FILE (default: ``propolis.toml`` in the working
directory, if present). Environment variables win over the file.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


def _config_file() -> Path:
    return Path(os.environ.get("PROPOLIS_CONFIG_FILE", "propolis.toml"))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PROPOLIS_", extra="ignore")

    data_dir: Path = Path("propolis-data")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default is SQLite inside data_dir"
    )
    admin_password: SecretStr | None = None
    host: str = "127.0.0.1"
    port: int = 9000
    workers: int = Field(
        default=0, description="HTTP worker processes of `serve` (0: one per core; 1: one process)"
    )
    secret_key: SecretStr | None = Field(
        default=None, description="signs session cookies; generated into data_dir when unset"
    )
    max_upload_bytes: int = 1024 * 1024 * 1024
    max_json_bytes: int = 10 * 1024 * 1024
    session_hours: int = 12
    trusted_proxies: str = Field(
        default="", description="proxies whose X-Forwarded-For is believed, ','-separated"
    )
    # Password guessing (see propolis.users.auth): backoffs per login and per address.
    auth_login_threshold: int = Field(default=5, description="failures before a login waits")
    auth_address_threshold: int = Field(default=20, description="failures before an address waits")
    auth_backoff_base_ms: int = Field(default=1000, description="first wait; doubles per failure")
    auth_login_backoff_max_ms: int = Field(default=60_000, description="longest wait of a login")
    auth_address_backoff_max_ms: int = Field(
        default=900_000, description="longest wait of an address"
    )
    auth_cache_seconds: float = Field(
        default=10,
        description="longest a process answers a known caller from memory (0: never); on one "
        "host a change to users, organisations or profiles ends it at once",
    )
    # Archives sent by callers (case import, zipped observables, MISP samples): checked
    # before anything is decompressed, then streamed (see propolis.core.unzip).
    archive_max_members: int = Field(default=10_000, description="files in one archive")
    archive_max_member_bytes: int = Field(default=1024**3, description="one file, expanded")
    archive_max_total_bytes: int = Field(default=4 * 1024**3, description="all files, expanded")
    archive_max_ratio: float = Field(default=200.0, description="expanded / compressed size")
    archive_max_manifest_bytes: int = Field(
        default=64 * 1024 * 1024, description="case.json of a case archive (parsed in memory)"
    )
    # Query DSL (POST /api/v1/query): beyond these a query is refused with a 400.
    query_max_in_values: int = Field(default=1000, description="values in one _in filter")
    query_max_depth: int = Field(default=32, description="nesting of a query's JSON")
    query_max_nodes: int = Field(default=5000, description="JSON elements in one query")
    query_max_pattern_chars: int = Field(default=1000, description="_like/_match/... text")
    query_max_match_words: int = Field(default=32, description="words in one _match")
    query_max_page_size: int = Field(default=10_000, description="to - from of one page")
    query_timeout_ms: int = Field(
        default=30_000, description="database time of one query (0: no limit)"
    )
    storage_gc_interval: float = Field(
        default=6 * 3600,
        description="seconds between removals of stored files nothing references (0: never)",
    )
    storage_gc_grace: float = Field(
        default=3600,
        description="stored files younger than this (seconds) are kept: their row may not be "
        "committed yet",
    )
    log_level: str = "info"
    stream_poll_ms: int = Field(
        default=300, description="how often the live stream looks for new audit events"
    )
    stream_max_seconds: float = Field(
        default=300,
        description="a live stream then ends and the browser reconnects (rights checked again)",
    )
    # Analysis engine (Cortex-compatible analyzers/responders), see propolis.analysis.
    analyzers_path: str = Field(
        default="", description="folders of analyzer definitions, ':'-separated"
    )
    responders_path: str = Field(
        default="", description="folders of responder definitions, ':'-separated"
    )
    builtin_workers: bool = True
    queue_url: str | None = Field(
        default=None, description="redis://... for separate workers; default: embedded SQLite queue"
    )
    embedded_workers: bool = Field(
        default=True, description="run analysis jobs inside `propolis serve`"
    )
    analysis_python: str | None = Field(default=None, description="interpreter for .py analyzers")
    # The environment of analyzer/responder programs (nothing else of the server's reaches them)
    analyzer_path: str | None = Field(
        default=None, description="PATH of analyzer programs; default: the server's PATH"
    )
    analyzer_locale: str = "C.UTF-8"
    analyzer_http_proxy: str | None = None
    analyzer_https_proxy: str | None = None
    analyzer_no_proxy: str | None = None
    # Outbound HTTP of analyzers/responders (analysis/outbound.py): public addresses only,
    # plus these networks or host names (comma-separated, e.g. "10.1.2.0/24,hooks.corp")
    outbound_allow: str = ""
    # Folders whose files analyzer settings may name (LocalList lists, Yara rules): ':'-separated
    analysis_files_dirs: str = Field(default="", description="default: <data_dir>/analysis-files")
    outbound_timeout_seconds: float = 30
    outbound_max_response_bytes: int = 64 * 1024
    job_timeout_minutes: float = 30
    job_max_output_bytes: int = Field(
        default=16 * 1024 * 1024,
        description="largest output.json (report) a program may write; larger is a Failure",
    )
    job_cache_minutes: float = 10
    job_heartbeat_seconds: float = 5
    analyzer_parallelism_min: int = 2
    analyzer_parallelism_factor: float = 2.0
    analyzer_parallelism_max: int = 4

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=_config_file())
        return (init_settings, env_settings, toml)

    @cached_property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'propolis.db').resolve()}"

    @property
    def jobs_dir(self) -> Path:
        return self.data_dir / "jobs"

    @property
    def attachments_dir(self) -> Path:
        return self.data_dir / "attachments"

    def masked(self) -> dict[str, object]:
        """The effective settings with secrets (and database passwords) hidden."""
        out: dict[str, object] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                value = "********" if value.get_secret_value() else ""
            out[name] = str(value) if isinstance(value, Path) else value
        out["database_url"] = _mask_url(self.effective_database_url)
        return out


def _mask_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
