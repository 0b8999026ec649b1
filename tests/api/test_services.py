"""What runs in the API process is built in one place (app.py's lifespan) and reached in one
way (the typed ``Services`` behind the ``*Dep`` dependencies), never looked up by name."""

from __future__ import annotations

from pathlib import Path

import httpx

from ticketbridge.api.deps import Services
from ticketbridge.app import create_app
from ticketbridge.config import Settings
from ticketbridge.connectors.http import RetryPolicy
from ticketbridge.jobs.embedded import EmbeddedRunner
from ticketbridge.passthrough.service import PassthroughResources
from ticketbridge.sync.scheduler import SyncScheduler

SRC = Path(__file__).parents[2] / "src" / "ticketbridge"


async def test_the_lifespan_publishes_every_service_and_takes_them_back(
    settings: Settings, vendor_transport: httpx.AsyncBaseTransport, retry_policy: RetryPolicy
) -> None:
    app = create_app(settings, vendor_transport=vendor_transport, retry_policy=retry_policy)
    assert not hasattr(app.state, "services")  # nothing runs before the lifespan
    async with app.router.lifespan_context(app):
        services = app.state.services
        assert isinstance(services, Services)
        assert isinstance(services.job_runner, EmbeddedRunner)  # the tests run embedded
        assert isinstance(services.sync_scheduler, SyncScheduler)
        assert isinstance(services.passthrough, PassthroughResources)
        # app.state holds the container and nothing a route could look up by another name.
        assert set(vars(app.state)["_state"]) <= {"services", "rate_buckets"}
    assert not hasattr(app.state, "services")


def test_only_the_dependencies_read_app_state() -> None:
    readers = sorted(
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        # The emulators (and their kit) are separate apps with their own state.
        if not {"fakejira", "fakeservicenow", "fakekit"} & set(path.parts)
        and ("app.state" in path.read_text() or "startup_hooks" in path.read_text())
    )
    assert readers == ["api/deps.py", "app.py"]
