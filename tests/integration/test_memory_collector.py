"""The in-memory collector passes the collector contract, and records and fails on demand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from dateutil.rrule import rrulestr

from collectors.base import Collector
from revolving_door.errors import SourceUnavailableError
from revolving_door.model import Attendee, CalendarEvent, CalendarRef, TimeWindow
from tests.contract import ALICE, BaseDriver, CollectorContract, SourceDriver, make_event
from tests.fakes.memory_collector import Call, MemoryCollector

WINDOW = TimeWindow(datetime(2031, 3, 1, tzinfo=UTC), datetime(2031, 6, 1, tzinfo=UTC))


def to_events(owner: str, event: dict[str, Any]) -> list[CalendarEvent]:
    """The contract dict as CalendarEvents, one per occurrence (the series expanded by dateutil)."""
    starts = [event["start"]]
    if event["rrule"]:
        starts = list(rrulestr(event["rrule"], dtstart=event["start"]))
    organizer = event["organizer"].lower()
    attendees = tuple(
        Attendee(email=e.lower(), response=r, is_resource=res, is_organizer=e.lower() == organizer)
        for e, r, res in event["attendees"]
    )
    duration = event["end"] - event["start"]
    return [
        CalendarEvent(
            calendar=owner,
            key=event["uid"] if not event["rrule"] else f"{event['uid']}@{s.date().isoformat()}",
            uid=event["uid"],
            source_id="",
            title=event["title"],
            start=s,
            end=s + duration,
            location=event["location"],
            organizer=organizer,
            attendees=attendees,
            status=event["status"],
            private=event["private"],
        )
        for s in starts
    ]


class MemoryDriver(BaseDriver):
    """Drives a MemoryCollector through the contract's dict events."""

    def __init__(self) -> None:
        """A fresh in-memory source."""
        self.memory = MemoryCollector()
        super().__init__(self.memory, WINDOW)

    def calendar(self, owner: str) -> CalendarRef:
        """The owner's calendar."""
        return self.memory.ref(owner)

    def put(self, owner: str, event: dict[str, Any]) -> None:
        """Replace every occurrence of the uid with the new ones."""
        self.memory.remove(owner, event["uid"])
        self.memory.put(*to_events(owner, event))

    def remove(self, owner: str, uid: str) -> None:
        """Delete every occurrence of the uid."""
        self.memory.remove(owner, uid)


class TestMemoryCollectorContract(CollectorContract):
    """The in-memory collector under the collector contract."""

    @pytest.fixture
    def source(self) -> SourceDriver:
        """An in-memory source."""
        return MemoryDriver()


def test_memory_collector_is_a_collector() -> None:
    """The fake satisfies the runtime-checkable Collector protocol."""
    assert isinstance(MemoryCollector(), Collector)


def test_memory_collector_records_calls() -> None:
    """Each sync is recorded with its owner and cursor."""
    driver = MemoryDriver()
    ref = driver.calendar(ALICE)
    first = driver.memory.sync(ref, None, WINDOW)
    driver.memory.sync(ref, first.next_cursor, WINDOW)
    assert driver.memory.calls == [Call("sync", ALICE, None), Call("sync", ALICE, first.next_cursor)]


def test_memory_collector_failure_is_confined_to_its_calendar() -> None:
    """A failure set for one owner comes back as that calendar's error from sync_many."""
    driver = MemoryDriver()
    driver.put(ALICE, make_event("a-1", WINDOW.start + timedelta(days=3)))
    bob = driver.calendar("bob@example.org")
    driver.memory.failures["bob@example.org"] = SourceUnavailableError("down")
    results = dict(driver.memory.sync_many([(driver.calendar(ALICE), None), (bob, None)], WINDOW))
    assert isinstance(results[bob], SourceUnavailableError)
    assert results[bob].calendar == "bob@example.org"
    assert not isinstance(results[driver.calendar(ALICE)], Exception)


def test_memory_collector_reports_an_event_moved_out_of_the_window_as_deleted() -> None:
    """An event edited to a time outside the window is a deletion on the next incremental sync."""
    driver = MemoryDriver()
    driver.put(ALICE, make_event("m-1", WINDOW.start + timedelta(days=3)))
    first = driver.memory.sync(driver.calendar(ALICE), None, WINDOW)
    driver.put(ALICE, make_event("m-1", WINDOW.end + timedelta(days=30)))
    second = driver.memory.sync(driver.calendar(ALICE), first.next_cursor, WINDOW)
    assert second.deletions == ("m-1",) and not second.upserts
