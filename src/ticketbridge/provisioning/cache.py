"""What every authenticated request reads, cached in the process: API key -> account, and
(account, connection id) -> the connection's row.

Entries live ``TICKETBRIDGE_AUTH_CACHE_TTL_SECS`` (5 s by default; 0 turns the cache off)
and die at once when this process commits a change to their tables (``store/changes.py``):
a key revoked or rotated, a connection updated, disabled or deleted through this process is
refused or re-read from its next request on. A change made by another process (the
``api-keys revoke`` command, another API replica) is seen within the TTL. Unknown keys and
connections are not cached: a wrong key always costs a lookup (the rate limiter, when on,
bounds that), and a new key or connection works at once.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import make_transient_to_detached

from ticketbridge.store.changes import TableCache
from ticketbridge.store.models import ApiKey, Connection

DEFAULT_TTL_SECS = 5.0
_CONNECTION_COLUMNS = tuple(c.key for c in inspect(Connection).column_attrs)


@dataclass(frozen=True)
class CachedKey:
    key_id: uuid.UUID
    account_id: uuid.UUID
    last_used_at: datetime | None

    @classmethod
    def of(cls, key: ApiKey) -> CachedKey:
        return cls(key.id, key.account_id, key.last_used_at)


class TenancyCache:
    def __init__(self, ttl_secs: float = DEFAULT_TTL_SECS) -> None:
        self.keys: TableCache[str, CachedKey] = TableCache(("api_keys", "accounts"), ttl_secs)
        self._connections: TableCache[tuple[uuid.UUID, uuid.UUID], dict[str, Any]] = TableCache(
            ("connections", "organizations", "accounts"), ttl_secs
        )

    def connection_stamp(self) -> int:
        return self._connections.stamp()

    def connection(self, account_id: uuid.UUID, conn_id: uuid.UUID) -> Connection | None:
        """A copy of the cached row of this request's own (detached: nothing is shared
        between requests), or None."""
        values = self._connections.get((account_id, conn_id))
        if values is None:
            return None
        conn = Connection(**_copy(values))
        make_transient_to_detached(conn)
        return conn

    def put_connection(self, conn: Connection, stamp: int) -> None:
        values = _copy({k: getattr(conn, k) for k in _CONNECTION_COLUMNS})
        self._connections.put((conn.account_id, conn.id), values, stamp)


def _copy(values: dict[str, Any]) -> dict[str, Any]:
    # Only the JSON columns are mutable; copying just them keeps a hit cheap.
    return {k: copy.deepcopy(v) if isinstance(v, dict | list) else v for k, v in values.items()}
