"""ServiceNow's registration with the connector registry (``connectors/registry.py``)."""

from __future__ import annotations

import httpx

from ticketbridge.connectors.registry import HttpFor, Vendor
from ticketbridge.connectors.servicenow.auth import OAuthClientAuth
from ticketbridge.connectors.servicenow.client import ServiceNowClient
from ticketbridge.connectors.servicenow.config import ServiceNowCredentials, ServiceNowOptions
from ticketbridge.connectors.servicenow.connector import ServiceNowConnector
from ticketbridge.connectors.servicenow.endpoints import endpoint_template
from ticketbridge.connectors.servicenow.id_grammar import check


def connect(
    credentials: ServiceNowCredentials,
    options: ServiceNowOptions,
    http: HttpFor,
    connection_id: str,
) -> ServiceNowConnector:
    auth: httpx.Auth
    if credentials.uses_oauth:
        auth = OAuthClientAuth(credentials)
    else:
        assert credentials.username is not None and credentials.password is not None
        auth = httpx.BasicAuth(credentials.username, credentials.password.get_secret_value())
    client = ServiceNowClient(http(credentials.base_url, auth))
    return ServiceNowConnector(client, credentials, options, scope=connection_id)


VENDOR = Vendor(
    name="SERVICENOW",
    credentials=ServiceNowCredentials,
    options=ServiceNowOptions,
    connect=connect,
    check_id=check,
    endpoint_template=endpoint_template,
)
