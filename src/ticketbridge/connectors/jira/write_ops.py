"""Ticket writes: create, update, transition, bulk create/edit/transition."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ticketbridge.connectors.jira.client import JiraClient
    from ticketbridge.connectors.jira.config import JiraCredentials, JiraOptions


class WriteOps:
    client: JiraClient
    credentials: JiraCredentials
    options: JiraOptions
