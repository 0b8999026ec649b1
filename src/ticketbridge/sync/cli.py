"""``ticketbridge sync --connection ID``: one sync run in the foreground with a progress bar."""

from __future__ import annotations

import asyncio
import uuid

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ticketbridge.config import Settings
from ticketbridge.errors import TicketbridgeError
from ticketbridge.runtime import open_runtime
from ticketbridge.sync.service import SyncProgress, SyncResult, run_sync


def sync_command(settings: Settings, connection: str, *, full: bool, console: Console) -> int:
    """Returns the process exit code (0 on success)."""
    try:
        connection_id = uuid.UUID(connection)
    except ValueError:
        console.print(f"[red]--connection must be a connection id (a UUID), not {connection!r}")
        return 2
    from ticketbridge.cli_common import require_database

    require_database(settings)  # never a new empty database (and key) in the wrong directory
    try:
        result = asyncio.run(_run(settings, connection_id, full=full, console=console))
    except TicketbridgeError as exc:
        console.print(f"[red]sync failed:[/red] {exc.message}")
        return 1
    console.print(
        f"[green]{result.mode} sync done[/green]: {result.tickets} tickets read in "
        f"{result.pages} pages, {result.changed} changed; {result.projects} projects, "
        f"{result.users} users"
        + (
            f"; reconciled ({result.deactivated} deactivated, {result.reactivated} reactivated)"
            if result.reconciled
            else ""
        )
    )
    return 0


async def _run(
    settings: Settings, connection_id: uuid.UUID, *, full: bool, console: Console
) -> SyncResult:
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    async with open_runtime(settings) as runtime:
        with Progress(*columns, console=console, transient=False) as progress:
            task = progress.add_task("connecting", total=None)

            def show(p: SyncProgress) -> None:
                label = f"{p.mode} sync: {p.phase}"
                progress.update(
                    task, description=label, completed=p.tickets, total=p.estimated_total
                )

            return await run_sync(
                runtime, connection_id, full=full, on_progress=show, estimate_total=True
            )
