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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from ticketbridge.provisioning.repository import ConnectionRepository
from ticketbridge.store.changes import TableCache
from ticketbridge.store.models import ApiKey, Connection

DEFAULT_TTL_SECS = 5.0
_COLUMNS = tuple(c.key for c in inspect(Connection).column_attrs)


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

    async def connection(
        self,
        sessions: Callable[[], AsyncSession],
        account_id: uuid.UUID,
        conn_id: uuid.UUID,
    ) -> Connection | None:
        """The account's connection ``conn_id`` (None: not the account's, or unknown), read
        in a short session of its own on a miss. Each call gets its own detached copy:
        nothing is shared between requests."""

        async def load() -> dict[str, Any] | None:
            async with sessions() as session:
                conn = await ConnectionRepository(session).get_for_account(account_id, conn_id)
                return None if conn is None else {k: getattr(conn, k) for k in _COLUMNS}

        values = await self._connections.get_or_load((account_id, conn_id), load)
        if values is None:
            return None
        conn = Connection(**_copy(values))
        make_transient_to_detached(conn)
        return conn


def _copy(values: dict[str, Any]) -> dict[str, Any]:
    # Only the JSON columns are mutable; copying just them keeps a hit cheap.
    return {k: copy.deepcopy(v) if isinstance(v, dict | list) else v for k, v in values.items()}
