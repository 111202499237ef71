"""Run a built-in program the way Cortex does (cortex.md §2.2-§2.6), from its definition file:
a job folder with ``input/input.json`` (and ``input/attachment<digits>`` for files), the
program started without a shell as ``[python, program, folder]`` from the analyzers (or
responders) root, then ``output/output.json`` read back."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from propolis.analysis.catalog import BUILTINS_ROOT


@dataclass
class Result:
    output: dict[str, Any]
    folder: Path
    returncode: int
    log: str

    @property
    def full(self) -> dict[str, Any]:
        assert self.output["success"] is True, self.output
        return self.output["full"]

    def taxonomies(self) -> dict[str, dict[str, Any]]:
        """``predicate`` -> taxonomy."""
        return {t["predicate"]: t for t in self.output["summary"]["taxonomies"]}

    def artifact_values(self) -> set[tuple[str, str]]:
        return {(a["dataType"], a["data"]) for a in self.output["artifacts"] if "data" in a}


def definition(kind: str, name: str) -> tuple[dict[str, Any], Path]:
    """A built-in definition by name, and the root its command is relative to."""
    root = BUILTINS_ROOT / f"{kind}s"
    for file in root.glob("*/*.json"):
        entry = json.loads(file.read_text())
        if entry["name"] == name:
            return entry, root
    raise LookupError(name)


def job_document(
    entry: dict[str, Any],
    data_type: str,
    *,
    data: Any = None,
    config: dict[str, Any] | None = None,
    tlp: int = 2,
    pap: int = 2,
    outbound: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """input.json as Cortex writes it: the definition's config with the worker's over it;
    ``outbound`` is the platform's policy for outbound HTTP as the engine adds it."""
    document: dict[str, Any] = {
        "dataType": data_type,
        "tlp": tlp,
        "pap": pap,
        "message": "",
        "parameters": {"organisation": "acme", "user": "alice@acme.test"},
        "config": {**entry.get("config", {}), "auto_extract_artifacts": False, **(config or {})},
    }
    if data is not None:
        document["data"] = data
    if outbound is not None:
        document["propolis"] = {"outbound": outbound}
    return document


def run(
    kind: str,
    name: str,
    tmp_path: Path,
    data_type: str,
    *,
    data: Any = None,
    file: bytes | None = None,
    filename: str = "sample.bin",
    config: dict[str, Any] | None = None,
    tlp: int = 2,
    pap: int = 2,
    timeout: float = 120,
    env: dict[str, str] | None = None,
    outbound: dict[str, Any] | None = None,
) -> Result:
    entry, root = definition(kind, name)
    document = job_document(
        entry, data_type, data=data, config=config, tlp=tlp, pap=pap, outbound=outbound
    )
    folder = tmp_path / f"cortex-job-{random.randrange(10**6)}"
    (folder / "input").mkdir(parents=True)
    (folder / "output").mkdir()
    if file is not None:
        attachment = f"attachment{random.randrange(10**17, 10**18)}"
        (folder / "input" / attachment).write_bytes(file)
        document.update(file=attachment, filename=filename, contentType="application/octet-stream")
    (folder / "input" / "input.json").write_text(json.dumps(document), encoding="utf-8")
    process = subprocess.run(  # noqa: S603 - argv list, no shell, as the process runner does
        [sys.executable, str(root / entry["command"]), str(folder)],
        cwd=root,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    output_file = folder / "output" / "output.json"
    log = process.stdout + process.stderr
    assert output_file.is_file(), f"no output.json; program said:\n{log}"
    return Result(json.loads(output_file.read_text("utf-8")), folder, process.returncode, log)


def analyze(name: str, tmp_path: Path, data_type: str, **kwargs: Any) -> Result:
    return run("analyzer", name, tmp_path, data_type, **kwargs)


def respond(name: str, tmp_path: Path, data_type: str, data: dict, **kwargs: Any) -> Result:
    return run("responder", name, tmp_path, data_type, data=data, **kwargs)


def run_stdin(kind: str, name: str, document: dict[str, Any]) -> dict[str, Any]:
    """Cortex 1's protocol, still in cortexutils: no job folder, input on stdin, the report
    on stdout."""
    entry, root = definition(kind, name)
    document = {**document, "config": {**entry.get("config", {}), **document.get("config", {})}}
    process = subprocess.run(  # noqa: S603
        [sys.executable, str(root / entry["command"])],
        cwd=root,
        input=json.dumps(document),
        capture_output=True,
        text=True,
        timeout=120,
    )
    return json.loads(process.stdout)


def shadow_module(folder: Path, module: str) -> dict[str, str]:
    """An environment in which importing ``module`` fails as if it were not installed."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{module}.py").write_text(
        f"raise ModuleNotFoundError(\"No module named '{module}'\", name={module!r})\n"
    )
    return {"PYTHONPATH": str(folder)}
