"""The ICS collector: staff calendars as local .ics files or http(s) feeds.

Sources
- Local files: `path_glob` relative to `base_dir`; each file is one calendar whose owner is
  the file stem (`jane@example.org.ics` → `jane@example.org`), lower-cased.
- A feed: `url` (http, https or webcal) with an explicit `owner`.

Incremental sync. The cursor is a JSON string holding the validators of what was read
(file mtime and size; feed ETag and Last-Modified), a SHA-256 of the content, the collection
window's first and last UTC day, and the source ids returned last time. An unchanged file is
not even read; an unchanged feed costs one conditional GET answered 304. Unchanged content and
the same window days give no upserts and no deletions. Anything else (changed content, a new
day moving the window, a missing or unreadable cursor) is a full resync: `full_resync=True`
with every occurrence in the window, plus `deletions` naming the source ids returned last time
that are gone. Re-reading a whole calendar when it changed is the simplest correct approach;
files and feeds carry no per-event change information.

Reading. A lenient text reader (`collectors._ical_text`) splits VEVENTs, keeps only the
properties needed (DESCRIPTION is never kept) and handles bare VEVENTs, several VCALENDARs in
one file and non-UTF-8 bytes. A plain event with a UTC, all-day, tz-database or Windows-zone
start is converted directly; everything else (RRULE/RDATE/EXDATE series, RECURRENCE-ID
overrides, custom VTIMEZONEs, DURATION) goes through icalendar + recurring-ical-events, which
also applies X-WR-TIMEZONE (x-wr-timezone). Floating times with no X-WR-TIMEZONE are read as UTC.

Keys. A plain VEVENT is keyed by its UID; an occurrence of a series by `UID@YYYY-MM-DD`, the
occurrence's start date in UTC (a series anchored to a TZID keeps its local wall-clock time,
so its UTC time moves across DST). If an override was moved onto the date of another
occurrence of the same series, it is keyed by its RECURRENCE-ID's UTC date instead; a second
occurrence on one UTC date (an RDATE on the same day) is keyed `UID@YYYY-MM-DDTHHMMSSZ`. An event
without UID gets a stable derived one (hash of DTSTART, SUMMARY and file name) and a warning.
All-day events start at 00:00 UTC on their date. `source_id` is the key.

Problems. A file that cannot be read at all is skipped with a warning naming it (and the
previous cursor is kept, so nothing stored is deleted because of it). An empty file, or one that
ends inside a component (truncated, or caught half-written), is not taken as the calendar's
complete state once it has been read before: its events are upserted, nothing is deleted, and
the cursor keeps every id seen so the complete file's resync deletes what is gone. A broken event is
skipped with a warning naming the file and UID. Network and HTTP failures raise
`SourceUnavailableError`, `AuthError` (401/403) or `ThrottledError` (429).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import zoneinfo
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import icalendar
import recurring_ical_events
import requests
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from collectors._ical_text import TIMING, EventBlock, ParsedText, Prop, decode, parse_text, unescape_text
from collectors.base import CheckResult, occurrence_key, sync_each
from revolving_door.errors import (
    AuthError,
    CollectorError,
    ConfigError,
    SourceUnavailableError,
    ThrottledError,
)
from revolving_door.model import (
    Attendee,
    CalendarEvent,
    CalendarRef,
    EventStatus,
    Response,
    SyncResult,
    TimeWindow,
)

log = logging.getLogger(__name__)

CURSOR_VERSION = 1
_RESPONSES: dict[str, Response] = {"ACCEPTED": "accepted", "TENTATIVE": "tentative", "DECLINED": "declined"}
_STATUSES: dict[str, EventStatus] = {"CANCELLED": "cancelled", "TENTATIVE": "tentative"}
_EXPAND_MARGIN = timedelta(days=2)
_INDEX_PROP = "X-RD-BLOCK"
_RACY_NS = 2_000_000_000


# ----------------------------------------------------------------------------- the collector


class IcsCollector:
    """A `Collector` over local .ics files (file stem = owner) or one http(s) feed with an owner."""

    def __init__(
        self,
        name: str,
        *,
        path_glob: str | None = None,
        base_dir: Path,
        url: str | None = None,
        owner: str | None = None,
        timeout: float = 30,
        session: requests.Session | None = None,
    ) -> None:
        """Configure the source; raises ConfigError unless given `path_glob`, or `url` with `owner`."""
        if (path_glob is None) == (url is None):
            raise ConfigError(f"source {name}: give either a path glob or a url")
        if url is not None and not (owner or "").strip():
            raise ConfigError(f"source {name}: a url needs an owner")
        self.name = name
        self.path_glob = path_glob
        self.base_dir = Path(base_dir)
        self.url = _normalise_url(url) if url is not None else None
        self.owner = (owner or "").strip().lower()
        self.timeout = timeout
        self.session = session if session is not None else requests.Session()

    def calendars(self) -> list[CalendarRef]:
        """One CalendarRef per matching file (id = resolved path), or the feed URL."""
        if self.url is not None:
            return [CalendarRef(source=self.name, owner=self.owner, id=feed_id(self.url))]
        assert self.path_glob is not None
        try:
            paths = sorted(p for p in self.base_dir.glob(self.path_glob) if p.is_file())
        except (OSError, ValueError) as exc:
            raise SourceUnavailableError(f"{self.name}: cannot list {self.path_glob}: {exc}") from exc
        return [
            CalendarRef(source=self.name, owner=p.stem.strip().lower(), id=str(p.resolve())) for p in paths
        ]

    def check(self) -> list[CheckResult]:
        """Whether the files exist and are readable, or the feed answers with iCalendar data."""
        if self.url is not None:
            return [self._check_feed()]
        try:
            calendars = self.calendars()
        except CollectorError as exc:
            return [CheckResult(False, f"{self.name}: {self.path_glob}", str(exc))]
        if not calendars:
            where = self.base_dir / (self.path_glob or "")
            return [CheckResult(False, f"{self.name}: {self.path_glob}", f"no .ics file matches {where}")]
        return [_check_file(c) for c in calendars]

    def _check_feed(self) -> CheckResult:
        """One GET of the feed: reachable, authorised and iCalendar."""
        assert self.url is not None
        what = f"{self.name}: feed {redact_url(self.url)} for {self.owner}"
        try:
            response = self.session.get(self.url, timeout=self.timeout)
        except requests.RequestException as exc:
            return CheckResult(False, what, f"cannot reach the feed: {type(exc).__name__}")
        if not 200 <= response.status_code < 300:
            return CheckResult(False, what, f"the feed answered HTTP {response.status_code}; check the URL")
        if b"BEGIN:V" not in response.content[:65536].upper():
            return CheckResult(False, what, "the feed did not return iCalendar data")
        return CheckResult(True, what)

    def sync(self, calendar: CalendarRef, cursor: str | None, window: TimeWindow) -> SyncResult:
        """Changes to `calendar` since `cursor`: nothing if unchanged, else a full resync (see module doc)."""
        previous = _Cursor.load(cursor)
        days = _window_days(window)
        if _is_feed(calendar.id):
            fetched = self._fetch(calendar, previous if previous and previous.days == days else None)
        else:
            fetched = _read_file(calendar, previous if previous and previous.days == days else None)
        if fetched.unchanged:
            assert previous is not None
            nxt = previous.updated(fetched.validators)
            return SyncResult(next_cursor=nxt.dump(), requests=fetched.requests)
        assert fetched.data is not None
        digest = hashlib.sha256(fetched.data).hexdigest()
        if previous is not None and previous.days == days and previous.sha256 == digest:
            nxt = previous.updated(fetched.validators)
            return SyncResult(next_cursor=nxt.dump(), requests=fetched.requests)
        return self._full(calendar, fetched, digest, previous, window)

    def sync_many(
        self, requests: Sequence[tuple[CalendarRef, str | None]], window: TimeWindow
    ) -> Iterator[tuple[CalendarRef, SyncResult | CollectorError]]:
        """One `sync` per calendar; a failure is confined to its calendar."""
        return sync_each(self, requests, window)

    def _full(
        self,
        calendar: CalendarRef,
        fetched: _Fetched,
        digest: str,
        previous: _Cursor | None,
        window: TimeWindow,
    ) -> SyncResult:
        """Parse the whole content and return every occurrence in the window as a full resync."""
        assert fetched.data is not None
        reader = _Reader(label=self._label(calendar.id), owner=calendar.owner, window=window)
        events = reader.read(fetched.data)
        warnings = reader.warnings
        if events is None:
            keep = previous.dump() if previous is not None else None
            return SyncResult(next_cursor=keep, warnings=tuple(warnings), requests=fetched.requests)
        ids = sorted({e.source_id for e in events})
        if reader.incomplete and previous is not None:
            # A half-written or truncated file is not the calendar's complete state: keep what it
            # holds, delete nothing, and remember every id so the complete file's resync can.
            reader.warn("empty or truncated file: its events are kept, none deleted, until it is complete")
            nxt = _Cursor(fetched.validators, digest, _window_days(window), sorted({*previous.ids, *ids}))
            return SyncResult(
                upserts=tuple(events), next_cursor=nxt.dump(), warnings=tuple(warnings), requests=fetched.requests
            )
        gone = sorted(set(previous.ids) - set(ids)) if previous is not None else []
        nxt = _Cursor(validators=fetched.validators, sha256=digest, days=_window_days(window), ids=ids)
        return SyncResult(
            upserts=tuple(events),
            deletions=tuple(gone),
            next_cursor=nxt.dump(),
            full_resync=True,
            warnings=tuple(warnings),
            requests=fetched.requests,
        )

    def _label(self, calendar_id: str) -> str:
        """The name warnings use for a calendar: the file name, or the feed's redacted URL."""
        if _is_feed(calendar_id) and self.url is not None:
            return redact_url(self.url)
        return Path(calendar_id).name

    def _fetch(self, calendar: CalendarRef, previous: _Cursor | None) -> _Fetched:
        """GET the feed, conditionally when a previous cursor for the same window is given."""
        headers = {"Accept": "text/calendar, */*;q=0.5"}
        if previous is not None:
            if etag := previous.validators.get("etag"):
                headers["If-None-Match"] = str(etag)
            if modified := previous.validators.get("last_modified"):
                headers["If-Modified-Since"] = str(modified)
        if self.url is None or calendar.id != feed_id(self.url):
            raise SourceUnavailableError(f"{self.name}: unknown feed {calendar.id}", calendar=calendar.owner)
        try:
            response = self.session.get(self.url, headers=headers, timeout=self.timeout)
        except requests.RequestException as exc:
            # The exception text repeats the URL, which may carry a secret token: name only its kind.
            raise SourceUnavailableError(
                f"{redact_url(self.url)}: {type(exc).__name__}", calendar=calendar.owner
            ) from exc
        if response.status_code == 304 and previous is not None:
            return _Fetched(None, dict(previous.validators), requests=1, unchanged=True)
        _raise_for_status(calendar, response, redact_url(self.url))
        headers_seen = (("etag", "ETag"), ("last_modified", "Last-Modified"))
        validators = {key: response.headers[h] for key, h in headers_seen if response.headers.get(h)}
        return _Fetched(response.content, validators, requests=1)


