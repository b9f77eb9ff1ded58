"""A fake Google Workspace on 127.0.0.1 that speaks the real wire format, and records every request.

It serves what the Google collector calls through the real `google-auth` and
`google-api-python-client` code:

- `POST /token`: the service-account JWT-bearer grant; the RS256 assertion is verified against
  the test key's public key, `sub` is recorded, a subject can be refused (`unauthorized_client`).
- `GET /calendar/v3/calendars/{id}/events`: events.list with real pageToken/syncToken semantics
  (forbidden parameters with syncToken are 400, pages may be short or empty, `nextSyncToken` only
  on the last page, expired sync tokens are `410 fullSyncRequired`), recurring series expanded into
  instances (`recurringEventId`, `originalStartTime`), cancelled items kept as `status: cancelled`.
- `POST /batch/calendar/v3`: the multipart/mixed batch endpoint, each part with its own authorization.
- `GET /admin/directory/v1/users`: the Admin SDK Directory user list.

Faults are injected per calendar: rate limits with Retry-After, quota, 5xx, malformed JSON,
connection reset, slow responses, API disabled.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import functools
import hashlib
import itertools
import json
import re
import secrets
import socket
import struct
import threading
import time
import urllib.parse
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from dateutil.rrule import rrulestr

CLIENT_EMAIL = "revolving-door@test-project.iam.gserviceaccount.com"
CLIENT_ID = "104242424242424242424"
EVENTS_SCOPES = frozenset(
    {
        "https://www.googleapis.com/auth/calendar.events.readonly",
        "https://www.googleapis.com/auth/calendar.readonly",
        "https://www.googleapis.com/auth/calendar",
    }
)
DIRECTORY_SCOPE = "https://www.googleapis.com/auth/admin.directory.user.readonly"
FORBIDDEN_WITH_SYNC_TOKEN = (
    "timeMin",
    "timeMax",
    "q",
    "iCalUID",
    "orderBy",
    "updatedMin",
    "privateExtendedProperty",
    "sharedExtendedProperty",
)
_RESPONSES = {
    "needs-action": "needsAction",
    "accepted": "accepted",
    "tentative": "tentative",
    "declined": "declined",
}


@functools.cache
def test_key() -> rsa.RSAPrivateKey:
    """The RSA key of the test service account, generated once per test session."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake received: an HTTP request, or one API call inside a batch."""

    kind: str
    """`token`, `list`, `batch` (the envelope), `directory` or `other`."""
    method: str
    path: str
    params: dict[str, str]
    subject: str | None
    """The staff member the call was made as (from the bearer token or the JWT `sub`)."""
    status: int
    calendar: str | None = None
    batch: int | None = None
    """The number of the batch this API call rode in (None: its own HTTP request)."""


@dataclass
class Fault:
    """A fault to inject into matching calls: `times` calls (None: every call)."""

    kind: str
    calendar: str | None = None
    times: int | None = 1
    retry_after: int | None = None
    seconds: float = 0.0


@dataclass
class _Item:
    """A stored event resource with its modification sequence and its times (for window filtering)."""

    resource: dict[str, Any]
    seq: int
    start: datetime
    end: datetime


@dataclass
class _Page:
    """The rest of a listing being paged through."""

    calendar: str
    items: list[dict[str, Any]]
    seq: int


@dataclass
class _Reply:
    """An API reply: status, headers and body bytes."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    reset: bool = False
    delay: float = 0.0


def _b64url_decode(text: str) -> bytes:
    """base64url without padding, as in JWTs."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _iso(value: datetime) -> str:
    """RFC 3339 in UTC with Z."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(value: str) -> datetime:
    """An RFC 3339 timestamp as an aware datetime."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def event_id(uid: str) -> str:
    """A Google-style event id for an iCalUID (the same on every calendar holding the meeting)."""
    return hashlib.sha1(uid.encode()).hexdigest()[:26]


