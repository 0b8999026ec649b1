"""Running the emulator as a real HTTP(S) server (uvicorn, through
:mod:`ticketbridge.fakekit.server`).

* :func:`run` is what ``ticketbridge fake-servicenow --host H --port P [--seed N] [--tls]
  [--latency-ms X]`` calls: it blocks, serving until interrupted. ``--tls`` serves HTTPS with a
  self-signed certificate generated at start (:func:`certificate`) and prints its path.
* :class:`BackgroundServer` runs one in a thread on a loopback port (port 0 = a free one), for
  tests that need a real socket: ``with BackgroundServer(app, tls=True) as server:
  server.base_url, server.ca_path``.
"""

from __future__ import annotations

from pathlib import Path

from ticketbridge.fakekit import server as kit
from ticketbridge.fakekit.tls import CertificatePair, generate

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

HOST_NAMES = ("*.service-now.com", "service-now.com")


def certificate(directory: Path | None = None) -> CertificatePair:
    """``fakeservicenow-cert.pem`` and its key for ``localhost``, ``127.0.0.1``, ``::1`` and
    ``*.service-now.com``, in ``directory`` (a new temporary one by default)."""
    return generate("fakeservicenow", HOST_NAMES, directory)


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
    pair = certificate(cert_dir) if tls else None
    scheme = "https" if tls else "http"
    shown = kit.shown_host(host)
    banner = [
        f"fake ServiceNow at {scheme}://{shown}:{port}  (a Host header "
        f"<name>.service-now.com selects instance <name>)",
        f"credentials: {DEFAULT_ADMIN_USER} or {DEFAULT_INTEGRATION_USER} / {DEFAULT_PASSWORD}"
        f"   OAuth client: {DEFAULT_CLIENT_ID} / {DEFAULT_CLIENT_SECRET}",
        f"admin API: {scheme}://{shown}:{port}/_fake/stats",
    ]
    if pair is not None:
        banner.append(f"TLS certificate (trust it as a CA bundle): {pair.cert_path}")
    if seed:
        banner.append(f"seeded: {seed} incidents")
    kit.serve(app, host, port, banner, pair)


class BackgroundServer(kit.BackgroundServer[FakeServiceNowApp]):
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
        super().__init__(
            app if app is not None else create_app(),
            name="fakeservicenow",
            host=host,
            port=port,
            log_level=log_level,
            tls=certificate(cert_dir) if tls else None,
        )

    @property
    def state(self) -> FakeServiceNowState:
        return self.app.fakeservicenow
