from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, or_, select, update

from ticketbridge.store.changes import KEEPS_CACHES
from ticketbridge.store.models import Account, ApiKey, Connection, Organization
from ticketbridge.store.repository import RepositoryBase


class AccountRepository(RepositoryBase[Account]):
    model = Account

    async def get_by_name(self, name: str) -> Account | None:
        return await self.session.scalar(select(Account).where(Account.name == name))

    async def any_exists(self) -> bool:
        return await self.session.scalar(select(Account.id).limit(1)) is not None


class ApiKeyRepository(RepositoryBase[ApiKey]):
    model = ApiKey

    async def get_active_by_hash(self, key_hash: str) -> ApiKey | None:
        return await self.session.scalar(
            select(ApiKey).where(ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None))
        )

    async def get_for_account(self, account_id: uuid.UUID, key_id: uuid.UUID) -> ApiKey | None:
        return await self.session.scalar(
            select(ApiKey).where(ApiKey.id == key_id, ApiKey.account_id == account_id)
        )

    async def get(self, key_id: uuid.UUID) -> ApiKey | None:
        return await self.session.get(ApiKey, key_id)

    async def list_for_account(
        self, account_id: uuid.UUID, *, limit: int, offset: int
    ) -> tuple[list[ApiKey], int]:
        stmt = (
            select(ApiKey)
            .where(ApiKey.account_id == account_id)
            .order_by(ApiKey.created_at, ApiKey.id)
        )
        return await self.page(stmt, limit=limit, offset=offset)

    async def list_all(self, account_name: str | None = None) -> Sequence[tuple[ApiKey, str]]:
        stmt = select(ApiKey, Account.name).join(Account, Account.id == ApiKey.account_id)
        if account_name is not None:
            stmt = stmt.where(Account.name == account_name)
        rows = await self.session.execute(stmt.order_by(Account.name, ApiKey.created_at))
        return [(k, n) for k, n in rows.all()]

    async def lock_account(self, account_id: uuid.UUID) -> None:
        """Serialize key changes of one account (PostgreSQL row lock; SQLite has one writer)."""
        await self.session.execute(
            select(Account.id).where(Account.id == account_id).with_for_update()
        )

    async def count_active(self, account_id: uuid.UUID) -> int:
        n = await self.session.scalar(
            select(func.count())
            .select_from(ApiKey)
            .where(ApiKey.account_id == account_id, ApiKey.revoked_at.is_(None))
        )
        return int(n or 0)

    async def touch(self, key_id: uuid.UUID, now: datetime, stale_before: datetime) -> bool:
        """Set ``last_used_at`` unless another request did since ``stale_before``."""
        result = await self.session.execute(
            update(ApiKey)
            .where(
                ApiKey.id == key_id,
                or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < stale_before),
            )
            .values(last_used_at=now)
            # No cache holds last_used_at: this write must not empty the key cache.
            .execution_options(synchronize_session=False, **KEEPS_CACHES)
        )
        return bool(getattr(result, "rowcount", 0))


class OrganizationRepository(RepositoryBase[Organization]):
    model = Organization

    async def get_for_account(
        self, account_id: uuid.UUID, org_id: uuid.UUID
    ) -> Organization | None:
        return await self.session.scalar(
            select(Organization).where(
                Organization.id == org_id, Organization.account_id == account_id
            )
        )

    async def list_for_account(
        self, account_id: uuid.UUID, *, limit: int, offset: int
    ) -> tuple[list[Organization], int]:
        stmt = (
            select(Organization)
            .where(Organization.account_id == account_id)
            .order_by(Organization.created_at, Organization.id)
        )
        return await self.page(stmt, limit=limit, offset=offset)


class ConnectionRepository(RepositoryBase[Connection]):
    model = Connection

    async def get_for_account(self, account_id: uuid.UUID, conn_id: uuid.UUID) -> Connection | None:
        # Scoping by account in the query itself is what makes a foreign id look unknown.
        return await self.session.scalar(
            select(Connection).where(Connection.id == conn_id, Connection.account_id == account_id)
        )

    async def get(self, conn_id: uuid.UUID) -> Connection | None:
        return await self.session.get(Connection, conn_id)

    async def by_identifier(self, account_id: uuid.UUID, identifier: str) -> Connection | None:
        return await self.session.scalar(
            select(Connection)
            .where(Connection.account_id == account_id, Connection.identifier == identifier)
            .limit(1)
        )

    async def list_for_org(
        self, account_id: uuid.UUID, org_id: uuid.UUID, *, limit: int, offset: int
    ) -> tuple[list[Connection], int]:
        stmt = (
            select(Connection)
            .where(Connection.account_id == account_id, Connection.organization_id == org_id)
            .order_by(Connection.created_at, Connection.id)
        )
        return await self.page(stmt, limit=limit, offset=offset)

    async def credentials_page(
        self, after: uuid.UUID | None, limit: int
    ) -> list[tuple[uuid.UUID, str]]:
        """(id, token) of every connection in id order, a page at a time (key rotation)."""
        stmt = select(Connection.id, Connection.credentials_encrypted).order_by(Connection.id)
        if after is not None:
            stmt = stmt.where(Connection.id > after)
        rows = await self.session.execute(stmt.limit(limit))
        return [(i, t) for i, t in rows.all()]

    async def swap_credentials(self, conn_id: uuid.UUID, old: str, new: str) -> bool:
        """Replace the token only if nobody changed it meanwhile (compare-and-set); the
        credentials are the same, so ``updated_at`` is kept."""
        result = await self.session.execute(
            update(Connection)
            .where(Connection.id == conn_id, Connection.credentials_encrypted == old)
            .values(credentials_encrypted=new, updated_at=Connection.updated_at)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    async def list_for_account(self, account_id: uuid.UUID) -> list[Connection]:
        stmt = select(Connection).where(Connection.account_id == account_id)
        return list((await self.session.scalars(stmt.order_by(Connection.id))).all())

    async def list_active(self) -> list[Connection]:
        return list(
            (
                await self.session.scalars(select(Connection).where(Connection.is_active.is_(True)))
            ).all()
        )
