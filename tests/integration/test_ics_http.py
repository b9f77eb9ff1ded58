"""The ICS collector against a real HTTP server on loopback: conditional GETs and HTTP errors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from collectors.ics import IcsCollector, feed_id
from revolving_door.errors import AuthError, CollectorError, SourceUnavailableError, ThrottledError
from revolving_door.model import CalendarRef, TimeWindow
from tests.fakes.ics_server import IcsServer

OWNER = "feed.owner@example.org"
WINDOW = TimeWindow(datetime(2031, 3, 1, tzinfo=UTC), datetime(2031, 6, 1, tzinfo=UTC))


def feed(*summaries: str) -> bytes:
    """A small calendar with one meeting per summary, a day apart."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//tests//feed//EN"]
    for i, summary in enumerate(summaries):
        lines += [
            "BEGIN:VEVENT",
            f"UID:feed-{i}",
            f"DTSTART:203103{10 + i:02d}T090000Z",
            f"DTEND:203103{10 + i:02d}T100000Z",
            f"SUMMARY:{summary}",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return ("\r\n".join(lines) + "\r\n").encode()


@pytest.fixture
def server() -> Iterator[IcsServer]:
    """A running feed server."""
    with IcsServer() as running:
        yield running


def collector_for(url: str, tmp_path: Path) -> tuple[IcsCollector, CalendarRef]:
    """A URL collector and its one calendar."""
    collector = IcsCollector("feed", url=url, owner=OWNER.upper(), base_dir=tmp_path, timeout=5)
    (calendar,) = collector.calendars()
    return collector, calendar


def test_feed_calendar_is_the_url_with_its_owner(server: IcsServer, tmp_path: Path) -> None:
    """A URL source lists one calendar: the URL, owned by the lower-cased owner."""
    url = server.publish("/cal.ics", feed("A"))
    _, calendar = collector_for(url, tmp_path)
    assert calendar == CalendarRef(source="feed", owner=OWNER, id=feed_id(url))


def test_unchanged_feed_costs_one_304_via_etag(server: IcsServer, tmp_path: Path) -> None:
    """With an ETag, the second sync sends If-None-Match, gets 304: one request, no changes."""
    url = server.publish("/cal.ics", feed("A", "B"))
    collector, calendar = collector_for(url, tmp_path)
    first = collector.sync(calendar, None, WINDOW)
    assert first.full_resync and {e.key for e in first.upserts} == {"feed-0", "feed-1"}
    before = len(server.requests)
    second = collector.sync(calendar, first.next_cursor, WINDOW)
    assert len(server.requests) == before + 1
    assert server.requests[-1].if_none_match == server.feeds["/cal.ics"].etag_value
    assert (second.upserts, second.deletions, second.full_resync, second.requests) == ((), (), False, 1)
    assert second.next_cursor


def test_unchanged_feed_costs_one_304_via_last_modified(server: IcsServer, tmp_path: Path) -> None:
    """Without an ETag, If-Modified-Since gets the 304: one request, no changes."""
    url = server.publish("/plain.ics", feed("A"), etag=False)
    collector, calendar = collector_for(url, tmp_path)
    first = collector.sync(calendar, None, WINDOW)
    second = collector.sync(calendar, first.next_cursor, WINDOW)
    assert server.requests[-1].if_none_match is None
    assert server.requests[-1].if_modified_since is not None
    assert len(server.requests) == 2
    assert not second.upserts and not second.deletions


def test_changed_feed_is_a_full_resync_with_deletions(server: IcsServer, tmp_path: Path) -> None:
    """A changed feed returns everything (full resync) and names the meeting that disappeared."""
    url = server.publish("/cal.ics", feed("A", "B"))
    collector, calendar = collector_for(url, tmp_path)
    first = collector.sync(calendar, None, WINDOW)
    server.publish("/cal.ics", feed("A renamed"))
    second = collector.sync(calendar, first.next_cursor, WINDOW)
    assert second.full_resync
    assert [(e.key, e.title) for e in second.upserts] == [("feed-0", "A renamed")]
    assert second.deletions == ("feed-1",)


def test_same_content_without_validators_is_no_change(server: IcsServer, tmp_path: Path) -> None:
    """A feed without validators re-sent unchanged is recognised by its content hash."""
    url = server.publish("/bare.ics", feed("A"), etag=False, last_modified=False)
    collector, calendar = collector_for(url, tmp_path)
    first = collector.sync(calendar, None, WINDOW)
    second = collector.sync(calendar, first.next_cursor, WINDOW)
    assert not second.upserts and not second.full_resync and second.requests == 1


def test_new_window_day_refetches_in_full(server: IcsServer, tmp_path: Path) -> None:
    """When the window moves to another day the feed is fetched unconditionally and re-expanded."""
    url = server.publish("/cal.ics", feed("A"))
    collector, calendar = collector_for(url, tmp_path)
    first = collector.sync(calendar, None, WINDOW)
    later = TimeWindow(WINDOW.start + timedelta(days=1), WINDOW.end + timedelta(days=1))
    second = collector.sync(calendar, first.next_cursor, later)
    assert server.requests[-1].if_none_match is None
    assert second.full_resync and {e.key for e in second.upserts} == {"feed-0"}


@pytest.mark.parametrize(
    ("status", "error"),
    [(401, AuthError), (403, AuthError), (404, SourceUnavailableError), (503, SourceUnavailableError)],
)
def test_http_errors_become_collector_errors(
    server: IcsServer, tmp_path: Path, status: int, error: type[Exception]
) -> None:
    """401/403 are AuthError, 404 and 5xx SourceUnavailableError, naming the calendar owner."""
    url = server.publish("/cal.ics", feed("A"))
    server.errors["/cal.ics"] = (status, {})
    collector, calendar = collector_for(url, tmp_path)
    with pytest.raises(error) as caught:
        collector.sync(calendar, None, WINDOW)
    assert str(status) in str(caught.value)
    assert getattr(caught.value, "calendar", None) == OWNER


def test_429_is_throttled_with_retry_after(server: IcsServer, tmp_path: Path) -> None:
    """A 429 with Retry-After becomes ThrottledError carrying the delay."""
    url = server.publish("/cal.ics", feed("A"))
    server.errors["/cal.ics"] = (429, {"Retry-After": "7"})
    collector, calendar = collector_for(url, tmp_path)
    with pytest.raises(ThrottledError) as caught:
        collector.sync(calendar, None, WINDOW)
    assert caught.value.retry_after == 7


def test_unreachable_feed_is_source_unavailable(tmp_path: Path) -> None:
    """A connection refused on a closed port is SourceUnavailableError, not a requests exception."""
    with IcsServer() as stopped:
        url = stopped.url("/gone.ics")
    collector, calendar = collector_for(url, tmp_path)
    with pytest.raises(SourceUnavailableError):
        collector.sync(calendar, None, WINDOW)


def test_check_reports_a_healthy_and_a_refused_feed(server: IcsServer, tmp_path: Path) -> None:
    """`check` passes for a served feed and fails with advice for a 401."""
    url = server.publish("/cal.ics", feed("A"))
    collector, _ = collector_for(url, tmp_path)
    assert [r.ok for r in collector.check()] == [True]
    server.errors["/cal.ics"] = (401, {})
    (result,) = collector.check()
    assert not result.ok and "401" in result.advice


def test_a_secret_feed_url_never_shows_in_ids_errors_or_warnings(tmp_path: Path) -> None:
    """A private feed's token (path, query, user:password) appears in no calendar id, error or check line."""
    secret_url = "http://user:s3cret@127.0.0.1:9/private-TOKEN123/basic.ics?key=TOKEN123"
    collector = IcsCollector("feed", base_dir=tmp_path, url=secret_url, owner=OWNER)
    (calendar,) = collector.calendars()
    with pytest.raises(CollectorError) as info:
        collector.sync(calendar, None, WINDOW)
    (check,) = collector.check()
    shown = " ".join([calendar.id, str(info.value), check.what, check.advice])
    assert "TOKEN123" not in shown and "s3cret" not in shown
    assert "127.0.0.1" in str(info.value)
