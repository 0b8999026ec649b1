"""All tables; importing this package registers every model on ``Base.metadata``."""

from ticketbridge.store.models.account import Account, ApiKey
from ticketbridge.store.models.connection import Connection, Organization

__all__ = ["Account", "ApiKey", "Connection", "Organization"]
