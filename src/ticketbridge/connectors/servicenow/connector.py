"""The ServiceNow implementation of the connector protocols in ``connectors/protocols.py``.

Split by capability like Jira's: sync reads (``sync_ops``), single writes (``write_ops``),
Batch API writes (``bulk_ops``) and live passthrough reads (``passthrough_ops``).
"""

from __future__ import annotations

from ticketbridge.connectors.base import Capabilities, Identity
from ticketbridge.connectors.servicenow.bulk_ops import BulkOps
from ticketbridge.connectors.servicenow.client import ServiceNowClient
from ticketbridge.connectors.servicenow.config import ServiceNowCredentials, ServiceNowOptions
from ticketbridge.connectors.servicenow.mapping import VENDOR_NAME, label, value
from ticketbridge.connectors.servicenow.passthrough_ops import PassthroughOps

SERVICENOW_CAPABILITIES = Capabilities(
    projects=False,
    issue_type_required=False,
    search_parameter="query",
    search_language="encoded query",
    groups=True,
    display_name="ServiceNow",
)


class ServiceNowConnector(BulkOps, PassthroughOps):
    vendor = VENDOR_NAME
    capabilities = SERVICENOW_CAPABILITIES

    def __init__(
        self,
        client: ServiceNowClient,
        credentials: ServiceNowCredentials,
        options: ServiceNowOptions,
        *,
        scope: str = "",
    ) -> None:
        self.client = client
        self.credentials = credentials
        self.options = options
        # The connection id: the identifier markers are derived within it.
        self.scope = scope

    @property
    def base_url(self) -> str:
        return self.credentials.base_url

    async def check_credentials(self) -> Identity:
        """One cheap authenticated read: the user record of the username (basic auth), or
        one sys_id of the task table (an OAuth client without a user)."""
        username = self.credentials.username
        if username is not None:
            page = await self.client.query(
                "sys_user",
                f"user_name={username.replace('^', '^^')}",
                limit=1,
                fields=("sys_id", "user_name", "name", "email"),
                count=False,
            )
            if page.records:
                me = page.records[0]
                return Identity(
                    vendor_id=value(me, "sys_id") or username,
                    name=label(me, "name"),
                    email=value(me, "email"),
                )
            return Identity(vendor_id=username, name=None, email=None)
        await self.client.query(self.options.table, "", limit=1, fields=("sys_id",), count=False)
        return Identity(vendor_id=self.credentials.client_id or "", name=None, email=None)
