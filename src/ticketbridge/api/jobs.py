"""``GET /v1/jobs`` and ``GET /v1/jobs/{job_id}``: jobs of the caller's account.

X-CONNECTION-ID is optional here: when sent it must be one of the account's connections and
narrows what is visible to that connection's jobs. Another account's job is a 404.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query
from starlette.responses import Response

from ticketbridge.api.deps import AccountDep, ReadSessionDep, parse_uuid
from ticketbridge.api.pagination import OffsetDep, Page
from ticketbridge.api.rendering import model_json
from ticketbridge.jobs import service
from ticketbridge.jobs.repository import JobRepository
from ticketbridge.jobs.schemas import JobRead, JobStatus
from ticketbridge.provisioning import service as provisioning

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])


async def optional_connection(
    session: ReadSessionDep,
    account_id: AccountDep,
    x_connection_id: Annotated[
        str | None,
        Header(alias="X-CONNECTION-ID", description="Optional: only this connection's jobs"),
    ] = None,
) -> uuid.UUID | None:
    if not x_connection_id:
        return None
    conn_id = parse_uuid(x_connection_id, "X-CONNECTION-ID")
    return (await provisioning.get_connection(session, account_id, conn_id)).id


ConnectionScopeDep = Annotated[uuid.UUID | None, Depends(optional_connection)]


@router.get("", response_model=Page[JobRead])
async def list_jobs(
    session: ReadSessionDep,
    account_id: AccountDep,
    connection_id: ConnectionScopeDep,
    page: OffsetDep,
    status: Annotated[JobStatus | None, Query()] = None,
) -> Response:
    # Clients poll this while their jobs run: the page is validated once and its JSON
    # written once (api/rendering.py).
    rows, total = await JobRepository(session).list_visible(
        account_id,
        connection_id,
        status=status.value if status else None,
        limit=page.limit,
        offset=page.offset,
    )
    return model_json(
        Page(
            items=[JobRead.from_model(r) for r in rows],
            total=total,
            limit=page.limit,
            offset=page.offset,
        )
    )


@router.get("/{job_id}", response_model=JobRead, responses={404: {"description": "Unknown job"}})
async def get_job(
    job_id: uuid.UUID,
    session: ReadSessionDep,
    account_id: AccountDep,
    connection_id: ConnectionScopeDep,
) -> Response:
    job = await service.get_job(session, account_id, job_id, connection_id)
    return model_json(JobRead.from_model(job))
