"""``propolis worker`` and ``propolis analyzers ...``: the analysis engine's command line.

The commands go through the same services as the API (acting as the platform in the named
organisation), so the same checks and audit events apply.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from propolis.analysis import catalog as catalog_mod
from propolis.analysis import engine, service, workers
from propolis.analysis.config import all_items, is_secret, masked
from propolis.analysis.models import AnalyzerJob
from propolis.analysis.reports import taxonomies_of, taxonomy_tag
from propolis.analysis.runtime import Runtime, install
from propolis.app import _secret_key, prepare
from propolis.core.errors import PropolisError
from propolis.core.security import Sealer, system_actor
from propolis.core.storage import Storage
from propolis.orgs import service as orgs
from propolis.settings import Settings

analyzers_app = typer.Typer(
    help="Analyzers and responders: the catalogue, enabling them, running them.",
    no_args_is_help=True,
)


def _console(stderr: bool = False):  # noqa: ANN202
    from rich.console import Console

    console = Console(stderr=stderr, highlight=False)
    if not console.is_terminal:
        console.width = 200  # piped or captured: no wrapping at 80 columns, no cut ids
    return console


def _fail(message: str) -> typer.Exit:
    _console(stderr=True).print(f"[red]Error:[/red] {message}", soft_wrap=True)
    return typer.Exit(1)


def _quiet_catalogue() -> None:
    """The catalogue logs each invalid definition; ``list`` shows them itself, and the other
    commands have nothing to do with them."""
    logging.getLogger("propolis.analysis.catalog").setLevel(logging.ERROR)


def _kind(responder: bool) -> str:
    return "responder" if responder else "analyzer"


def _runtime(settings: Settings):  # noqa: ANN202
    """Database, storage and sealer of this data folder, as the server has them."""
    db, _generated = prepare(settings)
    runtime = Runtime(
        settings, db, Storage(settings.attachments_dir), Sealer(_secret_key(settings))
    )
    install(runtime)
    return runtime


@contextmanager
def _in_org(runtime: Any, org: str) -> Iterator[tuple[Any, Any]]:
    try:
        with runtime.db.session() as session:
            found = orgs.find(session, org)
            if found is None:
                raise _fail(f"organisation {org} not found")
            yield session, system_actor(found.id, found.name)
    except PropolisError as exc:
        raise _fail(f"{exc.type}: {exc.message}") from exc


# --------------------------------------------------------------------------- worker


def worker(
    threads: int = typer.Option(
        None, "--threads", help="jobs run at once (default: Cortex's rule)"
    ),
) -> None:
    """Run analysis jobs taken from the Redis queue (PROPOLIS_QUEUE_URL)."""
    settings = Settings()
    if not settings.queue_url:
        raise _fail("PROPOLIS_QUEUE_URL must name the Redis queue shared with `propolis serve`")
    runtime = _runtime(settings)
    runtime.start_reaper()
    runtime.start_consumers(embedded=False, workers=threads)
    runtime.start_presence()
    _console().print(f"Propolis worker: {runtime.consumer.workers} threads on {settings.queue_url}")
    try:
        runtime.consumer.run()  # until SIGINT/SIGTERM
    finally:
        runtime.stop()
        runtime.db.dispose()


# --------------------------------------------------------------------------- analyzers


@analyzers_app.command("list")
def list_definitions(
    responders: bool = typer.Option(False, "--responders", help="list responders instead"),
    org: str = typer.Option(None, "--org", help="also show what is enabled in this org"),
) -> None:
    """List the catalogue, and the definitions that could not be used."""
    from rich.table import Table

    _quiet_catalogue()
    settings = Settings()
    kind = _kind(responders)
    found = catalog_mod.load(settings)
    enabled: dict[str, list[str]] = {}
    if org:
        runtime = _runtime(settings)
        with _in_org(runtime, org) as (session, actor):
            for worker in workers.list_workers(session, actor, kind):
                enabled.setdefault(worker.definition_id, []).append(worker.name)
    table = Table("id", "version", "data types", "origin", *([f"enabled in {org}"] if org else []))
    table.columns[0].no_wrap = True
    table.columns[3].overflow = "fold"
    definitions = found.all(kind)
    for definition in definitions:
        row = [
            definition.id,
            definition.version,
            ", ".join(definition.data_types),
            "built-in" if definition.builtin else str(Path(definition.command).parent),
        ]
        if org:
            row.append(", ".join(enabled.get(definition.id, [])) or "-")
        table.add_row(*row)
    console = _console()
    console.print(table)
    console.print(f"{len(definitions)} {kind} definitions", soft_wrap=True)
    for problem in found.invalid:
        if problem.kind == kind:
            line = f"[yellow]skipped[/yellow] {problem.source}: {problem.reason}"
            console.print(line, soft_wrap=True)
    for problem in found.warnings:
        if problem.kind == kind:
            line = f"[yellow]warning[/yellow] {problem.source}: {problem.reason}"
            console.print(line, soft_wrap=True)


@analyzers_app.command("show")
def show_definition(
    definition_id: str = typer.Argument(..., help="definition id, e.g. Probe_Echo_1_0"),
    responder: bool = typer.Option(False, "--responder", help="only look among responders"),
) -> None:
    """Show one analyzer (or responder) definition and its configuration items."""
    _quiet_catalogue()
    settings = Settings()
    found = catalog_mod.load(settings)
    kinds = ["responder"] if responder else ["analyzer", "responder"]
    definition = next(
        (d for d in (found.get(k, definition_id) for k in kinds) if d is not None), None
    )
    if definition is None:
        raise _fail(
            f"no {' or '.join(kinds)} definition {definition_id} "
            "(`propolis analyzers list` shows the catalogue)"
        )
    console = _console()
    console.print(f"[bold]{definition.id}[/bold] ({definition.kind})", soft_wrap=True)
    console.print(definition.description, soft_wrap=True)
    for label, value in (
        ("version", definition.version),
        ("author", definition.author),
        ("license", definition.license),
        ("url", definition.url),
        ("program", "built-in" if definition.builtin else definition.command),
        ("data types", ", ".join(definition.data_types)),
    ):
        console.print(f"{label}: {value}", soft_wrap=True)
    console.print("configuration items:")
    for item in all_items(definition, settings.job_cache_minutes, settings.job_timeout_minutes):
        flags = [item["type"] + ("[]" if item["multi"] else "")]
        if item["required"]:
            flags.append("required")
        if is_secret(item):
            flags.append("secret")
        if "defaultValue" in item:
            flags.append(f"default {json.dumps(item['defaultValue'])}")
        console.print(
            f"  {item['name']} ({', '.join(flags)}): {item['description']}", soft_wrap=True
        )


def _parse_settings(values: list[str]) -> dict[str, Any]:
    """``key=value`` pairs; the value is read as JSON when it parses (numbers, booleans,
    lists), else as a string."""
    out: dict[str, Any] = {}
    for pair in values:
        key, sep, raw = pair.partition("=")
        if not sep:
            raise _fail(f"--set needs key=value, got {pair!r}")
        try:
            out[key] = json.loads(raw)
        except json.JSONDecodeError:
            out[key] = raw
    return out


@analyzers_app.command("enable")
def enable(
    definition_id: str = typer.Argument(..., help="definition id"),
    org: str = typer.Option(..., "--org", help="organisation"),
    values: list[str] = typer.Option([], "--set", help="configuration item, key=value"),
    responder: bool = typer.Option(False, "--responder", help="a responder definition"),
    name: str = typer.Option(None, "--name", help="name in the organisation"),
) -> None:
    """Enable a definition in an organisation with its configuration."""
    _quiet_catalogue()
    settings = Settings()
    runtime = _runtime(settings)
    data: dict[str, Any] = {"configuration": _parse_settings(values)}
    if name:
        data["name"] = name
    with _in_org(runtime, org) as (session, actor):
        worker = workers.enable_worker(
            session,
            actor,
            catalog_mod.load(settings),
            _kind(responder),
            definition_id,
            data,
            runtime.sealer,
            settings,
        )
        label = f"{worker.name} ({worker.eid})"
        configuration = masked(worker.configuration or {})
    console = _console()
    console.print(f"[green]OK[/green] {_kind(responder)} {label} enabled in {org}", soft_wrap=True)
    for key, value in sorted(configuration.items()):
        console.print(f"  {key} = {json.dumps(value)}", soft_wrap=True)


def _enabled(session: Any, actor: Any, kind: str, ref: str, org: str) -> Any:
    worker = workers.find_worker(session, actor.org_id, kind, ref)
    if worker is None:
        raise _fail(f"no {kind} {ref} is enabled in {org} (see `propolis analyzers list --org`)")
    return worker


@analyzers_app.command("disable")
def disable(
    name: str = typer.Argument(..., help="worker name, ~id or definition id"),
    org: str = typer.Option(..., "--org", help="organisation"),
    responder: bool = typer.Option(False, "--responder", help="a responder"),
) -> None:
    """Disable an analyzer (or responder) in an organisation."""
    _quiet_catalogue()
    runtime = _runtime(Settings())
    with _in_org(runtime, org) as (session, actor):
        worker = _enabled(session, actor, _kind(responder), name, org)
        label = f"{worker.name} ({worker.eid})"
        workers.disable_worker(session, actor, worker)
    _console().print(f"[green]OK[/green] {_kind(responder)} {label} disabled in {org}")


@analyzers_app.command("run")
def run(
    analyzer: str = typer.Argument(..., help="analyzer name, ~id or definition id"),
    observable: str = typer.Option(..., "--observable", help="observable ~id"),
    org: str = typer.Option(..., "--org", help="organisation"),
    force: bool = typer.Option(False, "--force", help="ignore cached results"),
) -> None:
    """Run an analyzer on an observable now, in this process, and print the report."""
    _quiet_catalogue()
    settings = Settings()
    runtime = _runtime(settings)
    with _in_org(runtime, org) as (session, actor):
        worker = _enabled(session, actor, "analyzer", analyzer, org)
        body = {"analyzerId": worker.name, "cortexId": "local", "artifactId": observable}
        if force:
            body["parameters"] = {"force": True}
        job = service.create_job(session, actor, body, settings)
        job_id, cached, name = job.id, job.status == "Success", worker.name
        target = f"{job.data_type} {job.data}" if job.data is not None else job.data_type
    engine.execute(runtime, "job", job_id)  # no-op if a server's worker took it first
    deadline = time.monotonic() + settings.job_timeout_minutes * 60 + 30
    while True:
        with runtime.db.session(write=False) as session:
            job = session.get(AnalyzerJob, job_id)
            status, report = job.status, job.report or {}
        if status in ("Success", "Failure") or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    _print_result(name, target, job_id, cached, status, report)
    if status != "Success":
        raise typer.Exit(1)


def _print_result(
    worker_name: str, target: str, job_id: int, cached: bool, status: str, report: dict
) -> None:
    """One status line, the summary taxonomies, then the full report (or the error)."""
    console = _console()
    color = "green" if status == "Success" else "red"
    origin = " (from cache)" if cached else ""
    console.print(
        f"[{color}]{status}[/{color}] {worker_name} on {target}: job ~{job_id}{origin}",
        soft_wrap=True,
    )
    if status != "Success":
        message = report.get("errorMessage") or "the job did not end in time"
        console.print(f"error: {message}", soft_wrap=True)
        return
    for taxonomy in taxonomies_of(report):
        console.print(f"  {taxonomy['level']}: {taxonomy_tag(taxonomy)}", soft_wrap=True)
    console.print("report:")
    console.print_json(json.dumps(report.get("full") or {}))
