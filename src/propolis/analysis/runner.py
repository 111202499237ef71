"""Runs one program the way Cortex's process runner does (cortex.md §2.2-§2.9, §9).

A private job folder gets ``input/input.json`` (plus the observable's file and the CA
certificates when there are some); the definition's command is started without a shell as
``[interpreter, command, folder]`` (``.py`` programs) or ``[command, folder]``, from the
analyzers/responders root, with a timeout that kills the whole process group; then only
``output/output.json`` is read (the exit code means nothing), and the folder is removed.
Propolis' own built-ins always run with the server's interpreter, forked from a pre-started
one (:mod:`propolis.analysis.forkserver`).
This module knows nothing of the database: it takes a description and returns the outcome.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from propolis.analysis import environment, forkserver
from propolis.core import validate

log = logging.getLogger(__name__)

MAX_CAPTURE = 64 * 1024  # bytes of program output kept for an error message
VALUE_ARTIFACT_KEYS = {"dataType", "data", "tlp", "tags", "message"}
FILE_ARTIFACT_KEYS = VALUE_ARTIFACT_KEYS | {"file", "filename", "contentType"}


@dataclass
class JobInput:
    command: str
    root: str
    document: dict[str, Any]  # input.json, without the attachment keys
    attachment: Path | None = None  # the observable's bytes, for file jobs
    attachment_name: str | None = None
    content_type: str | None = None
    timeout_seconds: float | None = None
    keep_folder: bool = False
    interpreter: str | None = None  # for .py programs; default: the server's own
    environment: dict[str, str] = field(default_factory=environment.base_environment)
    builtin: bool = False  # one of Propolis' own programs
    max_output_bytes: int | None = None  # largest output.json read; None: no limit
    max_file_bytes: int | None = None  # largest file artifact kept; None: no limit


@dataclass
class Outcome:
    success: bool
    report: dict[str, Any]  # success: full/summary/artifacts/operations; else errorMessage/input

    @property
    def error_message(self) -> str | None:
        return None if self.success else str(self.report.get("errorMessage") or "")


def failure(message: str, input_document: Any = None) -> Outcome:
    return Outcome(False, {"success": False, "errorMessage": message, "input": input_document})


def run(
    job: JobInput,
    jobs_dir: Path,
    store_file: Callable[[Path], dict[str, Any]],
    label: str = "job",
) -> Outcome:
    """Prepare the folder, run the program, read its output. Never raises for a bad program."""
    jobs_dir.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f"propolis-{label}-", dir=jobs_dir))  # mode 0700
    try:
        document = _prepare(folder, job)
        captured = _execute(job, folder)
        return _read_output(folder, captured, document, store_file, job)
    except OSError as exc:
        return failure(f"Process execution error: {exc}", job.document)
    finally:
        if not job.keep_folder:
            shutil.rmtree(folder, ignore_errors=True)


def _prepare(folder: Path, job: JobInput) -> dict[str, Any]:
    (folder / "input").mkdir()
    (folder / "output").mkdir()
    document = dict(job.document)
    if job.attachment is not None:
        name = f"attachment{random.randrange(10**17, 10**18)}"
        shutil.copyfile(job.attachment, folder / "input" / name)
        document.update(
            file=name,
            filename=job.attachment_name or name,
            contentType=job.content_type or "application/octet-stream",
        )
    cacerts = (document.get("config") or {}).get("cacerts")
    if isinstance(cacerts, str) and cacerts.strip():
        (folder / "input" / "cacerts").write_text(cacerts, encoding="utf-8")
    (folder / "input" / "input.json").write_text(
        json.dumps(document, ensure_ascii=False), encoding="utf-8"
    )
    return document


def argv_for(
    command: str, folder: Path, interpreter: str | None = None, builtin: bool = False
) -> list[str]:
    """``.py`` programs run with the configured interpreter (``PROPOLIS_ANALYSIS_PYTHON``, e.g.
    the virtualenv of a Cortex-Analyzers checkout) whatever their exec bit and shebang (§9.2).
    The built-ins are part of Propolis: they run with the server's own interpreter, which has
    their dependencies, whatever that setting says."""
    if builtin:
        return [sys.executable, "-S", str(forkserver.LAUNCHER), command, str(folder)]
    if command.endswith(".py"):
        return [interpreter or sys.executable, command, str(folder)]
    return [command, str(folder)]


def _execute(job: JobInput, folder: Path) -> str:
    # Only what the admin configured for programs (environment.py), never the server's own
    env = {**job.environment, "HOME": str(folder)}
    if (folder / "input" / "cacerts").exists():
        env["REQUESTS_CA_BUNDLE"] = str(folder / "input" / "cacerts")
    if job.builtin:
        try:
            pid, output = forkserver.default().spawn(job.command, [str(folder)], job.root, env)
        except forkserver.Unavailable:
            log.warning("fork server unavailable: %s started directly", job.command)
        else:
            return _collect(job, pid, output)
        env["PROPOLIS_BUILTIN_PATH"] = forkserver.server_path()
    process = subprocess.Popen(  # noqa: S603 - argv list, no shell
        argv_for(job.command, folder, job.interpreter, job.builtin),
        cwd=job.root,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so a timeout kills its children too
    )
    try:
        out, _ = process.communicate(timeout=job.timeout_seconds)
    except subprocess.TimeoutExpired:
        return _timed_out(job, _kill_group(process))
    return out.decode("utf-8", "replace")[-MAX_CAPTURE:]


def _timed_out(job: JobInput, out: bytes) -> str:
    minutes = (job.timeout_seconds or 0) / 60
    prefix = f"Job timeout ({minutes:g} minutes): the program was stopped.\n"
    return prefix + out.decode("utf-8", "replace")[-MAX_CAPTURE:]


def _kill_group(process: subprocess.Popen) -> bytes:
    for sig, grace in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            pass
        try:
            out, _ = process.communicate(timeout=grace)
            return out or b""
        except subprocess.TimeoutExpired:
            continue
    return b""


def _collect(job: JobInput, pid: int, output: int) -> str:
    """A fork-server child: read its output to the end (at most the timeout), stop its
    process group at the timeout like ``_kill_group``, then wait until it is gone."""
    captured = _Tail()
    with selectors.DefaultSelector() as selector, os.fdopen(output, "rb", buffering=0) as pipe:
        selector.register(pipe, selectors.EVENT_READ)
        deadline = None if job.timeout_seconds is None else time.monotonic() + job.timeout_seconds
        ended = _read_to_end(selector, pipe, captured, deadline)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if ended:
                break
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, sig)
            ended = _read_to_end(selector, pipe, captured, time.monotonic() + 5)
    _wait_gone(pid)
    if not ended or captured.timed_out:
        return _timed_out(job, captured.value())
    return captured.value().decode("utf-8", "replace")


class _Tail:
    """The last ``MAX_CAPTURE`` bytes of a program's output."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.timed_out = False

    def add(self, chunk: bytes) -> None:
        self.data += chunk
        if len(self.data) > 2 * MAX_CAPTURE:
            del self.data[:-MAX_CAPTURE]

    def value(self) -> bytes:
        return bytes(self.data[-MAX_CAPTURE:])


