"""ServiceNow connection configuration: credentials (stored encrypted) and options."""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from ticketbridge.connectors.url_policy import UrlRefused, normalize_base_url

# An instance name as ServiceNow hands them out ("dev12345", "acme-test"): one DNS label.
INSTANCE_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
INSTANCE_DOMAIN = "service-now.com"
TASK_TABLES = ("incident", "problem", "change_request", "sc_req_item")


def instance_url(value: str) -> str:
    """``dev12345`` -> ``https://dev12345.service-now.com``; a URL is normalized as a Jira
    site URL is (the same URL policy applies to both afterwards)."""
    text = value.strip()
    if INSTANCE_NAME.fullmatch(text.lower()):
        return f"https://{text.lower()}.{INSTANCE_DOMAIN}"
    try:
        return normalize_base_url(text)
    except UrlRefused as exc:
        raise ValueError(
            f"must be an instance name (like dev12345) or the instance URL: {exc.reason}"
        ) from None


class ServiceNowCredentials(BaseModel):
    """Basic auth (``username``/``password``), or OAuth client credentials on top: with
    ``client_id``/``client_secret`` the connector asks ``/oauth_token.do`` for a bearer token
    (``grant_type=client_credentials``; with a username and password, ``password`` grant)."""

    model_config = ConfigDict(extra="forbid")
    url_field: ClassVar[str] = "instance"
    secret_field: ClassVar[str] = "password"

    instance: str = Field(
        description="Instance name (dev12345 -> https://dev12345.service-now.com) or URL"
    )
    username: str | None = Field(default=None, min_length=1, max_length=255)
    password: SecretStr | None = Field(default=None, min_length=1)
    client_id: str | None = Field(default=None, min_length=1, max_length=255)
    client_secret: SecretStr | None = Field(default=None, min_length=1)

    @field_validator("instance")
    @classmethod
    def _instance(cls, value: str) -> str:
        # Stored as the URL it names: the URL policy and the transport check that form.
        return instance_url(value)

    @model_validator(mode="after")
    def _one_way_in(self) -> ServiceNowCredentials:
        if (self.client_id is None) != (self.client_secret is None):
            raise ValueError("client_id and client_secret go together")
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together")
        if self.username is None and self.client_id is None:
            raise ValueError(
                "needs username and password (basic auth) or OAuth client_id and client_secret"
            )
        return self

    @property
    def base_url(self) -> str:
        return self.instance

    @base_url.setter
    def base_url(self, value: str) -> None:
        self.instance = value

    @property
    def uses_oauth(self) -> bool:
        return self.client_id is not None

    def hint(self) -> dict[str, Any]:
        out: dict[str, Any] = {"instance": self.instance}
        if self.username is not None:
            out["username"] = self.username
        if self.password is not None:
            out["password"] = "****" + self.password.get_secret_value()[-4:]
        if self.client_id is not None:
            out["client_id"] = self.client_id
        if self.client_secret is not None:
            out["client_secret"] = "****" + self.client_secret.get_secret_value()[-4:]
        return out


NORMALIZED_STATUSES = ("OPEN", "TODO", "IN_PROGRESS", "IN_REVIEW", "RESOLVED", "CLOSED")
NORMALIZED_PRIORITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNKNOWN")


class ServiceNowOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The task table tickets live in.
    table: Literal["incident", "problem", "change_request", "sc_req_item"] = "incident"
    # What a resolve or close writes when the caller gives no resolution (ServiceNow's
    # default data policy requires both on Resolved and Closed incidents).
    close_code: str = Field(default="Solution provided", min_length=1, max_length=80)
    close_notes: str = Field(default="Resolved through ticketbridge", min_length=1, max_length=4000)
    # ServiceNow state value (as a string, "6") or label -> normalized status, on top of the
    # defaults (docs/vendors/servicenow.md).
    status_mapping: dict[str, str] = Field(default_factory=dict)
    # Only users with this role are assignable (passthrough and sync); "" lists every
    # active user.
    assignable_role: str = Field(default="itil", max_length=100)

    @field_validator("status_mapping")
    @classmethod
    def _statuses(cls, value: dict[str, str]) -> dict[str, str]:
        bad = sorted(v for v in value.values() if v not in NORMALIZED_STATUSES)
        if bad:
            raise ValueError(f"unknown statuses {bad}; use {list(NORMALIZED_STATUSES)}")
        return value

    @field_validator("assignable_role")
    @classmethod
    def _role(cls, value: str) -> str:
        if value and not re.fullmatch(r"[A-Za-z0-9_.]+", value):
            raise ValueError("must be a role name (letters, digits, '_' and '.')")
        return value
