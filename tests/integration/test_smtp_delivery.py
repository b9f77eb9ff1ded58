"""SmtpDelivery against a real aiosmtpd server on 127.0.0.1: plain, STARTTLS, implicit TLS, outages."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest

from notifier.delivery import SmtpDelivery
from notifier.plan import plan_alerts
from notifier.render import render_alert
from revolving_door.detect import detect
from revolving_door.errors import DeliveryError
from revolving_door.model import Attendee, Meeting
from tests.fakes.smtp_server import FakeSmtpServer, free_port, tls_contexts

NOW = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
SENDER = "revolving-door@example.org"
EVIL_TITLE = "<img src=x onerror=alert(1)> Visit\r\nBcc: victim@example.com"


def meeting(key: str, start: datetime, people: set[str], title: str, **fields: object) -> Meeting:
    """A UNICEF meeting attended by `people`."""
    return Meeting(
        key=key,
        uid=key,
        start=start,
        end=start + timedelta(hours=1),
        title=title,
        location="",
        private=bool(fields.get("private", False)),
        calendars=tuple(sorted(people)),
        internal_attendees=frozenset(people),
        partners=("UNICEF",),
        families=("UNICEF",),
        external_attendees=(Attendee("guest@unicef.org", "Guest <script>", "accepted"),),
    )


def messages_for(title: str = "Visit") -> dict[str, EmailMessage]:
    """Rendered alerts (by recipient) for one collision between Alice's and Bob's UNICEF meetings."""
    first = meeting("a", NOW + timedelta(days=2), {"alice@example.org"}, title)
    second = meeting("b", NOW + timedelta(days=4), {"bob@example.org"}, "Secret talks", private=True)
    alerts = plan_alerts(
        detect([first, second], window_days=7),
        now=NOW,
        horizon_days=30,
        owners_of=lambda family: ["dana@example.org"],
        exclude=(),
        already_alerted=(),
    )
    return {
        alert.recipient: render_alert(
            alert, sender=SENDER, organization="Example Org", owners=["dana@example.org"], now=NOW
        )
        for alert in alerts
    }


@pytest.fixture
def server() -> Iterator[FakeSmtpServer]:
    """A plain SMTP server on loopback, stopped after the test."""
    with FakeSmtpServer() as running:
        yield running


def plain(server: FakeSmtpServer) -> SmtpDelivery:
    """An SmtpDelivery without TLS or login pointed at `server`."""
    return SmtpDelivery(
        host=server.host,
        port=server.port,
        security="none",
        username=None,
        password=None,
        sender=SENDER,
        timeout_seconds=5,
    )


def test_each_recipient_gets_one_message_with_text_and_html(server: FakeSmtpServer) -> None:
    """Every rendered alert arrives once, to its recipient only, as text + HTML from the sender."""
    delivery = plain(server)
    rendered = messages_for()
    for message in rendered.values():
        delivery.send(message)
    assert sorted(r.envelope_to for r in server.messages) == [
        ("alice@example.org",),
        ("bob@example.org",),
        ("dana@example.org",),
    ]
    for received in server.messages:
        assert received.envelope_from == SENDER
        assert not received.tls
        body = received.message
        assert body.get_content_type() == "multipart/alternative"
        assert body.get_body(("plain",)) is not None
        assert body.get_body(("html",)) is not None
        assert body["Message-ID"].endswith("@revolving-door>")


def test_hostile_title_is_escaped_and_adds_no_header(server: FakeSmtpServer) -> None:
    """A title with HTML and a CR/LF 'Bcc:' line arrives escaped in HTML, with no Bcc and no extra recipient."""
    rendered = messages_for(EVIL_TITLE)
    plain(server).send(rendered["bob@example.org"])
    [received] = server.messages
    assert received.envelope_to == ("bob@example.org",)
    assert received.message["Bcc"] is None
    assert b"\nBcc:" not in received.raw.split(b"\r\n\r\n", 1)[0]
    for name, value in received.message.items():
        assert "\r" not in str(value) and "\n" not in str(value), name
    html = received.message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<script>" not in html
    text = received.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Secret talks" not in text and "Secret talks" not in html


def test_server_down_raises_delivery_error_then_recovers(server: FakeSmtpServer) -> None:
    """While the server is down, send raises DeliveryError; once it is back, the same message goes through."""
    message = messages_for()["alice@example.org"]
    delivery = plain(server)
    server.stop()
    with pytest.raises(DeliveryError, match=f"127.0.0.1:{server.port}"):
        delivery.send(message)
    server.start()
    delivery.send(message)
    assert [r.envelope_to for r in server.messages] == [("alice@example.org",)]


def test_unanswering_server_times_out_as_delivery_error() -> None:
    """A server that accepts the connection but never greets fails within the timeout."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        delivery = SmtpDelivery("127.0.0.1", silent.getsockname()[1], "none", None, None, SENDER, 0.3)
        with pytest.raises(DeliveryError, match="could not deliver"):
            delivery.send(messages_for()["alice@example.org"])