def _normalise_url(url: str) -> str:
    """The feed URL with `webcal://` read as `https://`."""
    url = url.strip()
    return "https://" + url[len("webcal://") :] if url.lower().startswith("webcal://") else url


def feed_id(url: str) -> str:
    """A feed's calendar id: a digest of its URL, so a secret token in the URL is never stored or shown."""
    return "feed:" + hashlib.sha256(url.encode()).hexdigest()[:16]


def redact_url(url: str) -> str:
    """A feed URL safe to show: scheme and host only (paths and queries of private feeds hold secrets)."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    return f"{parts.scheme}://{host}{f':{parts.port}' if parts.port else ''}/…"


def _is_feed(calendar_id: str) -> bool:
    """Whether a calendar id names a feed rather than a file path."""
    return calendar_id.startswith("feed:")


def _raise_for_status(calendar: CalendarRef, response: requests.Response, where: str) -> None:
    """Turn an unsuccessful HTTP status into our CollectorError subclasses."""
    status = response.status_code
    if 200 <= status < 300:
        return
    message = f"{where}: HTTP {status} {response.reason or ''}".rstrip()
    if status in (401, 403):
        raise AuthError(message, calendar=calendar.owner)
    if status == 429:
        raise ThrottledError(message, calendar=calendar.owner, retry_after=_retry_after(response))
    raise SourceUnavailableError(message, calendar=calendar.owner)


def _retry_after(response: requests.Response) -> float | None:
    """Seconds from a numeric Retry-After header, if any."""
    try:
        return float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None


def _read_file(calendar: CalendarRef, previous: _Cursor | None) -> _Fetched:
    """Read a calendar file, or report it unchanged when its mtime and size match the cursor."""
    path = Path(calendar.id)
    try:
        stat = path.stat()
        validators: dict[str, Any] = {"mtime_ns": stat.st_mtime_ns, "size": stat.st_size}
        validators["seen_ns"] = time.time_ns()
        if previous is not None and _same_file(previous.validators, validators):
            return _Fetched(None, validators, requests=0, unchanged=True)
        return _Fetched(path.read_bytes(), validators, requests=1)
    except OSError as exc:
        raise SourceUnavailableError(f"{path}: {exc.strerror or exc}", calendar=calendar.owner) from exc


def _same_file(before: dict[str, Any], now: dict[str, Any]) -> bool:
    """Same mtime and size, and the file was already older than the mtime granularity when last seen.

    A file rewritten within the file system's timestamp granularity can keep its mtime and size
    (the "racy git" problem); such a file is read and hashed again rather than trusted.
    """
    if before.get("mtime_ns") != now["mtime_ns"] or before.get("size") != now["size"]:
        return False
    seen = before.get("seen_ns")
    return isinstance(seen, int) and seen - now["mtime_ns"] > _RACY_NS


@dataclass
class _Fetched:
    """Content read from a file or feed (None when unchanged) and its validators."""

    data: bytes | None
    validators: dict[str, Any]
    requests: int
    unchanged: bool = False


@dataclass(frozen=True)
class _Cursor:
    """The decoded ICS cursor (see the module docstring)."""

    validators: dict[str, Any]
    sha256: str
    days: tuple[str, str]
    ids: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, text: str | None) -> _Cursor | None:
        """The cursor in `text`, or None when it is absent or unreadable (a full resync follows)."""
        if not text:
            return None
        try:
            raw = json.loads(text)
            if raw.get("v") != CURSOR_VERSION:
                return None
            days = raw["days"]
            ids = raw["ids"]
            if not (isinstance(days, list) and len(days) == 2 and isinstance(ids, list)):
                return None
            window_days = (str(days[0]), str(days[1]))
            return cls(dict(raw["validators"]), str(raw["sha256"]), window_days, [str(i) for i in ids])
        except (ValueError, TypeError, KeyError, AttributeError):
            return None

    def dump(self) -> str:
        """The cursor as a JSON string."""
        return json.dumps(
            {"v": CURSOR_VERSION, "validators": self.validators, "sha256": self.sha256,
             "days": list(self.days), "ids": self.ids},
            sort_keys=True,
            separators=(",", ":"),
        )

    def updated(self, validators: dict[str, Any]) -> _Cursor:
        """The same cursor with fresh validators."""
        return _Cursor(validators or self.validators, self.sha256, self.days, self.ids)


def _window_days(window: TimeWindow) -> tuple[str, str]:
    """The window's first and last UTC day: content is re-expanded when either changes."""
    return (window.start.astimezone(UTC).date().isoformat(), window.end.astimezone(UTC).date().isoformat())


