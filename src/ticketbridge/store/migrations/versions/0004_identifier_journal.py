"""identifier journal: connections that existed before it are marked unjournaled

Single creates skip the Jira search for an identifier when the store can vouch for it
(tickets/identifiers.py). For a connection created before this revision, earlier failed
creates may have left identifiers in Jira that no reservation row records, so each gets the
permanent "unjournaled" mark: its creates keep searching, as before.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 18:40:00.000000
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

ROUTE = "tickets.identifiers"
KEY = "unjournaled"


def upgrade() -> None:
    bind = op.get_bind()
    connections = sa.table(
        "connections", sa.column("id", sa.Uuid()), sa.column("account_id", sa.Uuid())
    )
    keys = sa.table(
        "idempotency_keys",
        sa.column("id", sa.Uuid()),
        sa.column("account_id", sa.Uuid()),
        sa.column("connection_id", sa.Uuid()),
        sa.column("route", sa.String()),
        sa.column("key", sa.String()),
        sa.column("request_hash", sa.String()),
        sa.column("status", sa.String()),
        sa.column("response_body", sa.JSON()),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("expires_at", sa.DateTime(timezone=True)),
    )
    now = datetime.now(UTC)
    if bind.dialect.name == "sqlite":  # the service stores naive UTC there
        now = now.replace(tzinfo=None)
    rows = [
        {
            "id": uuid.uuid4(),
            "account_id": account_id,
            "connection_id": conn_id,
            "route": ROUTE,
            "key": KEY,
            "request_hash": "-",
            "status": "UNJOURNALED",
            "response_body": {},
            "created_at": now,
            "expires_at": now + timedelta(days=365 * 100),
        }
        for conn_id, account_id in bind.execute(
            sa.select(connections.c.id, connections.c.account_id)
        )
    ]
    if rows:
        op.bulk_insert(keys, rows)


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM idempotency_keys WHERE route = :r").bindparams(r=ROUTE))
