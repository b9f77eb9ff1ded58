"""Google collector behaviour against the loopback fake: incremental sync, recovery, faults, batching."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from collectors.google import BATCH_LIMIT, EVENTS_SCOPE, GoogleCollector
from revolving_door.errors import (
    AuthError,
    BadDataError,
    CollectorError,
    SourceUnavailableError,
    ThrottledError,
)
from revolving_door.model import CalendarEvent, CalendarRef, SyncResult, TimeWindow
from tests.contract import apply
from tests.fakes.google_calendar import FakeGoogle, meeting, staff

NOW = datetime(2031, 3, 20, 8, tzinfo=UTC)
WINDOW = TimeWindow.around(NOW, 30, 180)
ALICE = "alice@example.org"
BOB = "bob@example.org"
CAROL = "carol@example.org"


class Clock:
    """A settable clock."""

    def __init__(self, now: datetime = NOW) -> None:
        """Start at `now`."""
        self.now = now

    def __call__(self) -> datetime:
        """The current time."""
        return self.now


@pytest.fixture
def google() -> Iterator[FakeGoogle]:
    """A started Google fake."""
    with FakeGoogle() as fake:
        yield fake


def collector(fake: FakeGoogle, users: list[str], **options: Any) -> tuple[GoogleCollector, list[float]]:
    """A collector on the fake whose sleeps are recorded instead of waited."""
    slept: list[float] = []
    options.setdefault("clock", Clock())
    options.setdefault("jitter", lambda: 0.5)
    made = GoogleCollector(
        "google",
        service_account_info=fake.service_account_info(),
        users=users,
        api_endpoint=fake.base_url,
        sleep=slept.append,
        **options,
    )
    return made, slept


def ref(owner: str) -> CalendarRef:
    """The primary calendar of `owner`."""
    return CalendarRef("google", owner, owner)


def ok(result: SyncResult | CollectorError) -> SyncResult:
    """The result, failing the test on an error."""
    assert isinstance(result, SyncResult), result
    return result


def at(days: float, hour: int = 10) -> datetime:
    """An instant `days` after NOW's date at `hour`."""
    return datetime(NOW.year, NOW.month, NOW.day, hour, tzinfo=UTC) + timedelta(days=days)


def by_key(events: dict[str, CalendarEvent]) -> dict[str, str]:
    """Key → title."""
    return {k: e.title for k, e in events.items()}


def test_google_incremental_sync_after_creates_edits_and_deletes(google: FakeGoogle) -> None:
    """Creates, edits and deletes after a full sync arrive as upserts and deletions by source id."""
    col, _ = collector(google, [ALICE])
    google.put(ALICE, meeting("a", at(1), title="A"))
    google.put(ALICE, meeting("b", at(2), title="B"))
    google.put(ALICE, meeting("series", at(3), title="S", rrule="FREQ=WEEKLY;COUNT=3"))
    first = col.sync(ref(ALICE), None, WINDOW)
    state = apply({}, first)
    assert set(state) == {
        "a",
        "b",
        "series@" + at(3).date().isoformat(),
        "series@" + at(10).date().isoformat(),
        "series@" + at(17).date().isoformat(),
    }
    google.put(ALICE, meeting("c", at(4), title="C"))
    google.touch(ALICE, "a", summary="A renamed")
    google.remove(ALICE, "b")
    google.cancel(ALICE, state["series@" + at(10).date().isoformat()].source_id)
    second = col.sync(ref(ALICE), first.next_cursor, WINDOW)
    assert not second.full_resync
    assert second.requests == 1
    state = apply(state, second)
    assert by_key(state) == {
        "a": "A renamed",
        "c": "C",
        "series@" + at(3).date().isoformat(): "S",
        "series@" + at(17).date().isoformat(): "S",
    }
    list_calls = google.calls("list")
    assert "syncToken" in list_calls[-1].params
    assert not {"timeMin", "timeMax"} & set(list_calls[-1].params)
    assert list_calls[-1].params["singleEvents"] == "true" and list_calls[-1].params["showDeleted"] == "true"
    assert list_calls[0].params["maxResults"] == "2500" and "attendees(" in list_calls[0].params["fields"]


