"""Settings, read from the environment with the ``TICKETBRIDGE_`` prefix.

The defaults give the embedded mode: one process, a SQLite file under ``./data/``.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TICKETBRIDGE_", extra="ignore")

    data_dir: Path = Path("data")
    database_url: str = ""
    secret_key: SecretStr | None = None
    cors_origins: list[str] = Field(default_factory=list)
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"
    log_json: bool = False
    # "embedded" runs jobs and scheduled syncs in the API process; "distributed" leaves
    # them to `ticketbridge worker` processes (PostgreSQL only).
    mode: Literal["embedded", "distributed"] = "embedded"
    # Outbound vendor HTTP: per-request timeout and the per-connection concurrency cap.
    vendor_timeout_secs: float = 30.0
    vendor_max_concurrency: int = 8
    vendor_max_retry_wait_secs: float = 60.0
    # One vendor operation (attempts and retry waits together) ends by then with a 504.
    vendor_total_deadline_secs: float = Field(default=60.0, gt=0)
    # Vendor answers are read up to this size; a larger one is refused (502).
    vendor_max_response_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    # Lifts the https and public-address rules of vendor URLs (emulator, demo, tests only).
    allow_private_vendor_urls: bool = False
    default_refresh_interval_secs: int = 900
    scheduler_enabled: bool = True
    bulk_max_tickets: int = Field(default=50, ge=1, le=1000)
    passthrough_cache_ttl_secs: float = 0.0

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        # Accept "a,b" from the environment as well as a JSON list.
        if isinstance(value, str) and not value.strip().startswith("["):
            return [v.strip() for v in value.split(",") if v.strip()]
        return value

    @cached_property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'ticketbridge.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")
