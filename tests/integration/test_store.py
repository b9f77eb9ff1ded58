"""The store on a real SQLite file: transactions, idempotence, cursors, directory and outbox."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from revolving_door.errors import DirectoryError, NotFoundError
from revolving_door.model import Attendee, CalendarEvent, CalendarRef, Partner, PartnerMatch, SyncResult
from revolving_door.schema import metadata
from revolving_door.store import Store

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)
CAL = CalendarRef(source="ics-1", owner="ann@ours.org", id="/cal/ann@ours.org.ics")


def event(key: str, title: str = "Meeting", days: int = 1, source_id: str | None = None) -> CalendarEvent:
    """A one-hour meeting on Ann's calendar, `days` from NOW."""
    start = NOW + timedelta(days=days)
    return CalendarEvent(calendar="ann@ours.org", key=key, uid=key.split("@")[0], source_id=source_id or key,
                         title=title, start=start, end=start + timedelta(hours=1),
                         attendees=(Attendee("ann@ours.org", "Ann", "accepted"), Attendee("x@partner.org")))


POSTGRES_URL = os.environ.get("REVOLVING_DOOR_TEST_POSTGRES_URL")


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A fresh store: a SQLite file, and PostgreSQL when REVOLVING_DOOR_TEST_POSTGRES_URL names one."""
    if request.param == "sqlite":
        yield Store.open(f"sqlite:///{tmp_path / 'state.db'}")
        return
    if not POSTGRES_URL:
        pytest.skip("set REVOLVING_DOOR_TEST_POSTGRES_URL=postgresql+psycopg://… to test PostgreSQL")
    engine = create_engine(POSTGRES_URL)
    with engine.begin() as conn:
        metadata.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()
    store = Store.open(POSTGRES_URL)
    yield store
    store.close()


def test_database_file_is_private_to_its_owner(tmp_path: Path) -> None:
    """The SQLite file is created readable and writable by its owner only."""
    Store.open(f"sqlite:///{tmp_path / 'db' / 'state.db'}").close()
    mode = stat.S_IMODE((tmp_path / "db" / "state.db").stat().st_mode)
    assert mode == 0o600


def test_reopening_applies_migrations_once(tmp_path: Path) -> None:
    """Opening an existing store again keeps its data (migrations are idempotent)."""
    url = f"sqlite:///{tmp_path / 'state.db'}"
    Store.open(url).apply_sync(CAL, SyncResult(upserts=(event("a"),), next_cursor="c1"), now=NOW)
    again = Store.open(url)
    assert [e.key for e in again.events()] == ["a"]


def test_events_round_trip_with_attendees_and_aware_times(store: Store) -> None:
    """An event comes back equal to what was stored, datetimes aware UTC."""
    ev = event("a")
    store.apply_sync(CAL, SyncResult(upserts=(ev,), next_cursor="c1"), now=NOW)
    (back,) = store.events()
    assert back == ev
    assert back.start.tzinfo is not None


def test_unchanged_events_are_not_rewritten(store: Store) -> None:
    """Applying the same events again changes nothing and keeps them resolved."""
    first = store.apply_sync(CAL, SyncResult(upserts=(event("a"), event("b")), next_cursor="c1"), now=NOW)
    store.save_matches([(i, [], []) for i, _ in store.unresolved_events(0)], 0)
    second = store.apply_sync(CAL, SyncResult(upserts=(event("a"), event("b")), next_cursor="c2"), now=NOW)
    assert (first.upserted, second.upserted, second.unchanged) == (2, 0, 2)
    assert store.unresolved_events(0) == []


def test_edit_marks_event_for_resolution_and_reports_old_family(store: Store) -> None:
    """Changing a matched event re-queues it for resolution and reports its old family as touched."""
    store.apply_sync(CAL, SyncResult(upserts=(event("a"),), next_cursor="c1"), now=NOW)
    ((event_id, _),) = store.unresolved_events(0)
    store.save_matches([(event_id, [PartnerMatch("P", "domain", "d", 100.0)], ["P root"])], 0)
    outcome = store.apply_sync(CAL, SyncResult(upserts=(event("a", title="Moved"),), next_cursor="c2"), now=NOW)
    assert outcome.touched_families == {"P root"}
    assert [e.title for _, e in store.unresolved_events(0)] == ["Moved"]


def test_full_resync_deletes_what_did_not_come_back(store: Store) -> None:
    """After a full resync, stored events that did not come back are deleted."""
    store.apply_sync(CAL, SyncResult(upserts=(event("a"), event("b")), next_cursor="c1", full_resync=True), now=NOW)
    outcome = store.apply_sync(CAL, SyncResult(upserts=(event("b"),), next_cursor="c2", full_resync=True), now=NOW)
    assert outcome.deleted == 1
    assert [e.key for e in store.events()] == ["b"]


def test_deletions_arrive_by_source_id(store: Store) -> None:
    """An incremental deletion removes the event with that source id, and only it."""
    store.apply_sync(CAL, SyncResult(upserts=(event("a", source_id="s1"), event("b", source_id="s2")),
                                     next_cursor="c1"), now=NOW)
    store.apply_sync(CAL, SyncResult(deletions=("s1",), next_cursor="c2"), now=NOW)
    assert [e.key for e in store.events()] == ["b"]


def test_changes_and_cursor_commit_together(store: Store) -> None:
    """If storing a change fails, neither the other changes nor the new cursor are kept."""
    store.apply_sync(CAL, SyncResult(upserts=(event("a"),), next_cursor="c1"), now=NOW)
    naive = CalendarEvent(calendar="ann@ours.org", key="bad", uid="bad", source_id="bad", title="x",
                          start=datetime(2026, 12, 1), end=datetime(2026, 12, 1, 1))
    with pytest.raises(Exception):  # noqa: B017 - any failure must roll back
        store.apply_sync(CAL, SyncResult(upserts=(event("b"), naive), next_cursor="c2"), now=NOW)
    assert [e.key for e in store.events()] == ["a"]
    state = store.calendar_state(CAL)
    assert state is not None and state.cursor == "c1"


def test_failure_keeps_cursor_and_counts(store: Store) -> None:
    """A failed sync keeps the cursor and counts failures in a row; a success resets the count."""
    store.apply_sync(CAL, SyncResult(next_cursor="c1"), now=NOW)
    assert store.record_failure(CAL, "boom", now=NOW, retry_at=NOW) == 1
    assert store.record_failure(CAL, "boom", now=NOW, retry_at=NOW) == 2
    state = store.calendar_state(CAL)
    assert state is not None and (state.cursor, state.failures) == ("c1", 2)
    store.apply_sync(CAL, SyncResult(next_cursor="c2"), now=NOW)
    state = store.calendar_state(CAL)
    assert state is not None and (state.cursor, state.failures) == ("c2", 0)


def test_outbox_pairs_are_unique_per_recipient(store: Store) -> None:
    """A (recipient, pair) already queued cannot be queued again, even in another email."""
    kwargs = {"recipient": "ann@ours.org", "family": "P", "subject": "s", "message": b"m", "now": NOW}
    assert store.enqueue(message_id="<1@x>", pairs=[("a", "b")], **kwargs)
    assert not store.enqueue(message_id="<2@x>", pairs=[("a", "b")], **kwargs)
    assert [r.message_id for r in store.outbox()] == ["<1@x>"]
    assert store.alerted() == {("ann@ours.org", "a", "b")}


def test_outbox_attempts_backoff_and_failure(store: Store) -> None:
    """A failed delivery stays queued until its retry time, then fails for good when told."""
    store.enqueue(message_id="<1@x>", recipient="r@ours.org", family="P", subject="s", message=b"m",
                  pairs=[("a", "b")], now=NOW)
    (row,) = store.due(NOW)
    store.mark_attempt_failed(row.id, "down", retry_at=NOW + timedelta(minutes=5))
    assert store.due(NOW) == []
    (row,) = store.due(NOW + timedelta(minutes=5))
    store.mark_attempt_failed(row.id, "down", retry_at=None)
    assert [r.status for r in store.outbox()] == ["failed"]
    assert store.requeue_failed(NOW) == 1
    assert [r.status for r in store.due(NOW)] == ["queued"]


def test_partners_upsert_by_name_and_bump_directory_version(store: Store) -> None:
    """Saving partners upserts by case-insensitive name and bumps the directory version."""
    store.save_partners([Partner("Acme", domains=("acme.org",), owners=("o@ours.org",))])
    store.save_partners([Partner("ACME", domains=("acme.com",), aliases=("AC",))])
    (p,) = store.partners()
    assert (p.name, p.domains, p.aliases) == ("ACME", ("acme.com",), ("AC",))
    assert store.directory_version() == 2


def test_a_domain_on_two_partners_is_refused(store: Store) -> None:
    """The store refuses a domain claimed by two partners in one change."""
    with pytest.raises(DirectoryError):
        store.save_partners([Partner("A", domains=("x.org",)), Partner("B", domains=("x.org",))])
    assert store.partners() == []


def test_remove_and_unmap_unknown_names_are_not_found(store: Store) -> None:
    """Removing an unknown partner or unmapping an unknown domain is a NotFoundError."""
    with pytest.raises(NotFoundError):
        store.remove_partner("Nobody")
    with pytest.raises(NotFoundError):
        store.unmap_domain("nowhere.org")


def test_touched_families_survive_until_detected(store: Store) -> None:
    """Families touched by a deletion stay marked (across a crash) until their collisions are recomputed."""
    store.apply_sync(CAL, SyncResult(upserts=(event("a"),), next_cursor="c1"), now=NOW)
    ((event_id, _),) = store.unresolved_events(0)
    store.save_matches([(event_id, [PartnerMatch("P", "domain", "d", 100.0)], ["Root"])], 0)
    store.replace_collisions({"Root"}, [], now=NOW)
    assert store.dirty_families() == set()
    store.apply_sync(CAL, SyncResult(deletions=("a",), next_cursor="c2"), now=NOW)
    reopened = Store(store.engine)
    assert reopened.dirty_families() == {"Root"}
    reopened.replace_collisions({"Root"}, [], now=NOW)
    assert reopened.dirty_families() == set()


def test_forgetting_calendars_a_source_no_longer_lists(store: Store) -> None:
    """Calendars a source stops listing are removed with their events; other sources are untouched."""
    other = CalendarRef(source="ics-2", owner="bo@ours.org", id="/b.ics")
    store.apply_sync(CAL, SyncResult(upserts=(event("a"),), next_cursor="c1"), now=NOW)
    store.apply_sync(other, SyncResult(next_cursor="c1"), now=NOW)
    assert store.forget_calendars("ics-1", keep=set()) == 1
    assert store.events() == []
    assert [c.ref for c in store.calendar_states()] == [other.ref]


def test_a_key_listed_twice_in_one_sync_is_stored_once(store: Store) -> None:
    """Two copies of one key in one sync store the last copy, instead of failing the calendar."""
    result = SyncResult(upserts=(event("a", title="First"), event("a", title="Second")), next_cursor="c1")
    store.apply_sync(CAL, result, now=NOW)
    assert [e.title for e in store.events()] == ["Second"]
