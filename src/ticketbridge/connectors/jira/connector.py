"""The Jira implementation of the connector protocols in ``connectors/base.py``.

Split by capability so that each concern stays small: sync reads (``sync_ops``), ticket
writes (``write_ops``) and live passthrough reads (``passthrough_ops``).
"""

from __future__ import annotations

from ticketbridge.connectors.base import Capabilities, Identity
from ticketbridge.connectors.jira.bulk_ops import BulkOps
from ticketbridge.connectors.jira.client import JiraClient
from ticketbridge.connectors.jira.config import JiraCredentials, JiraOptions
from ticketbridge.connectors.jira.passthrough_ops import PassthroughOps
from ticketbridge.connectors.jira.sync_ops import SyncOps
from ticketbridge.connectors.jira.write_ops import WriteOps

JIRA_CAPABILITIES = Capabilities(
    projects=True,
    issue_type_required=True,
    search_parameter="jql",
    search_language="JQL",
    groups=False,
    display_name="Jira",
)


class JiraConnector(SyncOps, WriteOps, PassthroughOps, BulkOps):
    vendor = "JIRA"
    capabilities = JIRA_CAPABILITIES

    def __init__(
        self,
        client: JiraClient,
        credentials: JiraCredentials,
        options: JiraOptions,
        *,
        scope: str = "",
    ) -> None:
        self.client = client
        self.credentials = credentials
        self.options = options
        # The connection id: markers are derived within it, so an issue's identifier is read
        # back only when this connection's marker of it is on the issue.
        self.scope = scope

    @property
    def base_url(self) -> str:
        return self.credentials.base_url

    async def check_credentials(self) -> Identity:
        me = await self.client.myself()
        return Identity(
            vendor_id=str(me.get("accountId", "")),
            name=me.get("displayName"),
            email=me.get("emailAddress"),
        )