# ----------------------------------------------------------------------------- reading a calendar


def read_calendar(
    data: bytes, *, label: str, owner: str, window: TimeWindow
) -> tuple[list[CalendarEvent] | None, list[str]]:
    """Every occurrence in `window` from .ics bytes, and warnings; None if the file is unreadable."""
    reader = _Reader(label=label, owner=owner.strip().lower(), window=window)
    return reader.read(data), reader.warnings


@dataclass
class _Occurrence:
    """One occurrence's timing, from the fast path or from recurring-ical-events."""

    block: EventBlock
    uid: str
    start: datetime
    end: datetime
    all_day: bool
    recurrence_date: str | None = None
    """UTC date of the RECURRENCE-ID when this is an occurrence of a series."""


@dataclass
class _Reader:
    """Reads one calendar's bytes into CalendarEvents, collecting warnings."""

    label: str
    owner: str
    window: TimeWindow
    warnings: list[str] = field(default_factory=list)
    incomplete: bool = False
    """Whether the text was empty or ended inside a component (a truncated or half-written file)."""

    def warn(self, message: str) -> None:
        """Record a warning (it is also logged)."""
        text = f"{self.label}: {message}"
        log.warning("%s", text)
        self.warnings.append(text)

    def read(self, data: bytes) -> list[CalendarEvent] | None:
        """The events in the window, or None (with a warning) when the file is not iCalendar data."""
        parsed = parse_text(decode(data))
        if not parsed.saw_calendar_data and data.strip():
            self.warn("not iCalendar data (no BEGIN:VCALENDAR or BEGIN:VEVENT); file skipped")
            return None
        for problem in dict.fromkeys(parsed.problems):
            self.warn(f"malformed iCalendar structure ({problem}); readable events kept")
        self.incomplete = not data.strip() or any(p.startswith("unterminated") for p in parsed.problems)
        uids = self._assign_uids(parsed.events)
        occurrences = self._occurrences(parsed, uids)
        return self._events(occurrences)

    def _assign_uids(self, blocks: list[EventBlock]) -> dict[int, str]:
        """Each block's UID; a stable derived one (with a warning) when the UID is missing."""
        uids: dict[int, str] = {}
        for block in blocks:
            uid_prop = block.first("UID")
            uid = unescape_text(uid_prop.value).strip() if uid_prop else ""
            if not uid:
                start = block.first("DTSTART")
                summary = block.first("SUMMARY")
                seed = "\n".join((start.raw if start else "", summary.value if summary else "", self.label))
                uid = "derived-" + hashlib.sha256(seed.encode()).hexdigest()[:20]
                self.warn(f"event without UID ({_summary(block)!r}); using derived UID {uid}")
            uids[block.index] = uid
        return uids

    def _occurrences(self, parsed: ParsedText, uids: dict[int, str]) -> list[_Occurrence]:
        """Timing of every occurrence in the window: the fast path where possible, else icalendar."""
        recurring = ("RRULE", "RDATE", "RECURRENCE-ID")
        complex_uids = {uids[b.index] for b in parsed.events if any(b.first(n) for n in recurring)}
        found: list[_Occurrence] = []
        slow: list[EventBlock] = []
        for block in parsed.events:
            uid = uids[block.index]
            vital = [n for n in block.bad_lines if n in TIMING or n == "UID"]
            if vital:
                self.warn(f"event {uid}: unreadable {', '.join(vital)} line; event skipped")
                continue
            if block.bad_lines:
                self.warn(f"event {uid}: unreadable {', '.join(block.bad_lines)} line ignored")
            if block.first("DTSTART") is None:
                self.warn(f"event {uid}: no DTSTART; event skipped")
                continue
            wr_tz = parsed.wr_timezones.get(block.section)
            timing = None if uid in complex_uids else _fast_timing(block, wr_tz)
            if timing is None:
                slow.append(block)
            elif self.window.overlaps(timing[0], timing[1]):
                found.append(_Occurrence(block, uid, *timing))
        found.extend(self._expand(parsed, slow, uids))
        return found

    def _expand(
        self, parsed: ParsedText, blocks: list[EventBlock], uids: dict[int, str]
    ) -> list[_Occurrence]:
        """Expand series and unusual events with recurring-ical-events, isolating a broken UID."""
        by_index = {b.index: b for b in blocks}
        out: list[_Occurrence] = []
        for section in sorted({b.section for b in blocks}):
            group = [b for b in blocks if b.section == section]
            wr_tz = parsed.wr_timezones.get(section)
            try:
                out.extend(self._expand_group(parsed.timezones, wr_tz, group, uids, by_index))
                continue
            except Exception:  # vendor parsers raise anything; retried per UID below
                pass
            for uid in dict.fromkeys(uids[b.index] for b in group):
                members = [b for b in group if uids[b.index] == uid]
                try:
                    out.extend(self._expand_group(parsed.timezones, wr_tz, members, uids, by_index))
                except Exception as exc:  # any vendor failure skips just this event
                    problem = f"{type(exc).__name__}: {exc}"
                    self.warn(f"event {uid}: cannot read its dates or recurrence ({problem}); skipped")
        return out

    def _expand_group(
        self,
        timezones: list[str],
        wr_tz: str | None,
        blocks: list[EventBlock],
        uids: dict[int, str],
        by_index: dict[int, EventBlock],
    ) -> list[_Occurrence]:
        """Occurrences of `blocks` in the window (raises whatever icalendar raises)."""
        text = _mini_calendar(timezones, wr_tz, blocks, uids)
        calendar = icalendar.Calendar.from_ical(text)
        query = recurring_ical_events.of(calendar)
        start = self.window.start - _EXPAND_MARGIN
        stop = self.window.end + _EXPAND_MARGIN
        out: list[_Occurrence] = []
        for component in query.between(start, stop):
            occurrence = _to_occurrence(component, by_index, uids)
            if occurrence is not None and self.window.overlaps(occurrence.start, occurrence.end):
                out.append(occurrence)
        return out

    def _events(self, occurrences: list[_Occurrence]) -> list[CalendarEvent]:
        """CalendarEvents with unique keys; broken or duplicate occurrences skipped with a warning."""
        occurrences.sort(key=lambda o: (o.recurrence_date is not None and o.recurrence_date != _day(o.start),
                                        o.block.index, o.start))
        events: dict[str, CalendarEvent] = {}
        for occ in occurrences:
            key = self._key(occ, events)
            if key is None:
                continue
            try:
                events[key] = _event(occ, key, self.owner)
            except (ValueError, TypeError) as exc:
                self.warn(f"event {occ.uid}: unreadable ({exc}); skipped")
        return list(events.values())

    def _key(self, occ: _Occurrence, taken: dict[str, CalendarEvent]) -> str | None:
        """The occurrence's key; None (with a warning) for a duplicate."""
        if occ.recurrence_date is None:
            key = occurrence_key(occ.uid, None)
            if key in taken:
                self.warn(f"event {occ.uid}: UID appears more than once; later copy skipped")
                return None
            return key
        for day in dict.fromkeys((_day(occ.start), occ.recurrence_date)):
            key = occurrence_key(occ.uid, day)
            if key not in taken:
                return key
        key = occurrence_key(occ.uid, occ.start.astimezone(UTC).strftime("%Y-%m-%dT%H%M%SZ"))
        if key not in taken:
            return key
        self.warn(f"event {occ.uid}: the same occurrence twice at {occ.start.isoformat()}; copy skipped")
        return None


