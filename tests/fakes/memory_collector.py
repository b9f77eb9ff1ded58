"""An in-memory Collector for tests of everything downstream (store, service, detection, CLI).

It passes the collector contract (`tests/integration/test_memory_collector.py`). Events are held
per owner as CalendarEvents keyed by their key (`source_id` = key); every change bumps the
owner's version counter, and a cursor is `mem:<owner>:<version>`. It records every call in
`calls`, and a CollectorError placed in `failures[owner]` is raised by that calendar's syncs.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace

from collectors.base import CheckResult, sync_each
from revolving_door.errors import CollectorError
from revolving_door.model import CalendarEvent, CalendarRef, SyncResult, TimeWindow


@dataclass(frozen=True)
class Call:
    """One recorded call: the method, the calendar owner (if any) and the cursor given."""

    method: str
    owner: str = ""
    cursor: str | None = None


@dataclass
class _Calendar:
    """One owner's events, with the version at which each key last changed or was removed."""

    events: dict[str, tuple[CalendarEvent, int]] = field(default_factory=dict)
    removed: dict[str, int] = field(default_factory=dict)
    version: int = 0


class MemoryCollector:
    """A Collector over calendars held in memory; records calls, can be told to fail."""

    def __init__(self, name: str = "memory") -> None:
        """An empty source called `name`."""
        self.name = name
        self.calls: list[Call] = []
        self.failures: dict[str, CollectorError] = {}
        self._calendars: dict[str, _Calendar] = {}

    # -- setting up the source -------------------------------------------------------------

    def ref(self, owner: str) -> CalendarRef:
        """The CalendarRef of `owner`'s calendar, creating it empty if needed."""
        owner = owner.lower()
        self._calendars.setdefault(owner, _Calendar())
        return CalendarRef(source=self.name, owner=owner, id=f"memory:{owner}")

    def put(self, *events: CalendarEvent) -> None:
        """Create or replace events (by key) in their owners' calendars."""
        for event in events:
            cal = self._calendars.setdefault(event.calendar, _Calendar())
            cal.version += 1
            cal.events[event.key] = (replace(event, source_id=event.key), cal.version)
            cal.removed.pop(event.key, None)

    def remove(self, owner: str, key_or_uid: str) -> None:
        """Remove the event with that key, or every occurrence of that UID, from `owner`'s calendar."""
        cal = self._calendars.setdefault(owner.lower(), _Calendar())
        doomed = [k for k, (e, _) in cal.events.items() if key_or_uid in (k, e.uid)]
        if doomed:
            cal.version += 1
        for key in doomed:
            del cal.events[key]
            cal.removed[key] = cal.version

    def events(self, owner: str) -> list[CalendarEvent]:
        """The events currently in `owner`'s calendar."""
        cal = self._calendars.get(owner.lower())
        return [e for e, _ in cal.events.values()] if cal else []

    # -- the Collector protocol -----------------------------------------------------------

    def calendars(self) -> list[CalendarRef]:
        """Every calendar created so far, by owner."""
        self.calls.append(Call("calendars"))
        return [self.ref(owner) for owner in sorted(self._calendars)]

    def check(self) -> list[CheckResult]:
        """One passing check per calendar (a failing one for each owner in `failures`)."""
        self.calls.append(Call("check"))
        return [
            CheckResult(
                owner not in self.failures, f"{self.name}: {owner}", str(self.failures.get(owner, ""))
            )
            for owner in sorted(self._calendars)
        ]

    def sync(self, calendar: CalendarRef, cursor: str | None, window: TimeWindow) -> SyncResult:
        """Changes since `cursor` (a version); a missing, foreign or future cursor is a full resync."""
        self.calls.append(Call("sync", calendar.owner, cursor))
        if calendar.owner in self.failures:
            raise self.failures[calendar.owner]
        cal = self._calendars.setdefault(calendar.owner, _Calendar())
        since = self._version(calendar.owner, cursor, cal)
        next_cursor = f"mem:{calendar.owner}:{cal.version}"
        in_window = [(e, v) for e, v in cal.events.values() if window.overlaps(e.start, e.end)]
        if since is None:
            return SyncResult(
                upserts=tuple(e for e, _ in in_window), next_cursor=next_cursor, full_resync=True
            )
        moved_out = {
            e.key for e, v in cal.events.values() if v > since and not window.overlaps(e.start, e.end)
        }
        return SyncResult(
            upserts=tuple(e for e, v in in_window if v > since),
            deletions=tuple(sorted({k for k, v in cal.removed.items() if v > since} | moved_out)),
            next_cursor=next_cursor,
        )

    def sync_many(
        self, requests: Sequence[tuple[CalendarRef, str | None]], window: TimeWindow
    ) -> Iterator[tuple[CalendarRef, SyncResult | CollectorError]]:
        """One `sync` per calendar, a failure confined to its calendar."""
        return sync_each(self, requests, window)

    @staticmethod
    def _version(owner: str, cursor: str | None, cal: _Calendar) -> int | None:
        """The version a cursor names, or None when it is missing or unusable."""
        prefix = f"mem:{owner}:"
        if not cursor or not cursor.startswith(prefix) or not cursor[len(prefix) :].isdigit():
            return None
        version = int(cursor[len(prefix) :])
        return version if version <= cal.version else None
