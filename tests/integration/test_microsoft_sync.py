"""The Microsoft collector against the loopback Graph fake: increments, resyncs, throttling, batching, keys."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

import pytest

from collectors.microsoft import MicrosoftCollector
from revolving_door.errors import AuthError, CollectorError, SourceUnavailableError, ThrottledError
from revolving_door.model import CalendarRef, SyncResult, TimeWindow
from tests.contract import apply, make_event
from tests.fakes.microsoft_graph import FakeGraph, make_collector

WINDOW = TimeWindow(datetime(2031, 3, 1, tzinfo=UTC), datetime(2031, 6, 1, tzinfo=UTC))
ALICE = "alice@example.org"
BOB = "bob@example.org"


def at(days: int, hour: int = 10) -> datetime:
    """An instant `days` after the window start."""
    return WINDOW.start + timedelta(days=days, hours=hour)


@pytest.fixture
def graph() -> Iterator[FakeGraph]:
    """A started Graph fake with Alice's and Bob's mailboxes."""
    fake = FakeGraph().start()
    fake.add_mailbox(ALICE)
    fake.add_mailbox(BOB)
    yield fake
    fake.stop()


def ref(graph: FakeGraph, owner: str) -> CalendarRef:
    """The calendar of `owner` as the collector lists it by address."""
    return CalendarRef("microsoft", owner, owner)


def ok(result: SyncResult | CollectorError) -> SyncResult:
    """The result, asserting it is not an error."""
    assert isinstance(result, SyncResult), result
    return result


def test_microsoft_incremental_sync_reports_creates_edits_and_deletes(graph: FakeGraph) -> None:
    """After a full sync, the delta cursor yields exactly the created, edited and deleted meetings."""
    collector, _ = make_collector(graph)
    graph.put(ALICE, make_event("keep", at(5)))
    graph.put(ALICE, make_event("edit", at(6)))
    graph.put(ALICE, make_event("drop", at(7)))
    first = collector.sync(ref(graph, ALICE), None, WINDOW)
    assert first.full_resync and {e.key for e in first.upserts} == {"keep", "edit", "drop"}
    graph.put(ALICE, make_event("new", at(8)))
    graph.put(ALICE, make_event("edit", at(6), title="Edited"))
    graph.remove(ALICE, "drop")
    second = collector.sync(ref(graph, ALICE), first.next_cursor, WINDOW)
    assert not second.full_resync
    assert {e.key for e in second.upserts} == {"new", "edit"}
    state = apply(apply({}, first), second)
    assert set(state) == {"keep", "edit", "new"} and state["edit"].title == "Edited"
    third = collector.sync(ref(graph, ALICE), second.next_cursor, WINDOW)
    assert not third.upserts and not third.deletions


def test_microsoft_delta_uses_window_bounds_and_prefer_headers(graph: FakeGraph) -> None:
    """The first delta call is bounded to the window (whole UTC days) and asks for UTC and a page size."""
    collector, _ = make_collector(graph, page_size=7)
    window = TimeWindow(datetime(2031, 3, 1, 8, 30, tzinfo=UTC), datetime(2031, 6, 1, 8, 30, tzinfo=UTC))
    collector.sync(ref(graph, ALICE), None, window)
    (call,) = [c for c in graph.calls if c.path.endswith("/calendarView/delta")]
    assert call.query["startDateTime"] == ["2031-03-01T00:00:00Z"]
    assert call.query["endDateTime"] == ["2031-06-02T00:00:00Z"]
    prefer = call.headers["Prefer"]
    assert "odata.maxpagesize=7" in prefer and 'outlook.timezone="UTC"' in prefer


def test_microsoft_paging_follows_next_links_to_the_delta_link(graph: FakeGraph) -> None:
    """Many events over several pages all arrive; the cursor holds the deltaLink."""
    collector, _ = make_collector(graph, page_size=2)
    for i in range(7):
        graph.put(ALICE, make_event(f"m{i}", at(5 + i)))
    result = collector.sync(ref(graph, ALICE), None, WINDOW)
    assert {e.key for e in result.upserts} == {f"m{i}" for i in range(7)}
    assert result.requests == 4
    assert "$deltatoken" in json.loads(result.next_cursor or "")["delta"]


def test_microsoft_410_recovers_with_full_resync_and_stale_deletion(graph: FakeGraph) -> None:
    """An expired delta token is a full resync whose state replaces the stored one (stale events go)."""
    collector, _ = make_collector(graph)
    graph.put(ALICE, make_event("stays", at(5)))
    graph.put(ALICE, make_event("stale", at(6)))
    first = collector.sync(ref(graph, ALICE), None, WINDOW)
    graph.remove(ALICE, "stale")
    graph.put(ALICE, make_event("fresh", at(7)))
    graph.expire_tokens(ALICE)
    second = collector.sync(ref(graph, ALICE), first.next_cursor, WINDOW)
    assert second.full_resync
    assert set(apply(apply({}, first), second)) == {"stays", "fresh"}
    statuses = [c for c in graph.calls if c.path.endswith("/calendarView/delta")]
    assert "$deltatoken" in statuses[1].query and "startDateTime" in statuses[2].query


def test_microsoft_sync_state_not_found_in_a_batch_is_a_full_resync(graph: FakeGraph) -> None:
    """A batch item answering 410 syncStateNotFound restarts that calendar only, as a full resync."""
    collector, _ = make_collector(graph)
    graph.put(ALICE, make_event("a", at(5)))
    graph.put(BOB, make_event("b", at(5), organizer=BOB, attendees=[(BOB, "accepted", False)]))
    firsts = dict(collector.sync_many([(ref(graph, ALICE), None), (ref(graph, BOB), None)], WINDOW))
    graph.expire_tokens(BOB)
    seconds = dict(collector.sync_many([(cal, ok(r).next_cursor) for cal, r in firsts.items()], WINDOW))
    assert not ok(seconds[ref(graph, ALICE)]).full_resync
    bob = ok(seconds[ref(graph, BOB)])
    assert bob.full_resync and {e.key for e in bob.upserts} == {"b"}


def test_microsoft_429_is_retried_after_retry_after(graph: FakeGraph) -> None:
    """A throttled delta call is retried after the server's Retry-After, then succeeds."""
    collector, sleeps = make_collector(graph)
    graph.put(ALICE, make_event("a", at(5)))
    graph.fail(429, "/calendarView/delta", times=2, retry_after=7)
    result = collector.sync(ref(graph, ALICE), None, WINDOW)
    assert {e.key for e in result.upserts} == {"a"}
    assert sleeps == [7.0, 7.0]


