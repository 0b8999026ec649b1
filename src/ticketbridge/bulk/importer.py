"""``ticketbridge tickets import``: a CSV or JSON Lines file through the bulk create jobs.

Rows are numbered from 1 (the first data row; a CSV's header is not a row). Each row is
checked with the API's create schema first, so a bad row is reported with its number, field
and reason and never sent. Every row gets an identifier: its ``identifier`` column, or one
derived from its content (``import-<hash>``), so a re-run finds the rows already created in the
store and skips them. Good rows go to Jira as bulk create jobs (the same jobs as
``POST /v1/itsm/tickets/bulk``): the job row is committed before any vendor call, so a run cut
short leaves a record that a runner (or the next run) finishes, never a silent half-import.
"""

from __future__ import annotations

import asyncio
import csv
import functools
import hashlib
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ticketbridge.bulk import service as bulk
from ticketbridge.bulk import tasks as bulk_tasks
from ticketbridge.bulk.create import validation_message
from ticketbridge.bulk.schemas import JOB_BULK_CREATE
from ticketbridge.errors import NotFound, Unprocessable
from ticketbridge.jobs.registry import Handlers
from ticketbridge.jobs.repository import JobRepository
from ticketbridge.jobs.runner import execute_job, process_owner
from ticketbridge.runtime import Runtime
from ticketbridge.store.models import Connection, Job
from ticketbridge.tickets.repository import TicketRepository
from ticketbridge.tickets.schemas import TicketCreate

LIST_SEPARATOR = ";"  # CSV cells holding lists (tags)
JSON_COLUMNS = ("custom_fields",)


class ImportFileError(Exception):
    """The file as a whole cannot be read (missing, unknown format, bad header)."""


@dataclass
class Row:
    number: int
    data: dict[str, Any] | None
    identifier: str | None = None
    status: str = "pending"  # created | skipped | failed
    error: str | None = None
    vendor_ticket_id: str | None = None
    ticket_id: str | None = None
    job_id: str | None = None

    def fail(self, reason: str) -> None:
        self.status, self.error = "failed", reason

    def record(self) -> dict[str, Any]:
        return {
            "row": self.number,
            "status": self.status,
            "identifier": self.identifier,
            "vendor_ticket_id": self.vendor_ticket_id,
            "ticket_id": self.ticket_id,
            "job_id": self.job_id,
            "error": self.error,
        }


@dataclass
class ImportReport:
    rows: list[Row] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for r in self.rows if r.status == status)


def read_rows(path: Path) -> list[Row]:
    if not path.is_file():
        raise ImportFileError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return list(_csv_rows(path))
    if suffix in (".jsonl", ".ndjson"):
        return list(_jsonl_rows(path))
    raise ImportFileError(f"{path}: unknown format {suffix!r} (use .csv or .jsonl)")


def _csv_rows(path: Path) -> Iterator[Row]:
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames or "name" not in reader.fieldnames:
            raise ImportFileError(f"{path}: the header row must name the columns (name, ...)")
        for number, raw in enumerate(reader, start=1):
            if None in raw:
                yield Row(number, None, error=f"row {number}: more cells than header columns")
                continue
            data: dict[str, Any] = {}
            error = None
            for key, value in raw.items():
                if value is None or value == "":
                    continue
                if key == "tags":
                    data[key] = [t.strip() for t in value.split(LIST_SEPARATOR) if t.strip()]
                elif key in JSON_COLUMNS:
                    try:
                        data[key] = json.loads(value)
                    except ValueError:
                        error = f"row {number}: {key}: not valid JSON"
                else:
                    data[key] = value
            yield Row(number, None if error else data, error=error)


def _jsonl_rows(path: Path) -> Iterator[Row]:
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                yield Row(number, None, error=f"row {number}: empty line")
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                yield Row(number, None, error=f"row {number}: not valid JSON ({exc.msg})")
                continue
            if not isinstance(data, dict):
                yield Row(number, None, error=f"row {number}: must be a JSON object")
                continue
            yield Row(number, data)


def derived_identifier(data: dict[str, Any]) -> str:
    body = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return "import-" + hashlib.sha256(body.encode()).hexdigest()[:24]


def check_rows(rows: list[Row]) -> None:
    """Schema errors as ``row N: field: reason``; identifiers fixed; duplicates refused."""
    seen: dict[str, int] = {}
    for row in rows:
        if row.data is None:
            row.fail(row.error or f"row {row.number}: unreadable")
            continue
        if not row.data.get("identifier"):
            row.data["identifier"] = derived_identifier(row.data)
        row.identifier = str(row.data["identifier"])
        try:
            TicketCreate.model_validate(row.data)
        except ValidationError as exc:
            row.fail(f"row {row.number}: {validation_message(exc)}")
            continue
        if row.identifier in seen:
            row.fail(
                f"row {row.number}: identifier: {row.identifier!r} repeats row "
                f"{seen[row.identifier]}"
            )
            continue
        seen[row.identifier] = row.number


