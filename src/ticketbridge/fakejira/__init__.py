"""fakejira: a stateful Jira Cloud REST emulator for tests, benchmarks and demos.

It serves the subset of Jira Cloud's REST API v2/v3 that ticketbridge and the usual Python
clients (``jira``, ``atlassian-python-api``) use, with Jira's JSON shapes, validation messages,
workflows per project (Jira Cloud's default, or a restricted classic one) with transition
screens, ``nextPageToken`` search, bulk tasks, several sites, Basic auth, deterministic seed
data, and injectable faults (latency, 429s, 5xx, ambiguous writes). It imports nothing from
ticketbridge outside this package but :mod:`ticketbridge.fakekit`, the emulators' shared kit
(faults, stats, sites by ``Host``, the common ``/_fake`` routes, server start-up).

In-process::

    from ticketbridge.fakejira import create_app
    app = create_app(seed=1000)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                               base_url="https://acme.atlassian.net",
                               auth=("admin@example.com", "fake-token"))

As a server: ``ticketbridge fake-jira --port 8081 --seed 1000`` (see :mod:`.server`).
Module map: :mod:`.app` (factory), ``routes_*`` (endpoints), :mod:`.state` (sites and data),
:mod:`.validation`, :mod:`.render`, :mod:`.search`, :mod:`.bulk`, :mod:`.faults`,
:mod:`.seed`, :mod:`.text` (ADF), :mod:`.jql` (query engine).
"""

from .app import FakeJiraApp, create_app
from .faults import AmbiguousFault, ErrorFault, FaultConfig, RateLimitFault, RefuseFault
from .seed import SeedSpec
from .state import (
    DEFAULT_ADMIN_ACCOUNT_ID,
    DEFAULT_ADMIN_EMAIL,
    DEFAULT_ADMIN_TOKEN,
    FakeJiraState,
    Site,
)

__all__ = [
    "DEFAULT_ADMIN_ACCOUNT_ID",
    "DEFAULT_ADMIN_EMAIL",
    "DEFAULT_ADMIN_TOKEN",
    "AmbiguousFault",
    "ErrorFault",
    "FakeJiraApp",
    "FakeJiraState",
    "FaultConfig",
    "RateLimitFault",
    "RefuseFault",
    "SeedSpec",
    "Site",
    "create_app",
]
