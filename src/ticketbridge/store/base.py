"""Declarative base and the column types shared by every table.

Both SQLite and PostgreSQL run the same models: UUIDs use SQLAlchemy's portable ``Uuid``,
times are stored as UTC and always read back timezone-aware, JSON is JSONB on PostgreSQL.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Date, DateTime, MetaData, TypeDecorator, Uuid
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JSONType = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both backends (SQLite drops the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class _Entropy(threading.local):
    """The operating system's random bytes, read a block at a time: a bulk create draws two
    UUIDs per ticket, and one ``getrandom`` call each (``secrets.randbits``) was a tenth of
    its event-loop time on a busy machine (the call gives up the GIL, and taking it back
    waits for the database thread). Per thread, and dropped in a forked child, so no two
    threads or processes ever hand out the same bytes."""

    block = b""
    pos = 0


_ENTROPY = _Entropy()
_ENTROPY_BLOCK = 4096  # 409 UUIDs per read


def _forget_entropy() -> None:
    _ENTROPY.block, _ENTROPY.pos = b"", 0


os.register_at_fork(after_in_child=_forget_entropy)


def _random_bits74() -> int:
    e = _ENTROPY
    if e.pos + 10 > len(e.block):
        e.block, e.pos = os.urandom(_ENTROPY_BLOCK), 0
    start = e.pos
    e.pos = start + 10
    return int.from_bytes(e.block[start : start + 10]) >> 6


def uuid7() -> uuid.UUID:
    """A time-ordered UUID (RFC 9562 v7): ids sort by creation time, which keeps keyset pages
    in a natural order and inserts at the right end of the primary-key index."""
    ms = time.time_ns() // 1_000_000
    rand = _random_bits74()
    value = (ms & 0xFFFFFFFFFFFF) << 80 | 0x7 << 76 | (rand >> 62) << 64 | 0b10 << 62
    return uuid.UUID(int=value | (rand & ((1 << 62) - 1)))


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {
        uuid.UUID: Uuid(),
        datetime: UTCDateTime(),
        date: Date(),
        dict[str, Any]: JSONType,
    }


class IdMixin:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
