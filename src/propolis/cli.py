"""The ``propolis`` command line."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape

from propolis.app import HTTP_WORKER_ENV, prepare, start_services
from propolis.core.errors import PropolisError, missing
from propolis.core.security import ADMIN_ORG, SYSTEM_LOGIN, system_actor
from propolis.core.storage import Storage
from propolis.flows import storage_gc
from propolis.orgs import service as orgs
from propolis.orgs.models import Organisation
from propolis.settings import Settings
from propolis.users import service as users
from propolis.users.models import Membership, User

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from propolis.core.security import Actor

app = typer.Typer(
    help="Propolis: security incident response platform (TheHive 5 API).", no_args_is_help=True
)


@app.command()
def serve(
    host: str = typer.Option(None, help="address to listen on (default 127.0.0.1)"),
    port: int = typer.Option(None, help="port to listen on (default 9000)"),
    workers: int = typer.Option(
        None,
        help="HTTP worker processes (default: PROPOLIS_WORKERS, else one per core); "
        "1 runs everything in one process",
    ),
) -> None:
    """Run the whole product: the API in WORKERS processes, the embedded analysis
    consumers and the housekeeping once (in the supervising process when WORKERS > 1)."""
    import uvicorn

    settings = Settings()
    host = host or settings.host
    port = port or settings.port
    workers = workers or settings.workers or os.cpu_count() or 1
    # Migrate and bootstrap once, before any worker starts (workers then find it done).
    db, generated = prepare(settings)
    if generated:
        typer.echo(f"Created admin@thehive.local with password: {generated}")
        typer.echo("(shown once; set PROPOLIS_ADMIN_PASSWORD to choose it)")
    os.environ["PROPOLIS_WORKERS"] = str(workers)  # every process's settings (status page)
    background = None
    if workers > 1:
        background = start_services(settings, db, background=True, announce=True)
        os.environ[HTTP_WORKER_ENV] = "1"  # inherited by the workers uvicorn starts
    else:
        db.dispose()  # the one process's app opens its own
    typer.echo(f"Propolis listening on http://{host}:{port} ({workers} process(es))")
    try:
        uvicorn.run(
            "propolis.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=settings.log_level,
            # A worker answers the supervisor's health pings only once it has imported the
            # application: on a busy machine that takes more than Uvicorn's 5 s, and a
            # worker killed as hung is started again, to be killed again.
            timeout_worker_healthcheck=60,
            # Client addresses (login throttling, audit) come from X-Forwarded-For only
            # when the peer is a proxy the admin named.
            proxy_headers=bool(settings.trusted_proxies),
            forwarded_allow_ips=settings.trusted_proxies or None,
        )
    finally:
        if background is not None:
            background.stop()


@app.command()
def init() -> None:
    """Create the data folder, migrate the database and bootstrap, then exit."""
    db, generated = prepare(Settings())
    db.dispose()
    if generated:
        typer.echo(f"Created admin@thehive.local with password: {generated}")
    typer.echo("Database is up to date.")


@app.command()
def config() -> None:
    """Print the effective settings (secrets masked)."""
    typer.echo(json.dumps(Settings().masked(), indent=2, default=str))


# --------------------------------------------------------------------------- users, organisations
# These commands act as the platform itself (the system actor in the admin organisation) and
# go through the same services as the API, so the same rules and audit events apply.

storage_app = typer.Typer(help="Manage the file store.", no_args_is_help=True)
app.add_typer(storage_app, name="storage")


@storage_app.command("gc")
def storage_collect(
    grace: float = typer.Option(
        None, "--grace", help="keep files younger than this (seconds; default: the setting)"
    ),
) -> None:
    """Remove the stored files that no attachment, observable or datastore entry uses."""
    settings = Settings()
    grace = settings.storage_gc_grace if grace is None else grace
    db, _generated = prepare(settings)
    try:
        done = storage_gc.collect(db, Storage(Path(settings.data_dir) / "attachments"), grace)
    finally:
        db.dispose()
    _ok(f"{done.removed} unreferenced files removed ({done.freed_bytes} bytes), {done.kept} in use")


user_app = typer.Typer(help="Manage user accounts.", no_args_is_help=True)
org_app = typer.Typer(help="Manage organisations.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(org_app, name="org")


@contextmanager
def _as_platform() -> Iterator[tuple[Session, Actor]]:
    """A unit of work acting as the platform; domain errors end the command with code 1."""
    db, generated = prepare(Settings())
    if generated:
        _console(markup=False).print(f"Created admin@thehive.local with password: {generated}")
    try:
        with db.session() as session:
            admin_org = orgs.find(session, ADMIN_ORG)
            yield session, system_actor(admin_org.id, admin_org.name)
    except PropolisError as exc:
        _console(stderr=True).print(f"[red]{exc.type}:[/red] {escape(exc.message)}")
        raise typer.Exit(1) from exc
    finally:
        db.dispose()


def _console(stderr: bool = False, markup: bool = True) -> Console:
    return Console(stderr=stderr, highlight=False, markup=markup)


def _ok(message: str) -> None:
    """A success line; names typed by users are shown as typed, never as rich markup."""
    _console().print(f"[green]OK[/green] {escape(message)}")


def _new_password(password: str | None) -> str:
    if password:
        return password
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@user_app.command("add")
def user_add(
    login: str = typer.Argument(..., help="login, e.g. jane@example.org"),
    name: str = typer.Option(..., "--name", help="display name"),
    org: str = typer.Option(..., "--org", help="organisation (name or ~id)"),
    profile: str = typer.Option("analyst", "--profile", help="profile in that organisation"),
    password: str = typer.Option(None, "--password", help="initial password (default: none)"),
) -> None:
    """Create a user (or add an existing user to ORG with PROFILE)."""
    data = {"login": login, "name": name, "organisation": org, "profile": profile}
    if password:
        data["password"] = password
    with _as_platform() as (session, actor):
        user, target = users.create_user(session, actor, data)
        summary = f"{user.login} is {profile} in {target.name}"
    _ok(summary)


@user_app.command("passwd")
def user_passwd(
    login: str = typer.Argument(..., help="login of the user"),
    password: str = typer.Option(None, "--password", help="new password (else prompted)"),
) -> None:
    """Set a user's password."""
    new_password = _new_password(password)
    with _as_platform() as (session, actor):
        user = users.find_user(session, login)
        if user is None:
            raise missing("User", login)
        users.set_password(session, actor, user, {"password": new_password})
    _ok(f"password of {login.lower()} set")