def _check_file(calendar: CalendarRef) -> CheckResult:
    """Whether one calendar file can be read."""
    path = Path(calendar.id)
    what = f"{calendar.source}: {path.name} ({calendar.owner})"
    try:
        with path.open("rb") as handle:
            handle.read(1)
    except OSError as exc:
        return CheckResult(False, what, f"cannot read {path}: {exc.strerror or exc}")
    return CheckResult(True, what)


def _summary(block: EventBlock) -> str:
    """The block's SUMMARY text, for warnings."""
    prop = block.first("SUMMARY")
    return unescape_text(prop.value) if prop else ""


def _day(moment: datetime) -> str:
    """The UTC date of an aware datetime, as YYYY-MM-DD."""
    return moment.astimezone(UTC).date().isoformat()


# ----------------------------------------------------------------------------- timing


_ZONES: dict[str, tzinfo | None] = {}


def _zone(tzid: str) -> tzinfo | None:
    """A tz-database zone for a TZID or Windows zone name, or None if neither (icalendar then decides)."""
    if tzid not in _ZONES:
        name = WINDOWS_TO_OLSON.get(tzid, tzid)
        try:
            _ZONES[tzid] = zoneinfo.ZoneInfo(name) if name and not name.startswith("/") else None
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            _ZONES[tzid] = None
    return _ZONES[tzid]


