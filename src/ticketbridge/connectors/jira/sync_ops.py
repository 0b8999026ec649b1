"""Sync reads: projects, issue types, users and ticket pages, normalized."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ticketbridge.connectors.jira.client import JiraClient
    from ticketbridge.connectors.jira.config import JiraCredentials, JiraOptions


class SyncOps:
    client: JiraClient
    credentials: JiraCredentials
    options: JiraOptions
