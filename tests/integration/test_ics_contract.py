"""The ICS collector over real .ics files in a temporary folder passes the collector contract."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from collectors.ics import IcsCollector
from revolving_door.model import CalendarRef, TimeWindow
from tests.contract import BaseDriver, CollectorContract, SourceDriver

WINDOW = TimeWindow(datetime(2031, 3, 1, tzinfo=UTC), datetime(2031, 6, 1, tzinfo=UTC))
_PARTSTAT = {
    "accepted": "ACCEPTED",
    "tentative": "TENTATIVE",
    "declined": "DECLINED",
    "needs-action": "NEEDS-ACTION",
}


def _escape(text: str) -> str:
    """An iCalendar TEXT value."""
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _stamp(moment: datetime) -> str:
    """A UTC DATE-TIME value."""
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def vevent(event: dict[str, Any]) -> list[str]:
    """The contract dict as VEVENT lines, the way a calendar server exports it."""
    lines = [
        "BEGIN:VEVENT",
        f"UID:{event['uid']}",
        "DTSTAMP:20310101T000000Z",
        f"DTSTART:{_stamp(event['start'])}",
        f"DTEND:{_stamp(event['end'])}",
        f"SUMMARY:{_escape(event['title'])}",
        "DESCRIPTION:Agenda that must never be stored",
        f"LOCATION:{_escape(event['location'])}",
        f"STATUS:{event['status'].upper()}",
        f"CLASS:{'PRIVATE' if event['private'] else 'PUBLIC'}",
    ]
    if event["rrule"]:
        lines.append(f"RRULE:{event['rrule']}")
    if event["organizer"]:
        lines.append(f"ORGANIZER;CN=Organizer:mailto:{event['organizer']}")
    for email, response, is_resource in event["attendees"]:
        cutype = "ROOM" if is_resource else "INDIVIDUAL"
        partstat = _PARTSTAT[response]
        lines.append(f'ATTENDEE;CN="Someone, {email[:3]}";CUTYPE={cutype};PARTSTAT={partstat}:MAILTO:{email}')
    lines.append("END:VEVENT")
    return lines


class IcsFilesDriver(BaseDriver):
    """Writes one `<owner>.ics` file per owner in a folder read by an IcsCollector."""

    def __init__(self, folder: Path) -> None:
        """A driver writing into `folder`."""
        self.folder = folder
        self.events: dict[str, dict[str, dict[str, Any]]] = {}
        super().__init__(IcsCollector("ics-test", path_glob="*.ics", base_dir=folder), WINDOW)

    def calendar(self, owner: str) -> CalendarRef:
        """The owner's calendar file (written empty if missing)."""
        path = self.folder / f"{owner}.ics"
        if not path.exists():
            self._write(owner)
        return CalendarRef(source="ics-test", owner=owner.lower(), id=str(path.resolve()))

    def put(self, owner: str, event: dict[str, Any]) -> None:
        """Create or replace the meeting and rewrite the file."""
        self.events.setdefault(owner, {})[event["uid"]] = event
        self._write(owner)

    def remove(self, owner: str, uid: str) -> None:
        """Delete the meeting and rewrite the file."""
        self.events.setdefault(owner, {}).pop(uid, None)
        self._write(owner)

    def _write(self, owner: str) -> None:
        """Write the owner's whole calendar, CRLF line endings."""
        lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//tests//contract//EN"]
        for event in self.events.get(owner, {}).values():
            lines += vevent(event)
        lines.append("END:VCALENDAR")
        (self.folder / f"{owner}.ics").write_text("\r\n".join(lines) + "\r\n", encoding="utf-8", newline="")


class TestIcsFilesContract(CollectorContract):
    """The ICS collector reading local files."""

    @pytest.fixture
    def source(self, tmp_path: Path) -> SourceDriver:
        """A folder of .ics files."""
        return IcsFilesDriver(tmp_path)
