"""Shared by the cross-cutting security suites (schemathesis, isolation, secret scan)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine, text

from ticketbridge.config import Settings
from ticketbridge.store.base import Base
from ticketbridge.store.urls import sync_url

TEST_SECRET_KEY = "Qm9vdHN0cmFwLXRlc3Qta2V5LTMyLWJ5dGVzLWxvbmc="

# Failures these suites found in code another helper owned, listed here as
# xfail(strict=True) until fixed; all are fixed now. Keys: "<backend> <METHOD> <path>".
KNOWN_SCHEMA_FAILURES: dict[str, str] = {}


def known_failure(backend: str, operation: str) -> str | None:
    return KNOWN_SCHEMA_FAILURES.get(f"{backend} {operation}") or KNOWN_SCHEMA_FAILURES.get(
        f"* {operation}"
    )


def suite_settings(**over: Any) -> Settings:
    """Settings for an app these suites build themselves (not through the ``settings``
    fixture): the emulator's hosts must be allowed as vendor URLs once the URL policy
    exists."""
    base: dict[str, Any] = {"secret_key": TEST_SECRET_KEY, "scheduler_enabled": False}
    if "allow_private_vendor_urls" in Settings.model_fields:
        base["allow_private_vendor_urls"] = True
    return Settings(**{**base, **over})


def truncate_all(url: str) -> None:
    # On SQLite, wait for the session's Eraser connection or a finishing runner to let go.
    args = {"timeout": 30} if url.startswith("sqlite") else {}
    engine = create_engine(sync_url(url), connect_args=args)
    try:
        with engine.begin() as conn:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(text(f'DELETE FROM "{table.name}"'))
    finally:
        engine.dispose()
