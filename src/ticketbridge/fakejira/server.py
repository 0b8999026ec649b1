"""Running the emulator as a real HTTP server (uvicorn).

* :func:`run` is what ``ticketbridge fake-jira --host H --port P [--seed N] [--latency-ms X]``
  calls: it blocks, serving until interrupted. ``seed`` is the number of issues per site
  (``None``: just the admin user and an empty DEMO project); ``latency_ms`` is every site's
  initial fixed latency fault.
* :class:`BackgroundServer` runs one in a thread on a loopback port (port 0 = a free one), for
  tests and benchmarks that need a real socket: ``with BackgroundServer(app) as server:
  server.base_url``.
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Any

import uvicorn

from .app import FakeJiraApp, create_app
from .faults import FaultConfig
from .state import DEFAULT_ADMIN_EMAIL, DEFAULT_ADMIN_TOKEN, FakeJiraState


def _config(app: Any, host: str, port: int, log_level: str) -> uvicorn.Config:
    # No websockets and no lifespan: nothing here needs them, and skipping them keeps optional
    # protocol imports (and their deprecation warnings) out of test runs.
    return uvicorn.Config(
        app, host=host, port=port, log_level=log_level, ws="none", lifespan="off", access_log=False
    )


def run(
    host: str = "127.0.0.1", port: int = 8081, seed: int | None = None, latency_ms: int = 0
) -> None:
    """Serve a fake Jira Cloud until interrupted."""
    state = FakeJiraState(seed=seed, faults=FaultConfig(latency_ms=latency_ms))
    app = create_app(state)
    state.site()  # build (and seed) the default site before announcing readiness
    shown = "localhost" if host in ("0.0.0.0", "::") else host
    print(
        f"fake Jira Cloud at http://{shown}:{port}  (any <name>.atlassian.net Host header "
        f"selects site <name>)"
    )
    print(
        f"credentials: {DEFAULT_ADMIN_EMAIL} / {DEFAULT_ADMIN_TOKEN}   "
        f"admin API: http://{shown}:{port}/_fake/stats"
    )
    if seed:
        print(f"seeded: {seed} issues per site")
    uvicorn.Server(_config(app, host, port, "info")).run()


class BackgroundServer:
    """A uvicorn server in a daemon thread; a context manager."""

    def __init__(
        self,
        app: FakeJiraApp | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        log_level: str = "warning",
    ) -> None:
        self.app = app if app is not None else create_app()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.host, self.port = self.sock.getsockname()[:2]
        self.server = uvicorn.Server(_config(self.app, host, self.port, log_level))
        self.thread = threading.Thread(target=self._serve, name="fakejira", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def state(self) -> FakeJiraState:
        return self.app.fakejira

    def _serve(self) -> None:
        self.server.run(sockets=[self.sock])

    def start(self, timeout: float = 10.0) -> BackgroundServer:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("fakejira server did not start")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)
        self.sock.close()

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