@pytest.mark.parametrize("status", [503, 504])
def test_microsoft_server_busy_is_retried(graph: FakeGraph, status: int) -> None:
    """503 and 504 with Retry-After are retried like 429."""
    collector, sleeps = make_collector(graph)
    graph.put(ALICE, make_event("a", at(5)))
    graph.fail(status, "/calendarView/delta", times=1, retry_after=3)
    assert {e.key for e in collector.sync(ref(graph, ALICE), None, WINDOW).upserts} == {"a"}
    assert sleeps == [3.0]


def test_microsoft_persistent_429_becomes_throttled_error(graph: FakeGraph) -> None:
    """After max_retries the calendar fails with ThrottledError carrying Retry-After."""
    collector, sleeps = make_collector(graph, max_retries=2)
    graph.fail(429, "/calendarView/delta", times=10, retry_after=11)
    with pytest.raises(ThrottledError) as caught:
        collector.sync(ref(graph, ALICE), None, WINDOW)
    assert caught.value.retry_after == 11.0 and caught.value.calendar == ALICE
    assert sleeps == [11.0, 11.0]


def test_microsoft_per_item_429_inside_a_batch_retries_only_that_item(graph: FakeGraph) -> None:
    """A 429 on one $batch item is retried (after its Retry-After) while the others are not repeated."""
    collector, sleeps = make_collector(graph)
    graph.put(ALICE, make_event("a", at(5)))
    graph.put(BOB, make_event("b", at(6), organizer=BOB, attendees=[(BOB, "accepted", False)]))
    graph.fail(429, f"users/{BOB}/calendarView", times=1, retry_after=4, where="batch")
    results = dict(collector.sync_many([(ref(graph, ALICE), None), (ref(graph, BOB), None)], WINDOW))
    assert {e.key for e in ok(results[ref(graph, ALICE)]).upserts} == {"a"}
    assert {e.key for e in ok(results[ref(graph, BOB)]).upserts} == {"b"}
    assert sleeps == [4.0]
    delta_calls = [c for c in graph.calls if c.path.endswith("/calendarView/delta")]
    assert all(c.batched for c in delta_calls[:2])
    assert [unquote(c.path).split("/")[3] for c in delta_calls].count(ALICE) == 1
    assert len(delta_calls) == 3