@user_app.command("list")
def user_list() -> None:
    """List every user with their organisations and profiles."""
    from rich.table import Table
    from sqlalchemy import select

    table = Table("login", "name", "organisations (profile)", "locked", "password", "API key")
    with _as_platform() as (session, _actor):
        listed = session.scalars(
            select(User).where(User.login != SYSTEM_LOGIN).order_by(User.login)
        ).all()
        members = users.memberships(session, [u.id for u in listed])
        for user in listed:
            memberships = ", ".join(f"{o.name} ({p.name})" for o, p in members[user.id])
            table.add_row(
                user.login,
                user.name,
                memberships,
                "yes" if user.locked else "",
                "yes" if user.password_hash else "",
                "yes" if user.api_key_digest else "",
            )
    _console(markup=False).print(table)


@org_app.command("add")
def org_add(
    name: str = typer.Argument(..., help="organisation name"),
    description: str = typer.Option(None, "--description", help="description (default: name)"),
) -> None:
    """Create an organisation."""
    with _as_platform() as (session, actor):
        orgs.create(session, actor, {"name": name, "description": description or name})
    _ok(f"organisation {name} created")


@org_app.command("list")
def org_list() -> None:
    """List the organisations and how many members each has."""
    from rich.table import Table
    from sqlalchemy import func, select

    table = Table("name", "description", "members", "locked")
    with _as_platform() as (session, _actor):
        rows = session.execute(
            select(Organisation, func.count(Membership.id))
            .outerjoin(Membership, Membership.org_id == Organisation.id)
            .group_by(Organisation.id)
            .order_by(Organisation.name)
        ).all()
        for org, count in rows:
            table.add_row(org.name, org.description, str(count), "yes" if org.locked else "")
    _console(markup=False).print(table)


# Analysis engine: `propolis worker` and `propolis analyzers ...` (propolis.analysis.cli).
from propolis.analysis import cli as _analysis_cli  # noqa: E402

app.command("worker")(_analysis_cli.worker)
app.add_typer(_analysis_cli.analyzers_app, name="analyzers")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