def _fast_value(prop: Prop, floating: tzinfo) -> tuple[datetime, bool] | None:
    """A DTSTART/DTEND value as (aware UTC datetime, is-date), or None if it needs icalendar."""
    value = prop.value.strip()
    if prop.params.get("VALUE", "").upper() == "DATE" or (len(value) == 8 and value.isdigit()):
        if len(value) != 8 or not value.isdigit():
            return None
        return datetime(int(value[:4]), int(value[4:6]), int(value[6:8]), tzinfo=UTC), True
    if len(value) not in (15, 16) or value[8] != "T" or not (value[:8] + value[9:15]).isdigit():
        return None
    digits = value[:8] + value[9:15]
    year = int(digits[:4])
    month, day, hour, minute, second = (int(digits[i : i + 2]) for i in range(4, 14, 2))
    if len(value) == 16:
        is_utc = value[15] in "Zz" and "TZID" not in prop.params
        return (datetime(year, month, day, hour, minute, second, tzinfo=UTC), False) if is_utc else None
    tz = _zone(prop.params["TZID"]) if "TZID" in prop.params else floating
    if tz is None:
        return None
    return datetime(year, month, day, hour, minute, second, tzinfo=tz).astimezone(UTC), False


def _fast_timing(block: EventBlock, wr_tz: str | None) -> tuple[datetime, datetime, bool] | None:
    """(start, end, all_day) of a plain event without icalendar, or None when icalendar is needed."""
    if block.first("DURATION") is not None or block.first("EXDATE") is not None:
        return None
    floating = _zone(wr_tz) if wr_tz else UTC
    if floating is None:
        return None
    dtstart, dtend = block.first("DTSTART"), block.first("DTEND")
    try:
        start = _fast_value(dtstart, floating) if dtstart else None
        end = _fast_value(dtend, floating) if dtend else None
    except ValueError:
        return None
    if start is None or (dtend is not None and (end is None or end[1] != start[1] or end[0] < start[0])):
        return None
    if end is None:
        return start[0], start[0] + (timedelta(days=1) if start[1] else timedelta(0)), start[1]
    return start[0], end[0], start[1]


