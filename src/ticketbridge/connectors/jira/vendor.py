"""Jira's registration with the connector registry (``connectors/registry.py``)."""

from __future__ import annotations

import httpx

from ticketbridge.connectors.jira.client import JiraClient
from ticketbridge.connectors.jira.config import JiraCredentials, JiraOptions
from ticketbridge.connectors.jira.connector import JiraConnector
from ticketbridge.connectors.jira.endpoints import endpoint_template
from ticketbridge.connectors.jira.id_grammar import check
from ticketbridge.connectors.registry import HttpFor, Vendor


def connect(
    credentials: JiraCredentials, options: JiraOptions, http: HttpFor, connection_id: str
) -> JiraConnector:
    auth = httpx.BasicAuth(credentials.email, credentials.api_token.get_secret_value())
    client = JiraClient(http(credentials.base_url, auth))
    return JiraConnector(client, credentials, options, scope=connection_id)


VENDOR = Vendor(
    name="JIRA",
    credentials=JiraCredentials,
    options=JiraOptions,
    connect=connect,
    check_id=check,
    endpoint_template=endpoint_template,
)