Progress = Callable[[int], None]


async def run_import(
    runtime: Runtime, connection_id: uuid.UUID, rows: list[Row], on_progress: Progress
) -> ImportReport:
    """Skip rows already in the store, create the rest through bulk jobs of
    ``BULK_MAX_TICKETS`` rows; ``on_progress(n)`` reports rows settled so far."""
    report = ImportReport(rows)
    async with runtime.session() as s:
        conn = await s.get(Connection, connection_id)
        if conn is None:
            raise NotFound(f"connection {connection_id} not found")
        if not conn.is_active:
            raise Unprocessable("the connection is disabled (is_active=false)")
    mine = {r.identifier for r in rows if r.identifier is not None}
    await _finish_unfinished(runtime, connection_id, mine)
    async with runtime.session() as s:
        tickets = TicketRepository(s)
        for row in rows:
            if row.status == "pending" and row.identifier is not None:
                found = await tickets.get_by_identifier(connection_id, row.identifier)
                if found is not None:
                    row.status, row.vendor_ticket_id = "skipped", found.vendor_key
                    row.ticket_id = str(found.id)
    settled = sum(1 for r in rows if r.status != "pending")
    on_progress(settled)
    todo = [r for r in rows if r.status == "pending"]
    size = runtime.settings.bulk_max_tickets
    for start in range(0, len(todo), size):
        batch = todo[start : start + size]
        async with runtime.session() as s:
            conn = await s.get(Connection, connection_id)
            assert conn is not None
            job = await bulk.enqueue_create(s, runtime, conn, [r.data for r in batch])
            job_id = job.id
        for row in batch:
            row.job_id = str(job_id)
        done = await _run_job(runtime, job_id, functools.partial(_shifted, on_progress, settled))
        _apply_results(batch, done)
        settled += len(batch)
        on_progress(settled)
    return report


async def _finish_unfinished(
    runtime: Runtime, connection_id: uuid.UUID, identifiers: set[str]
) -> None:
    """An earlier run's job with some of these rows, still QUEUED or abandoned, is finished
    first, so its rows are found in the store below instead of being sent a second time."""
    async with runtime.session() as s:
        jobs = await JobRepository(s).unfinished(connection_id, JOB_BULK_CREATE)
        pending = [
            j.id for j in jobs if identifiers & set((j.payload or {}).get("identifiers") or ())
        ]
    for job_id in pending:
        await _run_job(runtime, job_id, lambda _: None)


# The import runs bulk jobs only: bulk's own job types, no other domain's.
_HANDLERS = Handlers.of(bulk_tasks.register)


async def _run_job(runtime: Runtime, job_id: uuid.UUID, on_done: Progress) -> Job:
    owner = process_owner("import")
    runner = asyncio.create_task(execute_job(runtime, job_id, owner=owner, handlers=_HANDLERS))
    while True:
        async with runtime.session() as s:
            job = await JobRepository(s).get(job_id)
        assert job is not None
        on_done(job.progress_done)
        if job.status in ("SUCCESS", "FAILED"):
            await runner
            return job
        if runner.done():
            # Another runner (the service's) holds the job, or ours gave it back to retry
            # later: follow it, and claim it again when it is free.
            await asyncio.sleep(0.5)
            runner = asyncio.create_task(
                execute_job(runtime, job_id, owner=owner, handlers=_HANDLERS)
            )
        else:
            await asyncio.wait({runner}, timeout=0.2)


def _shifted(on_progress: Progress, base: int, done: int) -> None:
    on_progress(base + done)


def _apply_results(batch: list[Row], job: Job) -> None:
    results = {int(r.get("request_index", -1)): r for r in (job.results or [])}
    for index, row in enumerate(batch):
        r = results.get(index)
        if r is None:
            row.fail(f"row {row.number}: no result in job {job.id}")
        elif r.get("success"):
            row.status = "created"
            row.vendor_ticket_id = r.get("vendor_ticket_id")
            row.ticket_id = str(r["ticket_id"]) if r.get("ticket_id") else None
        else:
            row.fail(f"row {row.number}: {r.get('error') or 'failed'}")


def write_results(path: Path, report: ImportReport) -> None:
    """One line per row; CSV or JSON Lines after the result file's suffix."""
    records = [r.record() for r in report.rows]
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as f:
        if path.suffix.lower() == ".csv":
            writer = csv.DictWriter(f, fieldnames=list(Row(0, None).record()))
            writer.writeheader()
            writer.writerows(records)
        else:
            for rec in records:
                f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    tmp.replace(path)
