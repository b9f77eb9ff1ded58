"""Baseline schema: calendars, events, partner directory, matches, collisions, outbox.

Frozen: later changes to revolving_door/schema.py get their own revision after this one, and
tests/integration/test_migrations.py checks that the revisions produce exactly schema.py.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create every table of the baseline (datetimes are stored as naive UTC)."""
    op.create_table(
        "calendars",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(length=512), nullable=False),
        sa.Column("source", sa.String(length=128), nullable=False),
        sa.Column("owner", sa.String(length=320), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("last_success_at", sa.DateTime(), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ref"),
    )
    op.create_table(
        "collisions",
        sa.Column("family", sa.String(length=256), nullable=False),
        sa.Column("key_a", sa.String(length=512), nullable=False),
        sa.Column("key_b", sa.String(length=512), nullable=False),
        sa.Column("severity", sa.String(length=32), nullable=False),
        sa.Column("same_location", sa.Boolean(), nullable=False),
        sa.Column("first_seen", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("family", "key_a", "key_b"),
    )
    op.create_table(
        "dirty_families", sa.Column("family", sa.String(length=256), nullable=False), sa.PrimaryKeyConstraint("family")
    )
    op.create_table(
        "ignored_domains", sa.Column("domain", sa.String(length=253), nullable=False), sa.PrimaryKeyConstraint("domain")
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("family", sa.String(length=256), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("message", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_id"),
    )
    op.create_index("ix_outbox_status", "outbox", ["status", "next_attempt_at"], unique=False)
    op.create_table(
        "partners",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("name_fold", sa.String(length=256), nullable=False),
        sa.Column("parent", sa.String(length=256), nullable=True),
        sa.Column("aliases", sa.JSON(), nullable=False),
        sa.Column("owners", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name_fold"),
    )
    op.create_table(
        "store_meta",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "alerted_pairs",
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("key_a", sa.String(length=512), nullable=False),
        sa.Column("key_b", sa.String(length=512), nullable=False),
        sa.Column("family", sa.String(length=256), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["outbox_id"], ["outbox.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("recipient", "key_a", "key_b"),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("calendar_id", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(length=320), nullable=False),
        sa.Column("key", sa.String(length=512), nullable=False),
        sa.Column("uid", sa.String(length=512), nullable=False),
        sa.Column("source_id", sa.String(length=512), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("start", sa.DateTime(), nullable=False),
        sa.Column("end", sa.DateTime(), nullable=False),
        sa.Column("all_day", sa.Boolean(), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("organizer", sa.String(length=320), nullable=False),
        sa.Column("attendees", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("private", sa.Boolean(), nullable=False),
        sa.Column("resolved_version", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["calendar_id"], ["calendars.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("calendar_id", "key", name="uq_events_calendar_key"),
    )
    op.create_index("ix_events_key", "events", ["key"], unique=False)
    op.create_index("ix_events_source_id", "events", ["calendar_id", "source_id"], unique=False)
    op.create_index("ix_events_start", "events", ["start"], unique=False)
    op.create_table(
        "partner_domains",
        sa.Column("domain", sa.String(length=253), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("domain"),
    )
    op.create_table(
        "matches",
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("partner", sa.String(length=256), nullable=False),
        sa.Column("family", sa.String(length=256), nullable=False),
        sa.Column("via", sa.String(length=16), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"], ondelete="CASCADE"),
        sa.UniqueConstraint("event_id", "partner", name="uq_matches_event_partner"),
    )
    op.create_index("ix_matches_family", "matches", ["family"], unique=False)


def downgrade() -> None:
    """Drop every table of the baseline."""
    op.drop_table("matches")
    op.drop_table("partner_domains")
    op.drop_table("events")
    op.drop_table("alerted_pairs")
    op.drop_table("store_meta")
    op.drop_table("partners")
    op.drop_table("outbox")
    op.drop_table("ignored_domains")
    op.drop_table("dirty_families")
    op.drop_table("collisions")
    op.drop_table("calendars")
