"""Running an emulator as a real HTTP(S) server (uvicorn).

* :func:`serve` is what each emulator's ``run`` (its CLI command) ends with: print the banner
  lines (flushed, so a parent process reading them sees them at once) and serve until
  interrupted, over HTTPS when given a certificate (:mod:`.tls`).
* :class:`BackgroundServer` runs one in a daemon thread on a loopback port (port 0 = a free
  one), for tests and benchmarks that need a real socket: ``with Server(app) as server:
  server.base_url`` (and ``server.ca_path`` with TLS).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

import uvicorn

from .tls import CertificatePair


def uvicorn_config(
    app: Any, host: str, port: int, log_level: str, tls: CertificatePair | None = None
) -> uvicorn.Config:
    # No websockets and no lifespan: nothing here needs them, and skipping them keeps optional
    # protocol imports (and their deprecation warnings) out of test runs.
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


def shown_host(host: str) -> str:
    """The host to print in a URL: ``localhost`` for the wildcard addresses."""
    return "localhost" if host in ("0.0.0.0", "::") else host


def serve(
    app: Any, host: str, port: int, banner: Iterable[str], tls: CertificatePair | None = None
) -> None:
    """Print ``banner`` and serve ``app`` until interrupted."""
    for line in banner:
        print(line, flush=True)
    uvicorn.Server(uvicorn_config(app, host, port, "info", tls)).run()


A = TypeVar("A")


class BackgroundServer(Generic[A]):
    """A uvicorn server in a daemon thread (named ``name``); a context manager."""

    def __init__(
        self,
        app: A,
        *,
        name: str,
        host: str = "127.0.0.1",
        port: int = 0,
        log_level: str = "warning",
        tls: CertificatePair | None = None,
    ) -> None:
        self.app = app
        self.name = name
        self.tls = tls
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.host, self.port = self.sock.getsockname()[:2]
        self.server = uvicorn.Server(uvicorn_config(app, host, self.port, log_level, tls))
        self.thread = threading.Thread(target=self._serve, name=name, daemon=True)

    @property
    def base_url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.host}:{self.port}"

    @property
    def ca_path(self) -> Path | None:
        """The certificate to trust (``None`` without TLS)."""
        return self.tls.cert_path if self.tls else None

    def _serve(self) -> None:
        self.server.run(sockets=[self.sock])

    def start(self, timeout: float = 10.0) -> Self:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} server did not start")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)
        self.sock.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
