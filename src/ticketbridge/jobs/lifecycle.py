"""Wires the job runner into the API process (a startup hook) and hands it to requests.

Embedded mode runs the jobs here; distributed mode only opens procrastinate to enqueue and
bounds this process's vendor calls with the cross-process limiter.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request

from ticketbridge.errors import TicketbridgeError
from ticketbridge.jobs.runner import JobRunner
from ticketbridge.runtime import Runtime


def install(app: FastAPI) -> None:
    app.state.job_runner = None

    def hook(runtime: Runtime) -> AbstractAsyncContextManager[Any]:
        return _serve(app, runtime)

    app.state.startup_hooks.append(hook)


@asynccontextmanager
async def _serve(app: FastAPI, runtime: Runtime) -> AsyncIterator[None]:
    if runtime.settings.mode == "embedded":
        from ticketbridge.jobs.embedded import EmbeddedRunner

        runner = EmbeddedRunner(runtime)
        async with runner.serve():
            app.state.job_runner = runner
            try:
                yield
            finally:
                app.state.job_runner = None
        return
    from ticketbridge.jobs.limiter import install_distributed_limiter
    from ticketbridge.jobs.procrastinate_runner import open_enqueuer

    async with install_distributed_limiter(runtime), open_enqueuer(runtime.settings) as enq:
        app.state.job_runner = enq
        try:
            yield
        finally:
            app.state.job_runner = None


def get_job_runner(request: Request) -> JobRunner:
    runner: JobRunner | None = request.app.state.job_runner
    if runner is None:
        raise TicketbridgeError("the job runner is not running")
    return runner
