"""Collision detection: pure functions from calendar events and partner matches to collisions.

Two steps, both free of I/O:

1. `build_meetings` merges the copies of one event key found on several staff calendars into one
   `Meeting` (union of partners, of calendars and of non-declined internal attendees). Inactive
   meetings (cancelled, or declined by every internal attendee) are dropped: they never collide.
2. `detect` applies the DESIGN.md collision rule per partner family with a sweep over the family's
   meetings sorted by start: O(n log n) for the sort plus, per meeting, a binary search for the end
   of its window and one step per meeting inside that window.

Severity is decided on the gap between the two starts alone, never on calendar dates, because the
two meetings (and their attendees) may be in different time zones and a UTC date boundary is
arbitrary for most readers:

    gap < 24 h            "same-day"
    24 h <= gap <= 72 h   "within-3-days"
    otherwise             "within-window"  (gap <= window_days * 24 h, inclusive)

Incremental use: the caller recomputes only the families touched by changed events or directory
changes (`affected_families`) and passes `families=` (and ideally only those families' meetings).
The result for a family depends only on that family's meetings, so it equals the full run
restricted to that family.
"""

from __future__ import annotations

import gc
import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import timedelta
from operator import attrgetter

from revolving_door.model import (
    Attendee,
    CalendarEvent,
    Collision,
    Meeting,
    PartnerMatch,
    Severity,
    is_internal_address,
)

__all__ = [
    "affected_families",
    "build_meetings",
    "detect",
    "group_by_family",
    "location_key",
    "same_location",
    "severity_of",
]

_DAY = timedelta(days=1)
_THREE_DAYS = timedelta(days=3)
_VIRTUAL = re.compile(
    r"https?://|www\.|\b(zoom|teams|google meet|meet\.google|hangouts?|webex|skype|whereby|online|virtual"
    r"|remote|phone|telephone|dial[- ]?in|conference call|call|tbd|tba|n/?a)\b"
)
_NON_WORD = re.compile(r"[\W_]+")


def build_meetings(
    events: Iterable[CalendarEvent],
    matches: Mapping[tuple[str, str], Sequence[PartnerMatch]],
    *,
    internal_domains: Iterable[str],
    root_of: Callable[[str], str],
) -> list[Meeting]:
    """Merge the copies of each event key into one active Meeting, sorted by key; inactive ones are dropped.

    `matches` is keyed by (calendar, key). Merging rules: partners are the union over copies, minus a
    family root when a more specific member of that family is also matched; internal attendees are
    the union of each copy's non-declined internal people, minus anyone whose own calendar copy says
    they declined; any cancelled copy cancels the meeting (only the organizer can cancel); any private
    copy makes the meeting private. Title, times and location come from the organizer's copy when it
    was collected, otherwise from the copy of the alphabetically first calendar.
    """
    domains = tuple(d.strip().lower() for d in internal_domains)
    copies: dict[str, list[CalendarEvent]] = {}
    for event in events:
        copies.setdefault(event.key, []).append(event)
    meetings: list[Meeting] = []
    for key in sorted(copies):
        meeting = _merge(copies[key], matches, domains, root_of)
        if meeting is not None:
            meetings.append(meeting)
    return meetings


def _merge(
    copies: list[CalendarEvent],
    matches: Mapping[tuple[str, str], Sequence[PartnerMatch]],
    domains: tuple[str, ...],
    root_of: Callable[[str], str],
) -> Meeting | None:
    """One Meeting from every calendar's copy of one key, or None when the meeting is inactive."""
    copies = sorted(copies, key=attrgetter("calendar"))
    if any(c.cancelled for c in copies):
        return None
    primary = next((c for c in copies if c.organizer and c.calendar == c.organizer), copies[0])

    people: set[str] = set()
    declined_own: set[str] = set()
    for copy in copies:
        for person in copy.internal_people(domains):
            if person.response != "declined":
                people.add(person.email)
            elif person.email == copy.calendar:
                declined_own.add(person.email)
    attendees = frozenset(people - declined_own)
    if not attendees:
        return None

    names: set[str] = set()
    for copy in copies:
        names.update(m.partner for m in matches.get((copy.calendar, copy.key), ()))
    roots = {name: root_of(name) for name in names}
    has_member = {root for name, root in roots.items() if root != name}
    partners = tuple(sorted(name for name in names if not (roots[name] == name and name in has_member)))
    families = tuple(sorted({roots[name] for name in partners}))

    external: dict[str, Attendee] = {}
    for copy in copies:
        for attendee in copy.attendees:
            if (
                not attendee.is_resource
                and attendee.response != "declined"
                and attendee.email not in external
                and not is_internal_address(attendee.email, domains)
            ):
                external[attendee.email] = attendee

    return Meeting(
        key=primary.key,
        uid=primary.uid,
        start=primary.start,
        end=primary.end,
        title=primary.title,
        location=primary.location or next((c.location for c in copies if c.location), ""),
        private=any(c.private for c in copies),
        calendars=tuple(sorted({c.calendar for c in copies})),
        internal_attendees=attendees,
        partners=partners,
        families=families,
        external_attendees=tuple(external[email] for email in sorted(external)),
        all_day=primary.all_day,
    )


def group_by_family(meetings: Iterable[Meeting], families: Collection[str] | None = None) -> dict[str, list[Meeting]]:
    """Meetings per family root (a meeting with two families is in both), optionally only `families`."""
    groups: dict[str, list[Meeting]] = {}
    for meeting in meetings:
        fams = meeting.families
        if len(fams) > 1:
            fams = tuple(dict.fromkeys(fams))
        for family in fams:
            if families is not None and family not in families:
                continue
            group = groups.get(family)
            if group is None:
                groups[family] = [meeting]
            else:
                group.append(meeting)
    return groups


