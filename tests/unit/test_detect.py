"""Examples of meeting merging and collision detection by the DESIGN.md rules."""

from __future__ import annotations

import gc
from datetime import UTC, datetime, timedelta

import pytest

from revolving_door.detect import (
    affected_families,
    build_meetings,
    detect,
    group_by_family,
    location_key,
    same_location,
    severity_of,
)
from revolving_door.model import Attendee, CalendarEvent, Meeting, PartnerMatch

INTERNAL = ("example.org",)
T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
PARENTS = {"QFC": "Wayfarer Bank Group", "Wayfarer Bank Group": "Wayfarer Bank Group", "UNICEF": "UNICEF"}


def root_of(name: str) -> str:
    """Family root in the tiny test directory."""
    return PARENTS.get(name, name)


def event(
    calendar: str,
    key: str = "m1",
    *,
    attendees: tuple[Attendee, ...] = (),
    start: datetime = T0,
    **fields: object,
) -> CalendarEvent:
    """A one-hour event on `calendar` (fields override the defaults)."""
    values: dict[str, object] = {
        "calendar": calendar,
        "key": key,
        "uid": key,
        "source_id": f"{calendar}/{key}",
        "title": "Visit",
        "start": start,
        "end": start + timedelta(hours=1),
        "attendees": attendees,
    }
    values.update(fields)
    return CalendarEvent(**values)  # type: ignore[arg-type]


def match(partner: str) -> PartnerMatch:
    """A domain match for `partner`."""
    return PartnerMatch(partner=partner, via="domain", evidence="test", score=100)


def meeting(
    key: str,
    start: datetime,
    people: set[str],
    *,
    families: tuple[str, ...] = ("UNICEF",),
    uid: str | None = None,
    location: str = "",
) -> Meeting:
    """A meeting as the detector receives it."""
    return Meeting(
        key=key,
        uid=uid or key,
        start=start,
        end=start + timedelta(hours=1),
        title=f"Meeting {key}",
        location=location,
        private=False,
        calendars=tuple(sorted(people)),
        internal_attendees=frozenset(people),
        partners=families,
        families=families,
    )


ALICE = Attendee("alice@example.org", "Alice", "accepted")
BOB = Attendee("bob@example.org", "Bob", "accepted")
GUEST = Attendee("guest@unicef.org", "Guest", "accepted")


def test_copies_of_one_key_merge_into_one_meeting() -> None:
    """Two calendars holding the same key give one meeting with the union of partners and calendars."""
    events = [
        event("alice@example.org", attendees=(ALICE, BOB, GUEST), organizer="alice@example.org"),
        event("bob@example.org", attendees=(ALICE, BOB, GUEST), title="Stale title"),
    ]
    matches = {("alice@example.org", "m1"): [match("UNICEF")], ("bob@example.org", "m1"): [match("QFC")]}
    [m] = build_meetings(events, matches, internal_domains=INTERNAL, root_of=root_of)
    assert m.calendars == ("alice@example.org", "bob@example.org")
    assert m.partners == ("QFC", "UNICEF")
    assert m.families == ("UNICEF", "Wayfarer Bank Group")
    assert m.internal_attendees == {"alice@example.org", "bob@example.org"}
    assert m.title == "Visit"
    assert [a.email for a in m.external_attendees] == ["guest@unicef.org"]


def test_family_root_is_dropped_when_a_more_specific_member_matched() -> None:
    """A meeting matched to both Wayfarer Bank Group and QFC names only QFC as its partner."""
    events = [event("alice@example.org", attendees=(ALICE,))]
    matches = {("alice@example.org", "m1"): [match("Wayfarer Bank Group"), match("QFC")]}
    [m] = build_meetings(events, matches, internal_domains=INTERNAL, root_of=root_of)
    assert m.partners == ("QFC",)
    assert m.families == ("Wayfarer Bank Group",)


def test_decline_on_own_calendar_wins_over_other_copies() -> None:
    """Bob declining on his own calendar removes him even if Alice's copy still says accepted."""
    declined_bob = Attendee("bob@example.org", "Bob", "declined")
    events = [
        event("alice@example.org", attendees=(ALICE, BOB)),
        event("bob@example.org", attendees=(ALICE, declined_bob)),
    ]
    [m] = build_meetings(events, {}, internal_domains=INTERNAL, root_of=root_of)
    assert m.internal_attendees == {"alice@example.org"}


