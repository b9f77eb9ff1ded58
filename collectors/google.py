"""Google Workspace calendars through the real google-api-python-client, with domain-wide delegation.

One service account reads every staff member's calendar as that staff member (`with_subject`),
with the least-privilege scope `calendar.events.readonly`. Per calendar:

- a full sync lists the collection window (`timeMin`/`timeMax`, `singleEvents`, `showDeleted`),
  follows `nextPageToken`, and keeps the last page's `nextSyncToken` in the cursor;
- an incremental sync sends the `syncToken` alone; `410 fullSyncRequired` becomes a full resync;
- the cursor is JSON holding the sync token, the window it was taken for and when: once a day (or
  when the window grew) a bounded full resync collects the meetings that entered the window.

`sync_many` puts many calendars' incremental calls into one batch request (at most 50 parts, each
with its own bearer token); further pages continue individually; full syncs run on a bounded
thread pool. Every request gets its own `httplib2.Http`: a shared one mixes up responses
between threads.

Vendor errors become `CollectorError`s at this boundary: a token refused for one user is that
calendar's `AuthError`; rate limits are retried with jittered backoff honouring Retry-After, then
`ThrottledError`; `quotaExceeded` pauses the whole source until the next cycle; a reply we cannot
read is that calendar's `BadDataError`; connection failures are `SourceUnavailableError`.
"""

from __future__ import annotations

import functools
import json
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import google_auth_httplib2
import httplib2
from google.auth.exceptions import GoogleAuthError, RefreshError, TransportError
from google.oauth2 import service_account
from googleapiclient.discovery import build
from googleapiclient.errors import BatchError, HttpError
from googleapiclient.http import BatchHttpRequest

from collectors.base import CheckResult, occurrence_key
from revolving_door.errors import (
    AuthError,
    BadDataError,
    CollectorError,
    CursorExpiredError,
    SourceUnavailableError,
    ThrottledError,
)
from revolving_door.model import Attendee, CalendarEvent, CalendarRef, Response, SyncResult, TimeWindow

EVENTS_SCOPE = "https://www.googleapis.com/auth/calendar.events.readonly"
DIRECTORY_SCOPE = "https://www.googleapis.com/auth/admin.directory.user.readonly"
DEFAULT_ENDPOINT = "https://www.googleapis.com"
BATCH_LIMIT = 50
"""Google's advice for Calendar batches: at most 50 calls per batch request."""
SKIPPED_EVENT_TYPES = frozenset({"outOfOffice", "focusTime", "workingLocation"})
FIELDS = (
    "nextPageToken,nextSyncToken,items(id,iCalUID,status,summary,location,start,end,visibility,eventType,"
    "recurringEventId,originalStartTime,organizer(email),"
    "attendees(email,displayName,responseStatus,resource,organizer),attendeesOmitted)"
)
_RESPONSES: dict[str, Response] = {
    "needsAction": "needs-action",
    "accepted": "accepted",
    "tentative": "tentative",
    "declined": "declined",
}
_RATE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
_QUOTA_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded"})
_MALFORMED = object()


def _utcnow() -> datetime:
    """The current time, aware UTC."""
    return datetime.now(UTC)


