"""Microsoft 365 calendars through msal (client credentials) and Microsoft Graph delta queries.

How a mailbox is read
    `GET /v1.0/users/{id}/calendarView/delta?startDateTime=…&endDateTime=…` with
    `Prefer: odata.maxpagesize=N, outlook.timezone="UTC"`, following `@odata.nextLink` until an
    `@odata.deltaLink`. The delta bounds are the collection window widened to whole UTC days, so
    a window that moves by minutes keeps its cursor; when the widened bounds change (once a day)
    or the last full sync is older than a day, the cursor is re-initialised with a full sync so
    meetings that entered the window are collected. `@removed` items, and items that left the
    window, become deletions by Graph event id (our `source_id`). `410 Gone` or
    `syncStateNotFound` on a cursor is a full resync (`full_resync=True`), never "no changes".

The cursor
    JSON: `{"v": 1, "delta": deltaLink, "start", "end": delta bounds, "full_at": last full sync,
    "series": {seriesMasterId: iCalUId}}`. Anything unreadable is treated as no cursor.

Keys (DESIGN.md: one key per meeting across every calendar that holds it)
    Graph's `iCalUId` is the meeting's UID for a `singleInstance`, but differs per occurrence in
    a calendarView. For an `occurrence` or `exception` the UID is the series master's `iCalUId`,
    fetched once per series with `GET /users/{id}/events/{seriesMasterId}?$select=iCalUId` and
    remembered in the collector and in the cursor. `CalendarEvent.uid` is that series UID and the
    key is `UID@YYYY-MM-DD`, the date being the occurrence's `originalStart` (its slot in the
    series, stable when one occurrence is moved) in UTC, or its start when Graph omits it. Every
    attendee's mailbox holds the same series UID and the same slots, so the keys agree.

Exchange habits handled
    The organizer is not in `attendees`: added as an attendee (`is_organizer`). The mailbox
    owner's own answer (`responseStatus.response`) replaces theirs. `isCancelled` → cancelled;
    sensitivity private/confidential → private; attendee type resource → `is_resource`;
    `isAllDay` → `all_day` at 00:00 UTC.

Cost and faults
    `sync_many` sends every calendar's next request through `POST /v1.0/$batch` (20 per batch,
    at most 4 per mailbox per round); a steady-state poll is one API call per calendar and one
    HTTP round trip per 20 calendars. 429/503/504, for a whole request or a batch item, are retried
    after `Retry-After` (or an exponential backoff) up to `max_retries` times. A mailbox that is
    missing, disabled or unlicensed is an error of that calendar only.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast
from urllib.parse import quote, urlencode

import msal
import requests

from collectors.base import CheckResult
from revolving_door.errors import (
    AuthError,
    BadDataError,
    CollectorError,
    SourceUnavailableError,
    ThrottledError,
)
from revolving_door.model import Attendee, CalendarEvent, CalendarRef, Response, SyncResult, TimeWindow

GRAPH_SCOPE_SUFFIX = "/.default"
BATCH_LIMIT = 20
PER_MAILBOX_LIMIT = 4
RETRY_STATUSES = frozenset({429, 503, 504})
RESYNC_CODES = frozenset({"syncStateNotFound", "resyncRequired", "SyncStateNotFound", "syncStateInvalid"})
MAILBOX_CODES = frozenset(
    {
        "MailboxNotEnabledForRESTAPI",
        "MailboxNotSupportedForRESTAPI",
        "ErrorItemNotFound",
        "ErrorInvalidUser",
        "ErrorNonExistentMailbox",
        "ErrorMailboxNotEnabled",
        "ErrorAccountDisabled",
        "ResourceNotFound",
        "Request_ResourceNotFound",
        "inactiveMailbox",
    }
)
RESYNC_AFTER = timedelta(days=1)

_RESPONSES: dict[str, Response] = {
    "accepted": "accepted",
    "organizer": "accepted",
    "tentativelyAccepted": "tentative",
    "declined": "declined",
    "none": "needs-action",
    "notResponded": "needs-action",
}

_AADSTS_ADVICE: dict[str, str] = {
    "7000215": "the client secret is wrong: put the secret's Value (not its Secret ID) from the app "
    "registration's 'Certificates & secrets' into the environment variable",
    "7000222": "the client secret has expired: create a new one under 'Certificates & secrets' "
    "and update the environment variable",
    "700016": "no application with this client_id exists in this tenant: check client_id and tenant_id, "
    "and that an administrator of this tenant has consented to the application",
    "90002": "the tenant was not found: check tenant_id (the directory GUID or yourdomain.onmicrosoft.com)",
    "900023": "tenant_id is not a valid tenant: use the directory GUID or yourdomain.onmicrosoft.com",
    "65001": "admin consent is missing: a Global Administrator must grant admin consent for the "
    "application's Calendars.Read (or Calendars.ReadBasic.All) application permission",
    "700027": "the certificate was refused: upload its public part to the app registration and check "
    "certificate_thumbprint",
    "7000112": "the application is disabled in this tenant: an administrator must enable it",
    "50034": "the account does not exist in this tenant: check tenant_id",
}

_PERMISSION_ADVICE = (
    "the application may not read calendars: in Entra ID → App registrations → API permissions add the "
    "Microsoft Graph *application* permission Calendars.Read (delta queries; Calendars.ReadBasic.All is "
    "enough for plain event reads) and press 'Grant admin consent'; an Exchange application access "
    "policy may also exclude this mailbox"
)


def _now() -> datetime:
    """The current time, aware UTC."""
    return datetime.now(UTC)


def advice_for(error: Mapping[str, Any] | str) -> str:
    """Plain-language advice for an msal error dict or an error text, from its AADSTS code."""
    text = error if isinstance(error, str) else f"{error.get('error', '')} {error.get('error_description', '')}"
    for code in re.findall(r"AADSTS(\d+)", text):
        if code in _AADSTS_ADVICE:
            return _AADSTS_ADVICE[code]
    if "invalid_client" in text:
        return "the client credentials were refused: check client_id and the secret or certificate"
    lowered = text.lower()
    if (
        "invalid_tenant" in text
        or "authority configuration" in lowered
        or ("tenant" in lowered and "not found" in lowered)
    ):
        return _AADSTS_ADVICE["90002"]
    return "check tenant_id, client_id and the credentials of the app registration"


@dataclass(frozen=True)
class _Reply:
    """One Graph answer (a plain response or a $batch item)."""

    status: int
    headers: Mapping[str, str]
    body: Any

    @property
    def code(self) -> str:
        """Graph's error code, or empty."""
        err = self.body.get("error") if isinstance(self.body, dict) else None
        return str(err.get("code", "")) if isinstance(err, dict) else ""

    @property
    def message(self) -> str:
        """Graph's error message, or empty."""
        err = self.body.get("error") if isinstance(self.body, dict) else None
        return str(err.get("message", "")) if isinstance(err, dict) else ""

    def retry_after(self) -> float | None:
        """The Retry-After header in seconds, if given."""
        for k, v in self.headers.items():
            if k.lower() == "retry-after":
                try:
                    return max(0.0, float(v))
                except ValueError:
                    return None
        return None