def test_nothing_listening_is_a_delivery_error() -> None:
    """A refused connection becomes a DeliveryError that names the server."""
    port = free_port()
    delivery = SmtpDelivery("127.0.0.1", port, "none", None, None, SENDER, 2)
    with pytest.raises(DeliveryError, match=f"127.0.0.1:{port}") as caught:
        delivery.send(messages_for()["alice@example.org"])
    assert isinstance(caught.value.__cause__, OSError)


@pytest.fixture(scope="module")
def contexts(tmp_path_factory: pytest.TempPathFactory) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """Server and client SSL contexts for a self-signed 127.0.0.1 certificate."""
    return tls_contexts(tmp_path_factory.mktemp("tls"))


def test_starttls_with_login_delivers_encrypted(contexts: tuple[ssl.SSLContext, ssl.SSLContext]) -> None:
    """With security=starttls the session is upgraded before login and the message arrives."""
    server_context, client_context = contexts
    with FakeSmtpServer(starttls_context=server_context, credentials=("mailer", "s3cret-pw")) as server:
        delivery = SmtpDelivery(
            server.host, server.port, "starttls", "mailer", "s3cret-pw", SENDER, 5, ssl_context=client_context
        )
        delivery.send(messages_for()["alice@example.org"])
        [received] = server.messages
        assert received.tls and received.login == "mailer"


def test_implicit_tls_delivers(contexts: tuple[ssl.SSLContext, ssl.SSLContext]) -> None:
    """With security=ssl the connection is TLS from the first byte."""
    server_context, client_context = contexts
    with FakeSmtpServer(implicit_tls_context=server_context) as server:
        delivery = SmtpDelivery(server.host, server.port, "ssl", None, None, SENDER, 5, ssl_context=client_context)
        delivery.send(messages_for()["alice@example.org"])
        assert [r.tls for r in server.messages] == [True]


def test_untrusted_certificate_is_a_delivery_error(tmp_path: Path) -> None:
    """STARTTLS to a server whose certificate the client does not trust fails cleanly."""
    server_context, _ = tls_contexts(tmp_path)
    with FakeSmtpServer(starttls_context=server_context) as server:
        delivery = SmtpDelivery(server.host, server.port, "starttls", None, None, SENDER, 5)
        with pytest.raises(DeliveryError, match="could not deliver"):
            delivery.send(messages_for()["alice@example.org"])
        assert server.messages == []


def test_wrong_password_is_refused_without_revealing_it(contexts: tuple[ssl.SSLContext, ssl.SSLContext]) -> None:
    """A refused login is a DeliveryError whose message and cause never contain the password."""
    server_context, client_context = contexts
    with FakeSmtpServer(starttls_context=server_context, credentials=("mailer", "right-pw")) as server:
        delivery = SmtpDelivery(
            server.host, server.port, "starttls", "mailer", "wrong-pw-123", SENDER, 5, ssl_context=client_context
        )
        with pytest.raises(DeliveryError, match="refused the login") as caught:
            delivery.send(messages_for()["alice@example.org"])
        assert "wrong-pw-123" not in str(caught.value)
        assert "wrong-pw-123" not in str(caught.value.__cause__)
        assert "wrong-pw-123" not in repr(delivery)
        assert server.messages == []
