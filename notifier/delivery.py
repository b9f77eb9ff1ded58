"""Delivering rendered alerts: to a folder of .eml files, or to an SMTP server.

Every delivery raises `DeliveryError` (converted from smtplib/OSError with `raise ... from exc`) and
nothing else; its message names the server but never a credential. The outbox (in the store)
decides when to retry, using `backoff_delay`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import smtplib
import ssl
import tempfile
from collections.abc import Callable
from datetime import timedelta
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

from revolving_door.errors import DeliveryError

__all__ = ["Delivery", "FileDelivery", "Security", "SmtpDelivery", "backoff_delay", "eml_name"]

Security = Literal["starttls", "ssl", "none"]
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@runtime_checkable
class Delivery(Protocol):
    """Sends one email; raises DeliveryError when it could not be handed over."""

    def send(self, message: EmailMessage) -> None:
        """Deliver `message` or raise DeliveryError (the alert then stays queued)."""
        ...


def eml_name(message: EmailMessage) -> str:
    """The file name for a message: its Message-ID made file-safe, or a content hash without one."""
    mid = str(message.get("Message-ID", "")).strip().strip("<>")
    stem = _UNSAFE.sub("_", mid).strip("._")
    if not stem:
        stem = hashlib.sha256(message.as_bytes()).hexdigest()[:32]
    return f"{stem[:150]}.eml"


class FileDelivery:
    """Writes each message as `<message-id>.eml` in a folder, atomically; re-sending overwrites."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def path_for(self, message: EmailMessage) -> Path:
        """Where `message` is (or will be) written."""
        return self.folder / eml_name(message)

    def send(self, message: EmailMessage) -> None:
        """Write the message to a temporary file, flush it to disk and rename it into place."""
        target = self.path_for(message)
        tmp: str | None = None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=self.folder)
            with os.fdopen(fd, "wb") as handle:
                handle.write(message.as_bytes())
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
            tmp = None
        except OSError as exc:
            raise DeliveryError(f"could not write {target}: {exc.strerror or type(exc).__name__}") from exc
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)


class SmtpDelivery:
    """Sends each message over SMTP (one connection per message) with STARTTLS, implicit TLS or none."""

    def __init__(
        self,
        host: str,
        port: int,
        security: Security,
        username: str | None,
        password: str | None,
        sender: str,
        timeout_seconds: float = 30.0,
        *,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if security not in ("starttls", "ssl", "none"):
            raise ValueError(f"security must be starttls, ssl or none, got {security!r}")
        self.host = host
        self.port = port
        self.security: Security = security
        self.username = username
        self._password = password
        self.sender = sender
        self.timeout_seconds = timeout_seconds
        self._ssl_context = ssl_context

    def __repr__(self) -> str:
        return (
            f"SmtpDelivery(host={self.host!r}, port={self.port}, security={self.security!r}, "
            f"username={self.username!r}, sender={self.sender!r})"
        )

    def send(self, message: EmailMessage) -> None:
        """Hand `message` to the server for every To/Cc/Bcc address; any failure is a DeliveryError."""
        recipients = [addr for _, addr in getaddresses(message.get_all("To", []) + message.get_all("Cc", []))]
        recipients += [addr for _, addr in getaddresses(message.get_all("Bcc", []))]
        recipients = [r for r in recipients if r]
        if not recipients:
            raise DeliveryError("message has no recipient")
        where = f"{self.host}:{self.port}"
        context = self._context()
        try:
            with self._connect(context) as client:
                client.ehlo()
                if self.security == "starttls":
                    client.starttls(context=context)
                    client.ehlo()
                if self.username:
                    client.login(self.username, self._password or "")
                refused = client.send_message(message, from_addr=self.sender, to_addrs=recipients)
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(f"SMTP server {where} refused the login (code {exc.smtp_code})") from exc
        except smtplib.SMTPResponseException as exc:
            error = exc.smtp_error
            detail = self._redact(error.decode("utf-8", "replace") if isinstance(error, bytes) else str(error))
            raise DeliveryError(f"SMTP server {where} answered {exc.smtp_code}: {detail}") from exc
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"SMTP server {where} refused every recipient: {sorted(exc.recipients)}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            detail = self._redact(str(exc)) or type(exc).__name__
            raise DeliveryError(f"could not deliver through {where}: {detail}") from exc
        if refused:
            raise DeliveryError(f"SMTP server {where} refused {sorted(refused)}")

    def _context(self) -> ssl.SSLContext | None:
        """The TLS context, built once and only when TLS is used (building one costs ~20 ms)."""
        if self.security == "none":
            return None
        if self._ssl_context is None:
            self._ssl_context = ssl.create_default_context()
        return self._ssl_context

    def _connect(self, context: ssl.SSLContext | None) -> smtplib.SMTP:
        """An open connection (the server's greeting read, EHLO not yet sent)."""
        if self.security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout_seconds, context=context)
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout_seconds)
        return client

    def _redact(self, text: str) -> str:
        """`text` with the password (if any) blanked out, on one line."""
        if self._password:
            text = text.replace(self._password, "***")
        return " ".join(text.split())


def backoff_delay(
    attempts: int,
    base_seconds: float = 60,
    cap_seconds: float = 6 * 3600,
    *,
    jitter: Callable[[], float] | None = None,
) -> timedelta:
    """How long to wait after `attempts` failed tries: base * 2^(attempts - 1), capped.

    With `jitter` (a function returning a number in [0, 1), e.g. `random.random`), the delay is
    scaled into [half, full) of that value so that many queued alerts do not retry in lockstep.
    """
    exponent = min(max(attempts, 1) - 1, 62)
    delay = min(float(cap_seconds), float(base_seconds) * 2.0**exponent)
    if jitter is not None:
        delay *= 0.5 + 0.5 * min(max(jitter(), 0.0), 1.0)
    return timedelta(seconds=delay)