@dataclass(frozen=True)
class _Call:
    """One Graph GET to make: `url` is absolute; `mailbox` is whose quota it spends."""

    id: str
    mailbox: str
    url: str


@dataclass
class _State:
    """A decoded cursor."""

    delta: str
    start: datetime
    end: datetime
    full_at: datetime
    series: dict[str, str]


@dataclass
class _Job:
    """One calendar being synced by `sync_many`."""

    calendar: CalendarRef
    state: _State | None
    url: str = ""
    full: bool = True
    items: list[dict[str, Any]] = field(default_factory=list)
    delta: str = ""
    error: CollectorError | None = None
    requests: int = 0
    warnings: list[str] = field(default_factory=list)
    series: dict[str, str] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        """Whether paging has finished (or failed)."""
        return self.error is not None or bool(self.delta)


class MicrosoftCollector:
    """Every configured Microsoft 365 mailbox's calendar, through Graph delta queries and $batch."""

    def __init__(
        self,
        name: str,
        *,
        tenant_id: str,
        client_id: str,
        client_credential: str | Mapping[str, str],
        users: Sequence[str] | None = None,
        group_id: str | None = None,
        authority_host: str = "https://login.microsoftonline.com",
        graph_endpoint: str = "https://graph.microsoft.com",
        page_size: int = 100,
        timeout: float = 30.0,
        max_retries: int = 5,
        concurrency: int = 8,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        """Configure the source for one tenant and app registration; give exactly one of `users` or `group_id`."""
        if (users is None) == (group_id is None):
            raise ValueError("give exactly one of users or group_id")
        self.name = name
        self._tenant_id = tenant_id
        self._client_id = client_id
        self._credential: str | dict[str, str] = (
            client_credential if isinstance(client_credential, str) else dict(client_credential)
        )
        self._users = list(users) if users is not None else None
        self._group_id = group_id
        self._authority = f"{authority_host.rstrip('/')}/{tenant_id}"
        self._graph = graph_endpoint.rstrip("/")
        self._base = f"{self._graph}/v1.0"
        self._scope = f"{self._graph}{GRAPH_SCOPE_SUFFIX}"
        self._page_size = page_size
        self._timeout = timeout
        self._max_retries = max_retries
        self._concurrency = max(1, concurrency)
        self._session = session if session is not None else requests.Session()
        self._sleep = sleep
        self._clock = clock
        self._cache = msal.TokenCache()
        self._app: Any = None
        self._token_lock = threading.Lock()
        self._series: dict[tuple[str, str], str] = {}
        self._series_lock = threading.Lock()
        self._mailbox_locks: dict[str, threading.Semaphore] = {}
        self._mailbox_lock = threading.Lock()

    # ---- the Collector protocol -------------------------------------------------------------

    def calendars(self) -> list[CalendarRef]:
        """The configured users' calendars, or the group's transitive user members with a mailbox."""
        if self._group_id is not None:
            return self._group_members(self._group_id)
        refs: list[CalendarRef] = []
        lookups: list[_Call] = []
        for user in self._users or []:
            if "@" in user:
                refs.append(CalendarRef(self.name, user.strip().lower(), user.strip().lower()))
            else:
                url = f"{self._base}/users/{quote(user)}?$select=id,mail,userPrincipalName"
                lookups.append(_Call(str(len(lookups)), user, url))
        replies = self._call_all(lookups) if lookups else {}
        for call in lookups:
            user, reply = call.mailbox, replies[call.id]
            if isinstance(reply, CollectorError):
                raise reply
            if reply.status != 200:
                raise self._error(reply, f"user {user}", calendar=user)
            owner = str(reply.body.get("mail") or reply.body.get("userPrincipalName") or user).lower()
            refs.append(CalendarRef(self.name, owner, user))
        return refs

    def sync(self, calendar: CalendarRef, cursor: str | None, window: TimeWindow) -> SyncResult:
        """Changes to one mailbox's calendar since `cursor` (None: a full sync of `window`)."""
        for _, result in self.sync_many([(calendar, cursor)], window):
            if isinstance(result, CollectorError):
                raise result
            return result
        raise BadDataError("no result", calendar=calendar.owner)  # pragma: no cover - one request in, one out

    def sync_many(
        self, requests: Sequence[tuple[CalendarRef, str | None]], window: TimeWindow
    ) -> Iterator[tuple[CalendarRef, SyncResult | CollectorError]]:
        """Sync many mailboxes together: each round of delta pages goes out in $batch requests of 20."""
        start, end = _bounds(window)
        now = self._clock()
        jobs: list[_Job] = []
        for calendar, cursor in requests:
            state = _decode(cursor)
            if state is not None and (state.start != start or state.end != end or now - state.full_at >= RESYNC_AFTER):
                state = None
            job = _Job(calendar, state)
            self._restart(job, start, end, incremental=state is not None)
            jobs.append(job)
        try:
            self._page(jobs, start, end)
            self._resolve_series(jobs)
        except AuthError as exc:
            for job in jobs:
                if job.error is None:
                    job.error = AuthError(str(exc), calendar=job.calendar.owner)
        for job in jobs:
            if job.error is not None:
                if job.error.calendar is None:
                    job.error.calendar = job.calendar.owner
                yield job.calendar, job.error
            else:
                yield job.calendar, self._result(job, window, start, end, now)

    def check(self) -> list[CheckResult]:
        """A token, the list of users, and one delta call for one user, each with advice when it fails."""
        out: list[CheckResult] = []
        what = f"token for application {self._client_id} in tenant {self._tenant_id}"
        try:
            self._bearer()
        except AuthError as exc:
            return [CheckResult(False, what, str(exc))]
        except CollectorError as exc:
            return [CheckResult(False, what, f"the sign-in service could not be reached: {exc}")]
        out.append(CheckResult(True, what))
        what = f"members of group {self._group_id}" if self._group_id else "configured users"
        try:
            calendars = self.calendars()
        except CollectorError as exc:
            advice = str(exc)
            if self._group_id and isinstance(exc, AuthError):
                advice += "; listing group members needs the application permission GroupMember.Read.All"
            out.append(CheckResult(False, what, advice))
            return out
        if not calendars:
            out.append(CheckResult(False, what, "no users with a mailbox were found"))
            return out
        out.append(CheckResult(True, f"{what}: {len(calendars)} mailbox(es)"))
        first = calendars[0]
        what = f"calendar delta query for {first.owner}"
        now = self._clock()
        call = _Call("check", first.id, self._delta_url(first, now, now + timedelta(days=1)))
        reply = self._call_all([call])["check"]
        if isinstance(reply, CollectorError):
            out.append(CheckResult(False, what, str(reply)))
        elif reply.status != 200:
            out.append(CheckResult(False, what, str(self._error(reply, first.owner, calendar=first.owner))))
        else:
            out.append(CheckResult(True, what))
        return out

    # ---- paging --------------------------------------------------------------------------

    def _delta_url(self, calendar: CalendarRef, start: datetime, end: datetime) -> str:
        """The first delta URL of a full sync between start and end."""
        query = urlencode({"startDateTime": _iso(start), "endDateTime": _iso(end)})
        return f"{self._base}/users/{quote(calendar.id)}/calendarView/delta?{query}"

    def _restart(self, job: _Job, start: datetime, end: datetime, *, incremental: bool) -> None:
        """Point a job at its cursor (incremental) or at a fresh full sync."""
        job.items.clear()
        job.delta = ""
        if incremental and job.state is not None:
            job.url, job.full = job.state.delta, False
            job.series = dict(job.state.series)
        else:
            job.url, job.full = self._delta_url(job.calendar, start, end), True
            job.series = dict(job.state.series) if job.state is not None else {}

    def _page(self, jobs: list[_Job], start: datetime, end: datetime) -> None:
        """Follow every job's nextLinks, one request per job per round, until each has a deltaLink."""
        while True:
            active = [j for j in jobs if not j.done]
            if not active:
                return
            calls = [_Call(str(i), j.calendar.id, j.url) for i, j in enumerate(jobs) if not j.done]
            replies = self._call_all(calls)
            for call in calls:
                job = jobs[int(call.id)]
                reply = replies[call.id]
                job.requests += 1
                if isinstance(reply, CollectorError):
                    job.error = reply
                elif reply.status == 200 and isinstance(reply.body, dict):
                    self._take_page(job, reply.body)
                elif (reply.status == 410 or reply.code in RESYNC_CODES) and not job.full:
                    self._restart(job, start, end, incremental=False)
                else:
                    job.error = self._error(reply, job.calendar.owner, calendar=job.calendar.owner)

    def _take_page(self, job: _Job, body: dict[str, Any]) -> None:
        """Collect one delta page and move the job to its next link."""
        value = body.get("value")
        if not isinstance(value, list):
            job.error = BadDataError("Graph delta page without a value list", calendar=job.calendar.owner)
            return
        job.items.extend(v for v in value if isinstance(v, dict))
        next_link = body.get("@odata.nextLink")
        delta_link = body.get("@odata.deltaLink")
        if isinstance(next_link, str) and next_link:
            job.url = next_link
        elif isinstance(delta_link, str) and delta_link:
            job.delta = delta_link
        else:
            job.error = BadDataError("Graph delta page without nextLink or deltaLink", calendar=job.calendar.owner)

    def _resolve_series(self, jobs: list[_Job]) -> None:
        """Fetch the iCalUId of every series master not yet known (batched, once per series)."""
        wanted: dict[str, tuple[_Job, str]] = {}
        asked: set[tuple[int, str]] = set()
        for job in jobs:
            if job.error is not None:
                continue
            for item in job.items:
                master = item.get("seriesMasterId")
                if item.get("@removed") is not None or not isinstance(master, str) or not master:
                    continue
                if master in job.series or (id(job), master) in asked:
                    continue
                with self._series_lock:
                    known = self._series.get((job.calendar.id, master))
                if known is not None:
                    job.series[master] = known
                    continue
                asked.add((id(job), master))
                wanted[str(len(wanted))] = (job, master)
        if not wanted:
            return
        calls = [
            _Call(
                cid,
                job.calendar.id,
                f"{self._base}/users/{quote(job.calendar.id)}/events/{quote(master)}?$select=iCalUId",
            )
            for cid, (job, master) in wanted.items()
        ]
        replies = self._call_all(calls)
        for cid, (job, master) in wanted.items():
            reply = replies[cid]
            job.requests += 1
            uid = reply.body.get("iCalUId") if isinstance(reply, _Reply) and isinstance(reply.body, dict) else None
            if isinstance(reply, _Reply) and reply.status == 200 and isinstance(uid, str) and uid:
                job.series[master] = uid
                with self._series_lock:
                    self._series[(job.calendar.id, master)] = uid
            else:
                why = str(reply) if isinstance(reply, CollectorError) else f"HTTP {reply.status} {reply.code}"
                job.warnings.append(f"series {master}: could not read its iCalUId ({why}); keyed by series id")

    # ---- conversion ------------------------------------------------------------------------

    def _result(self, job: _Job, window: TimeWindow, start: datetime, end: datetime, now: datetime) -> SyncResult:
        """Turn a finished job's items into a SyncResult and its next cursor."""
        upserts: dict[str, CalendarEvent] = {}
        deletions: list[str] = []
        used_series: dict[str, str] = {}
        for item in job.items:
            source_id = item.get("id")
            if not isinstance(source_id, str) or not source_id:
                job.warnings.append("an item without an id was skipped")
                continue
            if item.get("@removed") is not None:
                upserts.pop(source_id, None)
                deletions.append(source_id)
                continue
            if item.get("type") == "seriesMaster":
                continue
            try:
                event = _convert(item, job.calendar.owner, job.series)
            except BadDataError as exc:
                job.warnings.append(f"event {item.get('iCalUId') or source_id}: {exc}")
                continue
            master = item.get("seriesMasterId")
            if isinstance(master, str) and master in job.series:
                used_series[master] = job.series[master]
            if window.overlaps(event.start, event.end):
                upserts[source_id] = event
                if source_id in deletions:
                    deletions.remove(source_id)
            elif not job.full:
                upserts.pop(source_id, None)
                deletions.append(source_id)
        full_at = now if job.full else (job.state.full_at if job.state else now)
        series = used_series if job.full else {**job.series, **used_series}
        cursor = json.dumps(
            {
                "v": 1,
                "delta": job.delta,
                "start": _iso(start),
                "end": _iso(end),
                "full_at": _iso(full_at),
                "series": series,
            },
            separators=(",", ":"),
        )
        return SyncResult(
            upserts=tuple(upserts.values()),
            deletions=tuple(dict.fromkeys(deletions)) if not job.full else (),
            next_cursor=cursor,
            full_resync=job.full,
            warnings=tuple(job.warnings),
            requests=job.requests,
        )

    # ---- users ---------------------------------------------------------------------------

    def _group_members(self, group_id: str) -> list[CalendarRef]:
        """The group's transitive user members that have a mail address."""
        url = (
            f"{self._base}/groups/{quote(group_id)}/transitiveMembers/microsoft.graph.user"
            "?$select=id,mail,userPrincipalName"
        )
        refs: list[CalendarRef] = []
        seen: set[str] = set()
        while url:
            reply = self._call_all([_Call("g", group_id, url)])["g"]
            if isinstance(reply, CollectorError):
                raise reply
            if reply.status != 200 or not isinstance(reply.body, dict):
                raise self._error(reply, f"group {group_id}")
            for member in reply.body.get("value") or []:
                mail = member.get("mail") if isinstance(member, dict) else None
                uid = member.get("id") if isinstance(member, dict) else None
                if isinstance(mail, str) and mail and isinstance(uid, str) and uid not in seen:
                    seen.add(uid)
                    refs.append(CalendarRef(self.name, mail.lower(), uid))
            next_link = reply.body.get("@odata.nextLink")
            url = next_link if isinstance(next_link, str) else ""
        return refs

    # ---- HTTP ----------------------------------------------------------------------------

    def _bearer(self) -> str:
        """An access token for Graph (msal's cache answers until it expires)."""
        with self._token_lock:
            try:
                if self._app is None:
                    self._app = msal.ConfidentialClientApplication(
                        self._client_id,
                        client_credential=self._credential,
                        authority=self._authority,
                        http_client=self._session,
                        instance_discovery=False,
                        token_cache=self._cache,
                        timeout=self._timeout,
                    )
                result = self._app.acquire_token_for_client(scopes=[self._scope])
            except requests.RequestException as exc:
                raise SourceUnavailableError(f"sign-in service unreachable: {type(exc).__name__}") from exc
            except ValueError as exc:
                why = f"{exc} {exc.__context__ or ''}"
                raise AuthError(f"sign-in failed for tenant {self._tenant_id}: {advice_for(why)}") from exc
        if not isinstance(result, dict) or "access_token" not in result:
            err = cast(dict[str, Any], result or {})
            description = str(err.get("error_description") or err.get("error") or "no token").splitlines()[0]
            raise AuthError(f"sign-in refused ({err.get('error', 'error')}): {description} — {advice_for(err)}")
        return str(result["access_token"])

    def _mailbox_slot(self, mailbox: str) -> threading.Semaphore:
        """The semaphore that keeps one mailbox at PER_MAILBOX_LIMIT concurrent requests."""
        with self._mailbox_lock:
            sem = self._mailbox_locks.get(mailbox)
            if sem is None:
                sem = self._mailbox_locks[mailbox] = threading.Semaphore(PER_MAILBOX_LIMIT)
            return sem

    def _headers(self) -> dict[str, str]:
        """Headers of every Graph request."""
        return {
            "Authorization": f"Bearer {self._bearer()}",
            "Prefer": f'odata.maxpagesize={self._page_size}, outlook.timezone="UTC"',
            "Accept": "application/json",
        }

    def _get(self, call: _Call) -> _Reply:
        """One plain GET (no retry: `_call_all` retries)."""
        headers = self._headers()
        with self._mailbox_slot(call.mailbox):
            return self._http("GET", call.url, headers=headers)

    def _batch(self, calls: list[_Call]) -> dict[str, _Reply]:
        """One POST $batch carrying up to 20 GETs; a failed envelope becomes every item's reply."""
        headers = self._headers()
        prefer = headers["Prefer"]
        body = {
            "requests": [
                {"id": c.id, "method": "GET", "url": self._relative(c.url), "headers": {"Prefer": prefer}}
                for c in calls
            ]
        }
        reply = self._http("POST", f"{self._base}/$batch", headers=headers, json_body=body)
        if reply.status != 200 or not isinstance(reply.body, dict):
            return {c.id: reply for c in calls}
        out: dict[str, _Reply] = {}
        for item in reply.body.get("responses") or []:
            if isinstance(item, dict) and str(item.get("id")) in {c.id for c in calls}:
                raw_headers = item.get("headers") if isinstance(item.get("headers"), dict) else {}
                out[str(item["id"])] = _Reply(
                    int(item.get("status") or 0),
                    {str(k): str(v) for k, v in cast(dict[str, Any], raw_headers).items()},
                    item.get("body"),
                )
        for c in calls:
            out.setdefault(c.id, _Reply(502, {}, {"error": {"code": "missingBatchItem", "message": "no reply"}}))
        return out

    def _relative(self, url: str) -> str:
        """A Graph URL relative to the version root, as $batch wants it."""
        return url[len(self._base) :] if url.startswith(self._base) else url

    def _http(self, method: str, url: str, *, headers: dict[str, str], json_body: Any = None) -> _Reply:
        """One HTTP exchange; transport failures are SourceUnavailableError."""
        try:
            resp = self._session.request(method, url, headers=headers, json=json_body, timeout=self._timeout)
        except requests.RequestException as exc:
            raise SourceUnavailableError(f"Microsoft Graph unreachable: {type(exc).__name__}") from exc
        try:
            body: Any = resp.json() if resp.content else {}
        except ValueError:
            body = {"error": {"code": "notJson", "message": resp.text[:200]}}
        return _Reply(resp.status_code, dict(resp.headers), body)

    def _call_all(self, calls: list[_Call]) -> dict[str, _Reply | CollectorError]:
        """Make every call (one alone: a GET; more: $batch), retrying 429/503/504 after Retry-After."""
        out: dict[str, _Reply | CollectorError] = {}
        attempts: dict[str, int] = {}
        pending = list(calls)
        with ThreadPoolExecutor(max_workers=self._concurrency) as pool:
            while pending:
                now_round: list[_Call] = []
                later: list[_Call] = []
                per_mailbox: dict[str, int] = {}
                for call in pending:
                    n = per_mailbox.get(call.mailbox, 0)
                    (now_round if n < PER_MAILBOX_LIMIT else later).append(call)
                    per_mailbox[call.mailbox] = n + 1
                replies: dict[str, _Reply | CollectorError] = {}
                chunks = [now_round[i : i + BATCH_LIMIT] for i in range(0, len(now_round), BATCH_LIMIT)]
                for got in pool.map(self._send_chunk, chunks):
                    replies.update(got)
                wait = 0.0
                retry: list[_Call] = []
                for call in now_round:
                    reply = replies[call.id]
                    transient = isinstance(reply, SourceUnavailableError) or (
                        isinstance(reply, _Reply) and reply.status in RETRY_STATUSES
                    )
                    if isinstance(reply, AuthError):
                        raise reply
                    if not transient:
                        out[call.id] = reply
                        continue
                    attempts[call.id] = attempts.get(call.id, 0) + 1
                    if attempts[call.id] > self._max_retries:
                        out[call.id] = self._give_up(reply, call)
                        continue
                    hint = reply.retry_after() if isinstance(reply, _Reply) else None
                    wait = max(wait, hint if hint is not None else min(60.0, 2.0 ** (attempts[call.id] - 1)))
                    retry.append(call)
                if retry:
                    self._sleep(wait)
                pending = retry + later
        return out

    def _send_chunk(self, calls: list[_Call]) -> dict[str, _Reply | CollectorError]:
        """Send one chunk (one call: a GET; more: a $batch); a transport failure answers every call."""
        try:
            if len(calls) == 1:
                return {calls[0].id: self._get(calls[0])}
            return dict(self._batch(calls))
        except CollectorError as exc:
            return {c.id: exc for c in calls}

    def _give_up(self, reply: _Reply | CollectorError, call: _Call) -> CollectorError:
        """The error after the last retry of a throttled or failing call."""
        if isinstance(reply, CollectorError):
            return reply
        if reply.status == 429:
            return ThrottledError(
                f"Microsoft Graph kept throttling after {self._max_retries} retries",
                retry_after=reply.retry_after(),
            )
        return SourceUnavailableError(f"Microsoft Graph answered {reply.status} after {self._max_retries} retries")

    def _error(self, reply: _Reply, what: str, *, calendar: str | None = None) -> CollectorError:
        """The CollectorError for a non-success Graph reply about `what`."""
        detail = f"{reply.status} {reply.code}: {reply.message}".strip().rstrip(":")
        if reply.status == 401:
            return AuthError(f"Graph refused the token for {what} ({detail})", calendar=calendar)
        if reply.code in MAILBOX_CODES or reply.status == 404:
            return SourceUnavailableError(
                f"mailbox {what} is missing, inactive or has no Exchange Online license ({detail})",
                calendar=calendar,
            )
        if reply.status == 403:
            return AuthError(f"access denied to {what} ({detail}): {_PERMISSION_ADVICE}", calendar=calendar)
        if reply.status == 429:
            return ThrottledError(f"throttled reading {what}", calendar=calendar, retry_after=reply.retry_after())
        if reply.status >= 500 or reply.status == 0:
            return SourceUnavailableError(f"Microsoft Graph failed reading {what} ({detail})", calendar=calendar)
        return BadDataError(f"Microsoft Graph rejected the request for {what} ({detail})", calendar=calendar)


# ---- pure helpers ------------------------------------------------------------------------------


def _bounds(window: TimeWindow) -> tuple[datetime, datetime]:
    """The delta query's bounds: the window's start and end days (UTC), the end day included.

    A window of fixed length that moves with the clock changes both bounds at the same midnight.
    """
    start = window.start.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    end = window.end.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    return start, end


def _iso(moment: datetime) -> str:
    """An aware datetime as `YYYY-MM-DDTHH:MM:SSZ`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _decode(cursor: str | None) -> _State | None:
    """A cursor's state, or None when absent or unreadable."""
    if not cursor:
        return None
    try:
        raw = json.loads(cursor)
        if raw.get("v") != 1 or not raw.get("delta"):
            return None
        series = raw.get("series") or {}
        return _State(
            str(raw["delta"]),
            datetime.fromisoformat(raw["start"]),
            datetime.fromisoformat(raw["end"]),
            datetime.fromisoformat(raw["full_at"]),
            {str(k): str(v) for k, v in series.items()},
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def _parse_time(value: Any) -> datetime:
    """Graph's `{dateTime, timeZone}` (UTC by our Prefer header) or an ISO string, as aware UTC."""
    if isinstance(value, dict):
        text, zone = value.get("dateTime"), value.get("timeZone") or "UTC"
    else:
        text, zone = value, "UTC"
    if not isinstance(text, str) or not text:
        raise BadDataError("missing date-time")
    text = text.strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise BadDataError(f"unreadable date-time {text!r}") from exc
    if moment.tzinfo is None:
        if str(zone).upper() not in ("UTC", "ETC/UTC", "GMT", "COORDINATED UNIVERSAL TIME"):
            raise BadDataError(f"time zone {zone!r} instead of UTC")
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _address(entry: Any) -> tuple[str, str]:
    """(lower-cased email, name) of a Graph recipient."""
    email = entry.get("emailAddress") if isinstance(entry, dict) else None
    if not isinstance(email, dict):
        return "", ""
    return str(email.get("address") or "").strip().lower(), str(email.get("name") or "")


def _convert(item: dict[str, Any], owner: str, series: Mapping[str, str]) -> CalendarEvent:
    """One Graph event (instance) as a CalendarEvent in `owner`'s calendar."""
    all_day = bool(item.get("isAllDay"))
    start = _parse_time(item.get("start"))
    end = _parse_time(item.get("end"))
    if all_day:
        start = datetime.combine(start.date(), datetime.min.time(), UTC)
        end = datetime.combine(end.date(), datetime.min.time(), UTC)
    if end < start:
        raise BadDataError("ends before it starts")
    kind = item.get("type") or "singleInstance"
    master = item.get("seriesMasterId")
    if kind in ("occurrence", "exception") or (isinstance(master, str) and master):
        if not isinstance(master, str) or not master:
            raise BadDataError("occurrence without seriesMasterId")
        uid = series.get(master, master)
        original = item.get("originalStart")
        slot: date = start.date()
        if original:
            slot = _parse_time(original).date()
        key = f"{uid}@{slot.isoformat()}"
    else:
        uid = str(item.get("iCalUId") or "")
        if not uid:
            raise BadDataError("no iCalUId")
        key = uid
    organizer, organizer_name = _address(item.get("organizer"))
    people: dict[str, Attendee] = {}
    for entry in item.get("attendees") or []:
        email, name = _address(entry)
        if "@" not in email:
            continue
        status = entry.get("status") if isinstance(entry.get("status"), dict) else {}
        response = _RESPONSES.get(str(status.get("response") or "none"), "needs-action")
        people[email] = Attendee(
            email=email,
            name=name,
            response="accepted" if email == organizer else response,
            is_resource=entry.get("type") == "resource",
            is_organizer=email == organizer,
        )
    if "@" in organizer and organizer not in people:
        people = {organizer: Attendee(organizer, organizer_name, "accepted", False, True), **people}
    own = item.get("responseStatus")
    own_answer = own.get("response") if isinstance(own, dict) else None
    if owner != organizer and people and isinstance(own_answer, str) and own_answer in _RESPONSES:
        mine = people.get(owner)
        people[owner] = Attendee(
            email=owner,
            name=mine.name if mine else "",
            response=_RESPONSES[own_answer],
            is_resource=False,
            is_organizer=False,
        )
    location = item.get("location")
    return CalendarEvent(
        calendar=owner,
        key=key,
        uid=uid,
        source_id=str(item["id"]),
        title=str(item.get("subject") or ""),
        start=start,
        end=end,
        all_day=all_day,
        location=str(location.get("displayName") or "") if isinstance(location, dict) else "",
        organizer=organizer if "@" in organizer else "",
        attendees=tuple(people.values()),
        status="cancelled" if item.get("isCancelled") else "confirmed",
        private=str(item.get("sensitivity") or "").lower() in ("private", "confidential"),
    )
