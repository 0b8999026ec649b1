"""The Jira implementation of the connector protocol."""

from __future__ import annotations

from ticketbridge.connectors.base import Identity
from ticketbridge.connectors.jira.client import JiraClient
from ticketbridge.connectors.jira.config import JiraCredentials, JiraOptions


class JiraConnector:
    vendor = "JIRA"

    def __init__(self, client: JiraClient, credentials: JiraCredentials, options: JiraOptions):
        self.client = client
        self.credentials = credentials
        self.options = options

    async def check_credentials(self) -> Identity:
        me = await self.client.myself()
        return Identity(
            vendor_id=str(me.get("accountId", "")),
            name=me.get("displayName"),
            email=me.get("emailAddress"),
        )