def test_microsoft_missing_or_disabled_mailbox_does_not_stop_the_others(graph: FakeGraph) -> None:
    """A missing and an unlicensed mailbox fail on their own; the other calendars sync."""
    graph.add_mailbox("gone@example.org", status="missing")
    graph.add_mailbox("nolicense@example.org", status="disabled")
    collector, _ = make_collector(graph)
    graph.put(ALICE, make_event("a", at(5)))
    calendars = [ref(graph, e) for e in (ALICE, "gone@example.org", "nolicense@example.org", BOB)]
    results = dict(collector.sync_many([(c, None) for c in calendars], WINDOW))
    assert {e.key for e in ok(results[calendars[0]]).upserts} == {"a"}
    assert ok(results[calendars[3]]).upserts == ()
    for cal in calendars[1:3]:
        err = results[cal]
        assert isinstance(err, SourceUnavailableError) and err.calendar == cal.owner
    assert "MailboxNotEnabledForRESTAPI" in str(results[calendars[2]])


def test_microsoft_many_users_concurrently_get_exactly_their_own_events(graph: FakeGraph) -> None:
    """Fifty mailboxes synced together (three batches) each get only their own meetings."""
    owners = [f"user{i:02d}@example.org" for i in range(50)]
    for i, owner in enumerate(owners):
        for j in range(3):
            graph.put(owner, make_event(f"{owner}-{j}", at(5 + j, 8 + i % 8), organizer=owner, attendees=[]))
    collector, _ = make_collector(graph, users=owners, concurrency=4, page_size=2)
    results = dict(collector.sync_many([(c, None) for c in collector.calendars()], WINDOW))
    assert len(results) == 50
    for cal, result in results.items():
        assert {e.key for e in ok(result).upserts} == {f"{cal.owner}-{j}" for j in range(3)}
        assert {e.calendar for e in ok(result).upserts} == {cal.owner}
    batches = [r for r in graph.graph_requests() if r.path == "/v1.0/$batch"]
    assert all(len(json.loads(b.body)["requests"]) <= 20 for b in batches)
    assert len(graph.graph_requests()) == len(batches) == 6


def test_microsoft_steady_state_poll_is_one_call_per_calendar_in_batches_of_20(graph: FakeGraph) -> None:
    """A poll of 40 unchanged calendars costs 40 API calls in 2 HTTP round trips and no token request."""
    owners = [f"u{i}@example.org" for i in range(40)]
    for owner in owners:
        graph.put(owner, make_event(f"{owner}-x", at(5), organizer=owner, attendees=[]))
    collector, _ = make_collector(graph, users=owners)
    firsts = dict(collector.sync_many([(c, None) for c in collector.calendars()], WINDOW))
    graph.reset_records()
    seconds = dict(collector.sync_many([(c, ok(r).next_cursor) for c, r in firsts.items()], WINDOW))
    assert all(ok(r).upserts == () and ok(r).requests == 1 for r in seconds.values())
    assert len(graph.calls) == 40
    assert len(graph.requests) == 2 and not graph.token_requests()