def test_cancelled_meeting_is_dropped() -> None:
    """Any cancelled copy makes the meeting inactive: it is not returned."""
    events = [
        event("alice@example.org", attendees=(ALICE, BOB)),
        event("bob@example.org", attendees=(ALICE, BOB), status="cancelled"),
    ]
    assert build_meetings(events, {}, internal_domains=INTERNAL, root_of=root_of) == []


def test_meeting_declined_by_every_internal_attendee_is_dropped() -> None:
    """A meeting every internal person declined is inactive, whatever partners it has."""
    no = Attendee("alice@example.org", "Alice", "declined")
    events = [event("alice@example.org", attendees=(no, GUEST))]
    matches = {("alice@example.org", "m1"): [match("UNICEF")]}
    assert build_meetings(events, matches, internal_domains=INTERNAL, root_of=root_of) == []


def test_private_copy_makes_the_meeting_private() -> None:
    """One private copy is enough for the merged meeting to be private."""
    events = [
        event("alice@example.org", attendees=(ALICE, BOB)),
        event("bob@example.org", attendees=(ALICE, BOB), private=True),
    ]
    [m] = build_meetings(events, {}, internal_domains=INTERNAL, root_of=root_of)
    assert m.private


def test_personal_event_is_attended_by_its_calendar_owner() -> None:
    """An event without attendees counts its calendar owner as the internal attendee."""
    [m] = build_meetings([event("carol@example.org")], {}, internal_domains=INTERNAL, root_of=root_of)
    assert m.internal_attendees == {"carol@example.org"}


def test_rooms_and_declined_outsiders_are_not_attendees() -> None:
    """Resources are never people; declined outsiders are not listed as external attendees."""
    room = Attendee("room-4b@example.org", "Room 4B", "accepted", is_resource=True)
    gone = Attendee("gone@unicef.org", "Gone", "declined")
    [m] = build_meetings(
        [event("alice@example.org", attendees=(ALICE, room, gone, GUEST), all_day=True)],
        {},
        internal_domains=INTERNAL,
        root_of=root_of,
    )
    assert m.internal_attendees == {"alice@example.org"}
    assert [a.email for a in m.external_attendees] == ["guest@unicef.org"]
    assert m.all_day


def test_meetings_are_sorted_by_key() -> None:
    """build_meetings returns one meeting per key, in key order."""
    events = [event("alice@example.org", "b"), event("alice@example.org", "a"), event("bob@example.org", "a")]
    found = build_meetings(events, {}, internal_domains=INTERNAL, root_of=root_of)
    assert [m.key for m in found] == ["a", "b"]


def test_disjoint_meetings_close_in_time_collide() -> None:
    """Two meetings with one family, two days apart, with nobody in common collide once."""
    first = meeting("b", T0, {"alice@example.org"})
    second = meeting("a", T0 + timedelta(days=2), {"bob@example.org"})
    [c] = detect([first, second], window_days=7)
    assert (c.family, c.a.key, c.b.key, c.severity) == ("UNICEF", "a", "b", "within-3-days")
    assert c.pair == ("a", "b")


def test_shared_attendee_means_no_collision() -> None:
    """Someone attending both meetings already knows: no collision."""
    first = meeting("a", T0, {"alice@example.org", "bob@example.org"})
    second = meeting("b", T0 + timedelta(hours=2), {"bob@example.org"})
    assert detect([first, second], window_days=7) == []


def test_occurrences_of_one_series_never_collide() -> None:
    """Two occurrences of one UID are not a collision, even with different people."""
    first = meeting("s@2025-03-03", T0, {"alice@example.org"}, uid="s")
    second = meeting("s@2025-03-04", T0 + timedelta(days=1), {"bob@example.org"}, uid="s")
    assert detect([first, second], window_days=7) == []


def test_window_is_inclusive_to_the_microsecond() -> None:
    """Starts exactly window_days * 24 h apart collide; one microsecond more does not."""
    first = meeting("a", T0, {"alice@example.org"})
    at_edge = meeting("b", T0 + timedelta(days=7), {"bob@example.org"})
    beyond = meeting("c", T0 - timedelta(days=7, microseconds=1), {"carol@example.org"})
    found = detect([first, at_edge, beyond], window_days=7)
    assert [c.pair for c in found] == [("a", "b")]
    assert found[0].severity == "within-window"


def test_severity_is_decided_by_the_gap_between_starts() -> None:
    """Under 24 h is same-day, up to 72 h is within-3-days, beyond that within-window."""
    assert severity_of(timedelta(hours=23, minutes=59)) == "same-day"
    assert severity_of(timedelta(hours=-23)) == "same-day"
    assert severity_of(timedelta(days=1)) == "within-3-days"
    assert severity_of(timedelta(days=3)) == "within-3-days"
    assert severity_of(timedelta(days=3, seconds=1)) == "within-window"


