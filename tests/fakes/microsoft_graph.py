"""A fake Microsoft identity platform + Microsoft Graph on 127.0.0.1, speaking the real wire format.

Token side: `GET /{tenant}/v2.0/.well-known/openid-configuration` (https endpoint URLs, as msal
requires) and `POST /{tenant}/oauth2/v2.0/token` (client secret or certificate assertion).
Graph side: `GET /v1.0/users/{id}/calendarView/delta` with opaque `$skiptoken`/`$deltatoken`
links, `@removed`, 410 on an expired token, `GET /v1.0/users/{id}/events/{id}` (series masters),
`GET /v1.0/users/{id}`, `GET /v1.0/groups/{id}/transitiveMembers/microsoft.graph.user` and
`POST /v1.0/$batch` with per-item statuses (answered in reverse order). Faults are injected with
`fail(...)`. Every HTTP request is recorded in `requests`, every Graph API call (a batch item too)
in `calls`.

msal refuses http authorities, so tests keep the real https hosts and mount `LoopbackAdapter`
on a `requests.Session`: it rewrites https://login.microsoftonline.com/ and
https://graph.microsoft.com/ to http://127.0.0.1:PORT.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

import requests
from dateutil.rrule import rrulestr
from requests.adapters import HTTPAdapter

from tests.fakes.tls import self_signed_cert

LOGIN = "https://login.microsoftonline.com"
GRAPH = "https://graph.microsoft.com"
SCOPE = "https://graph.microsoft.com/.default"

_GRAPH_RESPONSES = {
    "accepted": "accepted",
    "tentative": "tentativelyAccepted",
    "declined": "declined",
    "needs-action": "none",
}


@dataclass
class Recorded:
    """One HTTP request (or one $batch item, with `batched`) the fake received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes = b""
    batched: bool = False


@dataclass
class Fault:
    """An injected failure: the next `times` requests whose path+query contains `match` get `status`."""

    status: int
    match: str
    times: int = 1
    retry_after: float | None = None
    code: str = ""
    where: str = "any"
    """"any", "batch" (only $batch items) or "direct" (only plain HTTP requests)."""


@dataclass
class Mailbox:
    """One user's mailbox: its calendar items (instances and series masters) and change log."""

    id: str
    email: str
    status: str = "ok"
    """"ok", "missing" (404 ErrorItemNotFound) or "disabled" (MailboxNotEnabledForRESTAPI)."""
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    changes: list[tuple[int, str]] = field(default_factory=list)
    version: int = 0
    epoch: int = 0