def test_microsoft_recurring_meeting_has_the_same_keys_in_two_mailboxes(graph: FakeGraph) -> None:
    """A weekly meeting in Alice's and Bob's mailboxes (different Graph ids and per-occurrence iCalUIds) keys alike."""
    series = make_event(
        "040000008200E00074C5B7101A82E00800000000SERIES",
        at(9, 23),
        rrule="FREQ=WEEKLY;COUNT=4",
        attendees=[(ALICE, "accepted", False), (BOB, "tentative", False), ("v@partner.example", "accepted", False)],
    )
    graph.put(ALICE, series)
    graph.put(BOB, series)
    collector, _ = make_collector(graph)
    results = dict(collector.sync_many([(ref(graph, ALICE), None), (ref(graph, BOB), None)], WINDOW))
    alice, bob = ok(results[ref(graph, ALICE)]), ok(results[ref(graph, BOB)])
    uid = series["uid"]
    expected = {f"{uid}@{(at(9, 23) + timedelta(weeks=i)).date().isoformat()}" for i in range(4)}
    assert {e.key for e in alice.upserts} == {e.key for e in bob.upserts} == expected
    assert {e.uid for e in alice.upserts + bob.upserts} == {uid}
    assert {e.source_id for e in alice.upserts}.isdisjoint({e.source_id for e in bob.upserts})
    masters = [c for c in graph.calls if "/events/" in c.path]
    assert len(masters) == 2 and all(c.query["$select"] == ["iCalUId"] for c in masters)


def test_microsoft_series_master_is_fetched_once_per_series(graph: FakeGraph) -> None:
    """Later syncs reuse the series UID from the collector and the cursor instead of asking again."""
    graph.put(ALICE, make_event("weekly", at(5), rrule="FREQ=WEEKLY;COUNT=3"))
    collector, _ = make_collector(graph)
    first = collector.sync(ref(graph, ALICE), None, WINDOW)
    (occurrence,) = [e for e in first.upserts if e.start == at(12)]
    graph.edit(ALICE, occurrence.source_id, subject="Moved agenda")
    second = collector.sync(ref(graph, ALICE), first.next_cursor, WINDOW)
    assert [e.key for e in second.upserts] == [f"weekly@{at(12).date().isoformat()}"]
    fresh, _ = make_collector(graph)
    graph.edit(ALICE, occurrence.source_id, subject="Again")
    third = fresh.sync(ref(graph, ALICE), second.next_cursor, WINDOW)
    assert [e.uid for e in third.upserts] == ["weekly"]
    assert len([c for c in graph.calls if "/events/" in c.path]) == 1


