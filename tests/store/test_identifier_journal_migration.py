"""Migration 0004: connections that existed before the identifier journal keep searching Jira
for a create's identifier (they are marked unjournaled); new ones are not marked."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from ticketbridge.store.migrate import downgrade, upgrade
from ticketbridge.store.models import Account, Connection, IdempotencyKey, Organization
from ticketbridge.store.urls import sync_url
from ticketbridge.tickets.identifiers import KEY, ROUTE


def marks(url: str) -> list[tuple[str, str, str]]:
    engine = create_engine(sync_url(url))
    try:
        with Session(engine) as s:
            rows = s.scalars(select(IdempotencyKey)).all()
            return [(str(r.connection_id), r.route, r.key) for r in rows]
    finally:
        engine.dispose()


def test_existing_connections_are_marked_and_the_downgrade_removes_the_marks(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0002")
    engine = create_engine(sync_url(url))
    with Session(engine) as s:
        account = Account(name="old")
        s.add(account)
        s.flush()
        org = Organization(account_id=account.id, name="org")
        s.add(org)
        s.flush()
        conn = Connection(
            account_id=account.id,
            organization_id=org.id,
            vendor="JIRA",
            credentials_encrypted="token",
        )
        s.add(conn)
        s.commit()
        conn_id = str(conn.id)
    engine.dispose()
    upgrade(url)
    assert marks(url) == [(conn_id, ROUTE, KEY)]
    downgrade(url, "0002")
    assert marks(url) == []


def test_a_fresh_database_has_no_marks(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    upgrade(url)
    assert marks(url) == []
