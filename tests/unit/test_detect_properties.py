"""Invariants of collision detection, checked by Hypothesis against a brute-force O(n²) reference."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from revolving_door.detect import detect, same_location, severity_of
from revolving_door.model import Collision, Meeting

T0 = datetime(2025, 3, 3, tzinfo=UTC)
STAFF = ("a@x.org", "b@x.org", "c@x.org", "d@x.org", "e@x.org")
FAMILIES = ("F1", "F2", "F3")
LOCATIONS = ("", "Room 1", "room 1", "HQ, Geneva", "Geneva", "Zoom", "1 Main St, Paris")
# Offsets cluster on whole days (and a microsecond either side) so window and severity edges are hit.
OFFSETS = st.one_of(
    st.integers(min_value=0, max_value=12).map(lambda d: timedelta(days=d)),
    st.integers(min_value=0, max_value=12).map(lambda d: timedelta(days=d, microseconds=1)),
    st.integers(min_value=1, max_value=12).map(lambda d: timedelta(days=d, microseconds=-1)),
    st.integers(min_value=0, max_value=12 * 24 * 60).map(lambda m: timedelta(minutes=m)),
)


ROW = st.tuples(
    OFFSETS,
    st.frozensets(st.sampled_from(STAFF), min_size=1, max_size=3),
    st.frozensets(st.sampled_from(FAMILIES), max_size=2),
    st.integers(min_value=0, max_value=9),
    st.integers(min_value=0, max_value=30),
    st.sampled_from(LOCATIONS),
)


def to_meetings(rows: list[tuple[timedelta, frozenset[str], frozenset[str], int, int, str]]) -> list[Meeting]:
    """Meetings with unique keys (a random prefix, then the position) from drawn rows."""
    found: list[Meeting] = []
    for i, (offset, people, families, prefix, uid, location) in enumerate(rows):
        key = f"k{prefix}-{i:02d}"
        fams = tuple(sorted(families))
        found.append(
            Meeting(
                key=key,
                uid=f"u{uid}",
                start=T0 + offset,
                end=T0 + offset + timedelta(hours=1),
                title=key,
                location=location,
                private=False,
                calendars=tuple(sorted(people)),
                internal_attendees=people,
                partners=fams,
                families=fams,
            )
        )
    return found


def meetings() -> st.SearchStrategy[list[Meeting]]:
    """Up to 25 meetings with unique keys, a few shared UIDs, small attendee sets and families."""
    return st.lists(ROW, max_size=25).map(to_meetings)


def brute_force(items: list[Meeting], window_days: int) -> set[tuple[str, str, str, str, bool]]:
    """Every collision by the literal DESIGN.md rule, comparing every pair."""
    window = timedelta(days=window_days)
    out: set[tuple[str, str, str, str, bool]] = set()
    for a in items:
        for b in items:
            if (
                a.key < b.key
                and a.uid != b.uid
                and abs(a.start - b.start) <= window
                and not (a.internal_attendees & b.internal_attendees)
            ):
                for family in set(a.families) & set(b.families):
                    near = same_location(a.location, b.location)
                    out.add((family, a.key, b.key, severity_of(b.start - a.start), near))
    return out


def rows(found: list[Collision]) -> list[tuple[str, str, str, str, bool]]:
    """Collisions as comparable tuples."""
    return [(c.family, c.a.key, c.b.key, c.severity, c.same_location) for c in found]


WINDOWS = st.integers(min_value=0, max_value=10)


@settings(max_examples=300, deadline=None)
@given(meetings(), WINDOWS)
def test_detect_equals_brute_force(items: list[Meeting], window_days: int) -> None:
    """The sweep finds exactly the pairs (and severities) the O(n²) reference finds, each once."""
    found = rows(detect(items, window_days=window_days))
    assert len(found) == len(set(found))
    assert set(found) == brute_force(items, window_days)


@settings(max_examples=150, deadline=None)
@given(meetings(), WINDOWS, st.randoms(use_true_random=False))
def test_detect_is_symmetric_in_input_order(items: list[Meeting], window_days: int, rnd: random.Random) -> None:
    """Shuffling or reversing the input changes nothing in the output, not even its order."""
    expected = rows(detect(items, window_days=window_days))
    assert rows(detect(list(reversed(items)), window_days=window_days)) == expected
    shuffled = list(items)
    rnd.shuffle(shuffled)
    assert rows(detect(shuffled, window_days=window_days)) == expected


@settings(max_examples=200, deadline=None)
@given(meetings(), WINDOWS)
def test_every_reported_pair_obeys_the_rule(items: list[Meeting], window_days: int) -> None:
    """No reported pair shares an attendee or a UID, all are ordered by key and within the window."""
    for c in detect(items, window_days=window_days):
        assert c.a.key < c.b.key
        assert c.a.uid != c.b.uid
        assert c.a.internal_attendees.isdisjoint(c.b.internal_attendees)
        assert c.gap <= timedelta(days=window_days)
        assert c.family in c.a.families and c.family in c.b.families


@settings(max_examples=200, deadline=None)
@given(meetings(), WINDOWS, st.sampled_from(FAMILIES))
def test_incremental_equals_full_restricted_to_the_family(items: list[Meeting], window_days: int, family: str) -> None:
    """Recomputing one family (from all meetings or only its own) equals the full run filtered to it."""
    full = [c for c in detect(items, window_days=window_days) if c.family == family]
    assert detect(items, window_days=window_days, families=[family]) == full
    own = [m for m in items if family in m.families]
    assert detect(own, window_days=window_days, families={family}) == full
