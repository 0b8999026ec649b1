"""The connector protocols: what services may ask of any vendor.

Services see normalized data only; each vendor package (``connectors/<vendor>/``) turns these
calls into vendor requests. A connector instance belongs to one connection: it is built from
the connection's decrypted configuration and the process-wide HTTP client. Capabilities are
separate protocols so a vendor can support a subset (e.g. no bulk API).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


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


# --- sync capability (issue 4) ---------------------------------------------------------------


# --- write capability (issue 5) --------------------------------------------------------------


# --- passthrough capability (issue 6) --------------------------------------------------------