def test_google_expired_sync_token_forces_full_resync_that_drops_stale_events(google: FakeGoogle) -> None:
    """A 410 fullSyncRequired becomes a full resync; events that did not come back leave the store."""
    col, _ = collector(google, [ALICE])
    google.put(ALICE, meeting("keep", at(1)))
    google.put(ALICE, meeting("stale", at(2)))
    first = col.sync(ref(ALICE), None, WINDOW)
    google.remove(ALICE, "stale")
    google.expire_sync_tokens(ALICE)
    second = col.sync(ref(ALICE), first.next_cursor, WINDOW)
    assert second.full_resync
    assert [c.status for c in google.calls("list")][-2:] == [410, 200]
    assert set(apply(apply({}, first), second)) == {"keep"}
    third = col.sync(ref(ALICE), second.next_cursor, WINDOW)
    assert not third.full_resync and not third.upserts and not third.deletions


@pytest.mark.parametrize("kind", ["rate_limit", "user_rate_limit", "too_many", "server_error"])
def test_google_rate_limits_and_5xx_are_retried_honouring_retry_after(google: FakeGoogle, kind: str) -> None:
    """403/429 rate limits and 5xx are retried after at least Retry-After seconds, then succeed."""
    col, slept = collector(google, [ALICE])
    google.put(ALICE, meeting("a", at(1)))
    google.inject(kind, calendar=ALICE, times=2, retry_after=7)
    result = col.sync(ref(ALICE), None, WINDOW)
    assert {e.key for e in result.upserts} == {"a"}
    assert len(slept) == 2 and all(s >= 7 for s in slept)
    assert result.requests == 1 + 3  # one token, three list attempts


def test_google_backoff_without_retry_after_grows_with_jitter(google: FakeGoogle) -> None:
    """Without Retry-After the waits grow exponentially, scaled by the jitter."""
    col, slept = collector(google, [ALICE], jitter=lambda: 1.0)
    google.inject("rate_limit", calendar=ALICE, times=3)
    col.sync(ref(ALICE), None, WINDOW)
    assert slept == [1.0, 2.0, 4.0]


def test_google_persistent_rate_limit_is_throttled_error(google: FakeGoogle) -> None:
    """A rate limit that outlasts max_retries is that calendar's ThrottledError with Retry-After."""
    col, slept = collector(google, [ALICE], max_retries=2)
    google.inject("too_many", calendar=ALICE, times=None, retry_after=3)
    with pytest.raises(ThrottledError) as caught:
        col.sync(ref(ALICE), None, WINDOW)
    assert caught.value.retry_after == 3 and caught.value.calendar == ALICE
    assert len(slept) == 2


def test_google_quota_exceeded_pauses_the_source_until_the_next_cycle(google: FakeGoogle) -> None:
    """quotaExceeded stops all calls for the rest of the cycle; the next cycle resumes."""
    users = [ALICE, BOB, CAROL]
    col, _ = collector(google, users, concurrency=1)
    google.inject("quota", calendar=ALICE, times=1)
    results = dict(col.sync_many([(ref(u), None) for u in users], WINDOW))
    assert all(isinstance(r, ThrottledError) for r in results.values())
    assert len(google.calls("list")) == 1
    results = dict(col.sync_many([(ref(u), None) for u in users], WINDOW))
    assert all(isinstance(r, SyncResult) for r in results.values())