def _rfc3339(value: datetime) -> str:
    """An aware datetime as RFC 3339 UTC with Z."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class GoogleDirectory:
    """List staff with the Admin SDK Directory API, called as `admin_email`, in `domain` or `customer`."""

    admin_email: str
    domain: str | None = None
    customer: str | None = None
    query: str | None = None


@dataclass(frozen=True)
class _Cursor:
    """What a Google cursor holds: the sync token, the window of its full sync, and when that was."""

    sync_token: str
    window_start: datetime
    window_end: datetime
    full_sync_at: datetime

    def dump(self) -> str:
        """The cursor as the JSON string the store keeps."""
        return json.dumps(
            {
                "v": 1,
                "sync_token": self.sync_token,
                "window_start": self.window_start.isoformat(),
                "window_end": self.window_end.isoformat(),
                "full_sync_at": self.full_sync_at.isoformat(),
            }
        )

    @classmethod
    def load(cls, text: str | None) -> _Cursor | None:
        """A stored cursor, or None when absent or unreadable (which means: full sync)."""
        if not text:
            return None
        try:
            raw = json.loads(text)
            out = cls(
                str(raw["sync_token"]),
                datetime.fromisoformat(raw["window_start"]),
                datetime.fromisoformat(raw["window_end"]),
                datetime.fromisoformat(raw["full_sync_at"]),
            )
        except (ValueError, KeyError, TypeError):
            return None
        if not out.sync_token or any(
            d.tzinfo is None for d in (out.window_start, out.window_end, out.full_sync_at)
        ):
            return None
        return out


@dataclass
class _Tally:
    """Per-calendar bookkeeping during one sync: requests made and warnings."""

    requests: int = 0
    warnings: list[str] = field(default_factory=list)


@dataclass
class _Changes:
    """Events and deletions accumulated over the pages of one listing."""

    upserts: dict[str, CalendarEvent] = field(default_factory=dict)
    deletions: dict[str, None] = field(default_factory=dict)


@dataclass
class _Job:
    """One incremental sync riding in a batch."""

    calendar: CalendarRef
    cursor: _Cursor
    tally: _Tally = field(default_factory=_Tally)
    attempts: int = 0
    refreshed: bool = False
    """Whether its token was already renewed after a 401 in this sync."""


@dataclass
class _Outcome:
    """What a unit of work on the pool produced: finished results and further work to schedule."""

    results: list[tuple[CalendarRef, SyncResult | CollectorError]] = field(default_factory=list)
    follow_ups: list[Callable[[], _Outcome]] = field(default_factory=list)


class GoogleCollector:
    """Staff calendars of one Google Workspace organisation, read through domain-wide delegation."""

    def __init__(
        self,
        name: str,
        *,
        service_account_info: dict[str, Any],
        users: Sequence[str] | None = None,
        directory: GoogleDirectory | None = None,
        calendar_ids: Sequence[str] = ("primary",),
        api_endpoint: str | None = None,
        timeout: float = 30,
        max_retries: int = 5,
        concurrency: int = 8,
        full_resync_every: timedelta = timedelta(days=1),
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = _utcnow,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        """Configure the source from a service account key; give exactly one of `users` or `directory`."""
        if (users is None) == (directory is None):
            raise ValueError("give exactly one of users or directory")
        self.name = name
        self._info = dict(service_account_info)
        self._users = tuple(u.strip().lower() for u in users) if users is not None else None
        self._directory = directory
        self._calendar_ids = tuple(calendar_ids) or ("primary",)
        base = (api_endpoint or DEFAULT_ENDPOINT).rstrip("/").removesuffix("/calendar/v3")
        self._base = base
        self._batch_uri = f"{base}/batch/calendar/v3"
        self._timeout = timeout
        self._max_retries = max_retries
        self._concurrency = max(1, concurrency)
        self._full_resync_every = full_resync_every
        self._sleep = sleep
        self._clock = clock
        self._jitter = jitter
        self._lock = threading.Lock()
        self._creds: dict[tuple[str, str], service_account.Credentials] = {}
        self._subject_locks: dict[tuple[str, str], threading.Lock] = {}
        self._blocked: tuple[CollectorError, datetime] | None = None
        self._key_error: str | None = None
        self._base_creds: dict[str, service_account.Credentials] = {}
        try:
            for scope in (EVENTS_SCOPE, DIRECTORY_SCOPE):
                # google-auth leaves this constructor unannotated
                self._base_creds[scope] = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
                    self._info, scopes=[scope]
                )
        except (ValueError, KeyError, TypeError, GoogleAuthError) as exc:
            self._key_error = f"the service account key cannot be used: {exc}"
        self._service: Any = build(
            "calendar",
            "v3",
            http=httplib2.Http(proxy_info=None, timeout=timeout),
            static_discovery=True,
            cache_discovery=False,
            client_options={"api_endpoint": f"{base}/calendar/v3/"},
        )
        self._admin: Any = None

    # -- the Collector protocol ---------------------------------------------------------------

    def calendars(self) -> list[CalendarRef]:
        """One calendar per staff member and calendar id; lists the directory when configured so."""
        users = self._users if self._users is not None else self._list_directory()
        out: list[CalendarRef] = []
        for user in users:
            for cid in self._calendar_ids:
                cal_id = user if cid == "primary" else f"{user}/{cid}"
                out.append(CalendarRef(source=self.name, owner=user, id=cal_id))
        return out

    def sync(self, calendar: CalendarRef, cursor: str | None, window: TimeWindow) -> SyncResult:
        """Changes to `calendar` since `cursor` (None, expired or due: a bounded full resync)."""
        state = _Cursor.load(cursor)
        tally = _Tally()
        if state is None or self._full_sync_due(state, window):
            return self._full_sync(calendar, window, tally)
        try:
            return self._incremental(calendar, state, window, tally)
        except CursorExpiredError:
            return self._full_sync(calendar, window, tally)

    def sync_many(
        self, requests: Sequence[tuple[CalendarRef, str | None]], window: TimeWindow
    ) -> Iterator[tuple[CalendarRef, SyncResult | CollectorError]]:
        """Sync many calendars: incremental calls batched 50 per HTTP request, full syncs concurrently."""
        with self._lock:
            self._blocked = None  # a new cycle: a quota pause or an outage of the last cycle is over
        jobs: list[_Job] = []
        fulls: list[CalendarRef] = []
        for calendar, cursor in requests:
            state = _Cursor.load(cursor)
            if state is None or self._full_sync_due(state, window):
                fulls.append(calendar)
            else:
                jobs.append(_Job(calendar, state))
        with ThreadPoolExecutor(
            max_workers=self._concurrency, thread_name_prefix=f"{self.name}-sync"
        ) as pool:
            pending: set[Future[_Outcome]] = set()
            for calendar in fulls:
                pending.add(
                    pool.submit(self._guarded, calendar, self._full_sync_work(calendar, window, _Tally()))
                )
            for start in range(0, len(jobs), BATCH_LIMIT):
                chunk = jobs[start : start + BATCH_LIMIT]
                pending.add(pool.submit(self._batch, chunk, window, 0.0))
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    outcome = future.result()
                    yield from outcome.results
                    for work in outcome.follow_ups:
                        pending.add(pool.submit(work))

    def check(self) -> list[CheckResult]:
        """Verify the key, a token for one user and one list call, with advice on what to fix."""
        if self._key_error is not None:
            return [
                CheckResult(
                    False,
                    "service account key",
                    f"{self._key_error}. Download a new JSON key for the service account "
                    "(Google Cloud console → IAM & Admin → Service accounts → Keys).",
                )
            ]
        client_id = self._info.get("client_id", "?")
        out = [
            CheckResult(
                True, f"service account key for {self._info.get('client_email')} (client ID {client_id})"
            )
        ]
        if self._users is not None:
            users: Sequence[str] = self._users
        else:
            try:
                users = self._list_directory()
            except CollectorError as exc:
                out.append(CheckResult(False, "list staff with the Directory API", str(exc)))
                return out
            out.append(CheckResult(True, f"list staff with the Directory API ({len(users)} users)"))
        if not users:
            out.append(
                CheckResult(False, "staff to watch", "No users are configured or listed: nothing to read.")
            )
            return out
        calendar = self.calendars()[0]
        try:
            self._credentials(calendar.owner, EVENTS_SCOPE, _Tally())
        except CollectorError as exc:
            out.append(CheckResult(False, f"token for {calendar.owner}", str(exc)))
            return out
        out.append(CheckResult(True, f"token for {calendar.owner}"))
        now = self._clock()
        try:
            self._execute(
                calendar.owner,
                EVENTS_SCOPE,
                lambda svc: svc.events().list(
                    calendarId=self._google_id(calendar),
                    maxResults=1,
                    singleEvents=True,
                    timeMin=_rfc3339(now),
                    fields="items(id)",
                ),
                _Tally(),
                label=calendar.owner,
            )
        except CollectorError as exc:
            out.append(CheckResult(False, f"read the calendar of {calendar.owner}", str(exc)))
            return out
        out.append(CheckResult(True, f"read the calendar of {calendar.owner}"))
        return out

    # -- full and incremental syncs -------------------------------------------------------------

    def _full_sync_due(self, state: _Cursor, window: TimeWindow) -> bool:
        """A bounded full resync is due: once per interval, or when the window grew beyond the cursor's."""
        now = self._clock()
        return (
            now - state.full_sync_at >= self._full_resync_every
            or window.start < state.window_start
            or window.end > state.window_end + self._full_resync_every
        )

    def _full_sync(self, calendar: CalendarRef, window: TimeWindow, tally: _Tally) -> SyncResult:
        """Every occurrence in the window, and a fresh cursor."""
        params: dict[str, Any] = {
            "calendarId": self._google_id(calendar),
            "timeMin": _rfc3339(window.start),
            "timeMax": _rfc3339(window.end),
            "singleEvents": True,
            "showDeleted": True,
            "maxResults": 2500,
            "fields": FIELDS,
        }
        started = self._clock()
        changes = _Changes()
        token = self._pages(calendar, params, window, changes, tally, full=True)
        cursor = _Cursor(token, window.start, window.end, started)
        return SyncResult(
            upserts=tuple(changes.upserts.values()),
            next_cursor=cursor.dump(),
            full_resync=True,
            warnings=tuple(tally.warnings),
            requests=tally.requests,
        )

    def _incremental(
        self,
        calendar: CalendarRef,
        state: _Cursor,
        window: TimeWindow,
        tally: _Tally,
        first_page: dict[str, Any] | None = None,
    ) -> SyncResult:
        """What changed since the sync token (raises CursorExpiredError on 410)."""
        params: dict[str, Any] = {
            "calendarId": self._google_id(calendar),
            "syncToken": state.sync_token,
            "singleEvents": True,
            "showDeleted": True,
            "maxResults": 2500,
            "fields": FIELDS,
        }
        changes = _Changes()
        token = self._pages(calendar, params, window, changes, tally, full=False, first_page=first_page)
        cursor = _Cursor(token, state.window_start, state.window_end, state.full_sync_at)
        return SyncResult(
            upserts=tuple(changes.upserts.values()),
            deletions=tuple(changes.deletions),
            next_cursor=cursor.dump(),
            warnings=tuple(tally.warnings),
            requests=tally.requests,
        )

    def _pages(
        self,
        calendar: CalendarRef,
        params: dict[str, Any],
        window: TimeWindow,
        changes: _Changes,
        tally: _Tally,
        *,
        full: bool,
        first_page: dict[str, Any] | None = None,
    ) -> str:
        """Follow nextPageToken to the last page, absorbing items; return its nextSyncToken."""
        page = first_page
        page_token: str | None = None
        seen: set[str] = set()
        while True:
            if page is None:
                query = {**params, **({"pageToken": page_token} if page_token else {})}
                page = self._execute(
                    calendar.owner, EVENTS_SCOPE, _lister("events", query), tally, label=calendar.owner
                )
            self._absorb(calendar, page, window, changes, tally, full=full)
            next_page = page.get("nextPageToken")
            if isinstance(next_page, str) and next_page:
                if next_page in seen:
                    raise BadDataError(f"Google repeated page token {next_page!r}", calendar=calendar.owner)
                seen.add(next_page)
                page_token, page = next_page, None
                continue
            sync_token = page.get("nextSyncToken")
            if not isinstance(sync_token, str) or not sync_token:
                raise BadDataError("Google's last page carried no nextSyncToken", calendar=calendar.owner)
            return sync_token

    def _absorb(
        self,
        calendar: CalendarRef,
        page: dict[str, Any],
        window: TimeWindow,
        changes: _Changes,
        tally: _Tally,
        *,
        full: bool,
    ) -> None:
        """Turn one page's items into upserts and deletions."""
        items = page.get("items", [])
        if not isinstance(items, list):
            raise BadDataError("Google's events page has no item list", calendar=calendar.owner)
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                tally.warnings.append(f"{calendar.owner}: skipped an item without an id")
                continue
            source_id: str = item["id"]
            event: CalendarEvent | None = None
            # A cancelled item is only guaranteed its id: with nothing more it is a deletion; with its
            # data (a cancelled meeting still on an attendee's calendar) it is kept as cancelled.
            bare = item.get("status") == "cancelled" and not (item.get("start") and item.get("iCalUID"))
            if not bare and item.get("eventType", "default") not in SKIPPED_EVENT_TYPES:
                try:
                    event = _to_event(calendar.owner, item, tally)
                except (ValueError, KeyError, TypeError, AttributeError) as exc:
                    tally.warnings.append(f"{calendar.owner}: skipped event {source_id}: unreadable ({exc})")
                    continue
            if event is not None and window.overlaps(event.start, event.end):
                changes.upserts[source_id] = event
                changes.deletions.pop(source_id, None)
            else:
                changes.upserts.pop(source_id, None)
                if not full:
                    changes.deletions[source_id] = None

    # -- batching ----------------------------------------------------------------------------------

    def _batch(self, jobs: list[_Job], window: TimeWindow, delay: float) -> _Outcome:
        """One batch request carrying up to 50 calendars' incremental first pages."""
        if delay > 0:
            self._sleep(delay)
        outcome = _Outcome()
        ready: list[tuple[_Job, str]] = []
        for job in jobs:
            try:
                self._raise_if_blocked(job.calendar.owner)
                creds = self._credentials(job.calendar.owner, EVENTS_SCOPE, job.tally)
                ready.append((job, str(creds.token)))
            except CollectorError as exc:
                outcome.results.append((job.calendar, exc))
        if not ready:
            return outcome
        replies: dict[str, tuple[Any, HttpError | None]] = {}

        def collect(request_id: str, response: Any, exception: HttpError | None) -> None:
            replies[request_id] = (response, exception)

        attempt = 0
        while True:
            batch = BatchHttpRequest(callback=collect, batch_uri=self._batch_uri)
            for index, (job, token) in enumerate(ready):
                query = {
                    "calendarId": self._google_id(job.calendar),
                    "syncToken": job.cursor.sync_token,
                    "singleEvents": True,
                    "showDeleted": True,
                    "maxResults": 2500,
                    "fields": FIELDS,
                }
                request = self._request(_lister("events", query))
                # The bearer token goes in the part's own headers (not an AuthorizedHttp) so that the
                # library never refreshes credentials inside the batch, where a refused token would
                # abort every other calendar's call.
                request.headers["authorization"] = f"Bearer {token}"
                request.http = httplib2.Http(proxy_info=None, timeout=self._timeout)
                postproc = request.postproc
                request.postproc = functools.partial(_safe_postproc, postproc)
                batch.add(request, request_id=str(index))
            for job, _ in ready:
                job.tally.requests += 1
            try:
                batch.execute(http=httplib2.Http(proxy_info=None, timeout=self._timeout))
                break
            except HttpError as exc:
                error, retry_after = self._classify(exc, "batch request")
                if retry_after is None or attempt >= self._max_retries:
                    outcome.results.extend((job.calendar, error) for job, _ in ready)
                    return outcome
                self._sleep(self._backoff(attempt, retry_after))
                attempt += 1
            except BatchError:
                # The batch reply could not be read: fall back to one request per calendar.
                for job, _ in ready:
                    outcome.follow_ups.append(self._incremental_work(job, window, None))
                return outcome
            except (OSError, httplib2.HttpLib2Error) as exc:
                if attempt >= self._max_retries:
                    error = self._unreachable(exc, "batch request")
                    outcome.results.extend((job.calendar, error) for job, _ in ready)
                    return outcome
                self._sleep(self._backoff(attempt, None))
                attempt += 1
        retry: list[_Job] = []
        retry_delay = 0.0
        for index, (job, _) in enumerate(ready):
            response, exception = replies.get(str(index), (None, None))
            owner = job.calendar.owner
            if exception is None and isinstance(response, dict):
                outcome.follow_ups.append(self._incremental_work(job, window, response))
                continue
            if exception is None:
                outcome.results.append(
                    (
                        job.calendar,
                        BadDataError("Google returned an events page that is not valid JSON", calendar=owner),
                    )
                )
                continue
            error, retry_after = self._classify(exception, owner)
            if exception.resp.status == 401 and not job.refreshed:
                # The token was revoked or expired early: fetch a new one and ride the next batch.
                self._forget_token(owner, EVENTS_SCOPE)
                job.refreshed = True
                retry.append(job)
            elif isinstance(error, CursorExpiredError):
                outcome.follow_ups.append(
                    self._guarded_work(job.calendar, self._full_sync_work(job.calendar, window, job.tally))
                )
            elif retry_after is not None and job.attempts < self._max_retries:
                retry_delay = max(retry_delay, self._backoff(job.attempts, retry_after))
                job.attempts += 1
                retry.append(job)
            else:
                outcome.results.append((job.calendar, error))
        if retry:
            outcome.follow_ups.append(lambda: self._batch(retry, window, retry_delay))
        return outcome

    def _incremental_work(
        self, job: _Job, window: TimeWindow, first_page: dict[str, Any] | None
    ) -> Callable[[], _Outcome]:
        """Work for the pool: finish one incremental sync (falls back to a full sync on 410)."""

        def run() -> SyncResult:
            try:
                return self._incremental(job.calendar, job.cursor, window, job.tally, first_page)
            except CursorExpiredError:
                return self._full_sync(job.calendar, window, job.tally)

        return self._guarded_work(job.calendar, run)

    def _full_sync_work(
        self, calendar: CalendarRef, window: TimeWindow, tally: _Tally
    ) -> Callable[[], SyncResult]:
        """A full sync as a callable."""
        return lambda: self._full_sync(calendar, window, tally)

    def _guarded_work(self, calendar: CalendarRef, work: Callable[[], SyncResult]) -> Callable[[], _Outcome]:
        """Work for the pool whose failure is confined to its calendar."""
        return lambda: self._guarded(calendar, work)

    @staticmethod
    def _guarded(calendar: CalendarRef, work: Callable[[], SyncResult]) -> _Outcome:
        """Run `work`, turning a CollectorError into that calendar's result."""
        try:
            return _Outcome(results=[(calendar, work())])
        except CollectorError as exc:
            if exc.calendar is None:
                exc.calendar = calendar.owner
            return _Outcome(results=[(calendar, exc)])

    # -- requests, credentials, errors ------------------------------------------------------------

    def _google_id(self, calendar: CalendarRef) -> str:
        """The Google calendar id of a CalendarRef (`owner` for primary, else the part after `/`)."""
        owner, sep, cid = calendar.id.partition("/")
        return cid if sep else owner

    def _request(self, make: Callable[[Any], Any], admin: bool = False) -> Any:
        """An HttpRequest made from the (shared, never executed-through) service object."""
        with self._lock:
            return make(self._admin_service() if admin else self._service)

    def _admin_service(self) -> Any:
        """The Admin SDK Directory service (built on first use; the caller holds the lock)."""
        if self._admin is None:
            self._admin = build(
                "admin",
                "directory_v1",
                http=httplib2.Http(proxy_info=None, timeout=self._timeout),
                static_discovery=True,
                cache_discovery=False,
                client_options={"api_endpoint": f"{self._base}/"},
            )
        return self._admin

    def _credentials(self, subject: str, scope: str, tally: _Tally) -> service_account.Credentials:
        """Valid delegated credentials for `subject` (one token request per subject and hour)."""
        if self._key_error is not None:
            raise AuthError(self._key_error, calendar=subject)
        key = (subject, scope)
        with self._lock:
            creds = self._creds.get(key)
            if creds is None:
                creds = self._base_creds[scope].with_subject(subject)  # type: ignore[no-untyped-call]
                self._creds[key] = creds
            subject_lock = self._subject_locks.setdefault(key, threading.Lock())
        with subject_lock:
            if not creds.valid:
                tally.requests += 1
                http = httplib2.Http(proxy_info=None, timeout=self._timeout)
                try:
                    creds.refresh(google_auth_httplib2.Request(http))
                except RefreshError as exc:
                    raise AuthError(self._explain_refresh(exc, subject, scope), calendar=subject) from exc
                except TransportError as exc:
                    raise SourceUnavailableError(
                        f"cannot reach Google's token endpoint for {subject}: {exc}", calendar=subject
                    ) from exc
        return creds

    def _forget_token(self, subject: str, scope: str) -> None:
        """Drop a subject's token so that the next call fetches a new one."""
        with self._lock:
            self._creds.pop((subject, scope), None)

    def _explain_refresh(self, exc: RefreshError, subject: str, scope: str) -> str:
        """A refused token request in plain words."""
        text = str(exc.args[0] if exc.args else exc)
        client_id = self._info.get("client_id", "?")
        if "unauthorized_client" in text or "access_denied" in text:
            return (
                f"Google refused a token for {subject}: the service account (client ID {client_id}) "
                f"is not authorised for {scope} in domain-wide delegation. In the Google Admin "
                "console, open Security → Access and data control → API controls → Domain-wide "
                f"delegation and add that client ID with that scope ({text})"
            )
        if "Invalid email or User ID" in text or ("invalid_grant" in text and "user" in text.lower()):
            return (
                f"Google refused a token for {subject}: user not found or suspended in Google Workspace "
                f"({text})"
            )
        if "invalid_client" in text or "Invalid JWT Signature" in text:
            return (
                "Google refused the service account key (deleted, disabled or wrong key?): "
                f"download a new JSON key ({text})"
            )
        return f"Google refused a token for {subject}: {text}"

    def _raise_if_blocked(self, label: str) -> None:
        """Refuse to call Google while the source is paused (quota) or down, for this cycle."""
        with self._lock:
            blocked = self._blocked
            if blocked is not None and self._clock() >= blocked[1]:
                self._blocked = blocked = None
        if blocked is None:
            return
        error = blocked[0]
        if isinstance(error, ThrottledError):
            raise ThrottledError(str(error), calendar=label, retry_after=error.retry_after)
        raise SourceUnavailableError(str(error), calendar=label)

    def _block(self, error: CollectorError, seconds: float) -> None:
        """Pause the whole source until the next cycle (or `seconds`, for callers of plain `sync`)."""
        with self._lock:
            self._blocked = (error, self._clock() + timedelta(seconds=seconds))

    def _execute(
        self, subject: str, scope: str, make: Callable[[Any], Any], tally: _Tally, *, label: str
    ) -> dict[str, Any]:
        """Run one API call as `subject` on a fresh Http, retrying rate limits and 5xx; convert errors."""
        attempt = 0
        while True:
            self._raise_if_blocked(label)
            creds = self._credentials(subject, scope, tally)
            request = self._request(make, admin=scope == DIRECTORY_SCOPE)
            request.http = google_auth_httplib2.AuthorizedHttp(
                creds, http=httplib2.Http(proxy_info=None, timeout=self._timeout)
            )
            tally.requests += 1
            try:
                result = request.execute(num_retries=0)
            except HttpError as exc:
                error, retry_after = self._classify(exc, label)
                if retry_after is None or attempt >= self._max_retries:
                    raise error from exc
                self._sleep(self._backoff(attempt, retry_after))
                attempt += 1
                continue
            except RefreshError as exc:
                raise AuthError(self._explain_refresh(exc, subject, scope), calendar=label) from exc
            except TransportError as exc:
                raise SourceUnavailableError(f"cannot reach Google: {exc}", calendar=label) from exc
            except ValueError as exc:  # the JSON reply could not be decoded
                raise BadDataError(
                    f"Google returned a reply that is not valid JSON: {exc}", calendar=label
                ) from exc
            except (OSError, httplib2.HttpLib2Error) as exc:
                if attempt >= self._max_retries:
                    raise self._unreachable(exc, label) from exc
                self._sleep(self._backoff(attempt, None))
                attempt += 1
                continue
            if not isinstance(result, dict):
                raise BadDataError("Google returned a reply that is not a JSON object", calendar=label)
            return cast(dict[str, Any], result)

    def _unreachable(self, exc: BaseException, label: str) -> SourceUnavailableError:
        """A connection failure after retries: the source is down for the rest of this cycle."""
        error = SourceUnavailableError(f"cannot reach Google at {self._base}: {exc!r}", calendar=label)
        self._block(error, 60)
        return error

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before retry number `attempt + 1`: jittered exponential, at least Retry-After."""
        return max(retry_after or 0.0, self._jitter() * min(32.0, 2.0**attempt))

    def _classify(self, exc: HttpError, label: str) -> tuple[CollectorError, float | None]:
        """An HttpError as our error, and the Retry-After (0 when retryable without one; None: final)."""
        status = int(exc.resp.status)
        reasons, message = _error_reasons(exc)
        retry_after = _retry_after(exc)
        if status == 410:
            return CursorExpiredError("Google's sync token expired: full resync", calendar=label), None
        if status == 429 or (status == 403 and reasons & _RATE_REASONS):
            throttled = ThrottledError(
                f"Google rate limit for {label} ({', '.join(sorted(reasons)) or status})",
                calendar=label,
                retry_after=retry_after,
            )
            return throttled, retry_after or 0.0
        if status == 403 and reasons & _QUOTA_REASONS:
            paused = ThrottledError(
                f"Google Calendar quota exceeded: source paused until the next cycle ({message})",
                calendar=label,
                retry_after=retry_after,
            )
            self._block(paused, retry_after or 60)
            return paused, None
        if status >= 500:
            return SourceUnavailableError(
                f"Google answered {status} for {label}: {message}", calendar=label
            ), (retry_after or 0.0)
        if status == 403 and reasons & {"accessNotConfigured", "SERVICE_DISABLED"}:
            return AuthError(
                "the Google Calendar API is not enabled in the service account's Google Cloud "
                "project: enable it (APIs & Services → Library → Google Calendar API), then retry "
                f"({message})",
                calendar=label,
            ), None
        if status in (401, 403):
            return AuthError(
                f"Google refused access for {label} ({status}: {message}); check that domain-wide "
                f"delegation grants the scope {EVENTS_SCOPE}",
                calendar=label,
            ), None
        if status == 404:
            return AuthError(
                f"calendar not found for {label}: the user or the calendar id does not exist, or is "
                f"not shared with them ({message})",
                calendar=label,
            ), None
        return BadDataError(
            f"Google refused the request for {label} ({status}: {message})", calendar=label
        ), None

    def _list_directory(self) -> list[str]:
        """Staff emails from the Admin SDK Directory API (suspended users left out)."""
        directory = self._directory
        if directory is None:
            return []
        params: dict[str, Any] = {"maxResults": 500, "fields": "nextPageToken,users(primaryEmail,suspended)"}
        if directory.customer:
            params["customer"] = directory.customer
        else:
            params["domain"] = directory.domain
        if directory.query:
            params["query"] = directory.query
        users: list[str] = []
        page_token: str | None = None
        while True:
            query = {**params, **({"pageToken": page_token} if page_token else {})}
            try:
                page = self._execute(
                    directory.admin_email,
                    DIRECTORY_SCOPE,
                    _lister("users", query),
                    _Tally(),
                    label=directory.admin_email,
                )
            except AuthError as exc:
                raise AuthError(
                    f"cannot list users with the Directory API as {directory.admin_email}: {exc}. "
                    f"The Admin SDK API must be enabled, domain-wide delegation must grant "
                    f"{DIRECTORY_SCOPE}, and admin_email must be an administrator who may read users"
                ) from exc
            except CollectorError as exc:
                exc.calendar = None
                raise
            for user in page.get("users", []) or []:
                if (
                    isinstance(user, dict)
                    and isinstance(user.get("primaryEmail"), str)
                    and not user.get("suspended")
                ):
                    users.append(user["primaryEmail"].strip().lower())
            page_token = page.get("nextPageToken") or None
            if not page_token:
                return users


def _lister(resource: str, query: dict[str, Any]) -> Callable[[Any], Any]:
    """A request factory: `service.<resource>().list(**query)`."""

    def make(service: Any) -> Any:
        return getattr(service, resource)().list(**query)

    return make


def _safe_postproc(postproc: Callable[[Any, bytes], Any], resp: Any, content: bytes) -> Any:
    """The library's JSON post-processing, with an unreadable reply turned into a marker, not an exception."""
    try:
        return postproc(resp, content)
    except ValueError:
        return _MALFORMED


