"""Baseline schema: calendars, events, partner directory, matches, collisions, outbox."""

from __future__ import annotations

from alembic import op

from revolving_door.schema import metadata

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create every table of the baseline.

    The baseline is the schema module as first released; any later change to schema.py
    gets its own explicit revision (op.add_column, …) after this one.
    """
    metadata.create_all(bind=op.get_bind())


def downgrade() -> None:
    """Drop every table."""
    metadata.drop_all(bind=op.get_bind())
