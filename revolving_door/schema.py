"""The store's tables (SQLAlchemy Core). Only `store.py` and the migrations use them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, whatever the database keeps."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Store as naive UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Read back as aware UTC."""
        if value is None:
            return None
        parsed: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


metadata = MetaData()

settings_kv = Table(
    "store_meta",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

calendars = Table(
    "calendars",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("ref", String(512), nullable=False, unique=True),
    Column("source", String(128), nullable=False),
    Column("owner", String(320), nullable=False),
    Column("cursor", Text),
    Column("failures", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("last_attempt_at", UTCDateTime),
    Column("last_success_at", UTCDateTime),
    Column("next_attempt_at", UTCDateTime),
)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("calendar_id", Integer, ForeignKey("calendars.id", ondelete="CASCADE"), nullable=False),
    Column("owner", String(320), nullable=False),
    Column("key", String(512), nullable=False),
    Column("uid", String(512), nullable=False),
    Column("source_id", String(512), nullable=False),
    Column("title", Text, nullable=False),
    Column("start", UTCDateTime, nullable=False),
    Column("end", UTCDateTime, nullable=False),
    Column("all_day", Boolean, nullable=False),
    Column("location", Text, nullable=False),
    Column("organizer", String(320), nullable=False),
    Column("attendees", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("private", Boolean, nullable=False),
    Column("resolved_version", Integer),
    UniqueConstraint("calendar_id", "key", name="uq_events_calendar_key"),
    Index("ix_events_key", "key"),
    Index("ix_events_source_id", "calendar_id", "source_id"),
    Index("ix_events_start", "start"),
)

partners = Table(
    "partners",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(256), nullable=False),
    Column("name_fold", String(256), nullable=False, unique=True),
    Column("parent", String(256)),
    Column("aliases", JSON, nullable=False),
    Column("owners", JSON, nullable=False),
)

partner_domains = Table(
    "partner_domains",
    metadata,
    Column("domain", String(253), primary_key=True),
    Column("partner_id", Integer, ForeignKey("partners.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False, default=0),
)

ignored_domains = Table(
    "ignored_domains",
    metadata,
    Column("domain", String(253), primary_key=True),
)

matches = Table(
    "matches",
    metadata,
    Column("event_id", Integer, ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
    Column("partner", String(256), nullable=False),
    Column("family", String(256), nullable=False),
    Column("via", String(16), nullable=False),
    Column("evidence", Text, nullable=False),
    Column("score", Float, nullable=False),
    UniqueConstraint("event_id", "partner", name="uq_matches_event_partner"),
    Index("ix_matches_family", "family"),
)

collisions = Table(
    "collisions",
    metadata,
    Column("family", String(256), primary_key=True),
    Column("key_a", String(512), primary_key=True),
    Column("key_b", String(512), primary_key=True),
    Column("severity", String(32), nullable=False),
    Column("same_location", Boolean, nullable=False),
    Column("first_seen", UTCDateTime, nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("message_id", String(255), nullable=False, unique=True),
    Column("recipient", String(320), nullable=False),
    Column("family", String(256), nullable=False),
    Column("subject", Text, nullable=False),
    Column("message", LargeBinary, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("last_error", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    Index("ix_outbox_status", "status", "next_attempt_at"),
)

alerted_pairs = Table(
    "alerted_pairs",
    metadata,
    # Each (recipient, pair) is alerted at most once ever, whatever the family is called by then.
    Column("recipient", String(320), primary_key=True),
    Column("key_a", String(512), primary_key=True),
    Column("key_b", String(512), primary_key=True),
    Column("family", String(256), nullable=False),
    Column("outbox_id", Integer, ForeignKey("outbox.id", ondelete="CASCADE"), nullable=False),
)

dirty_families = Table(
    "dirty_families",
    metadata,
    # Families whose collisions must be recomputed: written in the same transaction as the change
    # that touched them, cleared once recomputed, so a crash in between loses nothing.
    Column("family", String(256), primary_key=True),
)
