"""``ticketbridge secret-key rotate``: re-encrypt every stored credential under a new key.

Crash safety rests on one invariant: every key some row may be encrypted with stays
configured until a verification pass has seen every row readable with the new key alone.

* Embedded mode, key file: the new key is written first, *in front of* the old one
  (``secret.key`` = new, old; atomic rename), then rows are re-encrypted, a batch per
  transaction; only after a pass that finds nothing left is the file rewritten with the new key
  alone. A crash at any point leaves a file that reads every row; running the command again
  finishes the interrupted rotation (a file with several keys means "rotation in progress").
* Environment (distributed): the operator sets ``TICKETBRIDGE_SECRET_KEY`` = new and
  ``TICKETBRIDGE_OLD_SECRET_KEYS`` = old on every process; the command re-encrypts and says
  when the old keys may be removed. A crash is resumed by running it again.

Each row is replaced with a compare-and-set on its old token, so a concurrent credential change
is never overwritten; such a row is looked at again by the next pass.
"""

from __future__ import annotations

import fcntl
import os
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.fernet import InvalidToken
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ticketbridge.config import Settings
from ticketbridge.crypto import (
    KeyRing,
    SecretBox,
    SecretKeyError,
    ensure_private_dir,
    generate_key,
    load_keys,
    read_key_file,
    write_key_file,
)
from ticketbridge.provisioning.repository import ConnectionRepository
from ticketbridge.store.session import create_engine, create_sessionmaker

BATCH_SIZE = 200
MAX_PASSES = 5
LOCK_FILE = ".secret.key.lock"


@dataclass
class RotationReport:
    checked: int = 0
    rotated: int = 0
    # Rows no configured key decrypts: the rotation keeps the old keys and fails.
    unreadable: list[uuid.UUID] = field(default_factory=list)
    # True once a whole pass found every readable row already under the primary key.
    verified: bool = False
    generated: bool = False
    ring: KeyRing | None = None


AfterBatch = Callable[[RotationReport], Awaitable[None]]


async def _one_pass(
    sessions: async_sessionmaker[AsyncSession],
    box: SecretBox,
    batch_size: int,
    after_batch: AfterBatch | None,
) -> RotationReport:
    report = RotationReport()
    after: uuid.UUID | None = None
    while True:
        async with sessions() as session, session.begin():
            repo = ConnectionRepository(session)
            rows = await repo.credentials_page(after, batch_size)
            for conn_id, token in rows:
                report.checked += 1
                if box.is_current(token):
                    continue
                try:
                    new = box.rotate(token)
                except InvalidToken:
                    report.unreadable.append(conn_id)
                    continue
                if await repo.swap_credentials(conn_id, token, new):
                    report.rotated += 1
        if not rows:
            return report
        after = rows[-1][0]
        if after_batch is not None:
            await after_batch(report)


async def reencrypt(
    sessions: async_sessionmaker[AsyncSession],
    box: SecretBox,
    *,
    batch_size: int = BATCH_SIZE,
    after_batch: AfterBatch | None = None,
) -> RotationReport:
    """Passes over all credentials until one rotates nothing (a row written meanwhile with an
    old key by a process that had not been reconfigured yet is caught by the next pass)."""
    rotated = 0
    for _ in range(MAX_PASSES):
        report = await _one_pass(sessions, box, batch_size, after_batch)
        rotated += report.rotated
        if report.rotated == 0:
            report.verified = True
            break
    report.rotated = rotated
    return report


async def count_unreadable(settings: Settings, *, batch_size: int = 1000) -> int:
    """Connections whose credentials no configured key decrypts (``serve`` warns at start)."""
    box = SecretBox(load_keys(settings))
    engine = create_engine(settings.resolved_database_url, pool_size=1)
    unreadable, after = 0, None
    try:
        while True:
            async with create_sessionmaker(engine)() as session:
                rows = await ConnectionRepository(session).credentials_page(after, batch_size)
            if not rows:
                return unreadable
            unreadable += sum(not box.can_decrypt(token) for _, token in rows)
            after = rows[-1][0]
    finally:
        await engine.dispose()


@contextmanager
def key_file_lock(settings: Settings, *, exclusive: bool) -> Iterator[None]:
    """``serve`` holds it shared while it runs on the key file; ``rotate`` needs it exclusive,
    so a running server can never encrypt with a key the rotation is about to drop."""
    data_dir = Path(settings.data_dir)
    ensure_private_dir(data_dir)
    fd = os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SecretKeyError(
                f"another ticketbridge process (serve) uses the key file in {data_dir}; "
                "stop it before rotating the secret key"
                if exclusive
                else f"a secret key rotation is running on {data_dir}; wait for it to finish"
            ) from None
        yield
    finally:
        os.close(fd)


async def rotate_secret_key(
    settings: Settings,
    *,
    batch_size: int = BATCH_SIZE,
    after_batch: AfterBatch | None = None,
) -> RotationReport:
    ring = load_keys(settings)
    generated = False
    if ring.key_file is not None:
        file_keys = read_key_file(ring.key_file)
        if len(file_keys) == 1:  # otherwise: an interrupted rotation, finished with its key
            write_key_file(ring.key_file, [generate_key(), *file_keys])
            generated = True
            ring = load_keys(settings)
    box = SecretBox(ring)
    engine = create_engine(settings.resolved_database_url, pool_size=2)
    try:
        report = await reencrypt(
            create_sessionmaker(engine), box, batch_size=batch_size, after_batch=after_batch
        )
    finally:
        await engine.dispose()
    report.generated, report.ring = generated, ring
    if ring.key_file is not None and report.verified and not report.unreadable:
        write_key_file(ring.key_file, [ring.primary])
    return report
