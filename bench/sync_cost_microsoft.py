"""Sync cost of the Microsoft collector: requests per calendar for a full sync and for steady-state polls.

Runs the real collector (msal + requests) against the loopback Graph fake: N mailboxes with a few
meetings each (one weekly series), a full sync through `sync_many`, then three polls after a few
changes per calendar (an edited meeting, a new one, an edited occurrence; a deletion on the last).
Prints figures; asserts nothing.

    python -m bench.sync_cost_microsoft --calendars 500
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _sync_cost_common as common
from revolving_door.model import TimeWindow
from tests.contract import make_event
from tests.fakes.microsoft_graph import FakeGraph, make_collector

WINDOW = TimeWindow(datetime(2031, 3, 1, tzinfo=UTC), datetime(2031, 9, 1, tzinfo=UTC))


def _at(days: int, hour: int) -> datetime:
    """An instant `days` after the window start."""
    return WINDOW.start + timedelta(days=days, hours=hour)


def _populate(fake: FakeGraph, owners: list[str]) -> dict[str, list[str]]:
    """A few meetings per mailbox; returns each owner's series occurrence ids."""
    occurrences: dict[str, list[str]] = {}
    for i, owner in enumerate(owners):
        attendees = [(owner, "accepted", False), ("guest@partner.example", "needs-action", False)]
        for j in range(3):
            fake.put(owner, make_event(f"{owner}-m{j}", _at(10 + j, 8 + i % 9), organizer=owner, attendees=attendees))
        ids = fake.put(
            owner,
            make_event(f"{owner}-weekly", _at(7, 9), organizer=owner, attendees=attendees, rrule="FREQ=WEEKLY;COUNT=4"),
        )
        occurrences[owner] = ids[1:]
    return occurrences


def _change(fake: FakeGraph, owners: list[str], occurrences: dict[str, list[str]], poll: int) -> None:
    """A few changes per calendar before a poll."""
    for owner in owners:
        fake.put(owner, make_event(f"{owner}-m0", _at(10, 9), organizer=owner, title=f"Edited {poll}", attendees=[]))
        fake.put(owner, make_event(f"{owner}-new{poll}", _at(20 + poll, 11), organizer=owner, attendees=[]))
        fake.edit(owner, occurrences[owner][poll], subject=f"Agenda {poll}")
        if poll == 2:
            fake.remove(owner, f"{owner}-m2")


def run(calendars: int) -> dict[str, float]:
    """Run the benchmark and return its figures."""
    fake = FakeGraph().start()
    try:
        owners = [f"staff{i:04d}@example.org" for i in range(calendars)]
        occurrences = _populate(fake, owners)
        collector, _ = make_collector(fake, users=owners, page_size=100, concurrency=8)
        refs = collector.calendars()
        fake.reset_records()
        cursors, _ = common.full_sync(collector, refs, WINDOW)
        full_http, full_calls = len(fake.requests), len(fake.calls)
        fake.reset_records()
        wall = common.steady_polls(collector, cursors, WINDOW, lambda poll: _change(fake, owners, occurrences, poll))
        polls = common.POLLS * calendars
        return {
            "requests_per_calendar_full": full_http / calendars,
            "api_calls_per_calendar_full": full_calls / calendars,
            "api_calls_per_calendar_steady": len(fake.calls) / polls,
            "http_roundtrips_per_calendar_steady": len(fake.requests) / polls,
            "wall_seconds_steady": wall,
        }
    finally:
        fake.stop()


def main(calendars: int | Sequence[str] | None = None) -> None:
    """Print the figures for `calendars` mailboxes (an int, or command-line arguments `--calendars N`)."""
    common.main(run, __doc__, calendars)


if __name__ == "__main__":
    main(sys.argv[1:])
