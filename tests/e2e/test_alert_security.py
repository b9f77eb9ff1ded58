"""Outsider text in alerts: escaped in HTML, never a header, and private titles never shown."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.test_alerts_smtp import Visit, parts, smtp_setup, sync_once
from tests.fakes.smtp_server import FakeSmtpServer

HOSTILE = Visit("hostile@test", "<img src=x onerror=alert(1)> Visit\nBcc: victim@example.com", 3, ("alice",),
                ("x@acme.org",))
PLAIN = Visit("plain@test", "Acme catch-up", 4, ("bob",), ("y@acme.org",))
PRIVATE = Visit("private@test", "Confidential merger talks", 5, ("carol",), ("z@acme.org",), private=True)


def test_hostile_title_is_escaped_and_private_title_never_shown(tmp_path: Path) -> None:
    """A title with HTML and a CR/LF `Bcc:` line is escaped and adds no header; a private title never appears."""
    with FakeSmtpServer() as server:
        settings = smtp_setup(tmp_path, server.port, [HOSTILE, PLAIN, PRIVATE])
        sync_once(settings)

        received = server.messages
        assert sorted(r.envelope_to[0] for r in received) == [
            f"{who}@ours.org" for who in ("alice", "bob", "carol", "owner")]
        for item in received:
            message = item.message
            text, html = parts(message)
            assert "victim@example.com" not in item.envelope_to
            assert all("victim" not in str(value).lower() for value in message.values())
            assert message.get_all("Bcc") is None
            assert b"victim" not in item.raw.split(b"\r\n\r\n", 1)[0].lower()
            assert "<img" not in html.lower() and "&lt;img" in html
            assert not any(line.lstrip().lower().startswith("bcc:") for line in (text + "\n" + html).splitlines())
            assert "onerror=alert(1)" in text
            assert "A private meeting" in text and "private meeting" in html
            for body in (text, html, item.raw.decode("utf-8", "replace")):
                assert "merger" not in body.lower()
