"""``propolis worker`` and ``propolis analyzers ...``: the analysis engine's command line.

The commands go through the same services as the API (acting as the platform in the named
organisation), so the same checks and audit events apply.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from propolis.settings import Settings

analyzers_app = typer.Typer(
    help="Analyzers and responders: the catalogue, enabling them, running them.",
    no_args_is_help=True,
)


def _console(stderr: bool = False):  # noqa: ANN202
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


def _fail(message: str) -> typer.Exit:
    _console(stderr=True).print(f"[red]Error:[/red] {message}")
    return typer.Exit(1)


def _runtime(settings: Settings):  # noqa: ANN202
    """Database, storage and sealer of this data folder, as the server has them."""
    from propolis.analysis.runtime import Runtime, install
    from propolis.app import _secret_key, prepare
    from propolis.core.security import Sealer
    from propolis.core.storage import Storage

    db, _generated = prepare(settings)
    runtime = Runtime(
        settings, db, Storage(settings.attachments_dir), Sealer(_secret_key(settings))
    )
    install(runtime)
    return runtime


@contextmanager
def _in_org(runtime: Any, org: str) -> Iterator[tuple[Any, Any]]:
    from propolis.core.errors import PropolisError
    from propolis.core.security import system_actor
    from propolis.orgs import service as orgs

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

    from propolis.analysis import catalog as catalog_mod
    from propolis.analysis import workers

    settings = Settings()
    kind = "responder" if responders else "analyzer"
    found = catalog_mod.load(settings)
    enabled: dict[str, str] = {}
    if org:
        runtime = _runtime(settings)
        with _in_org(runtime, org) as (session, actor):
            enabled = {w.definition_id: w.name for w in workers.list_workers(session, actor, kind)}
    table = Table("id", "version", "data types", "origin", *(["enabled as"] if org else []))
    for definition in found.all(kind):
        row = [
            definition.id,
            definition.version,
            ", ".join(definition.data_types),
            "built-in" if definition.builtin else str(Path(definition.command).parent),
        ]
        if org:
            row.append(enabled.get(definition.id, ""))
        table.add_row(*row)
    console = _console()
    console.print(table)
    for problem in found.invalid + found.warnings:
        if problem.kind == kind:
            console.print(f"[yellow]skipped[/yellow] {problem.source}: {problem.reason}")


@analyzers_app.command("show")
def show_definition(
    definition_id: str = typer.Argument(..., help="definition id, e.g. Probe_Echo_1_0"),
    responder: bool = typer.Option(False, "--responder", help="a responder definition"),
) -> None:
    """Show one definition and its configuration items."""
    from propolis.analysis import catalog as catalog_mod
    from propolis.analysis.config import all_items, is_secret

    settings = Settings()
    definition = catalog_mod.load(settings).get(
        "responder" if responder else "analyzer", definition_id
    )
    if definition is None:
        raise _fail(f"no definition {definition_id}")
    console = _console()
    console.print(f"[bold]{definition.id}[/bold] — {definition.description}")
    console.print(f"program: {definition.command}")
    console.print(f"data types: {', '.join(definition.data_types)}")
    console.print("configuration items:")
    for item in all_items(definition, settings.job_cache_minutes, settings.job_timeout_minutes):
        flags = [item["type"] + ("[]" if item["multi"] else "")]
        if item["required"]:
            flags.append("required")
        if is_secret(item):
            flags.append("secret")
        if "defaultValue" in item:
            flags.append(f"default {json.dumps(item['defaultValue'])}")
        console.print(f"  {item['name']} ({', '.join(flags)}): {item['description']}")


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
    from propolis.analysis import catalog as catalog_mod
    from propolis.analysis import workers

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
            "responder" if responder else "analyzer",
            definition_id,
            data,
            runtime.sealer,
            settings,
        )
        label = f"{worker.name} ({worker.eid})"
    _console().print(f"[green]OK[/green] {label} enabled in {org}")


@analyzers_app.command("disable")
def disable(
    name: str = typer.Argument(..., help="worker name, ~id or definition id"),
    org: str = typer.Option(..., "--org", help="organisation"),
    responder: bool = typer.Option(False, "--responder", help="a responder"),
) -> None:
    """Disable an analyzer (or responder) in an organisation."""
    from propolis.analysis import workers

    runtime = _runtime(Settings())
    with _in_org(runtime, org) as (session, actor):
        kind = "responder" if responder else "analyzer"
        workers.disable_worker(session, actor, workers.get_worker(session, actor, kind, name))
    _console().print(f"[green]OK[/green] {name} disabled in {org}")


@analyzers_app.command("run")
def run(
    analyzer: str = typer.Argument(..., help="analyzer name, ~id or definition id"),
    observable: str = typer.Option(..., "--observable", help="observable ~id"),
    org: str = typer.Option(..., "--org", help="organisation"),
    force: bool = typer.Option(False, "--force", help="ignore cached results"),
) -> None:
    """Run an analyzer on an observable now, in this process, and print the report."""
    from propolis.analysis import engine, service
    from propolis.analysis.models import AnalyzerJob

    settings = Settings()
    runtime = _runtime(settings)
    with _in_org(runtime, org) as (session, actor):
        body = {"analyzerId": analyzer, "cortexId": "local", "artifactId": observable}
        if force:
            body["parameters"] = {"force": True}
        job_id = service.create_job(session, actor, body, settings).id
    engine.execute(runtime, "job", job_id)  # no-op if a server's worker took it first
    deadline = time.monotonic() + settings.job_timeout_minutes * 60 + 30
    while True:
        with runtime.db.session(write=False) as session:
            job = session.get(AnalyzerJob, job_id)
            status, report = job.status, job.report
        if status in ("Success", "Failure") or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    color = "green" if status == "Success" else "red"
    _console().print(f"[{color}]{status}[/{color}] job ~{job_id}")
    _console().print_json(json.dumps(report or {}))
    if status != "Success":
        raise typer.Exit(1)
