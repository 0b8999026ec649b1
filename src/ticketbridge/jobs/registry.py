"""What the job engine can run, handed to it by the process that runs jobs.

The engine (this package) imports no domain. Each domain exposes a ``register(handlers)`` in
its ``tasks`` module (``bulk/tasks.py``, ``sync/tasks.py``); ``ticketbridge/handlers.py``
lists those modules once, and the API process (app.py) and the worker command build their
:class:`Handlers` from that list. Names follow ``"<domain>.<verb>"``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ticketbridge.jobs.runner import JobContext


@dataclass(frozen=True)
class JobType:
    """A job type (a ``jobs`` row's ``type``): run it (resumably) and, after the last
    attempt, give up. Runs under either runner, embedded or procrastinate."""

    run: Callable[[JobContext], Awaitable[list[dict[str, Any]]]]
    give_up: Callable[[JobContext, str], Awaitable[list[dict[str, Any]]]]


@dataclass(frozen=True)
class WorkerTask:
    """A procrastinate task of a domain, run by ``ticketbridge worker`` (distributed mode).

    ``fn`` takes procrastinate's job context first (``pass_context``); ``cron`` (with
    seconds) makes it periodic, deferred once per tick across all workers."""

    name: str
    fn: Callable[..., Awaitable[None]]
    cron: str | None = None
    periodic_id: str | None = None


@dataclass
class Handlers:
    job_types: dict[str, JobType] = field(default_factory=dict)
    worker_tasks: dict[str, WorkerTask] = field(default_factory=dict)

    def add_job_type(self, name: str, job_type: JobType) -> None:
        if name in self.job_types:
            raise ValueError(f"job type {name!r} registered twice")
        self.job_types[name] = job_type

    def add_worker_task(self, task: WorkerTask) -> None:
        if task.name in self.worker_tasks:
            raise ValueError(f"worker task {task.name!r} registered twice")
        self.worker_tasks[task.name] = task

    @classmethod
    def of(cls, *registrars: Callable[[Handlers], None]) -> Handlers:
        """The handlers of the domains whose ``register`` functions are given."""
        handlers = cls()
        for register in registrars:
            register(handlers)
        return handlers