def _graph_time(moment: datetime) -> dict[str, str]:
    """A Graph `dateTimeTimeZone` in UTC."""
    return {"dateTime": moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": "UTC"}


def _from_graph(value: dict[str, str]) -> datetime:
    """A Graph UTC `dateTimeTimeZone` as an aware datetime."""
    return datetime.fromisoformat(value["dateTime"][:19]).replace(tzinfo=UTC)


class FakeGraph:
    """The fake identity platform + Graph server, its state and its recordings."""

    def __init__(
        self,
        *,
        tenant: str = "contoso-tenant",
        client_id: str = "app-client-id",
        secret: str = "s3cret",
        tls_dir: Path | None = None,
    ):
        """An empty tenant whose app `client_id` signs in with `secret` (TLS files under `tls_dir`)."""
        self.tenant = tenant
        self.client_id = client_id
        self.secret = secret
        self.thumbprint: str | None = None
        self.secret_expired = False
        self.consent = True
        """False: tokens are issued but Graph answers 403 ErrorAccessDenied (no application permission)."""
        self.token_error: tuple[int, str, str] | None = None
        self.mailboxes: dict[str, Mailbox] = {}
        self.groups: dict[str, list[str]] = {}
        self.faults: list[Fault] = []
        self.requests: list[Recorded] = []
        self.calls: list[Recorded] = []
        self.tokens_issued = 0
        self.inflight: dict[str, int] = {}
        self.max_inflight: dict[str, int] = {}
        self.delay = 0.0
        """Seconds each plain Graph request takes (to expose concurrency)."""
        self._tokens: set[str] = set()
        self._delta_tokens: dict[str, tuple[str, datetime, datetime, int, int]] = {}
        self._skip: dict[str, tuple[str, datetime, datetime, list[dict[str, Any]], int, int]] = {}
        self._lock = threading.RLock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.login_base, self.graph_base = LOGIN, GRAPH
        self.ca_file: Path | None = None
        """With `tls_dir`: the self-signed certificate to trust (REQUESTS_CA_BUNDLE) for https://127.0.0.1:PORT."""
        if tls_dir is not None:
            self.ca_file = _serve_tls(self._server, tls_dir)
            self.login_base = self.graph_base = f"https://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    # ---- lifecycle -------------------------------------------------------------------------

    def start(self) -> FakeGraph:
        """Start serving in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()

    def session(self) -> requests.Session:
        """A requests Session whose https Microsoft hosts go to this fake (environment proxies ignored)."""
        s = requests.Session()
        s.trust_env = False
        adapter = LoopbackAdapter(self.port)
        s.mount(LOGIN + "/", adapter)
        s.mount(GRAPH + "/", adapter)
        return s

    # ---- state -----------------------------------------------------------------------------

    def add_mailbox(self, email: str, *, status: str = "ok") -> Mailbox:
        """Create a mailbox (its id is a GUID-like string derived from the address)."""
        email = email.lower()
        digest = hashlib.sha1(email.encode()).hexdigest()
        uid = f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
        with self._lock:
            box = self.mailboxes.setdefault(uid, Mailbox(uid, email, status))
            box.status = status
        return box

    def mailbox(self, email_or_id: str) -> Mailbox:
        """A mailbox by id or address (creating it by address if needed)."""
        if email_or_id in self.mailboxes:
            return self.mailboxes[email_or_id]
        for box in self.mailboxes.values():
            if box.email == email_or_id.lower():
                return box
        return self.add_mailbox(email_or_id)

    def _item_id(self, box: Mailbox, uid: str, slot: str) -> str:
        """An opaque per-mailbox Graph event id."""
        return "AAMkAG" + base64.urlsafe_b64encode(hashlib.sha1(f"{box.id}|{uid}|{slot}".encode()).digest()).decode()

    def _touch(self, box: Mailbox, item_id: str) -> None:
        """Record a change of one item."""
        box.version += 1
        box.changes.append((box.version, item_id))

    def put(self, owner: str, event: dict[str, Any]) -> list[str]:
        """Create or replace a meeting (contract-driver dict) in owner's calendar; returns its item ids."""
        with self._lock:
            box = self.mailbox(owner)
            uid = event["uid"]
            self._remove_uid(box, uid)
            start: datetime = event["start"]
            end: datetime = event["end"]
            base = self._resource(box, event)
            ids: list[str] = []
            rrule = event.get("rrule")
            if not rrule:
                item_id = self._item_id(box, uid, "single")
                box.items[item_id] = {**base, "id": item_id, "iCalUId": uid, "type": "singleInstance"}
                self._touch(box, item_id)
                return [item_id]
            master_id = self._item_id(box, uid, "master")
            box.items[master_id] = {**base, "id": master_id, "iCalUId": uid, "type": "seriesMaster"}
            self._touch(box, master_id)
            ids.append(master_id)
            duration = end - start
            for occ in rrulestr(rrule, dtstart=start):
                slot = occ.strftime("%Y%m%d")
                item_id = self._item_id(box, uid, slot)
                icaluid = (
                    "040000008200E00074C5B7101A82E008" + hashlib.sha1(f"{uid}|{slot}".encode()).hexdigest().upper()
                )
                box.items[item_id] = {
                    **base,
                    "id": item_id,
                    "iCalUId": icaluid,
                    "type": "occurrence",
                    "seriesMasterId": master_id,
                    "start": _graph_time(occ),
                    "end": _graph_time(occ + duration),
                    "originalStart": occ.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                }
                self._touch(box, item_id)
                ids.append(item_id)
            return ids

    def _resource(self, box: Mailbox, event: dict[str, Any]) -> dict[str, Any]:
        """The Graph event JSON common to every instance, as seen from `box`'s owner (Exchange habits)."""
        organizer = (event.get("organizer") or box.email).lower()
        attendees = []
        own = "organizer" if organizer == box.email else "none"
        for email, response, is_resource in event.get("attendees", []):
            email = email.lower()
            if email == organizer:
                continue  # Exchange keeps the organizer out of attendees
            graph_response = _GRAPH_RESPONSES.get(response, "none")
            if email == box.email:
                own = graph_response
            attendees.append(
                {
                    "type": "resource" if is_resource else "required",
                    "status": {"response": graph_response, "time": "0001-01-01T00:00:00Z"},
                    "emailAddress": {"name": email.split("@")[0].title(), "address": email},
                }
            )
        return {
            "subject": event.get("title", ""),
            "isCancelled": event.get("status") == "cancelled",
            "isAllDay": bool(event.get("all_day", False)),
            "sensitivity": "private" if event.get("private") else "normal",
            "showAs": "busy",
            "start": _graph_time(event["start"]),
            "end": _graph_time(event["end"]),
            "location": {"displayName": event.get("location", "")},
            "organizer": {"emailAddress": {"name": organizer.split("@")[0].title(), "address": organizer}},
            "attendees": attendees,
            "responseStatus": {"response": own, "time": "0001-01-01T00:00:00Z"},
        }

    def _remove_uid(self, box: Mailbox, uid: str) -> None:
        """Remove every item of one meeting from a mailbox."""
        masters = {i for i, it in box.items.items() if it["type"] == "seriesMaster" and it["iCalUId"] == uid}
        for item_id in [
            i
            for i, it in box.items.items()
            if i in masters
            or (it["type"] == "singleInstance" and it["iCalUId"] == uid)
            or it.get("seriesMasterId") in masters
        ]:
            del box.items[item_id]
            self._touch(box, item_id)

    def remove(self, owner: str, uid: str) -> None:
        """Delete a meeting from owner's calendar (delta then reports `@removed`)."""
        with self._lock:
            self._remove_uid(self.mailbox(owner), uid)

    def remove_item(self, owner: str, item_id: str) -> None:
        """Delete one item (e.g. a cancelled occurrence) by its Graph id."""
        with self._lock:
            box = self.mailbox(owner)
            box.items.pop(item_id, None)
            self._touch(box, item_id)

    def edit(self, owner: str, item_id: str, **fields: Any) -> None:
        """Change fields of one item in place."""
        with self._lock:
            box = self.mailbox(owner)
            box.items[item_id].update(fields)
            self._touch(box, item_id)

    def expire_tokens(self, owner: str | None = None) -> None:
        """Invalidate the delta/skip tokens of one mailbox (or all): their next use answers 410."""
        with self._lock:
            for box in self.mailboxes.values():
                if owner is None or box.email == owner.lower() or box.id == owner:
                    box.epoch += 1

    def fail(
        self,
        status: int,
        match: str,
        *,
        times: int = 1,
        retry_after: float | None = None,
        code: str = "",
        where: str = "any",
    ) -> None:
        """Inject a fault for the next `times` matching requests."""
        with self._lock:
            self.faults.append(Fault(status, match, times, retry_after, code, where))

    def graph_requests(self) -> list[Recorded]:
        """Plain HTTP requests to Graph (a $batch counts once)."""
        return [r for r in self.requests if r.path.startswith("/v1.0/")]

    def token_requests(self) -> list[Recorded]:
        """Requests to the token endpoint."""
        return [r for r in self.requests if r.path.endswith("/oauth2/v2.0/token")]

    def reset_records(self) -> None:
        """Forget what was recorded so far."""
        with self._lock:
            self.requests.clear()
            self.calls.clear()

    # ---- HTTP ------------------------------------------------------------------------------

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                """Silence the default stderr logging."""

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, headers, payload = fake.handle(self.command, self.path, dict(self.headers.items()), body)
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Type", headers.get("Content-Type", "application/json"))
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = _answer
            do_POST = _answer

        return Handler

    def handle(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], Any]:
        """Answer one HTTP request."""
        parts = urlsplit(raw_path)
        with self._lock:
            self.requests.append(Recorded(method, parts.path, parse_qs(parts.query), headers, body))
        if parts.path.startswith("/v1.0/"):
            if parts.path == "/v1.0/$batch" and method == "POST":
                fault = self._fault(raw_path, direct=True)
                if fault is not None:
                    return fault
                if not self._authorized(headers):
                    return 401, {}, _error("InvalidAuthenticationToken", "Access token is empty or invalid.")
                return self._batch(headers, body)
            return self._graph_call(method, raw_path, headers, batched=False)
        return self._login(method, parts.path, body)

    # ---- token side ------------------------------------------------------------------------

    def _login(self, method: str, path: str, body: bytes) -> tuple[int, dict[str, str], Any]:
        """The identity platform endpoints."""
        tenant = path.strip("/").split("/")[0]
        if tenant != self.tenant:
            return (
                400,
                {},
                {
                    "error": "invalid_tenant",
                    "error_description": f"AADSTS90002: Tenant '{tenant}' not found. Check to make sure you have "
                    "the correct tenant ID and are signing into the correct cloud.",
                },
            )
        if path.endswith("/v2.0/.well-known/openid-configuration") and method == "GET":
            return (
                200,
                {},
                {
                    "token_endpoint": f"{self.login_base}/{tenant}/oauth2/v2.0/token",
                    "authorization_endpoint": f"{self.login_base}/{tenant}/oauth2/v2.0/authorize",
                    "issuer": f"{self.login_base}/{tenant}/v2.0",
                },
            )
        if path.endswith("/oauth2/v2.0/token") and method == "POST":
            return self._token(tenant, {k: v[0] for k, v in parse_qs(body.decode()).items()})
        return 404, {}, {"error": "not_found"}

    def _token(self, tenant: str, form: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        """Client-credentials grant."""
        if self.token_error is not None:
            status, err, description = self.token_error
            return status, {}, {"error": err, "error_description": description}
        if form.get("grant_type") != "client_credentials" or form.get("scope") != f"{self.graph_base}/.default":
            return (
                400,
                {},
                {"error": "invalid_request", "error_description": "AADSTS900144: bad grant or scope"},
            )
        if form.get("client_id") != self.client_id:
            return (
                400,
                {},
                {
                    "error": "unauthorized_client",
                    "error_description": f"AADSTS700016: Application with identifier '{form.get('client_id')}' "
                    f"was not found in the directory '{tenant}'.",
                },
            )
        if "client_assertion" in form:
            header = json.loads(base64.urlsafe_b64decode(form["client_assertion"].split(".")[0] + "=="))
            expected = base64.urlsafe_b64encode(bytes.fromhex(self.thumbprint or "00")).decode().rstrip("=")
            if str(header.get("x5t", "")).rstrip("=") != expected:
                return (
                    401,
                    {},
                    {
                        "error": "invalid_client",
                        "error_description": "AADSTS700027: Client assertion contains an invalid signature.",
                    },
                )
        elif form.get("client_secret") != self.secret:
            return (
                401,
                {},
                {
                    "error": "invalid_client",
                    "error_description": "AADSTS7000215: Invalid client secret provided. Ensure the secret being "
                    "sent in the request is the client secret value, not the client secret ID.",
                },
            )
        elif self.secret_expired:
            return (
                401,
                {},
                {
                    "error": "invalid_client",
                    "error_description": "AADSTS7000222: The provided client secret keys for app are expired.",
                },
            )
        token = secrets.token_urlsafe(16)
        with self._lock:
            self._tokens.add(token)
            self.tokens_issued += 1
        return 200, {}, {"token_type": "Bearer", "expires_in": 3599, "access_token": token}

    # ---- Graph side ------------------------------------------------------------------------

    def _authorized(self, headers: dict[str, str]) -> bool:
        auth = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        return auth.startswith("Bearer ") and auth[7:] in self._tokens

    def _fault(self, raw_path: str, *, direct: bool) -> tuple[int, dict[str, str], Any] | None:
        """The injected fault for this request, if any."""
        with self._lock:
            for fault in self.faults:
                if fault.times <= 0 or fault.match not in unquote(raw_path):
                    continue
                if (fault.where == "batch" and direct) or (fault.where == "direct" and not direct):
                    continue
                fault.times -= 1
                headers = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
                code = fault.code or {
                    429: "TooManyRequests",
                    503: "ServiceUnavailable",
                    404: "ErrorItemNotFound",
                }.get(fault.status, "generalException")
                if fault.status == 410:
                    headers["Location"] = self.graph_base + raw_path
                return fault.status, headers, _error(code, f"injected {fault.status}")
        return None

    def _graph_call(
        self, method: str, raw_path: str, headers: dict[str, str], *, batched: bool
    ) -> tuple[int, dict[str, str], Any]:
        """One Graph API call (a plain request or a $batch item)."""
        parts = urlsplit(raw_path)
        with self._lock:
            self.calls.append(Recorded(method, parts.path, parse_qs(parts.query), headers, batched=batched))
        fault = self._fault(raw_path, direct=not batched)
        if fault is not None:
            return fault
        if not self._authorized(headers):
            return 401, {}, _error("InvalidAuthenticationToken", "Access token is empty or invalid.")
        if not self.consent:
            return 403, {}, _error("ErrorAccessDenied", "Access is denied. Check credentials and try again.")
        segments = [unquote(s) for s in parts.path.split("/")[2:]]
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if segments[:1] == ["groups"] and len(segments) == 4:
            return self._group(segments[1], query)
        if segments[:1] != ["users"] or len(segments) < 2:
            return 400, {}, _error("BadRequest", f"unsupported path {parts.path}")
        box = self._find(segments[1])
        if box is None or box.status == "missing":
            return 404, {}, _error("ErrorItemNotFound", "The specified object was not found in the store.")
        if box.status == "disabled":
            return (
                404,
                {},
                _error(
                    "MailboxNotEnabledForRESTAPI",
                    "The mailbox is either inactive, soft-deleted, or is hosted on-premise.",
                ),
            )
        if not batched and self.delay:
            self._enter(box.id)
            try:
                time.sleep(self.delay)
                return self._user_call(box, segments[2:], query, headers)
            finally:
                self._leave(box.id)
        return self._user_call(box, segments[2:], query, headers)

    def _enter(self, box_id: str) -> None:
        with self._lock:
            self.inflight[box_id] = self.inflight.get(box_id, 0) + 1
            self.max_inflight[box_id] = max(self.max_inflight.get(box_id, 0), self.inflight[box_id])

    def _leave(self, box_id: str) -> None:
        with self._lock:
            self.inflight[box_id] -= 1

    def _find(self, key: str) -> Mailbox | None:
        if key in self.mailboxes:
            return self.mailboxes[key]
        return next((b for b in self.mailboxes.values() if b.email == key.lower()), None)

    def _user_call(
        self, box: Mailbox, rest: list[str], query: dict[str, str], headers: dict[str, str]
    ) -> tuple[int, dict[str, str], Any]:
        """Calls under /users/{id}."""
        if not rest:
            return 200, {}, {"id": box.id, "mail": box.email, "userPrincipalName": box.email}
        if rest[0] == "events" and len(rest) == 2:
            item = box.items.get(rest[1])
            if item is None:
                return (
                    404,
                    {},
                    _error("ErrorItemNotFound", "The specified object was not found in the store."),
                )
            fields = query.get("$select", "").split(",") if "$select" in query else list(item)
            return 200, {}, {"id": item["id"], **{f: item[f] for f in fields if f in item}}
        if rest == ["calendarView", "delta"]:
            return self._delta(box, query, headers)
        return 400, {}, _error("BadRequest", "unsupported")

    def _page_size(self, headers: dict[str, str]) -> int:
        prefer = next((v for k, v in headers.items() if k.lower() == "prefer"), "")
        for part in prefer.split(","):
            name, _, value = part.strip().partition("=")
            if name == "odata.maxpagesize":
                return int(value)
        return 100

    def _delta(self, box: Mailbox, query: dict[str, str], headers: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        """calendarView/delta: initial round, $skiptoken pages and $deltatoken rounds."""
        size = self._page_size(headers)
        base = f"{self.graph_base}/v1.0/users/{quote(box.id)}/calendarView/delta"
        with self._lock:
            if "$skiptoken" in query:
                state = self._skip.pop(query["$skiptoken"], None)
                if state is None or state[5] != box.epoch or state[0] != box.id:
                    return _gone(base, query)
                _, start, end, pending, version, _ = state
            elif "$deltatoken" in query:
                dstate = self._delta_tokens.get(query["$deltatoken"])
                if dstate is None or dstate[4] != box.epoch or dstate[0] != box.id:
                    return _gone(base, query)
                _, start, end, since, _ = dstate
                changed = list(dict.fromkeys(i for v, i in box.changes if v > since))
                pending = []
                for item_id in changed:
                    item = box.items.get(item_id)
                    if item is not None and item["type"] == "seriesMaster":
                        continue
                    if item is None or not _in_view(item, start, end):
                        pending.append({"id": item_id, "@removed": {"reason": "deleted"}})
                    else:
                        pending.append(dict(item))
                version = box.version
            else:
                try:
                    start = datetime.fromisoformat(query["startDateTime"].replace("Z", "+00:00"))
                    end = datetime.fromisoformat(query["endDateTime"].replace("Z", "+00:00"))
                except (KeyError, ValueError):
                    return (
                        400,
                        {},
                        _error("ErrorInvalidParameter", "startDateTime and endDateTime are required."),
                    )
                pending = [
                    dict(it)
                    for it in sorted(box.items.values(), key=lambda it: (it["start"]["dateTime"], it["id"]))
                    if it["type"] != "seriesMaster" and _in_view(it, start, end)
                ]
                version = box.version
            page, rest = pending[:size], pending[size:]
            body: dict[str, Any] = {
                "@odata.context": f"{self.graph_base}/v1.0/$metadata#Collection(event)",
                "value": page,
            }
            if rest:
                token = secrets.token_urlsafe(12)
                self._skip[token] = (box.id, start, end, rest, version, box.epoch)
                body["@odata.nextLink"] = f"{base}?{urlencode({'$skiptoken': token}, safe='$')}"
            else:
                token = secrets.token_urlsafe(12)
                self._delta_tokens[token] = (box.id, start, end, version, box.epoch)
                body["@odata.deltaLink"] = f"{base}?{urlencode({'$deltatoken': token}, safe='$')}"
        return 200, {}, body

    def _group(self, group_id: str, query: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        """Transitive user members of a group, two per page."""
        if group_id not in self.groups:
            return 404, {}, _error("Request_ResourceNotFound", f"Resource '{group_id}' does not exist.")
        members = self.groups[group_id]
        offset = int(query.get("$skiptoken", "0"))
        page = members[offset : offset + 2]
        value = []
        for email in page:
            box = self._find(email)
            value.append({"id": box.id if box else email, "mail": email if box else None, "userPrincipalName": email})
        body: dict[str, Any] = {"value": value}
        if offset + 2 < len(members):
            body["@odata.nextLink"] = (
                f"{self.graph_base}/v1.0/groups/{group_id}/transitiveMembers/microsoft.graph.user?"
                + urlencode({"$select": "id,mail,userPrincipalName", "$skiptoken": str(offset + 2)})
            )
        return 200, {}, body

    def _batch(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], Any]:
        """JSON $batch: at most 20 items, each answered on its own, in reverse order."""
        try:
            items = json.loads(body)["requests"]
        except (ValueError, KeyError):
            return 400, {}, _error("BadRequest", "Invalid batch payload.")
        if len(items) > 20:
            return 400, {}, _error("BadRequest", "Number of batch request steps exceeds the maximum of 20.")
        auth = {k: v for k, v in headers.items() if k.lower() == "authorization"}
        responses = []
        for item in items:
            url = item["url"] if item["url"].startswith("/") else "/" + item["url"]
            status, rh, rbody = self._graph_call(
                item.get("method", "GET"), "/v1.0" + url, {**auth, **item.get("headers", {})}, batched=True
            )
            responses.append({"id": item["id"], "status": status, "headers": rh, "body": rbody})
        return 200, {}, {"responses": list(reversed(responses))}


def _serve_tls(server: ThreadingHTTPServer, folder: Path) -> Path:
    """Serve TLS with a fresh self-signed certificate for 127.0.0.1; returns the certificate file."""
    import ssl

    cert_file, key_file = self_signed_cert(folder, "graph-fake")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    return cert_file


def _in_view(item: dict[str, Any], start: datetime, end: datetime) -> bool:
    """Whether an instance overlaps [start, end) (calendarView semantics)."""
    s, e = _from_graph(item["start"]), _from_graph(item["end"])
    return s < end and max(e, s + timedelta(seconds=1)) > start


def _gone(base: str, query: dict[str, str]) -> tuple[int, dict[str, str], Any]:
    """410 for an expired or unknown token."""
    return (
        410,
        {"Location": f"{base}?{urlencode(query)}"},
        _error("syncStateNotFound", "The sync state generation is not found or has expired."),
    )


def _error(code: str, message: str) -> dict[str, Any]:
    """Graph's error body."""
    return {"error": {"code": code, "message": message, "innerError": {"request-id": secrets.token_hex(8)}}}


class LoopbackAdapter(HTTPAdapter):
    """Sends requests for the https Microsoft hosts to http://127.0.0.1:PORT, path and query kept."""

    def __init__(self, port: int) -> None:
        """An adapter sending to 127.0.0.1:`port`."""
        super().__init__()
        self._port = port

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        """Rewrite the URL, then send as usual."""
        url = request.url or ""
        for host in (LOGIN, GRAPH):
            if url.startswith(host + "/"):
                request.url = f"http://127.0.0.1:{self._port}" + url[len(host) :]
        return super().send(request, *args, **kwargs)


def running(**kwargs: Any) -> Iterator[FakeGraph]:
    """A started fake, stopped afterwards (for pytest fixtures: `yield from running()`)."""
    fake = FakeGraph(**kwargs).start()
    try:
        yield fake
    finally:
        fake.stop()


def make_collector(
    fake: FakeGraph, *, users: list[str] | None = None, group_id: str | None = None, **kwargs: Any
) -> tuple[Any, list[float]]:
    """A MicrosoftCollector wired to `fake` through real msal + requests, and the list its sleeps go to."""
    from collectors.microsoft import MicrosoftCollector

    sleeps: list[float] = []
    if users is None and group_id is None:
        users = [box.email for box in fake.mailboxes.values()]
    collector = MicrosoftCollector(
        kwargs.pop("name", "microsoft"),
        tenant_id=kwargs.pop("tenant_id", fake.tenant),
        client_id=kwargs.pop("client_id", fake.client_id),
        client_credential=kwargs.pop("client_credential", fake.secret),
        users=users,
        group_id=group_id,
        session=fake.session(),
        sleep=sleeps.append,
        **kwargs,
    )
    return collector, sleeps
