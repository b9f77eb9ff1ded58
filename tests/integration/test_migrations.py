"""Migrations: applied on open, idempotent, and producing exactly the tables the store speaks to."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from revolving_door.schema import metadata
from revolving_door.store import Store


def test_migrated_database_matches_the_schema_module(tmp_path: Path) -> None:
    """After every revision is applied the database has exactly schema.py's tables, columns and indexes."""
    store = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_opening_twice_stays_at_the_head_revision(tmp_path: Path) -> None:
    """Opening a migrated store again applies nothing and keeps one head revision."""
    url = f"sqlite:///{tmp_path / 'state.db'}"
    Store.open(url).close()
    store = Store.open(url)
    with store.engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_heads() == ("0001",)
