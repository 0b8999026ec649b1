"""Running the emulator as a real HTTP(S) server (uvicorn).

* :func:`run` is what ``ticketbridge fake-servicenow --host H --port P [--seed N] [--tls]
  [--latency-ms X]`` calls: it blocks, serving until interrupted. ``--tls`` serves HTTPS with a
  self-signed certificate generated at start (:mod:`.tls`) and prints its path.
* :class:`BackgroundServer` runs one in a thread on a loopback port (port 0 = a free one), for
  tests that need a real socket: ``with BackgroundServer(app, tls=True) as server:
  server.base_url, server.ca_path``.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn

from .app import FakeServiceNowApp, create_app
from .faults import FaultConfig
from .seed import SeedSpec
from .state import (
    DEFAULT_ADMIN_USER,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_INTEGRATION_USER,
    DEFAULT_PASSWORD,
    FakeServiceNowState,
)
from .tls import CertificatePair, generate


def _config(
    app: Any, host: str, port: int, log_level: str, tls: CertificatePair | None
) -> uvicorn.Config:
    # No websockets and no lifespan: nothing here needs them.
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        ws="none",
        lifespan="off",
        access_log=False,
        ssl_certfile=str(tls.cert_path) if tls else None,
        ssl_keyfile=str(tls.key_path) if tls else None,
    )


def run(
    host: str = "127.0.0.1",
    port: int = 8082,
    seed: int | None = None,
    latency_ms: int = 0,
    tls: bool = False,
    cert_dir: Path | None = None,
) -> None:
    """Serve a fake ServiceNow instance until interrupted."""
    state = FakeServiceNowState(
        seed=SeedSpec(incidents=seed, seed=seed) if seed else None,
        faults=FaultConfig(latency_ms=latency_ms),
    )
    app = create_app(state)
    _ = state.default  # build (and seed) the default instance before announcing readiness
    pair = generate(cert_dir) if tls else None
    scheme = "https" if tls else "http"
    shown = "localhost" if host in ("0.0.0.0", "::") else host
    print(
        f"fake ServiceNow at {scheme}://{shown}:{port}  (a Host header "
        f"<name>.service-now.com selects instance <name>)"
    )
    print(
        f"credentials: {DEFAULT_ADMIN_USER} or {DEFAULT_INTEGRATION_USER} / {DEFAULT_PASSWORD}"
        f"   OAuth client: {DEFAULT_CLIENT_ID} / {DEFAULT_CLIENT_SECRET}"
    )
    print(f"admin API: {scheme}://{shown}:{port}/_fake/stats", flush=True)
    if pair is not None:
        print(f"TLS certificate (trust it as a CA bundle): {pair.cert_path}", flush=True)
    if seed:
        print(f"seeded: {seed} incidents", flush=True)
    uvicorn.Server(_config(app, host, port, "info", pair)).run()


class BackgroundServer:
    """A uvicorn server in a daemon thread; a context manager."""

    def __init__(
        self,
        app: FakeServiceNowApp | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        log_level: str = "warning",
        tls: bool = False,
        cert_dir: Path | None = None,
    ) -> None:
        self.app = app if app is not None else create_app()
        self.tls = generate(cert_dir) if tls else None
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.host, self.port = self.sock.getsockname()[:2]
        self.server = uvicorn.Server(_config(self.app, host, self.port, log_level, self.tls))
        self.thread = threading.Thread(target=self._serve, name="fakeservicenow", daemon=True)

    @property
    def base_url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.host}:{self.port}"

    @property
    def ca_path(self) -> Path | None:
        """The certificate to trust (``None`` without TLS)."""
        return self.tls.cert_path if self.tls else None

    @property
    def state(self) -> FakeServiceNowState:
        return self.app.fakeservicenow

    def _serve(self) -> None:
        self.server.run(sockets=[self.sock])

    def start(self, timeout: float = 10.0) -> BackgroundServer:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("fakeservicenow server did not start")
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