def test_google_user_without_delegation_does_not_stop_the_others(google: FakeGoogle) -> None:
    """A refused token is that user's AuthError with advice; the other calendars sync."""
    google.refused[BOB] = "unauthorized_client"
    users = [ALICE, BOB, CAROL]
    for user in users:
        google.put(user, meeting(f"m-{user}", at(1), title=user))
    col, _ = collector(google, users)
    results = dict(col.sync_many([(ref(u), None) for u in users], WINDOW))
    bob = results.pop(ref(BOB))
    assert isinstance(bob, AuthError) and bob.calendar == BOB
    assert "Domain-wide delegation" in str(bob) and EVENTS_SCOPE in str(bob)
    assert {r.upserts[0].title for r in map(ok, results.values())} == {ALICE, CAROL}
    cursors = {c: ok(r).next_cursor for c, r in results.items()}
    cursors[ref(BOB)] = None
    again = dict(col.sync_many(list(cursors.items()), WINDOW))
    assert isinstance(again[ref(BOB)], AuthError)
    assert all(isinstance(again[ref(u)], SyncResult) for u in (ALICE, CAROL))


def test_google_unknown_user_is_explained(google: FakeGoogle) -> None:
    """A subject Google does not know is reported as user not found."""
    google.known_users = {ALICE}
    col, _ = collector(google, [ALICE, "ghost@example.org"])
    with pytest.raises(AuthError, match="not found or suspended"):
        col.sync(ref("ghost@example.org"), None, WINDOW)


def test_google_fifty_users_synced_concurrently_each_get_their_own_events(google: FakeGoogle) -> None:
    """50 calendars synced on 8 threads (full, then batched) each get exactly their own events."""
    users = staff(50)
    for user in users:
        for n in range(3):
            google.put(user, meeting(f"{user}-{n}", at(n + 1), title=user))
    col, _ = collector(google, users, concurrency=8)
    full = dict(col.sync_many([(ref(u), None) for u in users], WINDOW))
    assert set(full) == {ref(u) for u in users}
    for cal, result in full.items():
        events = ok(result).upserts
        assert len(events) == 3 and {e.title for e in events} == {cal.owner}
        assert {e.calendar for e in events} == {cal.owner}
    for user in users:
        google.put(user, meeting(f"{user}-new", at(5), title=user + " new"))
    steady = dict(col.sync_many([(c, ok(r).next_cursor) for c, r in full.items()], WINDOW))
    for cal, result in steady.items():
        assert [e.title for e in ok(result).upserts] == [cal.owner + " new"]
    assert sorted(set(google.token_subjects())) == sorted(users)
    assert len(google.token_subjects()) == 50


def test_google_steady_state_polls_are_batched_fifty_per_request(google: FakeGoogle) -> None:
    """Incremental polls ride in batch requests of at most 50 parts, each with its own user's token."""
    users = staff(120)
    col, _ = collector(google, users)
    full = dict(col.sync_many([(ref(u), None) for u in users], WINDOW))
    google.put(users[7], meeting("late", at(2), title="late"))
    google.reset_log()
    steady = dict(col.sync_many([(c, ok(r).next_cursor) for c, r in full.items()], WINDOW))
    assert google.roundtrips() == 3
    batches = google.calls("batch")
    assert sorted(int(b.params["parts"]) for b in batches) == [20, 50, 50]
    assert all(int(b.params["parts"]) <= BATCH_LIMIT for b in batches)
    parts = google.calls("list")
    assert len(parts) == 120 and all(p.batch is not None and p.subject == p.calendar for p in parts)
    assert [e.title for e in ok(steady[ref(users[7])]).upserts] == ["late"]
    assert all(ok(r).requests == 1 for r in steady.values())


def test_google_revoked_tokens_in_a_batch_are_renewed_once(google: FakeGoogle) -> None:
    """Parts answered 401 get a new token and ride the next batch; nobody fails."""
    users = [ALICE, BOB]
    col, _ = collector(google, users)
    full = dict(col.sync_many([(ref(u), None) for u in users], WINDOW))
    google.revoke_tokens()
    steady = dict(col.sync_many([(c, ok(r).next_cursor) for c, r in full.items()], WINDOW))
    assert all(isinstance(r, SyncResult) for r in steady.values())
    # The library re-sends 401 parts once by itself (same token); the collector then renews and re-batches.
    assert len(google.calls("batch")) == 3 and sorted(google.token_subjects()[2:]) == [ALICE, BOB]


