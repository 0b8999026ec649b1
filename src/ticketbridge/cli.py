"""The ``ticketbridge`` command line."""

from __future__ import annotations

import contextlib

import typer
from rich.console import Console

from ticketbridge.cli_keys import (
    check_secret_key,
    fail,
    first_run_token,
    keys_app,
    secret_app,
    warn_unreadable_credentials,
)
from ticketbridge.cli_ops import connections_app, jobs_app, tickets_app
from ticketbridge.config import Settings
from ticketbridge.crypto import SecretKeyError

app = typer.Typer(help="ticketbridge: a normalized ITSM API over Jira Cloud.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="api-keys")
app.add_typer(secret_app, name="secret-key")
app.add_typer(tickets_app, name="tickets")
app.add_typer(jobs_app, name="jobs")
app.add_typer(connections_app, name="connections")
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


@app.command()
def serve(
    host: str | None = typer.Option(None, help="Bind address (TICKETBRIDGE_HOST)"),
    port: int | None = typer.Option(None, help="Port (TICKETBRIDGE_PORT)"),
) -> None:
    """Run the API (embedded mode also runs jobs and scheduled syncs in this process)."""
    import uvicorn

    from ticketbridge.app import create_app
    from ticketbridge.gc_tuning import tune_for_service
    from ticketbridge.provisioning.secret_rotation import key_file_lock
    from ticketbridge.store.migrate import upgrade

    settings = Settings()
    if settings.mode == "distributed" and settings.is_sqlite:
        fail(  # as `worker` says: the job queue needs PostgreSQL
            "TICKETBRIDGE_MODE=distributed needs PostgreSQL: set TICKETBRIDGE_DATABASE_URL="
            "postgresql://..., or use the default embedded mode with SQLite",
            2,
        )
    check_secret_key(settings)  # one clear line instead of a failed lifespan's traceback
    if settings.mode == "embedded":
        upgrade(settings.resolved_database_url)
    warn_unreadable_credentials(settings)
    bind_host, bind_port = host or settings.host, port or settings.port
    tune_for_service()
    application = create_app(settings)
    application.state.setup_token = first_run_token(settings, bind_host, bind_port)
    with contextlib.ExitStack() as stack:
        if settings.secret_key is None:  # key file: `secret-key rotate` waits for us to stop
            try:
                stack.enter_context(key_file_lock(settings, exclusive=False))
            except SecretKeyError as exc:
                fail(str(exc), 2)
        uvicorn.run(
            application,
            host=bind_host,
            port=bind_port,
            log_level=settings.log_level.lower(),
            # JSON logs: uvicorn's loggers propagate to our handler instead of its own
            # plain-text ones, so the process writes one JSON stream.
            log_config=None if settings.log_json else uvicorn.config.LOGGING_CONFIG,
            # SIGTERM waits this long for in-flight requests (vendor calls included), then
            # cancels them; the job runner then hands its jobs back within the same grace.
            timeout_graceful_shutdown=max(1, round(settings.shutdown_grace_secs)),
            timeout_keep_alive=settings.keepalive_timeout_secs,
        )


@app.command()
def worker(
    concurrency: int = typer.Option(4, help="Jobs run at once by this worker"),
    name: str | None = typer.Option(None, help="Worker name (logs; default: host and pid)"),
) -> None:
    """Run a job worker (distributed mode, PostgreSQL): bulk jobs and scheduled syncs."""
    from ticketbridge.gc_tuning import tune_for_service
    from ticketbridge.handlers import job_handlers
    from ticketbridge.jobs.procrastinate_runner import main_worker

    settings = Settings()
    check_secret_key(settings)
    tune_for_service()
    raise typer.Exit(main_worker(settings, job_handlers(), concurrency=concurrency, name=name))


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


@app.command("fake-servicenow")
def fake_servicenow(
    host: str = "127.0.0.1",
    port: int = 8082,
    seed: int | None = typer.Option(None, help="Seed this many incidents deterministically"),
    latency_ms: int = typer.Option(0, help="Fixed latency added to every request"),
    tls: bool = typer.Option(
        False, "--tls", help="Serve HTTPS with a self-signed certificate made at start"
    ),
) -> None:
    """Run fakeservicenow, the ServiceNow emulator used by tests, benchmarks and the demo."""
    from ticketbridge.fakeservicenow.server import run

    run(host=host, port=port, seed=seed, latency_ms=latency_ms, tls=tls)


if __name__ == "__main__":  # pragma: no cover
    app()