def affected_families(*meeting_sets: Iterable[Meeting]) -> frozenset[str]:
    """Families of every meeting given: pass the old and new versions of changed meetings."""
    return frozenset(family for meetings in meeting_sets for m in meetings for family in m.families)


def severity_of(gap: timedelta) -> Severity:
    """The severity of a collision whose starts are `gap` apart (see the module docstring)."""
    gap = abs(gap)
    if gap < _DAY:
        return "same-day"
    if gap <= _THREE_DAYS:
        return "within-3-days"
    return "within-window"


def location_key(location: str) -> tuple[str, str]:
    """Normalised (place, city) of a location; ("", "") for empty or virtual locations.

    The place is the whole location, case-folded with punctuation collapsed. The city is the last
    comma-separated part without postal codes (prefixed by the part before it when what remains is a
    two-letter state or country code), or the place itself for a one-part location without digits.
    """
    text = unicodedata.normalize("NFKC", location).casefold()
    if not text.strip() or _VIRTUAL.search(text):
        return ("", "")
    parts = [p for p in (_NON_WORD.sub(" ", part).strip() for part in text.split(",")) if p]
    if not parts:
        return ("", "")
    place = " ".join(parts)
    if len(parts) == 1:
        return (place, "" if any(ch.isdigit() for ch in place) else place)
    city = _without_digits(parts[-1])
    if len(city) <= 2:
        city = " ".join(p for p in (_without_digits(parts[-2]), city) if p)
    return (place, city)


def _without_digits(text: str) -> str:
    """`text` without the words that contain a digit (postal codes, street numbers)."""
    return " ".join(word for word in text.split() if not any(ch.isdigit() for ch in word))


def same_location(first: str, second: str) -> bool:
    """Whether two locations share a non-empty normalised place or city (virtual locations never do)."""
    a, b = location_key(first), location_key(second)
    return bool((a[0] and a[0] == b[0]) or (a[1] and a[1] == b[1]))


_by_start = attrgetter("start", "key")


def detect(
    meetings: Iterable[Meeting],
    *,
    window_days: int,
    families: Iterable[str] | None = None,
) -> list[Collision]:
    """Every collision among `meetings` by the DESIGN.md rule, per family (optionally only `families`).

    Output order: families sorted by name; within a family, by the earlier meeting's (start, key),
    then the later one's. Collision.a is always the meeting with the smaller key.
    """
    if window_days < 0:
        raise ValueError(f"window_days must not be negative, got {window_days}")
    wanted = None if families is None else frozenset(families)
    window = timedelta(days=window_days)
    places = _Places()
    found: list[Collision] = []
    groups = group_by_family(meetings, wanted)
    with _gc_paused():
        for family in sorted(groups):
            _sweep(family, groups[family], window, places, found)
    return found


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while millions of acyclic objects are created.

    Detection allocates one Collision per pair and creates no reference cycles; with a large live
    heap (a million meetings), each generational collection would rescan it, costing more than the
    detection itself. Reference counting still frees everything; the collector is restored after.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _sweep(
    family: str,
    group: list[Meeting],
    window: timedelta,
    places_of: _Places,
    found: list[Collision],
) -> None:
    """Append the collisions of one family's meetings to `found` (sorts `group` in place)."""
    group.sort(key=_by_start)
    starts = [m.start for m in group]
    uids = [m.uid for m in group]
    people = [m.internal_attendees for m in group]
    place_ids, city_ids = zip(*[places_of(m.location) for m in group], strict=True) if group else ((), ())
    append = found.append
    for i in range(len(group) - 1):
        start = starts[i]
        end = bisect_right(starts, start + window, i + 1)
        if end == i + 1:
            continue
        # Severity boundaries as indices: gap < 24 h before `same_day`, gap <= 72 h before `three_days`.
        same_day = bisect_left(starts, start + _DAY, i + 1, end)
        three_days = bisect_right(starts, start + _THREE_DAYS, same_day, end)
        first = group[i]
        uid = uids[i]
        key = first.key
        attendees = people[i]
        place = place_ids[i]
        city = city_ids[i]
        for j in range(i + 1, end):
            if uids[j] == uid or not attendees.isdisjoint(people[j]):
                continue
            other = group[j]
            other_key = other.key
            if other_key == key:
                continue
            severity: Severity = "same-day" if j < same_day else "within-3-days" if j < three_days else "within-window"
            near = (place != 0 and place == place_ids[j]) or (city != 0 and city == city_ids[j])
            if key < other_key:
                append(Collision(family, first, other, severity, near))
            else:
                append(Collision(family, other, first, severity, near))


class _Places:
    """Interns locations as (place id, city id) pairs of small integers within one run (0: none)."""

    def __init__(self) -> None:
        self._by_location: dict[str, tuple[int, int]] = {}
        self._ids: dict[str, int] = {"": 0}

    def __call__(self, location: str) -> tuple[int, int]:
        """The (place id, city id) of `location`; equal ids mean equal normalised names."""
        found = self._by_location.get(location)
        if found is None:
            place, city = location_key(location)
            found = self._by_location[location] = (self._id(place), self._id(city))
        return found

    def _id(self, name: str) -> int:
        """The id of one normalised name."""
        return self._ids.setdefault(name, len(self._ids))