def test_google_batched_calendars_continue_pages_individually(google: FakeGoogle) -> None:
    """A batched calendar with more pages continues with its own requests, keeping the sync token."""
    users = [ALICE, BOB]
    col, _ = collector(google, users)
    full = dict(col.sync_many([(ref(u), None) for u in users], WINDOW))
    for n in range(5):
        google.put(ALICE, meeting(f"n{n}", at(n + 1)))
    google.page_sizes = [2]
    steady = dict(col.sync_many([(c, ok(r).next_cursor) for c, r in full.items()], WINDOW))
    assert {e.key for e in ok(steady[ref(ALICE)]).upserts} == {f"n{n}" for n in range(5)}
    direct = [c for c in google.calls("list", ALICE) if c.batch is None and "syncToken" in c.params]
    assert len(direct) == 2 and all("pageToken" in c.params for c in direct)
    assert ok(steady[ref(ALICE)]).requests == 3


def test_google_batch_part_failures_stay_with_their_calendar(google: FakeGoogle) -> None:
    """In one batch: a 410 resyncs, a rate limit retries, malformed JSON is BadDataError; others are fine."""
    users = [ALICE, BOB, CAROL, "dan@example.org"]
    col, slept = collector(google, users)
    google.put(ALICE, meeting("a", at(1)))
    full = dict(col.sync_many([(ref(u), None) for u in users], WINDOW))
    google.expire_sync_tokens(ALICE)
    google.inject("rate_limit", calendar=BOB, times=1, retry_after=4)
    google.inject("malformed", calendar=CAROL, times=1)
    steady = dict(col.sync_many([(c, ok(r).next_cursor) for c, r in full.items()], WINDOW))
    assert ok(steady[ref(ALICE)]).full_resync and {e.key for e in ok(steady[ref(ALICE)]).upserts} == {"a"}
    assert not ok(steady[ref(BOB)]).full_resync and slept == [4]
    assert isinstance(steady[ref(CAROL)], BadDataError)
    assert isinstance(steady[ref("dan@example.org")], SyncResult)
    assert len(google.calls("batch")) == 2


def test_google_malformed_reply_is_that_calendars_bad_data(google: FakeGoogle) -> None:
    """A reply that is not JSON is that calendar's BadDataError."""
    col, _ = collector(google, [ALICE])
    google.inject("malformed", calendar=ALICE)
    with pytest.raises(BadDataError):
        col.sync(ref(ALICE), None, WINDOW)


def test_google_connection_reset_is_source_unavailable(google: FakeGoogle) -> None:
    """A connection reset on every try is SourceUnavailableError; the rest of the cycle is skipped."""
    col, slept = collector(google, [ALICE, BOB], max_retries=1, concurrency=1)
    google.inject("reset", times=None)
    results = list(col.sync_many([(ref(ALICE), None), (ref(BOB), None)], WINDOW))
    assert all(isinstance(r, SourceUnavailableError) for _, r in results)
    assert len(slept) == 1


def test_google_slow_reply_beyond_timeout_is_source_unavailable(google: FakeGoogle) -> None:
    """A reply slower than the timeout is SourceUnavailableError, not a hang."""
    col, _ = collector(google, [ALICE], max_retries=0, timeout=0.3)
    google.inject("slow", calendar=ALICE, seconds=1.0)
    with pytest.raises(SourceUnavailableError):
        col.sync(ref(ALICE), None, WINDOW)


