"""The shared vocabulary: frozen value objects passed between collectors, matching, detection and notifier.

This module imports nothing of ours. Every datetime here is timezone-aware UTC.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

Response = Literal["accepted", "tentative", "declined", "needs-action"]
EventStatus = Literal["confirmed", "tentative", "cancelled"]
Severity = Literal["same-day", "within-3-days", "within-window"]


_NOT_ONE_ADDRESS = re.compile(r'[,;<>"\s]')
"""Characters that never occur in one plain address but do in lists and header tricks."""


def is_internal_address(email: str, internal_domains: Iterable[str]) -> bool:
    """Whether `email` is one plain address whose host is one of `internal_domains` or a subdomain of one.

    Text that is not a single address (`spy@evil.test,me@ours.org`) is never internal.
    """
    if email.count("@") != 1 or _NOT_ONE_ADDRESS.search(email):
        return False
    host = email.rpartition("@")[2].strip().rstrip(".").lower()
    return any(host == d or host.endswith("." + d) for d in internal_domains)


@dataclass(frozen=True)
class Attendee:
    """A person (or room) invited to a meeting."""

    email: str
    """Lower-cased address; may carry a `+tag` (resolution drops it)."""
    name: str = ""
    """Display name as given by the source (outsider text: escape before showing)."""
    response: Response = "needs-action"
    is_resource: bool = False
    """A room, resource or equipment calendar: never a person, never a partner."""
    is_organizer: bool = False


@dataclass(frozen=True)
class CalendarRef:
    """One calendar a collector can sync: a staff member's calendar within one source."""

    source: str
    """Name of the source in settings (e.g. `ics-1`, `google`)."""
    owner: str
    """The staff member's lower-cased email address."""
    id: str
    """Source-specific calendar id (file path, URL, calendar id, mailbox id)."""

    @property
    def ref(self) -> str:
        """A stable string naming this calendar across runs."""
        return f"{self.source}:{self.id}"


@dataclass(frozen=True)
class CalendarEvent:
    """One occurrence of a meeting as seen in one staff member's calendar."""

    calendar: str
    """The calendar owner's lower-cased email."""
    key: str
    """Event key: the iCalendar UID, or `UID@YYYY-MM-DD` (UTC start date) for an occurrence of a series."""
    uid: str
    """The iCalendar UID shared by every occurrence of the series (occurrences of one UID never collide)."""
    source_id: str
    """The source's own id for this item (deletions arrive by this id)."""
    title: str
    start: datetime
    end: datetime
    all_day: bool = False
    location: str = ""
    organizer: str = ""
    """Organizer's lower-cased email, or empty."""
    attendees: tuple[Attendee, ...] = ()
    status: EventStatus = "confirmed"
    private: bool = False
    """Private/confidential: title and external attendees are never shown to other staff."""

    @property
    def cancelled(self) -> bool:
        """Whether the meeting was cancelled."""
        return self.status == "cancelled"

    def internal_people(self, internal_domains: Iterable[str]) -> tuple[Attendee, ...]:
        """Internal attendees who are people (not rooms), declined or not.

        An event with no attendee list at all is a personal event: its calendar owner attends.
        """
        if not self.attendees:
            return (Attendee(email=self.calendar, response="accepted", is_organizer=True),)
        domains = tuple(internal_domains)
        return tuple(
            a for a in self.attendees if not a.is_resource and is_internal_address(a.email, domains)
        )

    def internal_attendees(self, internal_domains: Iterable[str]) -> frozenset[str]:
        """Addresses of the internal people who have not declined."""
        return frozenset(
            a.email for a in self.internal_people(internal_domains) if a.response != "declined"
        )

    def is_active(self, internal_domains: Iterable[str]) -> bool:
        """Not cancelled, and not declined by every internal attendee."""
        return not self.cancelled and bool(self.internal_attendees(internal_domains))


@dataclass(frozen=True)
class TimeWindow:
    """The span of time collected: [start, end)."""

    start: datetime
    end: datetime

    @classmethod
    def around(cls, now: datetime, past_days: int, future_days: int) -> TimeWindow:
        """The window from `past_days` before `now` to `future_days` after it."""
        return cls(now - timedelta(days=past_days), now + timedelta(days=future_days))

    def overlaps(self, start: datetime, end: datetime) -> bool:
        """Whether an event running from start to end touches this window."""
        return start < self.end and max(end, start) >= self.start


@dataclass(frozen=True)
class SyncResult:
    """What a collector returns for one calendar: the changes since the cursor and the next cursor."""

    upserts: tuple[CalendarEvent, ...] = ()
    deletions: tuple[str, ...] = ()
    """Source ids of items that were removed or cancelled at the source."""
    next_cursor: str | None = None
    full_resync: bool = False
    """True when `upserts` is the complete state of the calendar: stored events not in it are deleted."""
    warnings: tuple[str, ...] = ()
    """Problems that skipped part of the data (a broken file or event), each naming the file or UID."""
    requests: int = 0
    """How many HTTP requests (or file reads) this sync cost, for benchmarks and metrics."""


@dataclass(frozen=True)
class Partner:
    """A partner organisation in the directory."""

    name: str
    domains: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    owners: tuple[str, ...] = ()
    """Account managers' emails."""
    parent: str | None = None
    """Canonical name of the parent partner, if any."""


@dataclass(frozen=True)
class PartnerMatch:
    """One partner found in one event, with why."""

    partner: str
    """Canonical partner name (the most specific one)."""
    via: Literal["domain", "title"]
    evidence: str
    """Human-readable reason, e.g. `domain field.example.gov → example.gov`."""
    score: float
    """100 for an exact domain; the fuzzy score for a title match."""


@dataclass(frozen=True)
class Meeting:
    """A meeting as the detector sees it: one key, merged over every calendar that holds it."""

    key: str
    uid: str
    start: datetime
    end: datetime
    title: str
    location: str
    private: bool
    calendars: tuple[str, ...]
    """Owners of the calendars this meeting was collected from."""
    internal_attendees: frozenset[str]
    """Lower-cased addresses of non-declined internal people (no rooms)."""
    partners: tuple[str, ...]
    """Canonical names of the partners matched (most specific)."""
    families: tuple[str, ...] = field(default=())
    """Family root names of `partners`."""
    external_attendees: tuple[Attendee, ...] = ()
    all_day: bool = False
    """An all-day meeting: shown by date, never shifted into another time zone."""


@dataclass(frozen=True)
class Collision:
    """Two meetings with the same partner family, close in time, with no internal attendee in common."""

    family: str
    """The family root partner's canonical name."""
    a: Meeting
    """The earlier-keyed meeting (key order: a.key < b.key)."""
    b: Meeting
    severity: Severity
    same_location: bool = False

    @property
    def pair(self) -> tuple[str, str]:
        """The ordered pair of keys that identifies this collision within its family."""
        return (self.a.key, self.b.key)

    @property
    def gap(self) -> timedelta:
        """Time between the two starts."""
        return abs(self.b.start - self.a.start)


@dataclass(frozen=True)
class Alert:
    """One email to one recipient about new collisions with one partner family."""

    recipient: str
    family: str
    collisions: tuple[Collision, ...]
    outbox_keys: tuple[str, ...]
    """The outbox rows (one per recipient × pair) this email delivers."""
