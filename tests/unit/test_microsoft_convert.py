"""Pure parts of the Microsoft collector: Graph event → CalendarEvent, delta bounds, cursors, advice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from collectors.microsoft import _bounds, _convert, _decode, advice_for
from revolving_door.errors import BadDataError
from revolving_door.model import TimeWindow

OWNER = "bob@example.org"


def graph_event(**changes: Any) -> dict[str, Any]:
    """A Graph event as calendarView/delta returns it in Bob's mailbox, with `changes` applied."""
    event: dict[str, Any] = {
        "id": "AAMkAG-1",
        "iCalUId": "040000008200E00074C5B7101A82E0080000000012345",
        "type": "singleInstance",
        "subject": "Visit",
        "isCancelled": False,
        "isAllDay": False,
        "sensitivity": "normal",
        "start": {"dateTime": "2031-04-02T09:30:00.0000000", "timeZone": "UTC"},
        "end": {"dateTime": "2031-04-02T10:30:00.0000000", "timeZone": "UTC"},
        "location": {"displayName": "HQ"},
        "organizer": {"emailAddress": {"name": "Alice", "address": "Alice@Example.org"}},
        "attendees": [
            {"type": "required", "status": {"response": "accepted"}, "emailAddress": {"address": OWNER}},
            {"type": "resource", "status": {"response": "accepted"}, "emailAddress": {"address": "room@example.org"}},
        ],
        "responseStatus": {"response": "accepted"},
    }
    event.update(changes)
    return event


def test_microsoft_single_instance_is_keyed_by_its_icaluid() -> None:
    """A singleInstance has uid = key = iCalUId, and UTC times from the 7-digit fractions."""
    event = _convert(graph_event(), OWNER, {})
    assert event.key == event.uid == "040000008200E00074C5B7101A82E0080000000012345"
    assert event.start == datetime(2031, 4, 2, 9, 30, tzinfo=UTC) and event.source_id == "AAMkAG-1"
    assert (event.calendar, event.location, event.title) == (OWNER, "HQ", "Visit")


def test_microsoft_occurrence_is_keyed_by_series_uid_and_original_start_date() -> None:
    """An occurrence takes the master's iCalUId as uid and its originalStart's UTC date in the key."""
    item = graph_event(
        type="occurrence",
        seriesMasterId="MASTER",
        iCalUId="per-occurrence",
        originalStart="2031-04-01T23:30:00Z",
    )
    event = _convert(item, OWNER, {"MASTER": "series-uid"})
    assert (event.uid, event.key) == ("series-uid", "series-uid@2031-04-01")


def test_microsoft_occurrence_without_original_start_uses_its_start_date() -> None:
    """Without originalStart the occurrence's own UTC start date is the key's date."""
    event = _convert(graph_event(type="occurrence", seriesMasterId="M"), OWNER, {"M": "u"})
    assert event.key == "u@2031-04-02"


def test_microsoft_organizer_is_added_and_owner_answer_wins() -> None:
    """The organizer (absent from attendees) is added; the owner's responseStatus replaces their entry."""
    event = _convert(graph_event(responseStatus={"response": "declined"}), OWNER, {})
    people = {a.email: a for a in event.attendees}
    assert people["alice@example.org"].is_organizer and people["alice@example.org"].response == "accepted"
    assert people[OWNER].response == "declined"
    assert people["room@example.org"].is_resource
    assert event.organizer == "alice@example.org"


def test_microsoft_owner_missing_from_attendees_is_added_with_their_answer() -> None:
    """A mailbox owner invited through a list is added with their own response."""
    item = graph_event(attendees=[], responseStatus={"response": "tentativelyAccepted"})
    people = {a.email: a.response for a in _convert(item, OWNER, {}).attendees}
    assert people == {"alice@example.org": "accepted", OWNER: "tentative"}


@pytest.mark.parametrize(("sensitivity", "private"), [("private", True), ("confidential", True), ("personal", False)])
def test_microsoft_sensitivity_maps_to_private(sensitivity: str, private: bool) -> None:
    """Private and confidential are private; personal and normal are not."""
    assert _convert(graph_event(sensitivity=sensitivity), OWNER, {}).private is private


def test_microsoft_all_day_starts_at_midnight_utc() -> None:
    """An all-day event becomes all_day from 00:00 UTC of its date."""
    item = graph_event(
        isAllDay=True,
        start={"dateTime": "2031-04-02T00:00:00.0000000", "timeZone": "UTC"},
        end={"dateTime": "2031-04-03T00:00:00.0000000", "timeZone": "UTC"},
    )
    event = _convert(item, OWNER, {})
    assert event.all_day and event.start == datetime(2031, 4, 2, tzinfo=UTC)


def test_microsoft_cancelled_is_mapped() -> None:
    """isCancelled makes the event cancelled."""
    assert _convert(graph_event(isCancelled=True), OWNER, {}).cancelled


def test_microsoft_non_utc_time_zone_is_bad_data() -> None:
    """A time zone other than UTC (the Prefer header was ignored) is refused, not guessed."""
    with pytest.raises(BadDataError):
        _convert(graph_event(start={"dateTime": "2031-04-02T09:30:00", "timeZone": "Pacific Standard Time"}), OWNER, {})


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("AADSTS7000215: Invalid client secret provided.", "secret is wrong"),
        ("AADSTS7000222: The provided client secret keys are expired.", "expired"),
        ("AADSTS700016: Application not found in the directory", "client_id"),
        ("AADSTS90002: Tenant 'x' not found.", "tenant was not found"),
        ("AADSTS65001: not consented", "admin consent"),
    ],
)
def test_microsoft_aadsts_codes_get_plain_advice(text: str, words: str) -> None:
    """Each common AADSTS code is explained in plain words."""
    assert words in advice_for({"error": "invalid_client", "error_description": text})


@pytest.mark.parametrize("cursor", [None, "", "garbage", "{}", '{"v": 2, "delta": "x"}', '{"v":1,"delta":"x"}'])
def test_microsoft_unreadable_cursor_is_no_cursor(cursor: str | None) -> None:
    """Anything but a complete v1 cursor decodes to None (a full sync)."""
    assert _decode(cursor) is None


@given(
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)),
    st.integers(min_value=1, max_value=400),
    st.integers(min_value=0, max_value=86399),
)
def test_microsoft_delta_bounds_cover_the_window_and_hold_within_a_day(start: datetime, days: int, shift: int) -> None:
    """The bounds are midnights that cover the window, and a shift that stays within the day keeps them."""
    window = TimeWindow(start, start + timedelta(days=days))
    low, high = _bounds(window)
    assert low <= window.start and high > window.end
    assert low.time() == high.time() == datetime.min.time()
    midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
    moved_start = midnight + timedelta(seconds=shift)
    moved = TimeWindow(moved_start, moved_start + timedelta(days=days))
    assert _bounds(moved) == (low, high)
