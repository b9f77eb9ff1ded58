"""The pipeline with in-memory sources, a real SQLite store and a recording delivery (no mocks)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest

from revolving_door.errors import DeliveryError, SourceUnavailableError
from revolving_door.model import Attendee, CalendarEvent, Partner
from revolving_door.service import Pipeline, run_cycle
from revolving_door.settings import load_settings
from revolving_door.store import Store
from tests.conftest import write_settings
from tests.fakes.memory_collector import MemoryCollector

NOW = datetime(2026, 11, 27, 9, tzinfo=UTC)


class RecordingDelivery:
    """Records what it is asked to send; fails while `down` is set."""

    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []
        self.down = False

    def send(self, message: EmailMessage) -> None:
        """Record the message, or fail like an unreachable server."""
        if self.down:
            raise DeliveryError("connection refused")
        self.sent.append(message)


def visit(owner: str, uid: str, days: int, partner_domain: str = "lumen-trust.org") -> CalendarEvent:
    """A one-hour meeting on `owner`'s calendar with someone from the partner, `days` from NOW."""
    start = NOW + timedelta(days=days)
    return CalendarEvent(calendar=owner, key=uid, uid=uid, source_id=uid, title=f"Visit {uid}", start=start,
                         end=start + timedelta(hours=1),
                         attendees=(Attendee(owner, response="accepted"), Attendee(f"guest@{partner_domain}")))


@pytest.fixture
def world(tmp_path: Path) -> tuple[Pipeline, MemoryCollector, MemoryCollector, RecordingDelivery]:
    """Two in-memory sources, a partner directory and a recording delivery around one store."""
    settings = load_settings(write_settings(tmp_path))
    store = Store.open(settings.store_url)
    store.save_partners([Partner("Lumen Trust", domains=("lumen-trust.org",), owners=("am@ours.org",))])
    first, second = MemoryCollector("first"), MemoryCollector("second")
    delivery = RecordingDelivery()
    pipeline = Pipeline(settings=settings, store=store, collectors=[first, second], delivery=delivery,
                        clock=lambda: NOW)
    return pipeline, first, second, delivery


def recipients(delivery: RecordingDelivery) -> list[str]:
    """Who was sent an alert, sorted."""
    return sorted(str(m["To"]) for m in delivery.sent)


def test_collision_across_sources_alerts_each_person_once(world: tuple) -> None:
    """Meetings from two sources collide; both attendees and the account manager are told, once."""
    pipeline, first, second, delivery = world
    first.put(visit("ann@ours.org", "a", 2))
    second.put(visit("bo@ours.org", "b", 4))
    report = run_cycle(pipeline)
    assert (report.calendars_ok, report.collisions, report.alerts_sent) == (2, 1, 3)
    assert recipients(delivery) == ["am@ours.org", "ann@ours.org", "bo@ours.org"]
    again = run_cycle(pipeline)
    assert (again.events_upserted, again.alerts_queued, again.alerts_sent) == (0, 0, 0)


def test_a_failing_source_keeps_its_cursor_and_stops_nobody(world: tuple) -> None:
    """One calendar failing is counted and backed off; its stored events and cursor stay; others sync."""
    pipeline, first, second, _ = world
    first.put(visit("ann@ours.org", "a", 2))
    second.put(visit("bo@ours.org", "b", 4))
    run_cycle(pipeline)
    cursor = pipeline.store.calendar_state(first.ref("ann@ours.org"))
    assert cursor is not None
    first.failures["ann@ours.org"] = SourceUnavailableError("503 from the source")
    second.put(visit("bo@ours.org", "c", 5))
    report = run_cycle(pipeline)
    assert (report.calendars_ok, report.calendars_failed) == (1, 1)
    state = pipeline.store.calendar_state(first.ref("ann@ours.org"))
    assert state is not None
    assert state.cursor == cursor.cursor and state.failures == 1 and state.next_attempt_at is not None
    assert state.next_attempt_at > NOW
    assert {e.key for e in pipeline.store.events()} == {"a", "b", "c"}
    skipped = run_cycle(pipeline)
    assert skipped.calendars_skipped == 1


def test_delivery_outage_loses_nothing(world: tuple) -> None:
    """While delivery fails the alerts stay queued; once it is back each is sent exactly once."""
    pipeline, first, second, delivery = world
    first.put(visit("ann@ours.org", "a", 2))
    second.put(visit("bo@ours.org", "b", 4))
    delivery.down = True
    report = run_cycle(pipeline, respect_backoff=False)
    assert report.alerts_queued == 3 and report.alerts_sent == 0
    assert len(pipeline.store.outbox("queued")) == 3
    delivery.down = False
    run_cycle(pipeline, respect_backoff=False)
    run_cycle(pipeline, respect_backoff=False)
    assert recipients(delivery) == ["am@ours.org", "ann@ours.org", "bo@ours.org"]


def test_a_bug_in_a_source_is_not_swallowed(world: tuple) -> None:
    """An unexpected exception inside a source's sync surfaces from the cycle instead of vanishing."""
    pipeline, first, second, _ = world
    first.put(visit("ann@ours.org", "a", 2))
    second.put(visit("bo@ours.org", "b", 4))

    def broken(*args: object, **kwargs: object) -> object:
        raise ZeroDivisionError("bug")

    second.sync = broken  # type: ignore[method-assign]
    with pytest.raises(ZeroDivisionError):
        run_cycle(pipeline)


def test_a_calendar_the_source_stops_listing_is_forgotten(world: tuple) -> None:
    """When a source no longer lists a calendar, its events and their collisions go away."""
    pipeline, first, second, _ = world
    first.put(visit("ann@ours.org", "a", 2))
    second.put(visit("bo@ours.org", "b", 4))
    assert run_cycle(pipeline).collisions == 1
    second.calendars = lambda: []  # type: ignore[method-assign]
    report = run_cycle(pipeline)
    assert report.collisions == 0
    assert {e.key for e in pipeline.store.events()} == {"a"}