def _error_reasons(exc: HttpError) -> tuple[frozenset[str], str]:
    """The `reason`s of a Google JSON error (errors[] and details[]) and its message."""
    try:
        raw = exc.content.decode("utf-8") if isinstance(exc.content, bytes) else str(exc.content)
        error = json.loads(raw).get("error", {})
    except (ValueError, AttributeError):
        return frozenset(), str(getattr(exc.resp, "reason", "") or "")
    if not isinstance(error, dict):
        return frozenset(), str(error)
    reasons = {
        str(e.get("reason")) for e in error.get("errors", []) or [] if isinstance(e, dict) and e.get("reason")
    }
    reasons |= {
        str(d.get("reason"))
        for d in error.get("details", []) or []
        if isinstance(d, dict) and d.get("reason")
    }
    return frozenset(reasons), str(error.get("message", ""))


def _retry_after(exc: HttpError) -> float | None:
    """The Retry-After header of an error reply, in seconds (None when absent or unreadable)."""
    value = exc.resp.get("retry-after") if hasattr(exc.resp, "get") else None
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _when(value: Any) -> tuple[datetime, bool]:
    """A Google start/end object as aware UTC, and whether it is an all-day date."""
    if not isinstance(value, dict):
        raise ValueError("missing start or end")
    if value.get("dateTime"):
        moment = datetime.fromisoformat(str(value["dateTime"]).replace("Z", "+00:00"))
        if moment.tzinfo is None:
            tz_name = value.get("timeZone")
            try:
                moment = moment.replace(tzinfo=ZoneInfo(tz_name) if tz_name else UTC)
            except (ZoneInfoNotFoundError, ValueError):
                moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC), False
    if value.get("date"):
        day = datetime.fromisoformat(str(value["date"])).date()
        return datetime(day.year, day.month, day.day, tzinfo=UTC), True
    raise ValueError("start or end has neither date nor dateTime")


