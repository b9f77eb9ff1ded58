"""Alerts over real SMTP, through the CLI as a user runs it: once per recipient and pair, and never lost.

The helpers here (calendars written as .ics, settings for SMTP delivery, a partners.csv) are shared
with the other alert e2e tests of this folder.
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

from tests.conftest import run_cli
from tests.fakes.smtp_server import FakeSmtpServer, ReceivedMessage

INTERNAL = "ours.org"
SENDER = f"revolving-door@{INTERNAL}"
PARTNERS = "name,domains,aliases,owner,parent\nAcme Foundation,acme.org,,owner@ours.org,\n"


@dataclass(frozen=True)
class Visit:
    """One meeting written into the calendars of its internal attendees."""

    uid: str
    title: str
    day: float
    """Start, in days from now (the hour is rounded down, so meetings stay ahead)."""
    staff: tuple[str, ...]
    """Internal logins who accepted."""
    guests: tuple[str, ...] = ()
    """External attendees' email addresses."""
    declined: tuple[str, ...] = ()
    """Internal logins who declined."""
    private: bool = False


def address(login: str) -> str:
    """A staff login as an internal email address."""
    return login if "@" in login else f"{login}@{INTERNAL}"


def ics_text(value: str) -> str:
    """`value` escaped as an iCalendar TEXT value (a newline becomes the two characters \\n)."""
    return (value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n"))


def fold(line: str) -> str:
    """One content line folded at 75 octets, as RFC 5545 asks."""
    out, current = [], ""
    for char in line:
        if len((current + char).encode()) > 74:
            out.append(current)
            current = " "
        current += char
    return "\r\n".join([*out, current])


def stamp(when: datetime) -> str:
    """A UTC DATE-TIME value."""
    return when.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def vevent(visit: Visit, now: datetime) -> list[str]:
    """The content lines of one VEVENT."""
    start = now.replace(minute=0, second=0, microsecond=0) + timedelta(days=visit.day)
    lines = [
        "BEGIN:VEVENT", f"UID:{visit.uid}", f"DTSTAMP:{stamp(now)}", f"DTSTART:{stamp(start)}",
        f"DTEND:{stamp(start + timedelta(hours=1))}", f"SUMMARY:{ics_text(visit.title)}",
        f"ORGANIZER:mailto:{address(visit.staff[0])}",
    ]
    if visit.private:
        lines.append("CLASS:PRIVATE")
    for login in visit.staff:
        lines.append(f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{address(login)}")
    for login in visit.declined:
        lines.append(f"ATTENDEE;PARTSTAT=DECLINED:mailto:{address(login)}")
    for guest in visit.guests:
        lines.append(f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{guest}")
    return [*lines, "END:VEVENT"]


def write_calendars(folder: Path, visits: Iterable[Visit], *, now: datetime | None = None) -> None:
    """One .ics per internal attendee under folder/calendars, holding every meeting they are in."""
    now = now or datetime.now(UTC)
    calendars: dict[str, list[str]] = {}
    for visit in visits:
        for login in (*visit.staff, *visit.declined):
            calendars.setdefault(address(login), []).extend(vevent(visit, now))
    target = folder / "calendars"
    target.mkdir(exist_ok=True)
    for owner, lines in calendars.items():
        body = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//revolving-door tests//EN", *lines, "END:VCALENDAR"]
        (target / f"{owner}.ics").write_bytes(("\r\n".join(fold(line) for line in body) + "\r\n").encode())


def smtp_settings(folder: Path, port: int, extra: str = "", *, window_days: int = 7, timeout: int = 5) -> Path:
    """settings.toml delivering alerts to 127.0.0.1:port over plain SMTP, calendars under calendars/."""
    path = folder / "settings.toml"
    path.write_text(
        f'[organization]\nname = "Ours"\ninternal_domains = ["{INTERNAL}"]\n'
        f"[collision]\nwindow_days = {window_days}\n"
        '[store]\npath = "state.db"\n'
        '[[sources]]\nkind = "ics"\npath = "calendars/*.ics"\n'
        f'[notifier]\ndelivery = "smtp"\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
        f'from = "{SENDER}"\ntimeout_seconds = {timeout}\n' + extra,
        encoding="utf-8",
    )
    (folder / "calendars").mkdir(exist_ok=True)
    return path


def import_partners(settings: Path, csv_text: str = PARTNERS) -> None:
    """Import a partners.csv written beside the settings."""
    csv = settings.parent / "partners.csv"
    csv.write_text(csv_text, encoding="utf-8")
    out = run_cli("--config", settings, "partners", "import", csv, timeout=60)
    assert out.returncode == 0, out.stderr


def smtp_setup(folder: Path, port: int, visits: Iterable[Visit], extra: str = "", *, timeout: int = 5,
               partners: str = PARTNERS, now: datetime | None = None) -> Path:
    """`smtp_settings` for 127.0.0.1:port, `partners` imported and the visits' calendars written; returns
    the settings path."""
    settings = smtp_settings(folder, port, extra, timeout=timeout)
    import_partners(settings, partners)
    write_calendars(folder, visits, now=now)
    return settings


def sync_once(settings: Path) -> subprocess.CompletedProcess[str]:
    """`revolving-door sync --once`, which must succeed."""
    out = run_cli("--config", settings, "sync", "--once", timeout=60)
    assert out.returncode == 0, out.stderr
    return out


def alerts(settings: Path, status: str) -> list[dict[str, object]]:
    """`alerts list --status STATUS --format json`."""
    out = run_cli("--config", settings, "alerts", "list", "--status", status, "--format", "json", timeout=60)
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert isinstance(rows, list)
    return rows


def parts(message: EmailMessage) -> tuple[str, str]:
    """The (text, HTML) parts of a multipart/alternative alert; both must be present."""
    assert message.get_content_type() == "multipart/alternative"
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    assert text is not None and html is not None
    assert isinstance(text, EmailMessage) and isinstance(html, EmailMessage)
    return str(text.get_content()), str(html.get_content())


def recipients(received: Sequence[ReceivedMessage]) -> Counter[str]:
    """How many messages each envelope recipient got; each message has exactly one recipient."""
    counts: Counter[str] = Counter()
    for item in received:
        assert len(item.envelope_to) == 1, item.envelope_to
        assert item.envelope_from == SENDER
        assert str(item.message["To"]) == item.envelope_to[0]
        counts[item.envelope_to[0]] += 1
    return counts


GRANT = Visit("grant@test", "Grant review", 3, ("alice", "bob"), ("x@acme.org",), declined=("carol",))
SITE = Visit("site@test", "Site visit", 5, ("dave",), ("y@acme.org",))
DINNER_FAR = Visit("dinner@test", "Board dinner", 20, ("erin",), ("z@acme.org",))
DINNER_NEAR = Visit("dinner@test", "Board dinner", 11, ("erin",), ("z@acme.org",))


def test_one_email_per_recipient_and_new_collision(tmp_path: Path) -> None:
    """Two syncs send one text+HTML email per recipient of a new pair, then none; a moved meeting alerts its pair."""
    with FakeSmtpServer() as server:
        settings = smtp_setup(tmp_path, server.port, [GRANT, SITE, DINNER_FAR])

        sync_once(settings)
        first = list(server.messages)
        assert recipients(first) == {f"{who}@ours.org": 1 for who in ("alice", "bob", "dave", "owner")}
        for item in first:
            text, html = parts(item.message)
            for body in (text, html):
                assert "Grant review" in body and "Site visit" in body and "Board dinner" not in body
            assert "Acme Foundation" in str(item.message["Subject"])

        sync_once(settings)
        assert len(server.messages) == len(first), "the second run sent again"

        write_calendars(tmp_path, [GRANT, SITE, DINNER_NEAR])
        sync_once(settings)
        moved = server.messages[len(first):]
        assert recipients(moved) == {f"{who}@ours.org": 1 for who in ("dave", "erin", "owner")}
        for item in moved:
            text, html = parts(item.message)
            for body in (text, html):
                assert "Site visit" in body and "Board dinner" in body and "Grant review" not in body

        sync_once(settings)
        assert len(server.messages) == len(first) + len(moved)
        assert len({str(m.message["Message-ID"]) for m in server.messages}) == len(server.messages)
        assert alerts(settings, "queued") == []


def test_smtp_outage_keeps_alerts_queued_until_the_server_is_back(tmp_path: Path) -> None:
    """With the SMTP server down a sync exits 0 and keeps every alert queued; the next sync delivers each once."""
    server = FakeSmtpServer()
    try:
        settings = smtp_setup(tmp_path, server.port, [GRANT, SITE])

        down = sync_once(settings)
        assert "4 queued, 0 sent" in down.stdout
        assert "could not deliver" in down.stderr and "Traceback" not in down.stderr
        queued = alerts(settings, "queued")
        assert sorted(str(row["recipient"]) for row in queued) == [
            f"{who}@ours.org" for who in ("alice", "bob", "dave", "owner")]
        assert all(row["attempts"] == 1 and row["last_error"] for row in queued)

        server.start()
        back = sync_once(settings)
        assert "0 queued, 4 sent" in back.stdout
        assert recipients(server.messages) == {str(row["recipient"]): 1 for row in queued}
        assert {str(m.message["Message-ID"]) for m in server.messages} == {str(row["message_id"]) for row in queued}
        assert alerts(settings, "queued") == []
        assert len(alerts(settings, "sent")) == 4

        sync_once(settings)
        assert len(server.messages) == 4
    finally:
        server.stop()
