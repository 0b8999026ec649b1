"""Daily-work commands (registered by cli.py): ``tickets import``, ``jobs list|watch``,
``connections list|test``.

They work on the service's database directly (an operator's tools, across accounts, like
``ticketbridge sync``), so they need no API key; they never create a database
(:func:`ticketbridge.cli_common.require_database`). Failures are one ``error: ...`` line.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ticketbridge.cli_common import require_database
from ticketbridge.cli_keys import check_secret_key, fail
from ticketbridge.config import Settings
from ticketbridge.errors import TicketbridgeError
from ticketbridge.runtime import Runtime, open_runtime

T = TypeVar("T")

tickets_app = typer.Typer(help="Tickets: import files.", no_args_is_help=True)
jobs_app = typer.Typer(help="Jobs: list and follow.", no_args_is_help=True)
connections_app = typer.Typer(help="Connections: list and test.", no_args_is_help=True)
console = Console(soft_wrap=True)
FINISHED = ("SUCCESS", "FAILED")


def _uuid(value: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        fail(f"{what} must be an id (a UUID), not {value!r}", 2)


def _columns() -> tuple[TextColumn, BarColumn, MofNCompleteColumn, TimeElapsedColumn]:
    return (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )


def _with_runtime(work: Callable[[Runtime], Awaitable[T]]) -> T:
    settings = Settings()
    require_database(settings)
    check_secret_key(settings)

    async def go() -> T:
        async with open_runtime(settings) as runtime:
            return await work(runtime)

    try:
        return asyncio.run(go())
    except TicketbridgeError as exc:
        fail(exc.message)


@tickets_app.command("import")
def tickets_import(
    path: str = typer.Argument(..., help="A .csv (header row) or .jsonl file of tickets"),
    connection: str = typer.Option(..., "--connection", help="Connection id"),
    results: str | None = typer.Option(
        None, "--results", help="Per-row result file (default: FILE.results.csv|jsonl)"
    ),
) -> None:
    """Create the file's tickets in Jira through bulk jobs; a re-run skips rows created."""
    from ticketbridge.bulk import importer

    file = Path(path)

    connection_id = _uuid(connection, "--connection")
    try:
        rows = importer.read_rows(file)
    except importer.ImportFileError as exc:
        fail(str(exc), 2)
    importer.check_rows(rows)
    out = Path(results) if results else file.with_name(f"{file.stem}.results{file.suffix}")
    report = importer.ImportReport(rows)

    async def work(runtime: Runtime) -> None:
        with Progress(*_columns(), console=console) as progress:
            task = progress.add_task("importing", total=len(rows))
            await importer.run_import(
                runtime, connection_id, rows, lambda n: progress.update(task, completed=n)
            )

    try:
        _with_runtime(work)
    finally:  # an interrupted run still leaves its record: rows settled so far, job ids
        importer.write_results(out, report)
    for row in rows:
        if row.status == "failed":
            typer.echo(f"error: {row.error}", err=True)
    console.print(
        f"{report.count('created')} created, {report.count('skipped')} skipped (already "
        f"created), {report.count('failed')} failed; results in {out}"
    )
    if report.count("failed"):
        raise typer.Exit(1)


@jobs_app.command("list")
def jobs_list(
    connection: str | None = typer.Option(None, "--connection", help="Only this connection"),
    status: str | None = typer.Option(None, help="QUEUED, RUNNING, SUCCESS or FAILED"),
    limit: int = typer.Option(20, min=1, max=1000),
) -> None:
    """The newest jobs: id, type, connection, status, progress."""
    from ticketbridge.jobs.repository import JobRepository

    cid = _uuid(connection, "--connection") if connection else None
    if status is not None and status.upper() not in ("QUEUED", "RUNNING", *FINISHED):
        fail(f"--status must be QUEUED, RUNNING, SUCCESS or FAILED, not {status!r}", 2)

    async def work(runtime: Runtime) -> Table:
        table = Table("id", "type", "connection", "status", "progress", "created")
        async with runtime.session() as s:
            jobs = await JobRepository(s).recent(
                cid, status=status.upper() if status else None, limit=limit
            )
        for j in jobs:
            table.add_row(
                str(j.id),
                j.type,
                str(j.connection_id),
                j.status,
                f"{j.progress_done}/{j.progress_total}",
                j.created_at.isoformat()[:19].replace("T", " "),
            )
        return table

    Console(width=200).print(_with_runtime(work))


@jobs_app.command("watch")
def jobs_watch(
    job_id: str = typer.Argument(..., help="Job id"),
    interval: float = typer.Option(0.5, min=0.05, help="Seconds between polls"),
) -> None:
    """Follow a job with a progress bar until it finishes; exit 1 when it FAILED."""
    from ticketbridge.jobs.repository import JobRepository

    jid = _uuid(job_id, "JOB_ID")

    async def work(runtime: Runtime) -> tuple[str, list[str]]:
        with Progress(*_columns(), console=console) as progress:
            task = progress.add_task("job", total=None)
            while True:
                async with runtime.session() as s:
                    job = await JobRepository(s).get(jid)
                if job is None:
                    fail(f"job {jid} not found")
                progress.update(
                    task,
                    description=f"{job.type} {job.status}",
                    completed=job.progress_done,
                    total=job.progress_total or None,
                )
                if job.status in FINISHED:
                    failed = [
                        f"item {r.get('request_index', '?')}: {r.get('error')}"
                        for r in job.results or []
                        if not r.get("success")
                    ]
                    return job.status, failed
                await asyncio.sleep(interval)

    status, failed = _with_runtime(work)
    for line in failed:
        typer.echo(f"failed {line}", err=True)
    console.print(f"job {jid}: {status}")
    if status != "SUCCESS":
        raise typer.Exit(1)


@connections_app.command("list")
def connections_list() -> None:
    """Every connection: id, account, vendor, state, health, identifier (never credentials)."""
    from ticketbridge.provisioning.schemas import ConnectionRead
    from ticketbridge.store.stats import StatsRepository

    async def work(runtime: Runtime) -> Table:
        table = Table("id", "account", "vendor", "state", "health", "identifier", "base URL")
        async with runtime.session() as s:
            rows = await StatsRepository(s).connections()
        for conn in rows:
            read = ConnectionRead.from_model(conn)
            table.add_row(
                str(conn.id),
                str(conn.account_id),
                conn.vendor,
                str(read.state),
                conn.health,
                conn.identifier or "-",
                str((conn.credentials_hint or {}).get("base_url", "-")),
            )
        return table

    Console(width=220).print(_with_runtime(work))


@connections_app.command("test")
def connections_test(connection: str = typer.Argument(..., help="Connection id")) -> None:
    """Check the connection's credentials against the vendor; exit 1 when UNHEALTHY."""
    from ticketbridge.provisioning.service import test_connection
    from ticketbridge.store.models import Connection

    cid = _uuid(connection, "CONNECTION")

    async def work(runtime: Runtime) -> tuple[str, str | None]:
        async with runtime.session() as s:
            conn = await s.get(Connection, cid)
            if conn is None:
                fail(f"connection {cid} not found (see `ticketbridge connections list`)")
            result = await test_connection(s, runtime, conn)
        return result.health, result.detail or result.vendor_account_name

    health, detail = _with_runtime(work)
    console.print(f"{cid}: {health}" + (f" ({detail})" if detail else ""))
    if health != "HEALTHY":
        raise typer.Exit(1)
