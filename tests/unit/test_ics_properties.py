"""Invariants of the ICS reader under arbitrary input (Hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.ics import read_calendar
from revolving_door.model import TimeWindow

WIDE = TimeWindow(datetime(2000, 1, 1, tzinfo=UTC), datetime(2040, 1, 1, tzinfo=UTC))
LINES = st.sampled_from(
    [
        "BEGIN:VCALENDAR",
        "END:VCALENDAR",
        "BEGIN:VEVENT",
        "END:VEVENT",
        "UID:u1",
        "UID:u2",
        "DTSTART:20300101T100000Z",
        "DTSTART;VALUE=DATE:20300102",
        "DTSTART;TZID=Nowhere/Zone:20300101T100000",
        "DTEND:20300101T090000Z",
        "RRULE:FREQ=DAILY;COUNT=3",
        "RRULE:FREQ=NEVER",
        "EXDATE:20300102T100000Z",
        "RECURRENCE-ID:20300102T100000Z",
        "SUMMARY:x",
        "ATTENDEE;PARTSTAT=ACCEPTED:mailto:A@B.C",
        'ATTENDEE;CN="unterminated:mailto:x@y',
        "BEGIN:VALARM",
        "END:VALARM",
        " folded",
        "garbage",
    ]
)


@settings(max_examples=150, deadline=None)
@given(st.lists(LINES | st.text(max_size=30), max_size=25))
def test_reader_never_raises_and_keys_are_unique(lines: list[str]) -> None:
    """Any mix of lines gives events with unique keys and aware UTC times, or a warning, never an exception."""
    events, _ = read_calendar("\r\n".join(lines).encode(), label="h.ics", owner="o@x.org", window=WIDE)
    for event in events or []:
        assert event.start.tzinfo is not None and event.end >= event.start
    keys = [e.key for e in events or []]
    assert len(keys) == len(set(keys))
