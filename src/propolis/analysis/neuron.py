"""The Cortex job-folder protocol for Propolis' own built-in programs (what cortexutils
does for the published ones, cortex.md §2.6-§2.7), without depending on cortexutils.

A built-in is a small script: ``job = Job.from_argv(); ...; job.report(full, summary=...)``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NoReturn


class Job:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.input: dict[str, Any] = json.loads(
            (folder / "input" / "input.json").read_text(encoding="utf-8")
        )

    @classmethod
    def from_argv(cls) -> Job:
        return cls(Path(sys.argv[1] if len(sys.argv) > 1 else "/job"))

    @property
    def data_type(self) -> str:
        return self.input.get("dataType", "")

    @property
    def data(self) -> Any:
        return self.input.get("data")

    @property
    def config(self) -> dict[str, Any]:
        return self.input.get("config") or {}

    def param(self, name: str, default: Any = None) -> Any:
        """A configuration value; ``null`` counts as absent, as in cortexutils."""
        value = self.config.get(name)
        return default if value is None else value

    @property
    def file(self) -> Path | None:
        name = self.input.get("file")
        return self.folder / "input" / name if name else None

    @property
    def filename(self) -> str | None:
        return self.input.get("filename")

    def _write(self, document: dict[str, Any]) -> None:
        output = self.folder / "output"
        output.mkdir(exist_ok=True)
        (output / "output.json").write_text(json.dumps(document, ensure_ascii=False), "utf-8")

    def report(
        self,
        full: dict[str, Any],
        *,
        taxonomies: list[dict[str, Any]] | None = None,
        artifacts: list[dict[str, Any]] | None = None,
        operations: list[dict[str, Any]] | None = None,
    ) -> None:
        self._write(
            {
                "success": True,
                "summary": {"taxonomies": taxonomies or []},
                "artifacts": artifacts or [],
                "operations": operations or [],
                "full": full,
            }
        )

    def error(self, message: str) -> NoReturn:
        self._write({"success": False, "errorMessage": message, "input": None})
        sys.exit(1)

    def file_artifact(self, name: str, content: bytes, **extra: Any) -> dict[str, Any]:
        """Put ``content`` in output/ and describe it as a file artifact."""
        import secrets

        stored = f"tmp{secrets.token_hex(6)}"
        (self.folder / "output").mkdir(exist_ok=True)
        (self.folder / "output" / stored).write_bytes(content)
        return {"dataType": "file", "file": stored, "filename": name, **extra}


def taxonomy(level: str, namespace: str, predicate: str, value: Any) -> dict[str, Any]:
    return {"level": level, "namespace": namespace, "predicate": predicate, "value": value}


def run(main: Any) -> None:
    """Run ``main(job)``; an unexpected exception becomes the job's error message."""
    job = Job.from_argv()
    try:
        main(job)
    except SystemExit:
        raise
    except Exception as exc:  # noqa: BLE001 - reported to the analyst, not swallowed
        job.error(f"Unexpected error: {type(exc).__name__}: {exc}")
