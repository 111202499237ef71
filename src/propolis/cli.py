"""The ``propolis`` command line."""

from __future__ import annotations

import json

import typer

from propolis.settings import Settings

app = typer.Typer(
    help="Propolis: security incident response platform (TheHive 5 API).", no_args_is_help=True
)


@app.command()
def serve(
    host: str = typer.Option(None, help="address to listen on (default 127.0.0.1)"),
    port: int = typer.Option(None, help="port to listen on (default 9000)"),
    workers: int = typer.Option(1, help="HTTP worker processes (PostgreSQL only)"),
) -> None:
    """Run the whole product (API, web UI, embedded job workers) in one process."""
    import uvicorn

    settings = Settings()
    host = host or settings.host
    port = port or settings.port
    # Migrate and bootstrap once, before any worker starts (workers then find it done).
    from propolis.app import prepare

    db, generated = prepare(settings)
    db.dispose()
    if generated:
        typer.echo(f"Created admin@thehive.local with password: {generated}")
        typer.echo("(shown once; set PROPOLIS_ADMIN_PASSWORD to choose it)")
    typer.echo(f"Propolis listening on http://{host}:{port}")
    uvicorn.run(
        "propolis.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level,
        proxy_headers=False,
    )


@app.command()
def init() -> None:
    """Create the data folder, migrate the database and bootstrap, then exit."""
    from propolis.app import prepare

    db, generated = prepare(Settings())
    db.dispose()
    if generated:
        typer.echo(f"Created admin@thehive.local with password: {generated}")
    typer.echo("Database is up to date.")


@app.command()
def config() -> None:
    """Print the effective settings (secrets masked)."""
    typer.echo(json.dumps(Settings().masked(), indent=2, default=str))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
