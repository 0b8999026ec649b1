from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from ticketbridge.api.deps import AccountDep, RuntimeDep, SessionDep
from ticketbridge.api.pagination import OffsetDep, Page
from ticketbridge.provisioning import service
from ticketbridge.provisioning.repository import ConnectionRepository, OrganizationRepository
from ticketbridge.provisioning.schemas import (
    ConnectionCreate,
    ConnectionRead,
    ConnectionTestResult,
    ConnectionUpdate,
    OrganizationCreate,
    OrganizationRead,
)

router = APIRouter(prefix="/v1/provisioning", tags=["provisioning"])


@router.post("/organizations", response_model=OrganizationRead, status_code=201)
async def create_organization(
    body: OrganizationCreate, session: SessionDep, account_id: AccountDep
) -> OrganizationRead:
    org = await service.create_organization(session, account_id, body)
    return OrganizationRead.from_model(org)


@router.get("/organizations", response_model=Page[OrganizationRead])
async def list_organizations(
    session: SessionDep, account_id: AccountDep, page: OffsetDep
) -> Page[OrganizationRead]:
    rows, total = await OrganizationRepository(session).list_for_account(
        account_id, limit=page.limit, offset=page.offset
    )
    return Page(
        items=[OrganizationRead.from_model(r) for r in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/organizations/{organization_id}", response_model=OrganizationRead)
async def get_organization(
    organization_id: uuid.UUID, session: SessionDep, account_id: AccountDep
) -> OrganizationRead:
    return OrganizationRead.from_model(
        await service.get_organization(session, account_id, organization_id)
    )


@router.post(
    "/organizations/{organization_id}/connections", response_model=ConnectionRead, status_code=201
)
async def create_connection(
    organization_id: uuid.UUID,
    body: ConnectionCreate,
    session: SessionDep,
    account_id: AccountDep,
    runtime: RuntimeDep,
) -> ConnectionRead:
    conn = await service.create_connection(
        session,
        runtime.box,
        account_id,
        organization_id,
        body,
        default_refresh_interval=runtime.settings.default_refresh_interval_secs,
        url_policy=runtime.url_policy,
    )
    return ConnectionRead.from_model(conn)


@router.get("/organizations/{organization_id}/connections", response_model=Page[ConnectionRead])
async def list_connections(
    organization_id: uuid.UUID, session: SessionDep, account_id: AccountDep, page: OffsetDep
) -> Page[ConnectionRead]:
    await service.get_organization(session, account_id, organization_id)
    rows, total = await ConnectionRepository(session).list_for_org(
        account_id, organization_id, limit=page.limit, offset=page.offset
    )
    return Page(
        items=[ConnectionRead.from_model(r) for r in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/connections/{connection_id}", response_model=ConnectionRead)
async def get_connection(
    connection_id: uuid.UUID, session: SessionDep, account_id: AccountDep
) -> ConnectionRead:
    return ConnectionRead.from_model(
        await service.get_connection(session, account_id, connection_id)
    )


@router.patch("/connections/{connection_id}", response_model=ConnectionRead)
async def update_connection(
    connection_id: uuid.UUID,
    body: ConnectionUpdate,
    session: SessionDep,
    account_id: AccountDep,
    runtime: RuntimeDep,
) -> ConnectionRead:
    conn = await service.update_connection(
        session, runtime.box, account_id, connection_id, body, url_policy=runtime.url_policy
    )
    return ConnectionRead.from_model(conn)


@router.delete("/connections/{connection_id}", status_code=204)
async def delete_connection(
    connection_id: uuid.UUID, session: SessionDep, account_id: AccountDep
) -> Response:
    await service.delete_connection(session, account_id, connection_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/connections/{connection_id}/test", response_model=ConnectionTestResult)
async def test_connection(
    connection_id: uuid.UUID, session: SessionDep, account_id: AccountDep, runtime: RuntimeDep
) -> ConnectionTestResult:
    conn = await service.get_connection(session, account_id, connection_id)
    return await service.test_connection(session, runtime, conn)