def _read_to_end(selector: Any, pipe: Any, captured: _Tail, deadline: float | None) -> bool:
    """True at end of file; False when the deadline passed first."""
    while True:
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            captured.timed_out = True
            return False
        if selector.select(left):
            chunk = pipe.read(65536)
            if not chunk:
                return True
            captured.add(chunk)


def _wait_gone(pid: int, limit: float = 5.0) -> None:
    """The output pipe closes as the program exits; wait for the exit itself (the fork
    server's children are reaped by the kernel, so the pid then disappears)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and _running(pid):
        time.sleep(0.001)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    try:  # a zombie has exited (orphaned by a dead fork server, its new parent may not reap)
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rpartition(b") ")[2][:1] != b"Z"
    except OSError:
        return True


def _read_output(
    folder: Path,
    captured: str,
    document: dict[str, Any],
    store_file: Callable[[Path], dict[str, Any]],
    job: JobInput,
) -> Outcome:
    path = folder / "output" / "output.json"
    if not path.is_file() or path.stat().st_size == 0:
        said = validate.without_nul(captured.strip())
        return failure(said or "The program wrote no output", document)
    # Checked before reading: a program that ignores every limit must not fill our memory.
    if _too_big(path, job.max_output_bytes):
        return failure(
            f"Invalid output.json: larger than the limit of {job.max_output_bytes} bytes "
            "(PROPOLIS_JOB_MAX_OUTPUT_BYTES)",
            document,
        )
    try:
        # A program's text may hold NULs (strings pulled out of a binary): stored as U+FFFD.
        report = validate.without_nul(json.loads(path.read_text(encoding="utf-8")))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return failure(f"Invalid output.json: {exc}", document)
    if not isinstance(report, dict):
        return failure("Invalid output.json: not an object", document)
    if report.get("success") is not True:
        message = report.get("errorMessage")
        return Outcome(
            False,
            {
                "success": False,
                "errorMessage": message if isinstance(message, str) else "Unknown error",
                "input": report.get("input"),
            },
        )
    if not isinstance(report.get("full"), dict):
        return failure("Invalid output.json: success without a full report object", document)
    try:
        artifacts = _artifacts(
            folder / "output", report.get("artifacts"), store_file, job.max_file_bytes
        )
    except ValueError as exc:
        return failure(f"Report creation failure: {exc}", document)
    summary = report.get("summary") if isinstance(report.get("summary"), dict) else {}
    return Outcome(
        True,
        {
            "success": True,
            "full": report["full"],
            "summary": summary,
            "artifacts": artifacts,
            "operations": _objects(report.get("operations")),
        },
    )


def _objects(value: Any) -> list[dict[str, Any]]:
    """Cortex reads "array of objects"; anything else (one null inside) counts as empty."""
    if isinstance(value, list) and all(isinstance(v, dict) for v in value):
        return value
    return []


def _too_big(path: Path, limit: int | None) -> bool:
    return limit is not None and path.stat().st_size > limit


def _artifacts(
    output: Path,
    value: Any,
    store_file: Callable[[Path], dict[str, Any]],
    max_file_bytes: int | None = None,
) -> list[dict[str, Any]]:
    artifacts: list[dict[str, Any]] = []
    for raw in _objects(value):
        if not isinstance(raw.get("dataType"), str):
            continue  # Cortex skips artifacts without a dataType
        if "file" in raw or raw["dataType"] == "file":
            artifact = _file_artifact(output, raw, store_file, max_file_bytes)
        else:
            artifact = _value_artifact(raw)
        if artifact is not None:
            artifacts.append(artifact)
    return artifacts


def _common(raw: dict[str, Any], allowed: set[str]) -> dict[str, Any]:
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise ValueError(f"artifact has unknown attributes {', '.join(unknown)}")
    tlp = raw.get("tlp", 2)
    tags = raw.get("tags") or []
    if not isinstance(tlp, int) or isinstance(tlp, bool) or not 0 <= tlp <= 3:
        raise ValueError("artifact tlp must be an integer 0-3")
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise ValueError("artifact tags must be a list of strings")
    out: dict[str, Any] = {"dataType": raw["dataType"], "tlp": tlp, "tags": tags}
    message = raw.get("message")
    out["message"] = message if isinstance(message, str) else None
    return out


def _value_artifact(raw: dict[str, Any]) -> dict[str, Any] | None:
    out = _common(raw, VALUE_ARTIFACT_KEYS)
    data = raw.get("data")
    if data is None:
        return None
    out["data"] = data if isinstance(data, str) else json.dumps(data)
    return out


def _file_artifact(
    output: Path,
    raw: dict[str, Any],
    store_file: Callable[[Path], dict[str, Any]],
    max_bytes: int | None = None,
) -> dict[str, Any] | None:
    out = _common(raw, FILE_ARTIFACT_KEYS)
    name, filename = raw.get("file"), raw.get("filename")
    if not isinstance(name, str) or not isinstance(filename, str):
        return None
    path = output / name
    # Only a direct child of output/ (no sub-folder, no escape through "..").
    if path.parent.resolve() != output.resolve() or not path.is_file() or path.is_symlink():
        return None
    if _too_big(path, max_bytes):  # the same limit as any uploaded file
        raise ValueError(f"artifact file {filename} is larger than {max_bytes} bytes")
    stored = store_file(path)
    content_type = raw.get("contentType")
    out["attachment"] = {
        "id": stored["sha256"],
        "name": filename,
        "contentType": content_type if isinstance(content_type, str) else stored["contentType"],
        "size": stored["size"],
    }
    return out
