"""The migrations are the only source of the schema and the models must describe exactly what
they build: Alembic's autogenerate, run against a freshly migrated database, finds nothing to
add, drop or alter (``alembic check`` in test form), on SQLite and on PostgreSQL."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, MetaData, String, create_engine

import ticketbridge.store.models  # noqa: F401 (registers every table)
from ticketbridge.store.base import Base
from ticketbridge.store.urls import sync_url


def _ours(name: str | None, type_: str, parent_names: Any) -> bool:
    # procrastinate's tables (distributed mode) share the schema but are not our models.
    return not (type_ == "table" and (name or "").startswith("procrastinate_"))


def drift(url: str, metadata: MetaData) -> list[Any]:
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "include_name": _ours}
            )
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


class TestMigrationsMatchModels:
    def test_a_migrated_database_has_no_drift_from_the_models(self, db_url: str) -> None:
        assert drift(db_url, Base.metadata) == []

    def test_a_model_change_without_a_migration_is_caught(self, db_url: str) -> None:
        # The check itself must be able to fail: a column the migrations never added.
        metadata = MetaData(naming_convention=Base.metadata.naming_convention)
        for table in Base.metadata.sorted_tables:
            copy = table.to_metadata(metadata)
            if table.name == "idempotency_keys":
                copy.append_column(Column("not_migrated", String(8)))
        found = drift(db_url, metadata)
        assert [(d[0], d[3].name) for d in found if d[0] == "add_column"] == [
            ("add_column", "not_migrated")
        ]
