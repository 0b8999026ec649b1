"""Live passthrough reads for dropdowns and ad-hoc JQL search."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ticketbridge.connectors.jira.client import JiraClient
    from ticketbridge.connectors.jira.config import JiraCredentials, JiraOptions


class PassthroughOps:
    client: JiraClient
    credentials: JiraCredentials
    options: JiraOptions
