"""A real SMTP server (aiosmtpd) on 127.0.0.1 that records what it receives; stoppable to fake outages.

    with FakeSmtpServer() as server:
        SmtpDelivery("127.0.0.1", server.port, "none", None, None, sender, 5).send(message)
        assert server.messages[0].envelope_to == ("alice@example.org",)
        server.stop()        # the next delivery fails to connect
        server.start()       # same port again

`tls_contexts(folder)` makes a self-signed certificate for 127.0.0.1/localhost and returns the
(server, client) SSL contexts for STARTTLS or implicit-TLS tests.
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.fakes.tls import self_signed_cert


@dataclass(frozen=True)
class ReceivedMessage:
    """One message as the server received it."""

    envelope_from: str
    envelope_to: tuple[str, ...]
    message: EmailMessage
    """The DATA parsed with the modern email policy."""
    raw: bytes
    tls: bool
    """Whether the session was encrypted (STARTTLS or implicit TLS)."""
    login: str | None
    """The user name the client authenticated as, if any."""


class _Recorder:
    """aiosmtpd handler that appends every accepted message to a list."""

    def __init__(self, sink: list[ReceivedMessage]) -> None:
        self.sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """Record the message and accept it."""
        raw = envelope.original_content or envelope.content
        message = BytesParser(policy=policy.default).parsebytes(raw)
        assert isinstance(message, EmailMessage)
        login = session.auth_data if isinstance(session.auth_data, str) else None
        self.sink.append(
            ReceivedMessage(
                envelope_from=envelope.mail_from,
                envelope_to=tuple(envelope.rcpt_tos),
                message=message,
                raw=raw,
                tls=server.transport.get_extra_info("ssl_object") is not None,
                login=login,
            )
        )
        return "250 Message accepted for delivery"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


class FakeSmtpServer:
    """An aiosmtpd server on loopback recording messages; a context manager that can be stopped and restarted."""

    def __init__(
        self,
        *,
        starttls_context: ssl.SSLContext | None = None,
        implicit_tls_context: ssl.SSLContext | None = None,
        credentials: tuple[str, str] | None = None,
    ) -> None:
        self.host = "127.0.0.1"
        self.port = free_port(self.host)
        self.messages: list[ReceivedMessage] = []
        self._starttls_context = starttls_context
        self._implicit_tls_context = implicit_tls_context
        self._credentials = credentials
        self._controller: Controller | None = None

    @property
    def running(self) -> bool:
        """Whether the server is accepting connections."""
        return self._controller is not None

    def start(self) -> None:
        """Start listening (again) on the same port."""
        if self._controller is not None:
            return
        params: dict[str, Any] = {}
        if self._starttls_context is not None:
            params.update(tls_context=self._starttls_context, require_starttls=True)
        if self._credentials is not None:
            params.update(authenticator=self._authenticate, auth_require_tls=False)
        controller = Controller(
            _Recorder(self.messages),
            hostname=self.host,
            port=self.port,
            ssl_context=self._implicit_tls_context,
            server_hostname="localhost" if self._implicit_tls_context else None,
            ready_timeout=5.0,
            **params,
        )
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        """Stop listening: connections are refused until `start`."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        """Accept exactly the configured user name and password."""
        assert self._credentials is not None
        if isinstance(data, LoginPassword):
            user, password = self._credentials
            if data.login.decode() == user and data.password.decode() == password:
                return AuthResult(success=True, auth_data=user)
        return AuthResult(success=False, handled=False)

    def __enter__(self) -> FakeSmtpServer:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


def tls_contexts(folder: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server, client) SSL contexts sharing a fresh self-signed certificate for 127.0.0.1 and localhost."""
    cert_path, key_path = self_signed_cert(folder, "smtp-fake")
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_path, key_path)
    client = ssl.create_default_context(cafile=str(cert_path))
    return server, client
