"""``/v1/provisioning/api-keys``: the calling account's API keys (see provisioning/keys.py).

A key's secret is in the answer of the request that made it (create, rotate) and never again;
lists show the prefix only.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from ticketbridge.api.deps import AccountDep, RuntimeDep, SessionDep
from ticketbridge.api.pagination import OffsetDep, Page
from ticketbridge.provisioning import keys
from ticketbridge.provisioning.repository import ApiKeyRepository
from ticketbridge.store.models import ApiKey

router = APIRouter(prefix="/v1/provisioning/api-keys", tags=["provisioning"])

_ERRORS: dict[int | str, dict[str, str]] = {
    404: {"description": "Unknown key, or a key of another account"},
    409: {"description": "The account's last active key (revoke), or a revoked key (rotate)"},
}


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # No control or bidi-override characters: names are shown in lists and terminals.
    name: str = Field(
        min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f\u202a-\u202e\u2066-\u2069]+$"
    )


class ApiKeyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    prefix: str = Field(description="The key's first characters, to recognize it")
    created_at: datetime
    last_used_at: datetime | None = Field(description="Updated at most once a minute")
    revoked_at: datetime | None

    @classmethod
    def from_model(cls, key: ApiKey) -> ApiKeyRead:
        return cls.model_validate(key)


class ApiKeyCreated(ApiKeyRead):
    key: str = Field(description="The secret key, shown in this answer only")


@router.get("", response_model=Page[ApiKeyRead])
async def list_api_keys(
    session: SessionDep, account_id: AccountDep, page: OffsetDep
) -> Page[ApiKeyRead]:
    rows, total = await ApiKeyRepository(session).list_for_account(
        account_id, limit=page.limit, offset=page.offset
    )
    return Page(
        items=[ApiKeyRead.from_model(r) for r in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.post("", response_model=ApiKeyCreated, status_code=201)
async def create_api_key(
    body: ApiKeyCreate, session: SessionDep, account_id: AccountDep
) -> ApiKeyCreated:
    row, plain = await keys.create(session, account_id, body.name)
    return ApiKeyCreated(**ApiKeyRead.from_model(row).model_dump(), key=plain)


@router.get("/{api_key_id}", response_model=ApiKeyRead, responses=_ERRORS)
async def get_api_key(
    api_key_id: uuid.UUID, session: SessionDep, account_id: AccountDep
) -> ApiKeyRead:
    return ApiKeyRead.from_model(await keys.get(session, account_id, api_key_id))


@router.post("/{api_key_id}/revoke", response_model=ApiKeyRead, responses=_ERRORS)
async def revoke_api_key(
    api_key_id: uuid.UUID, session: SessionDep, account_id: AccountDep, runtime: RuntimeDep
) -> ApiKeyRead:
    """Revoke a key: it is refused (401) from the next request on. Idempotent."""
    row = await keys.revoke(session, account_id, api_key_id, runtime.clock())
    return ApiKeyRead.from_model(row)


@router.post(
    "/{api_key_id}/rotate", response_model=ApiKeyCreated, status_code=201, responses=_ERRORS
)
async def rotate_api_key(
    api_key_id: uuid.UUID, session: SessionDep, account_id: AccountDep, runtime: RuntimeDep
) -> ApiKeyCreated:
    """A new key with the same name; the old one is revoked at once (no overlap)."""
    row, plain = await keys.rotate(session, account_id, api_key_id, runtime.clock())
    return ApiKeyCreated(**ApiKeyRead.from_model(row).model_dump(), key=plain)
