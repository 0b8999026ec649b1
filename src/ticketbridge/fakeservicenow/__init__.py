"""fakeservicenow: a stateful ServiceNow REST emulator for tests, benchmarks and demos.

It serves the part of ServiceNow's REST API that ticketbridge and the usual Python clients
(``pysnc``, ``pysnow``) use: the Table API (``/api/now[/v1|/v2]/table/{table}[/{sys_id}]``)
with encoded queries, field selection, display values, reference links and paging headers;
the Batch API (``/api/now/v1/batch``); Basic auth and ``/oauth_token.do``; ServiceNow's error
body. Tables: ``incident``, ``problem``, ``change_request``, ``sc_req_item`` (task tables with
numbers, priority lookup, close-info data policy), ``sys_user``, ``sys_user_group``,
``sys_user_grmember``, ``sys_user_role``, ``sys_user_has_role``, ``sys_choice``,
``sys_audit_delete``. Several instances (by ``Host``), deterministic seed data, injectable
faults (latency, 429, 5xx, refusals, ambiguous writes) and an admin API under ``/_fake``.
It imports nothing from ticketbridge outside this package but :mod:`ticketbridge.fakekit`, the
emulators' shared kit (faults, stats, instances by ``Host``, the common ``/_fake`` routes,
server and TLS start-up).

In-process::

    from ticketbridge.fakeservicenow import create_app
    app = create_app(seed=300)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                               base_url="https://dev12345.service-now.com",
                               auth=("admin", "fake-password"))

As a server: ``ticketbridge fake-servicenow --port 8082 --seed 300 [--tls]`` (:mod:`.server`).
Module map: :mod:`.app` (factory), :mod:`.context` (pipeline), ``routes_*`` (endpoints),
:mod:`.state` (instances and records), :mod:`.schema` and :mod:`.choices` (tables),
:mod:`.query` (encoded queries), :mod:`.render`, :mod:`.writes`, :mod:`.rules` (business
rules), :mod:`.faults`, :mod:`.seed`, :mod:`.server`.
"""

from .app import FakeServiceNowApp, create_app
from .faults import AmbiguousFault, ErrorFault, FaultConfig, RateLimitFault, RefuseFault
from .seed import SeedSpec
from .state import (
    DEFAULT_ADMIN_USER,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_INTEGRATION_USER,
    DEFAULT_PASSWORD,
    FakeServiceNowState,
    Instance,
)

__all__ = [
    "DEFAULT_ADMIN_USER",
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_INTEGRATION_USER",
    "DEFAULT_PASSWORD",
    "AmbiguousFault",
    "ErrorFault",
    "FakeServiceNowApp",
    "FakeServiceNowState",
    "FaultConfig",
    "Instance",
    "RateLimitFault",
    "RefuseFault",
    "SeedSpec",
    "create_app",
]