def test_google_moving_window_triggers_daily_bounded_resync(google: FakeGoogle) -> None:
    """A day later the cursor triggers a bounded full resync that collects meetings entering the window."""
    clock = Clock()
    col, _ = collector(google, [ALICE], clock=clock)
    google.put(ALICE, meeting("far", WINDOW.end + timedelta(hours=12)))
    first = col.sync(ref(ALICE), None, WINDOW)
    assert not first.upserts
    clock.now = NOW + timedelta(hours=25)
    later = TimeWindow.around(clock.now, 30, 180)
    second = col.sync(ref(ALICE), first.next_cursor, later)
    assert second.full_resync and {e.key for e in second.upserts} == {"far"}
    assert google.calls("list")[-1].params["timeMax"].startswith(later.end.strftime("%Y-%m-%d"))


def test_google_event_fields_are_mapped(google: FakeGoogle) -> None:
    """All-day dates, confidential visibility, skipped event types, organizer added, omitted attendees."""
    col, _ = collector(google, [ALICE])
    day = at(2).date().isoformat()
    google.put_resource(
        ALICE,
        {
            "id": "allday",
            "iCalUID": "allday@x",
            "status": "confirmed",
            "summary": "Offsite",
            "start": {"date": day},
            "end": {"date": at(3).date().isoformat()},
            "visibility": "confidential",
        },
    )
    google.put_resource(
        ALICE,
        {
            "id": "away",
            "iCalUID": "away@x",
            "eventType": "outOfOffice",
            "status": "confirmed",
            "start": {"dateTime": "2031-03-22T10:00:00Z"},
            "end": {"dateTime": "2031-03-22T12:00:00Z"},
        },
    )
    google.put_resource(
        ALICE,
        {
            "id": "meet",
            "iCalUID": "meet@x",
            "status": "tentative",
            "summary": "Visit",
            "start": {"dateTime": "2031-03-23T10:00:00+02:00"},
            "end": {"dateTime": "2031-03-23T11:00:00+02:00"},
            "organizer": {"email": "Boss@Partner.example"},
            "attendeesOmitted": True,
            "attendees": [
                {"email": "ALICE@example.org", "responseStatus": "declined", "self": True},
                {
                    "email": "room@resource.calendar.google.com",
                    "resource": True,
                    "responseStatus": "accepted",
                },
            ],
        },
    )
    result = col.sync(ref(ALICE), None, WINDOW)
    events = {e.source_id: e for e in result.upserts}
    assert set(events) == {"allday", "meet"}
    allday = events["allday"]
    assert (
        allday.all_day and allday.private and allday.start == datetime.fromisoformat(day).replace(tzinfo=UTC)
    )
    meet = events["meet"]
    assert meet.start == datetime(2031, 3, 23, 8, tzinfo=UTC) and meet.status == "tentative"
    assert meet.organizer == "boss@partner.example"
    people = {a.email: a for a in meet.attendees}
    assert people["boss@partner.example"].is_organizer and people[ALICE].response == "declined"
    assert people["room@resource.calendar.google.com"].is_resource
    assert any("omitted" in w for w in result.warnings)


def test_google_recurring_instance_keys_use_original_start_date(google: FakeGoogle) -> None:
    """A moved instance keeps the key of its original date (UID@YYYY-MM-DD from originalStartTime)."""
    col, _ = collector(google, [ALICE])
    google.put_resource(
        ALICE,
        {
            "id": "s_20310325T230000Z",
            "iCalUID": "s@x",
            "recurringEventId": "s",
            "originalStartTime": {"dateTime": "2031-03-26T00:30:00+01:30"},
            "start": {"dateTime": "2031-03-27T09:00:00Z"},
            "end": {"dateTime": "2031-03-27T10:00:00Z"},
            "status": "confirmed",
        },
    )
    (event,) = col.sync(ref(ALICE), None, WINDOW).upserts
    assert event.key == "s@x@2031-03-25" and event.uid == "s@x"
