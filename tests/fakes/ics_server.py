"""A real HTTP server on 127.0.0.1 serving .ics feeds with ETag / Last-Modified validators.

It answers conditional GETs with 304 when `If-None-Match` matches the ETag or
`If-Modified-Since` is not older than Last-Modified, records every request, and can be told
to answer a path with an error status (e.g. 401, 429 with Retry-After, 503).
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType


@dataclass
class Feed:
    """One served feed: its body and validators (either may be switched off)."""

    body: bytes
    last_modified: datetime
    etag: bool = True
    send_last_modified: bool = True

    @property
    def etag_value(self) -> str:
        """A strong ETag derived from the body."""
        return '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'


@dataclass(frozen=True)
class Seen:
    """One request as received: method, path, and the conditional headers sent."""

    method: str
    path: str
    if_none_match: str | None
    if_modified_since: str | None


@dataclass
class IcsServer:
    """The server's state; use as a context manager to run it in a thread."""

    feeds: dict[str, Feed] = field(default_factory=dict)
    errors: dict[str, tuple[int, dict[str, str]]] = field(default_factory=dict)
    requests: list[Seen] = field(default_factory=list)
    _httpd: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    def publish(self, path: str, body: bytes, *, etag: bool = True, last_modified: bool = True) -> str:
        """Serve `body` at `path` (validators as asked) and return its URL."""
        stamp = datetime.now(UTC).replace(microsecond=0)
        self.feeds[path] = Feed(body, stamp, etag=etag, send_last_modified=last_modified)
        return self.url(path)

    def url(self, path: str) -> str:
        """The URL of `path` on this server."""
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}{path}"

    def __enter__(self) -> IcsServer:
        """Start serving on 127.0.0.1 with an OS-chosen port."""
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Stop the server and its thread."""
        assert self._httpd is not None and self._thread is not None
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def _not_modified(feed: Feed, if_none_match: str | None, if_modified_since: str | None) -> bool:
    """RFC 9110: If-None-Match decides when present; else If-Modified-Since against Last-Modified."""
    if if_none_match is not None:
        return feed.etag and feed.etag_value in [t.strip() for t in if_none_match.split(",")]
    if if_modified_since is not None and feed.send_last_modified:
        try:
            return feed.last_modified <= parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
    return False


def _handler(server: IcsServer) -> type[BaseHTTPRequestHandler]:
    """A request handler class bound to `server`'s state."""

    class Handler(BaseHTTPRequestHandler):
        """Serves GET requests for the feeds."""

        def do_GET(self) -> None:
            """Answer a feed, a 304, an injected error or 404."""
            inm, ims = self.headers.get("If-None-Match"), self.headers.get("If-Modified-Since")
            server.requests.append(Seen("GET", self.path, inm, ims))
            if self.path in server.errors:
                status, headers = server.errors[self.path]
                self._reply(status, b"error\n", headers)
                return
            feed = server.feeds.get(self.path)
            if feed is None:
                self._reply(404, b"not found\n", {})
                return
            headers = {"Content-Type": "text/calendar; charset=utf-8"}
            if feed.etag:
                headers["ETag"] = feed.etag_value
            if feed.send_last_modified:
                headers["Last-Modified"] = format_datetime(feed.last_modified, usegmt=True)
            if _not_modified(feed, inm, ims):
                self._reply(304, b"", headers)
                return
            self._reply(200, feed.body, headers)

        def _reply(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            """Send a status, headers and body."""
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if status != 304:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if status != 304:
                self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Keep test output quiet."""

    return Handler
