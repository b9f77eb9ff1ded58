"""The collector contract: every source of calendar events implements `Collector`.

A collector lists the calendars it can read and returns, per calendar, the changes since a
cursor. It never touches the store: the service commits a calendar's changes together with
its next cursor in one transaction, so a crash between the two can never lose changes.

Rules every collector follows (and `tests/contract.py` checks):
- `sync(calendar, None, window)` is a full sync: `full_resync=True`, every occurrence in the
  window, and a `next_cursor` that a later call accepts.
- `sync(calendar, cursor, window)` returns only what changed since that cursor; an unchanged
  calendar returns no upserts and no deletions. A cursor the source no longer accepts is a
  full resync (`full_resync=True`), never "no changes".
- Events are keyed by DESIGN.md's rule (`UID`, or `UID@YYYY-MM-DD` for an occurrence), carry
  aware UTC datetimes, lower-cased emails, and the calendar's owner as `calendar`.
- Only occurrences touching `window` are returned.
- A broken item is skipped with a warning naming it; a failure of the whole calendar raises
  a `CollectorError` subclass (never a vendor exception).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from revolving_door.errors import CollectorError
from revolving_door.model import CalendarRef, SyncResult, TimeWindow


@dataclass(frozen=True)
class CheckResult:
    """One line of `revolving-door check`: what was verified, and whether it worked."""

    ok: bool
    what: str
    """What was checked, e.g. `token for alice@example.org`."""
    advice: str = ""
    """When not ok: what the admin must fix, in plain words."""


@runtime_checkable
class Collector(Protocol):
    """A source of calendar events."""

    name: str
    """The source's name, as in `CalendarRef.source`."""

    def calendars(self) -> list[CalendarRef]:
        """The calendars this source reads; raises CollectorError if the source cannot be listed."""
        ...

    def sync(self, calendar: CalendarRef, cursor: str | None, window: TimeWindow) -> SyncResult:
        """Changes to `calendar` since `cursor` (None: everything in `window`); raises CollectorError."""
        ...

    def check(self) -> list[CheckResult]:
        """Verify credentials and access with the cheapest calls possible (for `revolving-door check`)."""
        ...

    def sync_many(
        self, requests: Sequence[tuple[CalendarRef, str | None]], window: TimeWindow
    ) -> Iterator[tuple[CalendarRef, SyncResult | CollectorError]]:
        """Sync several calendars (batched where the source allows); yields each result or its error."""
        ...


def sync_each(
    collector: Collector, requests: Sequence[tuple[CalendarRef, str | None]], window: TimeWindow
) -> Iterator[tuple[CalendarRef, SyncResult | CollectorError]]:
    """The plain `sync_many`: one `sync` per calendar, a failure confined to its calendar."""
    for calendar, cursor in requests:
        try:
            yield calendar, collector.sync(calendar, cursor, window)
        except CollectorError as exc:
            if exc.calendar is None:
                exc.calendar = calendar.owner
            yield calendar, exc


def occurrence_key(uid: str, start_utc_date: str | None) -> str:
    """DESIGN.md's event key: the UID, or `UID@YYYY-MM-DD` for an occurrence of a recurring series."""
    return uid if start_utc_date is None else f"{uid}@{start_utc_date}"
