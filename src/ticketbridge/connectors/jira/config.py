"""Jira connection configuration: credentials (stored encrypted) and options."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from ticketbridge.connectors.url_policy import UrlRefused, normalize_base_url


class JiraCredentials(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url_field: ClassVar[str] = "base_url"
    secret_field: ClassVar[str] = "api_token"

    base_url: str = Field(description="Site URL, e.g. https://acme.atlassian.net")
    email: str = Field(min_length=3, max_length=320)
    api_token: SecretStr = Field(min_length=1)

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        # The structural rules; https and the address rules need DNS and the settings, so
        # the provisioning service applies them (UrlPolicy.check) and the transport again.
        try:
            return normalize_base_url(value)
        except UrlRefused as exc:
            raise ValueError(exc.reason) from None

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        if "@" not in value:
            raise ValueError("must be the Atlassian account's email address")
        return value.strip()

    def hint(self) -> dict[str, Any]:
        token = self.api_token.get_secret_value()
        return {"base_url": self.base_url, "email": self.email, "api_token": "****" + token[-4:]}


NORMALIZED_STATUSES = ("OPEN", "TODO", "IN_PROGRESS", "IN_REVIEW", "RESOLVED", "CLOSED")
NORMALIZED_PRIORITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNKNOWN")


class JiraOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    project_keys_filter: list[str] | None = None
    # Jira status name -> normalized status; unmapped names fall back to the status category.
    status_mapping: dict[str, str] = Field(default_factory=dict)
    # Jira priority name -> normalized priority.
    priority_mapping: dict[str, str] = Field(default_factory=dict)

    @field_validator("status_mapping")
    @classmethod
    def _statuses(cls, value: dict[str, str]) -> dict[str, str]:
        bad = sorted(v for v in value.values() if v not in NORMALIZED_STATUSES)
        if bad:
            raise ValueError(f"unknown statuses {bad}; use {list(NORMALIZED_STATUSES)}")
        return value

    @field_validator("priority_mapping")
    @classmethod
    def _priorities(cls, value: dict[str, str]) -> dict[str, str]:
        bad = sorted(v for v in value.values() if v not in NORMALIZED_PRIORITIES)
        if bad:
            raise ValueError(f"unknown priorities {bad}; use {list(NORMALIZED_PRIORITIES)}")
        return value
