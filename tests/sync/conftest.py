from tests.sync.fixtures import (  # noqa: F401 (fixtures)
    fake_jira,
    other_tenant,
    runtime,
    site,
    tenant,
    vendor_transport,
    waits,
)
