"""The Google cursor: what it stores survives the round trip, and anything unreadable means a full sync."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from collectors.google import _Cursor

aware = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))


@given(token=st.text(min_size=1), start=aware, length=st.integers(1, 400), full_at=aware)
def test_google_cursor_round_trips(token: str, start: datetime, length: int, full_at: datetime) -> None:
    """A dumped cursor loads back equal."""
    cursor = _Cursor(token, start, start + timedelta(days=length), full_at)
    assert _Cursor.load(cursor.dump()) == cursor


@given(st.one_of(st.text(), st.from_regex(r'\{"v": 1, "sync_token": .*\}', fullmatch=True)))
def test_google_unreadable_cursor_is_none(text: str) -> None:
    """Any text that is not a whole cursor loads as None (a full sync), never raising."""
    loaded = _Cursor.load(text)
    assert loaded is None or loaded.sync_token


def test_google_cursor_without_sync_token_or_naive_times_is_none() -> None:
    """An empty token or a naive timestamp is not a usable cursor."""
    assert (
        _Cursor.load(
            '{"sync_token": "", "window_start": "2030-01-01T00:00:00+00:00", '
            '"window_end": "2030-02-01T00:00:00+00:00", "full_sync_at": "2030-01-01T00:00:00+00:00"}'
        )
        is None
    )
    assert (
        _Cursor.load(
            '{"sync_token": "s", "window_start": "2030-01-01T00:00:00", '
            '"window_end": "2030-02-01T00:00:00+00:00", "full_sync_at": "2030-01-01T00:00:00+00:00"}'
        )
        is None
    )
