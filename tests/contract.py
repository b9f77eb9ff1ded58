"""The one collector contract suite: every collector (ICS, Google, Microsoft, in-memory) passes it.

Modelled on vdirsyncer's `StorageTests`. A backend's test module subclasses `CollectorContract`
and provides a `source` fixture returning a `SourceDriver`:

    class TestIcsContract(CollectorContract):
        @pytest.fixture
        def source(self, tmp_path: Path) -> SourceDriver:
            return IcsFilesDriver(tmp_path)

The driver protocol (keep it this small; `BaseDriver` provides the first two):
- `collector`: the Collector under test, reading from the source the driver writes to.
- `window`: the TimeWindow to sync with; it must span at least 60 days (tests place events
  from `window.start + 5 days` on, and one before and one after the window).
- `calendar(owner)`: the CalendarRef of `owner`'s calendar (created empty if needed).
- `put(owner, event)`: create or replace (same uid) a meeting in `owner`'s calendar at the source.
- `remove(owner, uid)`: delete that meeting (every occurrence) at the source.

An `event` is a plain dict, exactly:

    {"uid": str, "title": str,
     "start": datetime, "end": datetime,          # aware UTC
     "attendees": [(email, response, is_resource), ...],
                                                  # response: accepted|tentative|declined|needs-action
     "organizer": str,                            # email, may be "" (no organizer)
     "status": "confirmed" | "cancelled",
     "private": bool,
     "rrule": str | None,                         # e.g. "FREQ=WEEKLY;COUNT=3" (UTC-anchored)
     "location": str}

Emails may be given in any case; the collector must return them lower-cased. The suite never
mocks: it drives the real source (files, a fake server speaking the real protocol, memory).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from collectors.base import Collector
from revolving_door.errors import CollectorError
from revolving_door.model import CalendarEvent, CalendarRef, SyncResult, TimeWindow

ALICE = "alice@example.org"
BOB = "bob@example.org"


class SourceDriver(Protocol):
    """What a backend's test provides so the contract suite can drive its source."""

    @property
    def collector(self) -> Collector:
        """The collector under test."""
        ...

    @property
    def window(self) -> TimeWindow:
        """The window every sync in the suite uses (at least 60 days long)."""
        ...

    def calendar(self, owner: str) -> CalendarRef:
        """The calendar of `owner` (created empty at the source if needed)."""
        ...

    def put(self, owner: str, event: dict[str, Any]) -> None:
        """Create or replace (by uid) a meeting in `owner`'s calendar at the source."""
        ...

    def remove(self, owner: str, uid: str) -> None:
        """Delete the meeting `uid` (all its occurrences) from `owner`'s calendar at the source."""
        ...


class BaseDriver:
    """The `collector` and `window` half of a SourceDriver, fixed when the driver is made; a backend's
    driver subclasses it and adds `calendar`, `put` and `remove`."""

    def __init__(self, collector: Collector, window: TimeWindow) -> None:
        """A driver whose collector under test is `collector` (one instance for the whole test)."""
        self._collector = collector
        self._window = window

    @property
    def collector(self) -> Collector:
        """The collector under test."""
        return self._collector

    @property
    def window(self) -> TimeWindow:
        """The contract window."""
        return self._window


def make_event(uid: str, start: datetime, **changes: Any) -> dict[str, Any]:
    """A contract event dict starting at `start` (one hour long), with `changes` applied."""
    event: dict[str, Any] = {
        "uid": uid,
        "title": f"Meeting {uid}",
        "start": start,
        "end": start + timedelta(hours=1),
        "attendees": [(ALICE, "accepted", False), ("visitor@partner.example", "needs-action", False)],
        "organizer": ALICE,
        "status": "confirmed",
        "private": False,
        "rrule": None,
        "location": "Room 1",
    }
    event.update(changes)
    return event


def apply(stored: dict[str, CalendarEvent], result: SyncResult) -> dict[str, CalendarEvent]:
    """What a store holds after applying `result` to `stored` (keyed by event key)."""
    state = {} if result.full_resync else dict(stored)
    for source_id in result.deletions:
        for key in [k for k, e in state.items() if e.source_id == source_id]:
            del state[key]
    for event in result.upserts:
        state[event.key] = event
    return state