def _to_event(owner: str, item: dict[str, Any], tally: _Tally) -> CalendarEvent:
    """One Google event resource as a CalendarEvent of `owner`'s calendar."""
    start, all_day = _when(item.get("start"))
    end, _ = _when(item.get("end") or item.get("start"))
    uid = str(item.get("iCalUID") or item["id"])
    occurrence: str | None = None
    if item.get("recurringEventId"):
        original, _ = _when(item.get("originalStartTime") or item.get("start"))
        occurrence = original.date().isoformat()
    organizer = str((item.get("organizer") or {}).get("email") or "").strip().lower()
    attendees: list[Attendee] = []
    for raw in item.get("attendees") or []:
        address = str(raw.get("email") or "").strip().lower()
        if not address:
            continue
        attendees.append(
            Attendee(
                email=address,
                name=str(raw.get("displayName") or ""),
                response=_RESPONSES.get(str(raw.get("responseStatus")), "needs-action"),
                is_resource=bool(raw.get("resource")),
                is_organizer=bool(raw.get("organizer")) or (bool(organizer) and address == organizer),
            )
        )
    if attendees and organizer and all(a.email != organizer for a in attendees):
        attendees.insert(0, Attendee(email=organizer, response="accepted", is_organizer=True))
    if item.get("attendeesOmitted"):
        tally.warnings.append(f"{owner}: event {item['id']}: Google omitted part of the attendee list")
    status = item.get("status")
    return CalendarEvent(
        calendar=owner,
        key=occurrence_key(uid, occurrence),
        uid=uid,
        source_id=str(item["id"]),
        title=str(item.get("summary") or ""),
        start=start,
        end=max(end, start),
        all_day=all_day,
        location=str(item.get("location") or ""),
        organizer=organizer,
        attendees=tuple(attendees),
        status=status if status in ("tentative", "cancelled") else "confirmed",
        private=item.get("visibility") in ("private", "confidential"),
    )
