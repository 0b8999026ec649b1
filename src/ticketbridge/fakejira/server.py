"""Running the emulator as a real HTTP server (uvicorn, through :mod:`ticketbridge.fakekit.server`).

* :func:`run` is what ``ticketbridge fake-jira --host H --port P [--seed N] [--latency-ms X]``
  calls: it blocks, serving until interrupted. ``seed`` is the number of issues per site
  (``None``: just the admin user and an empty DEMO project); ``latency_ms`` is every site's
  initial fixed latency fault.
* :class:`BackgroundServer` runs one in a thread on a loopback port (port 0 = a free one), for
  tests and benchmarks that need a real socket: ``with BackgroundServer(app) as server:
  server.base_url``.
"""

from __future__ import annotations

from ticketbridge.fakekit import server as kit

from .app import FakeJiraApp, create_app
from .faults import FaultConfig
from .state import DEFAULT_ADMIN_EMAIL, DEFAULT_ADMIN_TOKEN, FakeJiraState


def run(
    host: str = "127.0.0.1", port: int = 8081, seed: int | None = None, latency_ms: int = 0
) -> None:
    """Serve a fake Jira Cloud until interrupted."""
    state = FakeJiraState(seed=seed, faults=FaultConfig(latency_ms=latency_ms))
    app = create_app(state)
    state.site()  # build (and seed) the default site before announcing readiness
    shown = kit.shown_host(host)
    banner = [
        f"fake Jira Cloud at http://{shown}:{port}  (any <name>.atlassian.net Host header "
        f"selects site <name>)",
        f"credentials: {DEFAULT_ADMIN_EMAIL} / {DEFAULT_ADMIN_TOKEN}   "
        f"admin API: http://{shown}:{port}/_fake/stats",
    ]
    if seed:
        banner.append(f"seeded: {seed} issues per site")
    kit.serve(app, host, port, banner)


class BackgroundServer(kit.BackgroundServer[FakeJiraApp]):
    """A uvicorn server in a daemon thread; a context manager."""

    def __init__(
        self,
        app: FakeJiraApp | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        log_level: str = "warning",
    ) -> None:
        super().__init__(
            app if app is not None else create_app(),
            name="fakejira",
            host=host,
            port=port,
            log_level=log_level,
        )

    @property
    def state(self) -> FakeJiraState:
        return self.app.fakejira
