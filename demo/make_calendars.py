"""Write the demo's staff calendars (.ics) under demo/calendars/, dated relative to today.

The embedded default must show collisions that are still ahead whenever it runs, so the
meetings are described here by day offsets from today and rendered at run time.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from icalendar import Calendar, Event, vCalAddress, vText

ORG = "harbourview.org"
HERE = Path(__file__).resolve().parent
STAFF = ["amara.diallo", "ben.ortiz", "chen.wei", "dana.kowalczyk", "emeka.obi", "fatima.rahman",
         "grace.owusu", "hugo.lefevre", "ines.santos", "jonah.weiss", "lena.brandt", "samir.haddad",
         "tomas.reyes"]


@dataclass(frozen=True)
class Demo:
    """One demo meeting: who from our side, who from outside, when (days from today) and what."""

    uid: str
    title: str
    day: int
    hour: int
    staff: tuple[str, ...]
    guests: tuple[str, ...] = ()
    hours: int = 1
    location: str = ""
    declined: tuple[str, ...] = ()
    cancelled: bool = False
    private: bool = False
    weekly: int = 0
    room: bool = False
    extra: dict[str, str] = field(default_factory=dict)


MEETINGS = [
    # Meridian Foundation: two teams a few days apart, nobody in common -> collision.
    Demo("demo-meridian-1", "Meridian Foundation grant review", 3, 9, ("amara.diallo", "ben.ortiz"),
         ("r.pillai@meridianfoundation.org", "j.moss@meridianfoundation.org"), location="Meridian HQ, Lisbon"),
    Demo("demo-meridian-2", "Coffee with Jo (Meridian Fdn)", 5, 15, ("chen.wei",),
         ("jo.moss+events@meridian-fdn.org",), location="Meridian HQ, Lisbon"),
    # Kestrel family: the child unit and the parent in the same fortnight -> collision in the family.
    Demo("demo-kestrel-1", "KIC investment committee prep", 6, 10, ("dana.kowalczyk",),
         ("a.nwosu@kic.kestrelbank.org",)),
    Demo("demo-kestrel-2", "Annual partnership dialogue", 11, 14, ("emeka.obi", "fatima.rahman"),
         ("director@kestrelbank.org",), location="Kestrel Bank, Nairobi"),
    # Global Water Alliance named only in the title of an internal prep meeting -> collision.
    Demo("demo-gwa-1", "Prep for Global Water Alliance visit", 2, 11, ("hugo.lefevre", "ines.santos")),
    Demo("demo-gwa-2", "Sanitation pilot: next steps", 8, 9, ("jonah.weiss",),
         ("m.haile@globalwateralliance.org",)),
    # A private meeting that collides: the alert must not reveal its title.
    Demo("demo-bhu-1", "Confidential: faculty secondment", 4, 16, ("tomas.reyes",),
         ("dean@sph.bhu.edu",), private=True),
    Demo("demo-bhu-2", "Blue Harbour Univ. research day", 9, 9, ("amara.diallo",), ("events@bhu.edu",)),
    # Not collisions: a shared attendee already knows; a cancelled meeting; a declined one.
    Demo("demo-oli-1", "Open Ledger Institute data workshop", 3, 13, ("ben.ortiz", "chen.wei"),
         ("team@openledger.institute",)),
    Demo("demo-oli-2", "OLI follow-up", 7, 13, ("chen.wei",), ("team@openledger.institute",)),
    Demo("demo-tide-1", "Tidewater site visit", 5, 9, ("dana.kowalczyk",), ("ops@tidewater.org",),
         cancelled=True),
    Demo("demo-tide-2", "Tidewater annual report launch", 6, 18, ("emeka.obi",), ("press@tidewater.org",),
         declined=("emeka.obi",)),
    Demo("demo-tide-3", "Tidewater board briefing", 9, 9, ("fatima.rahman",), ("board@tidewater.org",)),
    # Words that only look like partners, free-mail guests, rooms and tools: no partner.
    Demo("demo-noise-1", "Bank reconciliation planning", 1, 10, ("grace.owusu", "hugo.lefevre")),
    Demo("demo-noise-2", "Lunch with a friend", 2, 12, ("ines.santos",), ("old.friend@gmail.com",)),
    Demo("demo-noise-3", "Team weekly", 0, 9, ("amara.diallo", "ben.ortiz", "chen.wei"), weekly=6,
         room=True),
    Demo("demo-noise-4", "Webinar", 4, 15, ("jonah.weiss",), ("no-reply@zoom.us",)),
    # Copperleaf: a weekly series on one calendar and one visit by another team -> collisions with
    # the occurrences close to it (occurrences of one series never collide with each other).
    Demo("demo-copper-1", "Copperleaf Technologies sync", 1, 16, ("tomas.reyes",),
         ("pm@copperleaf.io",), weekly=4),
    Demo("demo-copper-2", "Copperleaf Inc. demo day", 12, 10, ("lena.brandt", "samir.haddad"),
         ("sales@copperleaf.io",)),
]


def address(who: str) -> str:
    """A staff login to an email address."""
    return who if "@" in who else f"{who}@{ORG}"


def render(meeting: Demo, today: date) -> Event:
    """One meeting as a VEVENT."""
    start = datetime.combine(today + timedelta(days=meeting.day), time(meeting.hour), UTC)
    ev = Event()
    ev.add("uid", f"{meeting.uid}-{hashlib.sha1(today.isoformat().encode()).hexdigest()[:8]}@demo.harbourview.org")
    ev.add("summary", meeting.title)
    ev.add("dtstart", start)
    ev.add("dtend", start + timedelta(hours=meeting.hours))
    ev.add("dtstamp", datetime.combine(today, time(0), UTC))
    if meeting.location:
        ev.add("location", meeting.location)
    if meeting.cancelled:
        ev.add("status", "CANCELLED")
    if meeting.private:
        ev.add("class", "PRIVATE")
    if meeting.weekly:
        ev.add("rrule", {"freq": "weekly", "count": meeting.weekly})
    organizer = vCalAddress(f"mailto:{address(meeting.staff[0])}")
    ev.add("organizer", organizer)
    for who in meeting.staff + meeting.guests:
        attendee = vCalAddress(f"mailto:{address(who)}")
        attendee.params["cn"] = vText(who.split("@")[0].split("+")[0].replace(".", " ").title())
        attendee.params["partstat"] = "DECLINED" if who in meeting.declined else "ACCEPTED"
        ev.add("attendee", attendee, encode=0)
    if meeting.room:
        room = vCalAddress(f"mailto:room-harbour@{ORG}")
        room.params["cutype"] = "ROOM"
        room.params["cn"] = "Harbour Room"
        ev.add("attendee", room, encode=0)
    return ev


def main(argv: list[str]) -> int:
    """Write one .ics per staff member into demo/calendars (or the folder given)."""
    out = Path(argv[1]) if len(argv) > 1 else HERE / "calendars"
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.ics"):
        old.unlink()
    today = datetime.now(UTC).date()
    for login in STAFF:
        cal = Calendar()
        cal.add("prodid", "-//revolving-door//demo//EN")
        cal.add("version", "2.0")
        cal.add("x-wr-timezone", "UTC")
        for meeting in MEETINGS:
            if login in meeting.staff:
                cal.add_component(render(meeting, today))
        (out / f"{address(login)}.ics").write_bytes(cal.to_ical())
    print(f"demo calendars for {len(STAFF)} staff written to {out} (meetings dated from {today})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
