"""Sync cost of the Google collector: requests per calendar for a full sync and for steady-state polls.

Runs the real collector (google-auth + google-api-python-client) against the loopback Google fake:
N staff calendars with a few meetings each (one weekly series), a full sync through `sync_many`,
then three polls after a few changes per calendar (a new meeting, an edited one, a cancelled
occurrence on the second poll, a deleted meeting on the third). Prints figures; asserts nothing.

    requests_per_calendar_full=R           HTTP requests (token + list pages) per calendar, full sync
    api_calls_per_calendar_steady=C        events.list calls per calendar per poll (batch parts count)
    http_roundtrips_per_calendar_steady=H  HTTP round trips per calendar per poll (a batch of 50 is one)
    wall_seconds_steady=S                  wall time of one poll of every calendar

Targets: steady state <= 1 API call and <= 0.025 HTTP round trips per calendar.

    python bench/sync_cost.py --provider google --calendars 500
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _sync_cost_common as common
from collectors.google import GoogleCollector
from revolving_door.model import TimeWindow
from tests.contract import make_event
from tests.fakes.google_calendar import FakeGoogle, event_id

NOW = datetime(2031, 3, 20, 8, tzinfo=UTC)
WINDOW = TimeWindow.around(NOW, 30, 180)


def _at(days: int, hour: int) -> datetime:
    """An instant `days` after NOW's date at `hour`."""
    return datetime(NOW.year, NOW.month, NOW.day, hour, tzinfo=UTC) + timedelta(days=days)


def _populate(fake: FakeGoogle, owners: list[str]) -> None:
    """A few meetings per calendar, one of them a weekly series."""
    for i, owner in enumerate(owners):
        attendees = [(owner, "accepted", False), ("guest@partner.example", "needs-action", False)]
        for j in range(3):
            fake.put(
                owner,
                make_event(f"{owner}-m{j}", _at(j + 1 + i % 5, 9 + j), attendees=attendees, organizer=owner),
            )
        fake.put(
            owner,
            make_event(
                f"{owner}-weekly",
                _at(2, 15),
                attendees=attendees,
                organizer=owner,
                rrule="FREQ=WEEKLY;COUNT=8",
            ),
        )


def _change(fake: FakeGoogle, owners: list[str], poll: int) -> None:
    """A few changes per calendar before a poll."""
    for owner in owners:
        fake.put(owner, make_event(f"{owner}-new{poll}", _at(10 + poll, 11), organizer=owner))
        fake.touch(owner, f"{owner}-m0", summary=f"Agenda {poll}")
        if poll == 1:
            fake.cancel(owner, _instance_id(owner))
        if poll == 2:
            fake.remove(owner, f"{owner}-m2")


def _instance_id(owner: str) -> str:
    """The id of the third instance of the owner's weekly series (as the fake names instances)."""
    start = _at(2, 15) + timedelta(weeks=2)
    return f"{event_id(f'{owner}-weekly')}_{start:%Y%m%dT%H%M%SZ}"


def run(calendars: int) -> dict[str, float]:
    """Run the benchmark and return its figures."""
    with FakeGoogle() as fake:
        owners = [f"staff{i:04d}@example.org" for i in range(calendars)]
        _populate(fake, owners)
        collector = GoogleCollector(
            "google",
            service_account_info=fake.service_account_info(),
            users=owners,
            api_endpoint=fake.base_url,
            concurrency=8,
            clock=lambda: NOW,
        )
        refs = collector.calendars()
        fake.reset_log()
        cursors, full_wall = common.full_sync(collector, refs, WINDOW)
        full_http = fake.roundtrips()
        fake.reset_log()
        wall = common.steady_polls(collector, cursors, WINDOW, lambda poll: _change(fake, owners, poll))
        polls = common.POLLS * calendars
        return {
            "requests_per_calendar_full": full_http / calendars,
            "wall_seconds_full": full_wall,
            "api_calls_per_calendar_steady": len(fake.calls("list")) / polls,
            "http_roundtrips_per_calendar_steady": fake.roundtrips() / polls,
            "wall_seconds_steady": wall,
        }


def main(calendars: int | Sequence[str] | None = None) -> None:
    """Print the figures for `calendars` calendars (an int, or command-line arguments `--calendars N`)."""
    common.main(run, __doc__, calendars)


if __name__ == "__main__":
    main(sys.argv[1:])