def test_microsoft_moved_occurrence_keeps_its_series_slot_key(graph: FakeGraph) -> None:
    """An occurrence moved to another day keeps the key of its original slot (originalStart)."""
    graph.put(ALICE, make_event("weekly", at(5), rrule="FREQ=WEEKLY;COUNT=2"))
    collector, _ = make_collector(graph)
    first = collector.sync(ref(graph, ALICE), None, WINDOW)
    (second_occ,) = [e for e in first.upserts if e.start == at(12)]
    moved = at(13, 15)
    graph.edit(
        ALICE,
        second_occ.source_id,
        type="exception",
        start={"dateTime": moved.strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": "UTC"},
        end={"dateTime": (moved + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": "UTC"},
    )
    (event,) = collector.sync(ref(graph, ALICE), first.next_cursor, WINDOW).upserts
    assert event.start == moved and event.key == second_occ.key


def test_microsoft_cancelled_occurrence_arrives_as_a_deletion(graph: FakeGraph) -> None:
    """An occurrence removed from a series (Exchange's @removed) is deleted by its source id."""
    graph.put(ALICE, make_event("weekly", at(5), rrule="FREQ=WEEKLY;COUNT=3"))
    collector, _ = make_collector(graph)
    first = collector.sync(ref(graph, ALICE), None, WINDOW)
    (middle,) = [e for e in first.upserts if e.start == at(12)]
    graph.remove_item(ALICE, middle.source_id)
    second = collector.sync(ref(graph, ALICE), first.next_cursor, WINDOW)
    assert second.deletions == (middle.source_id,)
    assert middle.key not in apply(apply({}, first), second)


def test_microsoft_exchange_habits_are_mapped(graph: FakeGraph) -> None:
    """Organizer added as attendee, the owner's own decline wins, rooms are resources, private flagged."""
    event = make_event(
        "habits",
        at(5),
        organizer="Carol@Example.org",
        attendees=[
            (BOB, "declined", False),
            ("room-7@example.org", "accepted", True),
            ("p@partner.example", "accepted", False),
        ],
        private=True,
        status="cancelled",
    )
    graph.put(BOB, event)
    collector, _ = make_collector(graph)
    (got,) = collector.sync(ref(graph, BOB), None, WINDOW).upserts
    people = {a.email: a for a in got.attendees}
    assert people["carol@example.org"].is_organizer and people["carol@example.org"].response == "accepted"
    assert people[BOB].response == "declined"
    assert people["room-7@example.org"].is_resource
    assert got.private and got.cancelled and got.organizer == "carol@example.org"


def test_microsoft_moving_window_reinitialises_the_delta(graph: FakeGraph) -> None:
    """When the window moves to another day the cursor is re-initialised and new-window meetings arrive."""
    collector, _ = make_collector(graph)
    graph.put(ALICE, make_event("inside", at(5)))
    graph.put(ALICE, make_event("beyond", WINDOW.end + timedelta(hours=30)))
    first = collector.sync(ref(graph, ALICE), None, WINDOW)
    assert {e.key for e in first.upserts} == {"inside"}
    same_day = TimeWindow(WINDOW.start + timedelta(hours=2), WINDOW.end + timedelta(hours=2))
    assert not collector.sync(ref(graph, ALICE), first.next_cursor, same_day).full_resync
    later = TimeWindow(WINDOW.start + timedelta(days=2), WINDOW.end + timedelta(days=2))
    moved = collector.sync(ref(graph, ALICE), first.next_cursor, later)
    assert moved.full_resync and {e.key for e in moved.upserts} == {"inside", "beyond"}


def test_microsoft_cursor_older_than_a_day_is_reinitialised(graph: FakeGraph) -> None:
    """A cursor whose last full sync is more than a day old (by the injected clock) triggers a full sync."""
    now = [datetime(2031, 3, 10, tzinfo=UTC)]
    collector, _ = make_collector(graph, clock=lambda: now[0])
    graph.put(ALICE, make_event("a", at(5)))
    first = collector.sync(ref(graph, ALICE), None, WINDOW)
    now[0] += timedelta(hours=23)
    assert not collector.sync(ref(graph, ALICE), first.next_cursor, WINDOW).full_resync
    now[0] += timedelta(hours=2)
    assert collector.sync(ref(graph, ALICE), first.next_cursor, WINDOW).full_resync


def test_microsoft_event_moved_out_of_window_is_deleted(graph: FakeGraph) -> None:
    """A meeting moved outside the window on an incremental sync is a deletion, not a stale upsert."""
    collector, _ = make_collector(graph)
    (item_id,) = graph.put(ALICE, make_event("moving", at(5)))
    first = collector.sync(ref(graph, ALICE), None, WINDOW)
    graph.edit(
        ALICE,
        item_id,
        start={"dateTime": "2031-06-01T12:00:00.0000000", "timeZone": "UTC"},
        end={"dateTime": "2031-06-01T13:00:00.0000000", "timeZone": "UTC"},
    )
    second = collector.sync(ref(graph, ALICE), first.next_cursor, WINDOW)
    assert second.deletions == (item_id,) and not second.upserts


def test_microsoft_one_token_serves_many_requests(graph: FakeGraph) -> None:
    """The token comes from msal's cache after the first request: one discovery, one token call."""
    collector, _ = make_collector(graph)
    for _ in range(3):
        collector.sync(ref(graph, ALICE), None, WINDOW)
    assert len(graph.token_requests()) == 1
    assert len([r for r in graph.requests if "openid-configuration" in r.path]) == 1


def test_microsoft_concurrent_requests_per_mailbox_stay_within_four(graph: FakeGraph) -> None:
    """Syncing one mailbox's calendar many times at once never has more than 4 requests in flight for it."""
    graph.delay = 0.02
    collector, _ = make_collector(graph, concurrency=16)
    graph.put(ALICE, make_event("a", at(5)))
    requests = [(CalendarRef("microsoft", ALICE, ALICE), None)] * 10
    with ThreadPoolExecutor(10) as pool:
        results = list(pool.map(lambda r: collector.sync(r[0], r[1], WINDOW), requests))
    assert all({e.key for e in r.upserts} == {"a"} for r in results)
    assert 1 <= graph.max_inflight[graph.mailbox(ALICE).id] <= 4


def test_microsoft_group_members_are_listed_across_pages(graph: FakeGraph) -> None:
    """`calendars()` with group_id pages through transitiveMembers and keys calendars by user id."""
    graph.groups["g1"] = [ALICE, BOB, "carol@example.org", "dave@example.org", "eve@example.org"]
    for email in graph.groups["g1"]:
        graph.add_mailbox(email)
    collector, _ = make_collector(graph, group_id="g1")
    calendars = collector.calendars()
    assert [c.owner for c in calendars] == graph.groups["g1"]
    assert all(c.id == graph.mailbox(c.owner).id for c in calendars)
    paths = [r for r in graph.graph_requests() if "transitiveMembers" in r.path]
    assert len(paths) == 3 and paths[0].query["$select"] == ["id,mail,userPrincipalName"]


def test_microsoft_user_given_by_id_is_resolved_to_its_address(graph: FakeGraph) -> None:
    """A user configured by object id is listed with its mail address as the owner."""
    collector, _ = make_collector(graph, users=[graph.mailbox(BOB).id])
    assert collector.calendars() == [CalendarRef("microsoft", BOB, graph.mailbox(BOB).id)]


def test_microsoft_users_given_by_id_are_resolved_in_one_batch(graph: FakeGraph) -> None:
    """Several users configured by object id cost one $batch round trip, not one request each."""
    owners = [f"u{i}@example.org" for i in range(5)]
    collector, _ = make_collector(graph, users=[graph.mailbox(o).id for o in owners])
    graph.reset_records()
    assert [c.owner for c in collector.calendars()] == owners
    assert [r.path for r in graph.graph_requests()] == ["/v1.0/$batch"]


def test_microsoft_wrong_secret_is_an_auth_error_without_the_secret(graph: FakeGraph) -> None:
    """A refused secret raises AuthError with Microsoft's description and advice, never the secret."""
    collector, _ = make_collector(graph, client_credential="not-the-s3cret-value")
    with pytest.raises(AuthError) as caught:
        collector.sync(ref(graph, ALICE), None, WINDOW)
    message = str(caught.value)
    assert "AADSTS7000215" in message and "Value" in message
    assert "not-the-s3cret-value" not in message and graph.secret not in message


def test_microsoft_certificate_credential_gets_a_token(graph: FakeGraph) -> None:
    """A certificate (private key + thumbprint) signs a client assertion that the token side accepts."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    graph.thumbprint = "A1B2C3D4E5F60718293A4B5C6D7E8F9012345678"
    credential: dict[str, Any] = {"private_key": pem, "thumbprint": graph.thumbprint}
    graph.put(ALICE, make_event("a", at(5)))
    collector, _ = make_collector(graph, client_credential=credential)
    assert {e.key for e in collector.sync(ref(graph, ALICE), None, WINDOW).upserts} == {"a"}
    (token_request,) = graph.token_requests()
    assert b"client_assertion=" in token_request.body and b"client_secret" not in token_request.body


def test_microsoft_check_passes_with_token_users_and_one_delta_call(graph: FakeGraph) -> None:
    """`check()` reports a token, the users and one delta call, all ok."""
    collector, _ = make_collector(graph)
    results = collector.check()
    assert [r.ok for r in results] == [True, True, True]
    assert "delta" in results[-1].what
    assert len([c for c in graph.calls if c.path.endswith("/calendarView/delta")]) == 1


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        (lambda g: setattr(g, "secret_expired", True), "expired"),
        (lambda g: setattr(g, "client_id", "other-app"), "no application with this client_id"),
        (lambda g: setattr(g, "tenant", "another-tenant"), "tenant was not found"),
        (
            lambda g: setattr(
                g, "token_error", (400, "invalid_grant", "AADSTS65001: The user or administrator has not consented")
            ),
            "admin consent",
        ),
    ],
)
def test_microsoft_check_explains_token_failures(graph: FakeGraph, setup: Any, expected: str) -> None:
    """Expired secret, unknown app, unknown tenant and missing consent each get plain advice."""
    setup(graph)
    collector, _ = make_collector(graph, tenant_id="contoso-tenant", client_id="app-client-id")
    (result,) = collector.check()
    assert not result.ok and expected in result.advice
    assert graph.secret not in result.advice


def test_microsoft_check_explains_missing_calendar_permission(graph: FakeGraph) -> None:
    """A token without Calendars.Read makes the delta check fail with the permission to grant."""
    graph.consent = False
    collector, _ = make_collector(graph)
    results = collector.check()
    assert [r.ok for r in results] == [True, True, False]
    assert "Calendars.Read" in results[-1].advice and "admin consent" in results[-1].advice


def test_microsoft_access_denied_sync_is_auth_error(graph: FakeGraph) -> None:
    """A 403 ErrorAccessDenied on a calendar is an AuthError naming the permission."""
    graph.consent = False
    collector, _ = make_collector(graph)
    with pytest.raises(AuthError, match=r"Calendars\.Read"):
        collector.sync(ref(graph, ALICE), None, WINDOW)


def test_microsoft_unreachable_graph_is_source_unavailable(graph: FakeGraph) -> None:
    """A closed port is SourceUnavailableError after the retries, never a requests exception."""
    collector, sleeps = make_collector(graph, max_retries=1)
    graph.stop()
    with pytest.raises(SourceUnavailableError):
        collector.sync(ref(graph, ALICE), None, WINDOW)
    assert sleeps == [1.0]


def test_microsoft_collector_is_a_collector() -> None:
    """MicrosoftCollector satisfies the Collector protocol."""
    from collectors.base import Collector

    collector = MicrosoftCollector("m", tenant_id="t", client_id="c", client_credential="s", users=[ALICE])
    assert isinstance(collector, Collector)


def test_microsoft_broken_event_is_skipped_with_a_warning(graph: FakeGraph) -> None:
    """An event Graph sends in a non-UTC zone is skipped with a warning naming it; the rest arrive."""
    collector, _ = make_collector(graph)
    (item_id,) = graph.put(ALICE, make_event("broken", at(5)))
    graph.put(ALICE, make_event("fine", at(6)))
    graph.edit(ALICE, item_id, start={"dateTime": "2031-03-06T10:00:00", "timeZone": "Pacific Standard Time"})
    result = collector.sync(ref(graph, ALICE), None, WINDOW)
    assert {e.key for e in result.upserts} == {"fine"}
    assert len(result.warnings) == 1 and "broken" in result.warnings[0]