def _mini_calendar(
    timezones: list[str], wr_tz: str | None, blocks: list[EventBlock], uids: dict[int, str]
) -> str:
    """A VCALENDAR holding only what recurrence needs: time zones and the blocks' timing lines."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//revolving-door//ics collector//EN"]
    if wr_tz:
        lines.append(f"X-WR-TIMEZONE:{wr_tz}")
    lines.extend(timezones)
    for block in blocks:
        lines += ["BEGIN:VEVENT", f"UID:{_escape(uids[block.index])}", f"{_INDEX_PROP}:{block.index}"]
        lines += [p.raw for p in block.props if p.name in TIMING]
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


def _escape(text: str) -> str:
    """Escape a TEXT value for a content line."""
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _to_occurrence(
    component: Any, by_index: dict[int, EventBlock], uids: dict[int, str]
) -> _Occurrence | None:
    """An expanded icalendar component mapped back to its block, with UTC timing."""
    block = by_index.get(int(str(component.get(_INDEX_PROP, "-1"))))
    if block is None:
        return None
    start, all_day = _utc(component.get("DTSTART").dt)
    end = _utc(component.end)[0] if component.get("DTEND") or component.get("DURATION") else None
    if end is None:
        end = start + (timedelta(days=1) if all_day else timedelta(0))
    recurrence = component.get("RECURRENCE-ID")
    recurrence_date = _day(_utc(recurrence.dt)[0]) if recurrence is not None else None
    return _Occurrence(block, uids[block.index], start, max(end, start), all_day, recurrence_date)


def _utc(value: date | datetime) -> tuple[datetime, bool]:
    """A DATE (00:00 UTC, all-day) or DATE-TIME (naive read as UTC) as an aware UTC datetime."""
    if not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=UTC), True
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=UTC), False
    return value.astimezone(UTC), False


# ----------------------------------------------------------------------------- properties


def _event(occ: _Occurrence, key: str, owner: str) -> CalendarEvent:
    """The CalendarEvent for one occurrence (never reads DESCRIPTION)."""
    block = occ.block
    organizer_prop = block.first("ORGANIZER")
    organizer = _email(organizer_prop.value) if organizer_prop else ""
    status = block.first("STATUS")
    klass = block.first("CLASS")
    location = block.first("LOCATION")
    return CalendarEvent(
        calendar=owner,
        key=key,
        uid=occ.uid,
        source_id=key,
        title=_summary(block).strip(),
        start=occ.start,
        end=occ.end,
        all_day=occ.all_day,
        location=unescape_text(location.value).strip() if location else "",
        organizer=organizer,
        attendees=_attendees(block.all("ATTENDEE"), organizer_prop),
        status=_STATUSES.get(status.value.strip().upper(), "confirmed") if status else "confirmed",
        private=bool(klass and klass.value.strip().upper() in ("PRIVATE", "CONFIDENTIAL")),
    )


def _email(value: str) -> str:
    """An address without its `mailto:` prefix (any case), lower-cased."""
    value = value.strip()
    if value[:7].lower() == "mailto:":
        value = value[7:]
    return value.strip().lower()


def _attendees(props: Iterable[Prop], organizer: Prop | None) -> tuple[Attendee, ...]:
    """ATTENDEEs (one per address), the organizer flagged, and added as accepted if not listed."""
    organizer_email = _email(organizer.value) if organizer else ""
    people: dict[str, Attendee] = {}
    for prop in props:
        email = _email(prop.value)
        if not email or email in people:
            continue
        people[email] = Attendee(
            email=email,
            name=prop.params.get("CN", "").strip(),
            response=_RESPONSES.get(prop.params.get("PARTSTAT", "").strip().upper(), "needs-action"),
            is_resource=prop.params.get("CUTYPE", "").strip().upper() in ("RESOURCE", "ROOM"),
            is_organizer=email == organizer_email,
        )
    if organizer is not None and organizer_email and organizer_email not in people:
        name = organizer.params.get("CN", "").strip()
        people[organizer_email] = Attendee(organizer_email, name, "accepted", is_organizer=True)
    return tuple(people.values())
