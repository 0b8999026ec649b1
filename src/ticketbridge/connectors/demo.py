"""The built-in demo: a Jira emulator (fakejira) served inside this process.

A demo connection is a Jira connection whose ``base_url`` is
``https://<label>.demo.ticketbridge.invalid``. Tenants can never store such a URL (the URL
policy refuses the reserved suffix), so only the first-run demo service creates one.
:class:`DemoTransport` sits in front of the vendor transport: requests for a demo host go to
the emulator's ASGI app in memory (each label is its own emulated site, seeded on first use);
every other request goes to the normal, guarded transport. No socket is opened for the demo,
and the private-address rules stay in force for everyone else.

The emulator's state lives in this process: in embedded mode the API, jobs and syncs share
it; a restart re-seeds it (issues created through the demo are then gone from the emulator
and the next sync marks them deleted).
"""

from __future__ import annotations

import secrets
from typing import Any

import httpx

from ticketbridge.connectors.url_policy import DEMO_HOST_SUFFIX, is_demo_host
from ticketbridge.fakejira.app import create_app as create_fakejira
from ticketbridge.fakejira.seed import SeedSpec
from ticketbridge.fakejira.state import DEFAULT_ADMIN_EMAIL, DEFAULT_ADMIN_TOKEN, FakeJiraState

# A few projects, users and a few hundred issues: enough to page, filter and search. The
# classic workflow (Open, In Progress, Resolved, Closed, Reopened) reaches every status.
DEMO_SEED = SeedSpec(projects=3, issues_per_project=100, users=12, seed=14, workflow="classic")


def demo_credentials() -> dict[str, Any]:
    """Credentials of a new demo connection (its own emulated site)."""
    label = f"demo-{secrets.token_hex(4)}"
    return {
        "base_url": f"https://{label}{DEMO_HOST_SUFFIX}",
        "email": DEFAULT_ADMIN_EMAIL,
        "api_token": DEFAULT_ADMIN_TOKEN,
    }


def is_demo_url(base_url: str) -> bool:
    return is_demo_host(httpx.URL(base_url).host)


class DemoTransport(httpx.AsyncBaseTransport):
    """Routes demo hosts to the in-process emulator, everything else to ``inner``."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.state = FakeJiraState(seed=DEMO_SEED)
        self._emulator = httpx.ASGITransport(app=create_fakejira(self.state))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        if not is_demo_host(host):
            return await self.inner.handle_async_request(request)
        # The emulator picks its site from "<site>.atlassian.net".
        label = host.rstrip(".").lower().removesuffix(DEMO_HOST_SUFFIX)
        site = f"{label}.atlassian.net"
        headers = [(k, v) for k, v in request.headers.raw if k.lower() != b"host"]
        headers.append((b"host", site.encode("ascii")))
        routed = httpx.Request(
            request.method,
            request.url.copy_with(scheme="http", host=site, port=None),
            headers=headers,
            stream=request.stream,
            extensions=request.extensions,
        )
        return await self._emulator.handle_async_request(routed)

    async def aclose(self) -> None:
        await self.inner.aclose()
