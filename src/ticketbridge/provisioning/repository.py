from __future__ import annotations

import uuid

from sqlalchemy import select

from ticketbridge.store.models import Account, ApiKey, Connection, Organization
from ticketbridge.store.repository import RepositoryBase


class AccountRepository(RepositoryBase[Account]):
    model = Account

    async def get_by_name(self, name: str) -> Account | None:
        return await self.session.scalar(select(Account).where(Account.name == name))


class ApiKeyRepository(RepositoryBase[ApiKey]):
    model = ApiKey

    async def get_active_by_hash(self, key_hash: str) -> ApiKey | None:
        return await self.session.scalar(
            select(ApiKey).where(ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None))
        )


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

    async def list_for_org(
        self, account_id: uuid.UUID, org_id: uuid.UUID, *, limit: int, offset: int
    ) -> tuple[list[Connection], int]:
        stmt = (
            select(Connection)
            .where(Connection.account_id == account_id, Connection.organization_id == org_id)
            .order_by(Connection.created_at, Connection.id)
        )
        return await self.page(stmt, limit=limit, offset=offset)

    async def list_active(self) -> list[Connection]:
        return list(
            (
                await self.session.scalars(select(Connection).where(Connection.is_active.is_(True)))
            ).all()
        )