def day(source: SourceDriver, offset: int, hour: int = 10, minute: int = 0) -> datetime:
    """A UTC instant `offset` days after the window start, at hour:minute."""
    base = source.window.start.astimezone(UTC)
    return datetime(base.year, base.month, base.day, hour, minute, tzinfo=UTC) + timedelta(days=offset)


class CollectorContract:
    """The behaviour every collector must show; subclasses provide the `source` fixture."""

    def full(self, source: SourceDriver, owner: str = ALICE) -> SyncResult:
        """A full sync of `owner`'s calendar."""
        return source.collector.sync(source.calendar(owner), None, source.window)

    def test_full_sync_returns_every_event_in_window_with_keys(self, source: SourceDriver) -> None:
        """A first sync is a full resync holding every occurrence, keyed UID or UID@UTC-date."""
        source.put(ALICE, make_event("single-1", day(source, 5)))
        source.put(ALICE, make_event("late-1", day(source, 6, 23, 30)))
        source.put(ALICE, make_event("series-1", day(source, 7, 23, 30), rrule="FREQ=WEEKLY;COUNT=3"))
        result = self.full(source)
        assert result.full_resync
        assert result.next_cursor
        expected = {"single-1", "late-1"} | {
            f"series-1@{(day(source, 7 + 7 * i)).date().isoformat()}" for i in range(3)
        }
        assert {e.key for e in result.upserts} == expected
        assert {e.calendar for e in result.upserts} == {ALICE}

    def test_datetimes_are_aware_utc(self, source: SourceDriver) -> None:
        """Every start and end is timezone-aware UTC and equals what was written."""
        start = day(source, 5, 14, 15)
        source.put(ALICE, make_event("utc-1", start, end=start + timedelta(minutes=45)))
        (event,) = self.full(source).upserts
        assert event.start.utcoffset() == timedelta(0) and event.end.utcoffset() == timedelta(0)
        assert (event.start, event.end) == (start, start + timedelta(minutes=45))

    def test_emails_are_lower_cased(self, source: SourceDriver) -> None:
        """Organizer and attendee addresses come back lower-cased."""
        attendees = [("Alice@Example.ORG", "accepted", False), ("Visitor@Partner.EXAMPLE", "accepted", False)]
        source.put(
            ALICE, make_event("case-1", day(source, 5), attendees=attendees, organizer="Alice@Example.ORG")
        )
        (event,) = self.full(source).upserts
        assert event.organizer == ALICE
        assert {a.email for a in event.attendees} == {ALICE, "visitor@partner.example"}

    def test_attendee_responses_and_resources_are_mapped(self, source: SourceDriver) -> None:
        """Each response maps to accepted/tentative/declined/needs-action; rooms are resources."""
        attendees = [
            (ALICE, "accepted", False),
            ("t@partner.example", "tentative", False),
            ("d@partner.example", "declined", False),
            ("n@partner.example", "needs-action", False),
            ("room-1@example.org", "accepted", True),
        ]
        source.put(ALICE, make_event("resp-1", day(source, 5), attendees=attendees))
        (event,) = self.full(source).upserts
        seen = {a.email: (a.response, a.is_resource) for a in event.attendees}
        for email, response, is_resource in attendees:
            assert seen[email] == (response, is_resource)

    def test_unchanged_calendar_yields_no_changes(self, source: SourceDriver) -> None:
        """A second sync with the returned cursor and no change has no upserts and no deletions."""
        source.put(ALICE, make_event("same-1", day(source, 5)))
        first = self.full(source)
        second = source.collector.sync(source.calendar(ALICE), first.next_cursor, source.window)
        assert not second.upserts and not second.deletions
        assert second.next_cursor

    def test_edit_is_an_upsert_with_the_same_key(self, source: SourceDriver) -> None:
        """An edited meeting comes back under the same key with the new title."""
        source.put(ALICE, make_event("edit-1", day(source, 5)))
        first = self.full(source)
        source.put(ALICE, make_event("edit-1", day(source, 5), title="Renamed meeting"))
        second = source.collector.sync(source.calendar(ALICE), first.next_cursor, source.window)
        assert "edit-1" in {e.key for e in second.upserts}
        state = apply(apply({}, first), second)
        assert state["edit-1"].title == "Renamed meeting"

    def test_removal_is_reported(self, source: SourceDriver) -> None:
        """A deleted meeting leaves the stored state (by deletion of its source id, or a full resync)."""
        source.put(ALICE, make_event("keep-1", day(source, 5)))
        source.put(ALICE, make_event("gone-1", day(source, 6)))
        first = self.full(source)
        source.remove(ALICE, "gone-1")
        second = source.collector.sync(source.calendar(ALICE), first.next_cursor, source.window)
        state = apply(apply({}, first), second)
        assert set(state) == {"keep-1"}

    def test_cancelled_status_is_mapped(self, source: SourceDriver) -> None:
        """A cancelled meeting is returned with status cancelled; others are confirmed."""
        source.put(ALICE, make_event("cancel-1", day(source, 5), status="cancelled"))
        source.put(ALICE, make_event("ok-1", day(source, 6)))
        events = {e.key: e for e in self.full(source).upserts}
        assert events["cancel-1"].status == "cancelled"
        assert events["ok-1"].status == "confirmed"

    def test_private_flag_is_mapped(self, source: SourceDriver) -> None:
        """A private meeting is flagged private; a normal one is not."""
        source.put(ALICE, make_event("private-1", day(source, 5), private=True))
        source.put(ALICE, make_event("public-1", day(source, 6)))
        events = {e.key: e for e in self.full(source).upserts}
        assert events["private-1"].private and not events["public-1"].private

    def test_events_outside_window_are_not_returned(self, source: SourceDriver) -> None:
        """Meetings entirely before or after the window are left out."""
        before = source.window.start - timedelta(days=3)
        after = source.window.end + timedelta(days=3)
        source.put(ALICE, make_event("before-1", before))
        source.put(ALICE, make_event("after-1", after))
        source.put(ALICE, make_event("inside-1", day(source, 5)))
        assert {e.key for e in self.full(source).upserts} == {"inside-1"}

    def test_recurring_series_yields_one_event_per_occurrence(self, source: SourceDriver) -> None:
        """A weekly series of four gives four events with distinct keys, one uid, a week apart."""
        start = day(source, 8, 9)
        source.put(ALICE, make_event("weekly-1", start, rrule="FREQ=WEEKLY;COUNT=4"))
        events = sorted(self.full(source).upserts, key=lambda e: e.start)
        assert [e.start for e in events] == [start + timedelta(weeks=i) for i in range(4)]
        assert len({e.key for e in events}) == 4
        assert {e.uid for e in events} == {"weekly-1"}
        assert all(e.key == f"weekly-1@{e.start.date().isoformat()}" for e in events)

    def test_garbage_cursor_leads_to_full_resync(self, source: SourceDriver) -> None:
        """A cursor the source cannot use is a full resync, never an error nor "no changes"."""
        source.put(ALICE, make_event("any-1", day(source, 5)))
        result = source.collector.sync(source.calendar(ALICE), "not a cursor {]!", source.window)
        assert result.full_resync
        assert {e.key for e in result.upserts} == {"any-1"}

    def test_sync_many_yields_a_result_for_every_calendar(self, source: SourceDriver) -> None:
        """`sync_many` answers for each calendar asked, with that calendar's events."""
        source.put(ALICE, make_event("a-1", day(source, 5)))
        source.put(
            BOB, make_event("b-1", day(source, 6), attendees=[(BOB, "accepted", False)], organizer=BOB)
        )
        requests = [(source.calendar(ALICE), None), (source.calendar(BOB), None)]
        results = dict(source.collector.sync_many(requests, source.window))
        assert set(results) == {source.calendar(ALICE), source.calendar(BOB)}
        for ref, result in results.items():
            assert not isinstance(result, CollectorError)
            assert {e.calendar for e in result.upserts} == {ref.owner}
        alice_result = results[source.calendar(ALICE)]
        assert isinstance(alice_result, SyncResult)
        assert {e.key for e in alice_result.upserts} == {"a-1"}

    def test_calendars_lists_each_calendar(self, source: SourceDriver) -> None:
        """`calendars()` includes the calendar of every owner who has meetings."""
        source.put(ALICE, make_event("a-2", day(source, 5)))
        source.put(BOB, make_event("b-2", day(source, 5)))
        listed = set(source.collector.calendars())
        assert {source.calendar(ALICE), source.calendar(BOB)} <= listed
