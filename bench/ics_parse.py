"""Benchmark: parse generated staff calendars with the ICS collector.

Generates `--files` calendars of `--events` VEVENTs each (UTC, TZID and all-day starts,
attendees with parameters, DESCRIPTION bodies, some weekly series with EXDATE) in a temporary
folder, runs one full sync of every file, and prints:

    events_per_second=N
    peak_memory_mb=N

Run: `.venv/bin/python bench/ics_parse.py [--files 40] [--events 120]`.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

from collectors.ics import IcsCollector
from revolving_door.model import TimeWindow

ZONES = ("Europe/Berlin", "America/New_York", "Africa/Nairobi", "Asia/Tokyo", "Australia/Sydney")
ANCHOR = datetime(2026, 12, 1, tzinfo=UTC)


def vevent(rng: random.Random, owner: str, n: int) -> list[str]:
    """One generated VEVENT (a weekly series one time in ten)."""
    start = ANCHOR + timedelta(days=rng.randint(-30, 60), hours=rng.randint(6, 18))
    kind = rng.random()
    if kind < 0.1:
        zone = rng.choice(ZONES)
        local = start.strftime("%Y%m%dT%H%M%S")
        when = [
            f"DTSTART;TZID={zone}:{local}",
            f"DTEND;TZID={zone}:{(start + timedelta(hours=1)).strftime('%Y%m%dT%H%M%S')}",
            "RRULE:FREQ=WEEKLY;COUNT=6",
            f"EXDATE;TZID={zone}:{(start + timedelta(weeks=2)).strftime('%Y%m%dT%H%M%S')}",
        ]
    elif kind < 0.2:
        when = [f"DTSTART;VALUE=DATE:{start:%Y%m%d}", f"DTEND;VALUE=DATE:{start + timedelta(days=1):%Y%m%d}"]
    elif kind < 0.5:
        zone = rng.choice(ZONES)
        when = [
            f"DTSTART;TZID={zone}:{start:%Y%m%dT%H%M%S}",
            f"DTEND;TZID={zone}:{start + timedelta(hours=1):%Y%m%dT%H%M%S}",
        ]
    else:
        when = [f"DTSTART:{start:%Y%m%dT%H%M%SZ}", f"DTEND:{start + timedelta(minutes=45):%Y%m%dT%H%M%SZ}"]
    people = [
        f'ATTENDEE;CN="Person, {i}";CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;RSVP=TRUE:'
        f"mailto:p{i}@partner{i}.example"
        for i in range(rng.randint(2, 6))
    ]
    return [
        "BEGIN:VEVENT",
        f"UID:{owner}-{n}@bench",
        "DTSTAMP:20261101T000000Z",
        *when,
        f"SUMMARY:Meeting {n} with partner",
        "DESCRIPTION:" + "Agenda item. " * 20,
        "LOCATION:Room 4",
        "STATUS:CONFIRMED",
        f"ORGANIZER;CN=Owner:mailto:{owner}",
        f"ATTENDEE;CN=Owner;PARTSTAT=ACCEPTED:mailto:{owner}",
        *people,
        "END:VEVENT",
    ]


def generate(folder: Path, files: int, events: int, seed: int = 1) -> None:
    """Write `files` calendars of `events` VEVENTs into `folder`."""
    rng = random.Random(seed)
    for f in range(files):
        owner = f"staff{f}@example.org"
        lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//bench//EN", "X-WR-TIMEZONE:Europe/Berlin"]
        for n in range(events):
            lines += vevent(rng, owner, n)
        lines.append("END:VCALENDAR")
        (folder / f"{owner}.ics").write_text("\r\n".join(lines) + "\r\n", encoding="utf-8", newline="")


def main() -> None:
    """Generate, parse, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=40)
    parser.add_argument("--events", type=int, default=120)
    args = parser.parse_args()
    window = TimeWindow(ANCHOR - timedelta(days=60), ANCHOR + timedelta(days=120))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        generate(folder, args.files, args.events)
        collector = IcsCollector("bench", path_glob="*.ics", base_dir=folder)
        calendars = collector.calendars()
        began = time.perf_counter()
        count = sum(len(collector.sync(c, None, window).upserts) for c in calendars)
        elapsed = time.perf_counter() - began
        tracemalloc.start()  # a second pass: tracing slows Python down, so it is not timed
        for calendar in calendars:
            collector.sync(calendar, None, window)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    print(f"files={len(calendars)} vevents={args.files * args.events} occurrences={count} seconds={elapsed:.2f}")
    print(f"events_per_second={count / elapsed:.0f}")
    print(f"peak_memory_mb={peak / 1_048_576:.1f}")


if __name__ == "__main__":
    main()