def test_pair_sharing_two_families_is_reported_once_per_family() -> None:
    """Meetings sharing two families give one collision in each family."""
    both = ("UNICEF", "Wayfarer Bank Group")
    first = meeting("a", T0, {"alice@example.org"}, families=both)
    second = meeting("b", T0 + timedelta(hours=3), {"bob@example.org"}, families=both)
    found = detect([first, second], window_days=7)
    assert [(c.family, c.pair, c.severity) for c in found] == [
        ("UNICEF", ("a", "b"), "same-day"),
        ("Wayfarer Bank Group", ("a", "b"), "same-day"),
    ]


def test_families_argument_restricts_detection() -> None:
    """Passing families recomputes only those families."""
    both = ("UNICEF", "Wayfarer Bank Group")
    first = meeting("a", T0, {"alice@example.org"}, families=both)
    second = meeting("b", T0 + timedelta(hours=3), {"bob@example.org"}, families=both)
    assert [c.family for c in detect([first, second], window_days=7, families=["Wayfarer Bank Group"])] == [
        "Wayfarer Bank Group"
    ]
    assert detect([first, second], window_days=7, families=[]) == []


def test_meetings_without_partners_never_collide() -> None:
    """A meeting with no family takes part in no collision."""
    first = meeting("a", T0, {"alice@example.org"}, families=())
    second = meeting("b", T0, {"bob@example.org"}, families=())
    assert detect([first, second], window_days=7) == []


def test_same_location_is_noted() -> None:
    """Collisions note a shared place or city, never a shared video-call 'location'."""
    geneva = meeting("a", T0, {"alice@example.org"}, location="Palais des Nations, Geneva")
    also_geneva = meeting("b", T0, {"bob@example.org"}, location="WHO HQ, 1211 Geneva")
    zoom = meeting("c", T0, {"carol@example.org"}, location="Zoom")
    zoom2 = meeting("d", T0, {"dan@example.org"}, location="zoom")
    flags = {c.pair: c.same_location for c in detect([geneva, also_geneva, zoom, zoom2], window_days=1)}
    assert flags[("a", "b")] is True
    assert flags[("c", "d")] is False
    assert flags[("a", "c")] is False


def test_location_key_normalises_places_and_cities() -> None:
    """Case, punctuation and postal codes do not matter; URLs and call tools are no location."""
    assert location_key("3 UN Plaza, New York, NY 10017") == ("3 un plaza new york ny 10017", "new york ny")
    assert location_key("  geneva ") == ("geneva", "geneva")
    assert location_key("Room 4B") == ("room 4b", "")
    assert location_key("https://meet.example.com/abc") == ("", "")
    assert location_key("Microsoft Teams Meeting") == ("", "")
    assert location_key("") == ("", "")
    assert same_location("Room 4B", "ROOM 4b")
    assert not same_location("Room 4B", "Room 5")
    assert same_location("Geneva", "Palais des Nations, Geneva")


def test_negative_window_is_refused() -> None:
    """A negative window is a programming error."""
    with pytest.raises(ValueError, match="window_days"):
        detect([], window_days=-1)


def test_detect_leaves_the_garbage_collector_as_it_was() -> None:
    """Detection pauses the cyclic collector only while it runs."""
    assert gc.isenabled()
    detect([meeting("a", T0, {"alice@example.org"}), meeting("b", T0, {"bob@example.org"})], window_days=1)
    assert gc.isenabled()


def test_affected_families_covers_old_and_new_versions() -> None:
    """A meeting moved from one partner to another touches both families."""
    old = meeting("a", T0, {"alice@example.org"}, families=("UNICEF",))
    new = meeting("a", T0, {"alice@example.org"}, families=("Wayfarer Bank Group",))
    assert affected_families([old], [new]) == {"UNICEF", "Wayfarer Bank Group"}


def test_group_by_family_lists_a_meeting_under_each_of_its_families() -> None:
    """A meeting with two families is in both groups, and a duplicated family counts once."""
    m = meeting("a", T0, {"alice@example.org"}, families=("UNICEF", "Wayfarer Bank Group", "UNICEF"))
    assert group_by_family([m]) == {"UNICEF": [m], "Wayfarer Bank Group": [m]}
    assert group_by_family([m], {"UNICEF"}) == {"UNICEF": [m]}
