"""The connector protocol: what services may ask of any vendor.

Services see normalized data only; each vendor package (``connectors/<vendor>/``) turns these
calls into vendor requests. A connector instance belongs to one connection: it is built from
the connection's decrypted configuration and the process-wide HTTP client.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Identity:
    """Who the credentials authenticate as (a credential check's answer)."""

    vendor_id: str
    name: str | None
    email: str | None


class Connector(Protocol):
    vendor: str

    async def check_credentials(self) -> Identity:
        """Ask the vendor who we are; raises VendorAuthFailed when it refuses."""
        ...


class VendorConfig(Protocol):
    """What the registry needs to know about a vendor's configuration models."""

    def hint(self) -> dict[str, Any]: ...