def _error(status: int, reason: str, message: str, domain: str = "global", **extra: Any) -> _Reply:
    """A Google JSON error reply."""
    statuses = {
        400: "INVALID_ARGUMENT",
        401: "UNAUTHENTICATED",
        403: "PERMISSION_DENIED",
        404: "NOT_FOUND",
        410: "FAILED_PRECONDITION",
        429: "RESOURCE_EXHAUSTED",
        500: "INTERNAL",
        503: "UNAVAILABLE",
    }
    body = {
        "error": {
            "code": status,
            "message": message,
            "errors": [{"domain": domain, "reason": reason, "message": message}],
            "status": statuses.get(status, "UNKNOWN"),
            **extra,
        }
    }
    return _Reply(status, json.dumps(body).encode())


def _json(data: Any, status: int = 200) -> _Reply:
    """A JSON reply."""
    return _Reply(status, json.dumps(data).encode())


class FakeGoogle:
    """The fake Google Workspace: token endpoint, Calendar events.list, batch and Directory, on loopback."""

    def __init__(self, *, key: rsa.RSAPrivateKey | None = None, token_lifetime: int = 3600) -> None:
        """An empty fake signing tokens with `key` (the test key by default), valid `token_lifetime` seconds."""
        self.key = key or test_key()
        self.token_lifetime = token_lifetime
        self.requests: list[RecordedRequest] = []
        self.refused: dict[str, str] = {}
        """Subjects whose token requests are refused, with the OAuth error code."""
        self.known_users: set[str] | None = None
        """When set, a token for anyone else is `invalid_grant` (user not found)."""
        self.directory_users: list[dict[str, Any]] = []
        self.page_sizes: list[int] | None = None
        """Server-side page sizes in turn (the last repeats); 0 gives an empty page with a next page."""
        self.api_enabled = True
        self.faults: list[Fault] = []
        self._lock = threading.RLock()
        self._items: dict[str, dict[str, _Item]] = {}
        self._seq = 0
        self._sync_tokens: dict[str, tuple[str, int]] = {}
        self._pages: dict[str, _Page] = {}
        self._tokens: dict[str, tuple[str, frozenset[str], float]] = {}
        self._batches = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> FakeGoogle:
        """Start serving in a background thread."""
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeGoogle:
        """Start serving."""
        return self.start()

    def __exit__(self, *exc: object) -> None:
        """Stop serving."""
        self.close()

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT`: what the collector's `api_endpoint` is set to."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def token_uri(self) -> str:
        """The token endpoint, as written into the service-account key JSON."""
        return f"{self.base_url}/token"

    def service_account_info(self) -> dict[str, str]:
        """A service-account key JSON (as a dict) whose key is the test key and token_uri is this fake."""
        pem = self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        return {
            "type": "service_account",
            "project_id": "test-project",
            "private_key_id": "0123456789abcdef",
            "private_key": pem,
            "client_email": CLIENT_EMAIL,
            "client_id": CLIENT_ID,
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": self.token_uri,
        }

    # -- state -------------------------------------------------------------------------------

    def _bump(self) -> int:
        """The next modification sequence number."""
        self._seq += 1
        return self._seq

    def put_resource(self, calendar: str, resource: dict[str, Any]) -> None:
        """Store (create or replace) one raw Google event resource on `calendar` as a change."""
        calendar = calendar.lower()
        start = self._when(resource.get("start") or resource.get("originalStartTime") or {})
        end = self._when(resource.get("end") or {}) if resource.get("end") else start
        with self._lock:
            res = dict(resource)
            res.setdefault("kind", "calendar#event")
            res["updated"] = _iso(datetime.now(UTC))
            self._items.setdefault(calendar, {})[res["id"]] = _Item(res, self._bump(), start, end)

    @staticmethod
    def _when(value: dict[str, Any]) -> datetime:
        """A start/end object's instant (all-day dates at 00:00 UTC)."""
        if "dateTime" in value:
            return _parse_time(value["dateTime"]).astimezone(UTC)
        if "date" in value:
            return datetime.combine(date.fromisoformat(value["date"]), datetime.min.time(), UTC)
        return datetime(1970, 1, 1, tzinfo=UTC)

    def put(self, calendar: str, event: dict[str, Any]) -> None:
        """Create or replace a meeting from a contract-suite event dict (expanding `rrule` into instances)."""
        uid: str = event["uid"]
        base_id = event_id(uid)
        start: datetime = event["start"]
        end: datetime = event["end"]
        duration = end - start
        attendees = [
            {
                "email": email,
                "responseStatus": _RESPONSES.get(resp, resp),
                **({"resource": True} if res else {}),
            }
            for email, resp, res in event.get("attendees", ())
        ]
        organizer = event.get("organizer") or ""
        for att in attendees:
            if organizer and att["email"].lower() == organizer.lower():
                att["organizer"] = True
        common: dict[str, Any] = {
            "iCalUID": uid,
            "status": event.get("status", "confirmed"),
            "summary": event.get("title", ""),
            "visibility": "private" if event.get("private") else "default",
            "eventType": event.get("event_type", "default"),
        }
        if event.get("location"):
            common["location"] = event["location"]
        if organizer:
            common["organizer"] = {"email": organizer}
        if attendees:
            common["attendees"] = attendees
        resources: list[dict[str, Any]] = []
        if event.get("rrule"):
            rule = rrulestr(f"RRULE:{event['rrule']}", dtstart=start)
            for occ in itertools.islice(iter(rule), 1000):
                occ_start = occ.astimezone(UTC)
                resources.append(
                    {
                        **common,
                        "id": f"{base_id}_{occ_start:%Y%m%dT%H%M%SZ}",
                        "recurringEventId": base_id,
                        "originalStartTime": {"dateTime": _iso(occ_start)},
                        "start": {"dateTime": _iso(occ_start)},
                        "end": {"dateTime": _iso(occ_start + duration)},
                    }
                )
        else:
            resources.append(
                {**common, "id": base_id, "start": {"dateTime": _iso(start)}, "end": {"dateTime": _iso(end)}}
            )
        with self._lock:
            keep = {r["id"] for r in resources}
            for item_id in self._ids_of(calendar, uid):
                if item_id not in keep:
                    self.cancel(calendar, item_id)
            for res in resources:
                self.put_resource(calendar, res)

    def _ids_of(self, calendar: str, uid: str) -> list[str]:
        """Ids of the live items of `calendar` with this iCalUID."""
        items = self._items.get(calendar.lower(), {})
        return [
            i
            for i, it in items.items()
            if it.resource.get("iCalUID") == uid and it.resource.get("status") != "cancelled"
        ]

    def remove(self, calendar: str, uid: str) -> None:
        """Cancel every item of the meeting `uid` on `calendar` (Google keeps them as cancelled)."""
        with self._lock:
            for item_id in self._ids_of(calendar, uid):
                self.cancel(calendar, item_id)

    def cancel(self, calendar: str, item_id: str) -> None:
        """Cancel one item (an event or one instance): only id (and instance fields) remain visible."""
        calendar = calendar.lower()
        with self._lock:
            old = self._items[calendar][item_id]
            res: dict[str, Any] = {"kind": "calendar#event", "id": item_id, "status": "cancelled"}
            for keep in ("recurringEventId", "originalStartTime"):
                if keep in old.resource:
                    res[keep] = old.resource[keep]
            self._items[calendar][item_id] = _Item(res, self._bump(), old.start, old.end)

    def touch(self, calendar: str, uid: str, **changes: Any) -> None:
        """Edit every live item of meeting `uid` on `calendar` (e.g. `summary="New title"`)."""
        with self._lock:
            for item_id in self._ids_of(calendar, uid):
                res = {**self._items[calendar.lower()][item_id].resource, **changes}
                self.put_resource(calendar, res)

    def expire_sync_tokens(self, calendar: str | None = None) -> None:
        """Make every sync token issued so far (for `calendar`, or all) answer 410 fullSyncRequired."""
        with self._lock:
            for token, (cal, _) in list(self._sync_tokens.items()):
                if calendar is None or cal == calendar.lower():
                    del self._sync_tokens[token]

    def revoke_tokens(self) -> None:
        """Forget every access token issued so far (their next use is 401)."""
        with self._lock:
            self._tokens.clear()

    def inject(
        self,
        kind: str,
        *,
        calendar: str | None = None,
        times: int | None = 1,
        retry_after: int | None = None,
        seconds: float = 0.0,
    ) -> None:
        """Inject a fault into matching events.list calls.

        Kinds: `rate_limit` (403 rateLimitExceeded), `user_rate_limit` (403 userRateLimitExceeded),
        `too_many` (429), `quota` (403 quotaExceeded), `server_error` (503), `malformed` (200 with
        broken JSON), `reset` (connection reset, no reply), `slow` (`seconds` before the reply).
        """
        with self._lock:
            self.faults.append(
                Fault(kind, calendar.lower() if calendar else None, times, retry_after, seconds)
            )

    # -- queries -----------------------------------------------------------------------------

    def calls(self, kind: str = "list", calendar: str | None = None) -> list[RecordedRequest]:
        """Recorded requests of one kind (and calendar)."""
        with self._lock:
            return [
                r
                for r in self.requests
                if r.kind == kind and (calendar is None or r.calendar == calendar.lower())
            ]

    def roundtrips(self) -> int:
        """How many HTTP requests reached the fake (batch parts are not round trips)."""
        with self._lock:
            return sum(1 for r in self.requests if r.batch is None)

    def token_subjects(self) -> list[str]:
        """The `sub` of every token request, in order."""
        return [r.subject or "" for r in self.calls("token")]

    def reset_log(self) -> None:
        """Forget the recorded requests."""
        with self._lock:
            self.requests.clear()

    # -- request handling --------------------------------------------------------------------

    def _record(self, rec: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(rec)

    def _take_fault(self, calendar: str | None) -> Fault | None:
        """The first fault matching `calendar`, consumed once."""
        with self._lock:
            for fault in self.faults:
                if fault.calendar is None or fault.calendar == calendar:
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self.faults.remove(fault)
                    return fault
        return None

    def handle_token(self, body: bytes) -> _Reply:
        """The JWT-bearer token grant."""
        form = dict(urllib.parse.parse_qsl(body.decode()))
        subject: str | None = None
        reply = self._token_reply(form)
        try:
            payload = json.loads(_b64url_decode(form.get("assertion", "..").split(".")[1]))
            subject = payload.get("sub")
        except (ValueError, IndexError):
            payload = {}
        self._record(
            RecordedRequest(
                "token", "POST", "/token", {"scope": str(payload.get("scope", ""))}, subject, reply.status
            )
        )
        return reply

    def _token_reply(self, form: dict[str, str]) -> _Reply:
        """Verify the assertion and issue a token, or refuse as Google does."""
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return _json({"error": "unsupported_grant_type", "error_description": "Invalid grant_type"}, 400)
        try:
            head_b64, payload_b64, sig_b64 = form["assertion"].split(".")
            header = json.loads(_b64url_decode(head_b64))
            payload = json.loads(_b64url_decode(payload_b64))
            if header.get("alg") != "RS256":
                raise ValueError("alg")
            self.key.public_key().verify(
                _b64url_decode(sig_b64),
                f"{head_b64}.{payload_b64}".encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except Exception:
            return _json({"error": "invalid_grant", "error_description": "Invalid JWT Signature."}, 400)
        now = time.time()
        if payload.get("iss") != CLIENT_EMAIL:
            return _json(
                {"error": "invalid_client", "error_description": "The OAuth client was not found."}, 401
            )
        if not (payload.get("iat", 0) - 300 <= now < payload.get("exp", 0)):
            return _json(
                {
                    "error": "invalid_grant",
                    "error_description": "Invalid JWT: Token must be a short-lived "
                    "token (60 minutes) and in a reasonable timeframe.",
                },
                400,
            )
        subject = str(payload.get("sub") or "").lower()
        if subject in self.refused:
            error = self.refused[subject]
            if error == "invalid_grant":
                return _json({"error": "invalid_grant", "error_description": "Invalid email or User ID"}, 400)
            return _json(
                {
                    "error": error,
                    "error_description": "Client is unauthorized to retrieve access tokens "
                    "using this method, or client not authorized for any of the scopes requested.",
                },
                401,
            )
        if self.known_users is not None and subject not in self.known_users:
            return _json({"error": "invalid_grant", "error_description": "Invalid email or User ID"}, 400)
        token = "ya29.fake-" + secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = (
                subject,
                frozenset(str(payload.get("scope", "")).split()),
                now + self.token_lifetime,
            )
        return _json({"access_token": token, "expires_in": self.token_lifetime, "token_type": "Bearer"})

    def _who(self, headers: dict[str, str]) -> tuple[str, frozenset[str]] | None:
        """The subject and scopes of a request's bearer token, if valid."""
        auth = headers.get("authorization", "")
        if not auth.lower().startswith("bearer "):
            return None
        with self._lock:
            found = self._tokens.get(auth[7:].strip())
        if found is None or found[2] < time.time():
            return None
        return found[0], found[1]

    def api(self, method: str, target: str, headers: dict[str, str], batch: int | None = None) -> _Reply:
        """One API call (directly or inside a batch): route, authorise, apply faults, record."""
        parsed = urllib.parse.urlsplit(target)
        params = dict(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True))
        path = parsed.path
        who = self._who(headers)
        subject = who[0] if who else None
        match = re.fullmatch(r"/calendar/v3/calendars/([^/]+)/events", path)
        if match:
            calendar = urllib.parse.unquote(match.group(1)).lower()
            if calendar == "primary" and subject:
                calendar = subject
            reply = self._list(who, calendar, params)
            kind = "list"
        elif path == "/admin/directory/v1/users":
            calendar = None
            reply = self._directory(who, params)
            kind = "directory"
        else:
            calendar = None
            reply = _error(404, "notFound", "Not Found")
            kind = "other"
        self._record(RecordedRequest(kind, method, path, params, subject, reply.status, calendar, batch))
        return reply

    def _list(self, who: tuple[str, frozenset[str]] | None, calendar: str, params: dict[str, str]) -> _Reply:
        """events.list."""
        if who is None:
            return _error(
                401,
                "authError",
                "Request had invalid authentication credentials.",
                location="Authorization",
                locationType="header",
            )
        subject, scopes = who
        if not scopes & EVENTS_SCOPES:
            return _error(403, "insufficientPermissions", "Request had insufficient authentication scopes.")
        if not self.api_enabled:
            return _error(
                403,
                "accessNotConfigured",
                "Google Calendar API has not been used in project 123 before or it is disabled. Enable it by "
                "visiting https://console.developers.google.com/apis/api/calendar-json.googleapis.com/overview"
                "?project=123 then retry.",
                domain="usageLimits",
                details=[{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "SERVICE_DISABLED"}],
            )
        fault = self._take_fault(calendar)
        if fault is not None:
            reply = self._fault_reply(fault)
            if reply is not None:
                return reply
        if calendar != subject:
            return _error(404, "notFound", "Not Found")
        reply = self._list_events(calendar, params)
        if fault is not None and fault.kind == "slow":
            reply.delay = fault.seconds
        return reply

    @staticmethod
    def _fault_reply(fault: Fault) -> _Reply | None:
        """The reply a fault produces (None: the call proceeds, e.g. slow)."""
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
        reply: _Reply | None
        if fault.kind == "rate_limit":
            reply = _error(403, "rateLimitExceeded", "Rate Limit Exceeded", "usageLimits")
        elif fault.kind == "user_rate_limit":
            reply = _error(403, "userRateLimitExceeded", "User Rate Limit Exceeded", "usageLimits")
        elif fault.kind == "too_many":
            reply = _error(429, "rateLimitExceeded", "Too Many Requests", "usageLimits")
        elif fault.kind == "quota":
            reply = _error(403, "quotaExceeded", "Calendar usage limits exceeded.", "usageLimits")
        elif fault.kind == "server_error":
            reply = _error(503, "backendError", "Backend Error")
        elif fault.kind == "malformed":
            reply = _Reply(200, b'{"kind": "calendar#events", "items": [{"id": ')
        elif fault.kind == "reset":
            reply = _Reply(0, b"", reset=True)
        else:
            return None
        reply.headers.update(headers)
        return reply

    def _list_events(self, calendar: str, params: dict[str, str]) -> _Reply:
        """events.list once authorised: paging and sync-token semantics."""
        if params.get("singleEvents") != "true":
            return _error(400, "invalid", "This fake serves singleEvents=true only.")
        try:
            max_results = min(int(params.get("maxResults", "250")), 2500)
        except ValueError:
            return _error(400, "invalid", "Invalid value for maxResults")
        if "syncToken" in params:
            for name in FORBIDDEN_WITH_SYNC_TOKEN:
                if name in params:
                    return _error(400, "invalid", f"Sync token cannot be used with the {name} parameter.")
            if params.get("showDeleted") == "false":
                return _error(400, "invalid", "Sync token cannot be used with showDeleted=false.")
        with self._lock:
            if "pageToken" in params:
                page = self._pages.pop(params["pageToken"], None)
                if page is None or page.calendar != calendar:
                    return _error(400, "invalid", "Invalid page token value.")
            elif "syncToken" in params:
                known = self._sync_tokens.get(params["syncToken"])
                if known is None or known[0] != calendar:
                    return _error(
                        410, "fullSyncRequired", "Sync token is no longer valid, a full sync is required."
                    )
                since = known[1]
                changed = sorted(
                    (it for it in self._items.get(calendar, {}).values() if it.seq > since),
                    key=lambda it: it.seq,
                )
                page = _Page(calendar, [it.resource for it in changed], self._seq)
            else:
                page = _Page(calendar, self._full_listing(calendar, params), self._seq)
            size = self._page_size(max_results)
            items, rest = page.items[:size], page.items[size:]
            out: dict[str, Any] = {
                "kind": "calendar#events",
                "summary": calendar,
                "timeZone": "UTC",
                "accessRole": "reader",
                "updated": _iso(datetime.now(UTC)),
                "items": items,
            }
            if rest:
                token = "p-" + secrets.token_urlsafe(12)
                self._pages[token] = _Page(calendar, rest, page.seq)
                out["nextPageToken"] = token
            else:
                token = "s-" + secrets.token_urlsafe(12)
                self._sync_tokens[token] = (calendar, page.seq)
                out["nextSyncToken"] = token
        return _json(out)

    def _page_size(self, max_results: int) -> int:
        """The size of the next page: the configured pattern, else maxResults."""
        if not self.page_sizes:
            return max_results
        size = self.page_sizes[0]
        if len(self.page_sizes) > 1:
            self.page_sizes.pop(0)
        return min(size, max_results)

    def _full_listing(self, calendar: str, params: dict[str, str]) -> list[dict[str, Any]]:
        """A full listing: timeMin filters on end, timeMax on start; cancelled only with showDeleted."""
        time_min = _parse_time(params["timeMin"]) if "timeMin" in params else None
        time_max = _parse_time(params["timeMax"]) if "timeMax" in params else None
        show_deleted = params.get("showDeleted") == "true"
        out = []
        for it in sorted(
            self._items.get(calendar, {}).values(), key=lambda it: (it.start, it.resource["id"])
        ):
            if it.resource.get("status") == "cancelled" and not show_deleted:
                continue
            if time_min is not None and it.end <= time_min:
                continue
            if time_max is not None and it.start >= time_max:
                continue
            out.append(it.resource)
        return out

    def _directory(self, who: tuple[str, frozenset[str]] | None, params: dict[str, str]) -> _Reply:
        """Admin SDK users.list (offset page tokens)."""
        if who is None:
            return _error(401, "authError", "Request had invalid authentication credentials.")
        if DIRECTORY_SCOPE not in who[1]:
            return _error(403, "insufficientPermissions", "Request had insufficient authentication scopes.")
        if not params.get("domain") and not params.get("customer"):
            return _error(400, "badRequest", "Bad Request")
        users = [
            u
            for u in self.directory_users
            if not params.get("domain") or u["primaryEmail"].endswith("@" + params["domain"])
        ]
        start = int(params.get("pageToken", "0") or 0)
        size = min(int(params.get("maxResults", "100")), 500)
        out: dict[str, Any] = {"kind": "admin#directory#users", "users": users[start : start + size]}
        if start + size < len(users):
            out["nextPageToken"] = str(start + size)
        return _json(out)

    def handle_batch(self, content_type: str, body: bytes) -> _Reply:
        """The multipart/mixed batch endpoint: each part an API call with its own authorization."""
        with self._lock:
            self._batches += 1
            number = self._batches
        message = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
        )
        parts: Sequence[Any] = message.get_payload() if message.is_multipart() else []
        self._record(
            RecordedRequest(
                "batch",
                "POST",
                "/batch/calendar/v3",
                {"parts": str(len(parts))},
                None,
                200 if parts else 400,
                None,
                None,
            )
        )
        if not parts:
            return _error(400, "badRequest", "Failed to parse batch request")
        boundary = "batch_" + secrets.token_hex(12)
        chunks: list[bytes] = []
        delay = 0.0
        for part in parts:
            content_id = re.sub(r"\r?\n(?=[ \t])", "", part.get("Content-ID", ""))
            inner = part.get_payload()
            if isinstance(inner, list):
                inner = inner[0].as_string()
            request_line, _, rest = inner.partition("\n")
            method, target, _version = request_line.strip().split(" ", 2)
            head = rest.split("\n\n", 1)[0].split("\r\n\r\n", 1)[0]
            headers = {}
            for line in re.sub(r"\r?\n(?=[ \t])", "", head).splitlines():
                name, sep, value = line.partition(":")
                if sep:
                    headers[name.strip().lower()] = value.strip()
            reply = self.api(method, target, headers, batch=number)
            if reply.reset:
                return reply
            delay = max(delay, reply.delay)
            status_text = {
                200: "OK",
                400: "Bad Request",
                401: "Unauthorized",
                403: "Forbidden",
                404: "Not Found",
                410: "Gone",
                429: "Too Many Requests",
                503: "Service Unavailable",
            }.get(reply.status, "Error")
            extra = "".join(f"{k}: {v}\r\n" for k, v in reply.headers.items())
            chunks.append(
                (
                    f"--{boundary}\r\nContent-Type: application/http\r\n"
                    f"Content-ID: <response-{content_id.strip('<>')}>\r\n\r\n"
                    f"HTTP/1.1 {reply.status} {status_text}\r\n"
                    f"Content-Type: application/json; charset=UTF-8\r\n{extra}\r\n"
                ).encode()
                + reply.body
                + b"\r\n"
            )
        chunks.append(f"--{boundary}--\r\n".encode())
        return _Reply(
            200, b"".join(chunks), {"Content-Type": f"multipart/mixed; boundary={boundary}"}, delay=delay
        )


def _handler_for(fake: FakeGoogle) -> type[BaseHTTPRequestHandler]:
    """The request handler class bound to one fake."""

    class Handler(BaseHTTPRequestHandler):
        """Routes HTTP requests to the fake."""

        protocol_version = "HTTP/1.0"

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

        def _headers(self) -> dict[str, str]:
            return {k.lower(): v for k, v in self.headers.items()}

        def _body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _send(self, reply: _Reply) -> None:
            if reply.delay:
                time.sleep(reply.delay)
            if reply.reset:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
                self.close_connection = True
                return
            try:
                self.send_response(reply.status)
                headers = {"Content-Type": "application/json; charset=UTF-8", **reply.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up (timeout): nothing to tell it

        def do_GET(self) -> None:
            """GET: API calls."""
            self._send(fake.api("GET", self.path, self._headers()))

        def do_POST(self) -> None:
            """POST: token, batch, or an API call sent as POST with X-HTTP-Method-Override."""
            body = self._body()
            path = urllib.parse.urlsplit(self.path).path
            if path == "/token":
                self._send(fake.handle_token(body))
            elif path == "/batch/calendar/v3":
                self._send(fake.handle_batch(self.headers.get("Content-Type", ""), body))
            elif self.headers.get("X-HTTP-Method-Override") == "GET":
                self._send(fake.api("GET", f"{self.path}?{body.decode()}", self._headers()))
            else:
                self._send(_error(404, "notFound", "Not Found"))

    return Handler


def staff(n: int, domain: str = "example.org") -> list[str]:
    """`n` staff addresses: user000@domain, user001@domain, ..."""
    return [f"user{i:03d}@{domain}" for i in range(n)]


def meeting(
    uid: str,
    start: datetime,
    *,
    title: str = "Meeting",
    minutes: int = 60,
    attendees: Iterable[tuple[str, str, bool]] = (),
    organizer: str = "",
    **extra: Any,
) -> dict[str, Any]:
    """A contract-suite style event dict."""
    return {
        "uid": uid,
        "title": title,
        "start": start,
        "end": start + timedelta(minutes=minutes),
        "attendees": list(attendees),
        "organizer": organizer,
        "status": "confirmed",
        "private": False,
        **extra,
    }


def chunked(values: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    """`values` in slices of `size`."""
    for i in range(0, len(values), size):
        yield values[i : i + size]
