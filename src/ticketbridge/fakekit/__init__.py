"""fakekit: the vendor-neutral plumbing of the vendor emulators (fakejira, fakeservicenow).

Each emulator keeps its vendor knowledge (endpoints, schema, error bodies, authentication, seed
data) and builds on this kit for what every vendor emulator needs the same way:

* :mod:`.faults`: fault injection (latency, 429 with ``Retry-After``, 5xx, refusals, ambiguous
  "applied, then failed or hung up" writes), route keys, request statistics;
* :mod:`.tenants`: tenants (a Jira site, a ServiceNow instance) chosen by the ``Host`` header,
  each with its own data, faults and stats;
* :mod:`.app`: the Starlette app class with the connection-dropping fault, tenant selection,
  unmatched routes;
* :mod:`.admin`: the common ``/_fake`` admin routes (reset, seed, stats, faults);
* :mod:`.server` and :mod:`.tls`: uvicorn start-up, a background server for tests, a
  self-signed certificate for ``--tls``.

It imports neither emulator nor anything of the service (import-linter contracts say so).
"""
