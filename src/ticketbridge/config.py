"""Settings, read from the environment with the ``TICKETBRIDGE_`` prefix.

The defaults give the embedded mode: one process, a SQLite file under ``./data/``.
"""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TICKETBRIDGE_", extra="ignore")

    data_dir: Path = Path("data")
    database_url: str = ""
    secret_key: SecretStr | None = None
    # Comma list of former keys, accepted for decryption only while `secret-key rotate` runs.
    old_secret_keys: SecretStr | None = None
    # NoDecode: pydantic-settings would JSON-decode a list field before the validator runs,
    # so "*" or "https://a.example,https://b.example" crashed every command.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
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
    # A PEM file of CA certificates trusted for vendor TLS in addition to the system's (an
    # internal CA, or the ServiceNow emulator's self-signed certificate). Verification is
    # never turned off: a certificate must chain to one of these or to a system CA.
    vendor_ca_bundle: Path | None = None
    # The API's bounds for a connection's refresh_interval_secs (provisioning/schemas.py).
    default_refresh_interval_secs: int = Field(default=900, ge=60, le=7 * 86400)
    scheduler_enabled: bool = True
    # Sync pages are decoded and mapped in one helper process (ticketbridge/offload.py), off
    # the event loop; false keeps that work in this process (docs/sync.md).
    sync_map_in_worker: bool = True
    # Jobs the embedded runner works on at once. Their vendor calls are bounded separately
    # (vendor_max_concurrency per connection, shared fairly between the jobs), so this may
    # be well above that cap.
    job_concurrency: int = Field(default=32, ge=1)
    bulk_max_tickets: int = Field(default=50, ge=1, le=1000)
    passthrough_cache_ttl_secs: float = 0.0
    # Known API keys and connections are cached per process this long (0: off); changes
    # made through this process apply at once, others within the TTL (docs/operations.md).
    auth_cache_ttl_secs: float = Field(default=5.0, ge=0)
    # Database pool per process (PostgreSQL: pool + as many overflow connections); a request
    # that cannot get a connection within the timeout answers 503 with Retry-After.
    db_pool_size: int = Field(default=10, ge=1)
    db_pool_timeout_secs: float = Field(default=5.0, gt=0)
    # SIGTERM: how long in-flight requests and jobs may finish before they are cut (jobs are
    # then released for the next process to resume).
    shutdown_grace_secs: float = Field(default=30.0, ge=0)
    # An idle keep-alive connection is closed after this long. Above the idle expiry of client
    # pools and proxies (httpx 5 s, nginx 60 s, AWS ALB 60 s): with uvicorn's 5 s default a
    # client reusing a connection just as the server closed it got "Server disconnected
    # without sending a response".
    keepalive_timeout_secs: int = Field(default=75, ge=1)

    # Request edge: body cap (413) and the per-API-key token bucket (429). Buckets live in
    # each API process, so N replicas allow N times the rate. ``None`` = on in distributed
    # mode, off in embedded mode.
    max_request_body_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    rate_limit_enabled: bool | None = None
    rate_limit_per_sec: float = Field(default=20.0, gt=0)
    rate_limit_burst: int = Field(default=40, ge=1)
    # GET /metrics (Prometheus text, unauthenticated: expose it to your scraper only); the
    # database-derived gauges (queue depth, sync lag, tickets) are re-read at most this often,
    # in the background (a scrape does not wait for the read).
    metrics_enabled: bool = True
    metrics_db_refresh_secs: float = Field(default=15.0, ge=0)

    # First run (docs/console.md): the one-time setup link answers loopback clients only
    # unless this is set (a proxy in front); the link expires after the TTL.
    setup_allow_remote: bool = False
    setup_token_ttl_secs: float = Field(default=3600.0, gt=0)
    # The built-in Jira emulator for demo connections (in-process, embedded mode only).
    demo_enabled: bool = True

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        # Accept "*", "a,b" and a JSON list, from the environment or from code.
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [v.strip() for v in text.split(",") if v.strip()]
        return value

    @property
    def rate_limit_active(self) -> bool:
        if self.rate_limit_enabled is None:
            return self.mode == "distributed"
        return self.rate_limit_enabled

    @cached_property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'ticketbridge.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")
