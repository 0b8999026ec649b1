"""The ``ticketbridge`` command line."""

from __future__ import annotations

import asyncio

import typer
from rich.console import Console

from ticketbridge.config import Settings

app = typer.Typer(help="ticketbridge: a normalized ITSM API over Jira Cloud.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="api-keys")
console = Console()


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply database migrations."""
    from ticketbridge.store.migrate import upgrade

    settings = Settings()
    upgrade(settings.resolved_database_url, revision)
    console.print(f"database at revision {revision}")
    if settings.mode == "distributed":
        from ticketbridge.jobs.procrastinate_runner import apply_schema

        created = apply_schema(settings)
        console.print(f"procrastinate schema {'created' if created else 'already present'}")


@keys_app.command("create")
def api_keys_create(
    name: str = typer.Option(..., help="A label for the key"),
    account: str = typer.Option("default", help="Account name (created if missing)"),
) -> None:
    """Create an API key; it is printed once and only its hash is stored."""
    from ticketbridge.provisioning.service import create_api_key
    from ticketbridge.store.migrate import upgrade
    from ticketbridge.store.session import create_engine, create_sessionmaker

    settings = Settings()
    if settings.is_sqlite:
        upgrade(settings.resolved_database_url)

    async def _create() -> str:
        engine = create_engine(settings.resolved_database_url)
        try:
            async with create_sessionmaker(engine)() as session:
                _, plain = await create_api_key(session, name=name, account_name=account)
                await session.commit()
                return plain
        finally:
            await engine.dispose()

    plain = asyncio.run(_create())
    console.print(f"[bold]API key for account {account!r}[/bold] (shown once, store it now):")
    print(plain)


@app.command()
def serve(
    host: str | None = typer.Option(None, help="Bind address (TICKETBRIDGE_HOST)"),
    port: int | None = typer.Option(None, help="Port (TICKETBRIDGE_PORT)"),
) -> None:
    """Run the API (embedded mode also runs jobs and scheduled syncs in this process)."""
    import uvicorn

    from ticketbridge.app import create_app
    from ticketbridge.store.migrate import upgrade

    settings = Settings()
    if settings.mode == "embedded":
        upgrade(settings.resolved_database_url)
    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        log_level=settings.log_level.lower(),
        # SIGTERM waits this long for in-flight requests (vendor calls included), then
        # cancels them; the job runner then hands its jobs back within the same grace.
        timeout_graceful_shutdown=max(1, round(settings.shutdown_grace_secs)),
    )


@app.command()
def worker(
    concurrency: int = typer.Option(4, help="Jobs run at once by this worker"),
    name: str | None = typer.Option(None, help="Worker name (logs; default: host and pid)"),
) -> None:
    """Run a job worker (distributed mode, PostgreSQL): bulk jobs and scheduled syncs."""
    from ticketbridge.jobs.procrastinate_runner import main_worker

    raise typer.Exit(main_worker(Settings(), concurrency=concurrency, name=name))


@app.command("sync")
def sync(
    connection: str = typer.Option(..., "--connection", help="Connection id to sync"),
    full: bool = typer.Option(False, "--full", help="Re-read every issue, not only changes"),
) -> None:
    """Sync one connection now, with a progress bar (an interrupted sync resumes)."""
    from ticketbridge.sync.cli import sync_command

    raise typer.Exit(sync_command(Settings(), connection, full=full, console=console))


@app.command("fake-jira")
def fake_jira(
    host: str = "127.0.0.1",
    port: int = 8081,
    seed: int | None = typer.Option(None, help="Seed this many issues deterministically"),
    latency_ms: int = typer.Option(0, help="Fixed latency added to every request"),
) -> None:
    """Run fakejira, the Jira Cloud emulator used by tests, benchmarks and the demo."""
    from ticketbridge.fakejira.server import run

    run(host=host, port=port, seed=seed, latency_ms=latency_ms)


if __name__ == "__main__":  # pragma: no cover
    app()
