"""What the ICS collector reads out of iCalendar text: keys, times, zones, people, flags, problems."""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from collectors.ics import IcsCollector, read_calendar
from revolving_door.errors import ConfigError
from revolving_door.model import CalendarEvent, TimeWindow

WIDE = TimeWindow(datetime(2020, 1, 1, tzinfo=UTC), datetime(2032, 1, 1, tzinfo=UTC))
OWNER = "owner@example.org"

BERLIN_TZ = """BEGIN:VTIMEZONE
TZID:Europe/Berlin
BEGIN:DAYLIGHT
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
TZNAME:CEST
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
TZNAME:CET
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10
END:STANDARD
END:VTIMEZONE"""


def cal(*body: str, header: str = "") -> bytes:
    """A VCALENDAR around `body` (CRLF line endings)."""
    text = "\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//tests//unit//EN", header, *body, "END:VCALENDAR"])
    return "\r\n".join(line for line in text.split("\n") if line).encode() + b"\r\n"


def vevent(uid: str | None, *lines: str, start: str = "DTSTART:20300304T100000Z") -> str:
    """A VEVENT with the given UID (or none), start line and extra lines."""
    uid_line = [f"UID:{uid}"] if uid is not None else []
    return "\n".join(["BEGIN:VEVENT", *uid_line, start, "SUMMARY:Meeting", *lines, "END:VEVENT"])


def read(data: bytes, window: TimeWindow = WIDE) -> tuple[dict[str, CalendarEvent], list[str]]:
    """Events by key and warnings for `data`."""
    events, warnings = read_calendar(data, label="test.ics", owner=OWNER, window=window)
    assert events is not None
    return {e.key: e for e in events}, warnings


def utc(*parts: int) -> datetime:
    """A UTC datetime."""
    return datetime(*parts, tzinfo=UTC)


def test_plain_event_is_keyed_by_uid_in_utc() -> None:
    """A single VEVENT is keyed by its UID, with aware UTC start and end, owner as calendar."""
    events, warnings = read(cal(vevent("one", "DTEND:20300304T110000Z")))
    assert warnings == []
    event = events["one"]
    assert (event.start, event.end, event.calendar, event.uid, event.source_id) == (
        utc(2030, 3, 4, 10),
        utc(2030, 3, 4, 11),
        OWNER,
        "one",
        "one",
    )


def test_tzid_series_keeps_wall_clock_across_dst_and_keys_by_utc_date() -> None:
    """A Berlin 00:30 weekly series moves in UTC across DST; keys use the UTC date (the day before)."""
    series = vevent(
        "dst",
        "DTEND;TZID=Europe/Berlin:20300321T013000",
        "RRULE:FREQ=WEEKLY;COUNT=3",
        start="DTSTART;TZID=Europe/Berlin:20300321T003000",
    )
    events, _ = read(cal(BERLIN_TZ, series))
    starts = {k: e.start for k, e in events.items()}
    assert starts == {
        "dst@2030-03-20": utc(2030, 3, 20, 23, 30),
        "dst@2030-03-27": utc(2030, 3, 27, 23, 30),
        "dst@2030-04-03": utc(2030, 4, 3, 22, 30),
    }
    assert {e.uid for e in events.values()} == {"dst"}


def test_exdate_removes_an_occurrence() -> None:
    """An EXDATE drops that occurrence of the series."""
    series = vevent("ex", "RRULE:FREQ=DAILY;COUNT=3", "EXDATE:20300305T100000Z")
    events, _ = read(cal(series))
    assert set(events) == {"ex@2030-03-04", "ex@2030-03-06"}


def test_recurrence_id_override_replaces_its_occurrence() -> None:
    """A RECURRENCE-ID override changes title and time of that occurrence only."""
    master = vevent("ov", "DTEND:20300304T110000Z", "RRULE:FREQ=WEEKLY;COUNT=2")
    override = "\n".join(
        [
            "BEGIN:VEVENT",
            "UID:ov",
            "RECURRENCE-ID:20300311T100000Z",
            "DTSTART:20300311T150000Z",
            "DTEND:20300311T160000Z",
            "SUMMARY:Moved meeting",
            "STATUS:CANCELLED",
            "END:VEVENT",
        ]
    )
    events, _ = read(cal(master, override))
    assert set(events) == {"ov@2030-03-04", "ov@2030-03-11"}
    moved = events["ov@2030-03-11"]
    assert (moved.title, moved.start, moved.status) == ("Moved meeting", utc(2030, 3, 11, 15), "cancelled")
    assert events["ov@2030-03-04"].title == "Meeting"


def test_override_moved_onto_another_occurrence_day_keeps_its_recurrence_date() -> None:
    """An override moved onto the next occurrence's date is keyed by its RECURRENCE-ID date."""
    master = vevent("mv", "RRULE:FREQ=DAILY;COUNT=2")
    override = "\n".join(
        [
            "BEGIN:VEVENT",
            "UID:mv",
            "RECURRENCE-ID:20300304T100000Z",
            "DTSTART:20300305T150000Z",
            "SUMMARY:Pushed a day",
            "END:VEVENT",
        ]
    )
    events, warnings = read(cal(master, override))
    assert warnings == []
    assert events["mv@2030-03-05"].title == "Meeting"
    assert events["mv@2030-03-04"].title == "Pushed a day"


def test_all_day_event_starts_at_midnight_utc() -> None:
    """A VALUE=DATE event starts 00:00 UTC on its date, ends at its DTEND date, and is all-day."""
    allday = vevent("ad", "DTEND;VALUE=DATE:20300307", start="DTSTART;VALUE=DATE:20300305")
    events, _ = read(cal(allday))
    event = events["ad"]
    assert (event.start, event.end, event.all_day) == (utc(2030, 3, 5), utc(2030, 3, 7), True)


def test_all_day_without_dtend_lasts_one_day() -> None:
    """An all-day event without DTEND lasts one day."""
    events, _ = read(cal(vevent("ad1", start="DTSTART;VALUE=DATE:20300305")))
    assert events["ad1"].end == utc(2030, 3, 6)


def test_windows_time_zone_names_are_understood() -> None:
    """TZID=W. Europe Standard Time is read as Europe/Berlin (plain event and series)."""
    plain = vevent("win", start="DTSTART;TZID=W. Europe Standard Time:20300704T100000")
    series = vevent("winser", "RRULE:FREQ=DAILY;COUNT=1", start='DTSTART;TZID="Pacific Standard Time":20300105T090000')
    events, _ = read(cal(plain, series))
    assert events["win"].start == utc(2030, 7, 4, 8)
    assert events["winser@2030-01-05"].start == utc(2030, 1, 5, 17)


def test_x_wr_timezone_places_floating_times() -> None:
    """Floating times in a calendar with X-WR-TIMEZONE are read in that zone (plain and series)."""
    plain = vevent("fl", start="DTSTART:20300704T100000")
    series = vevent("flser", "RRULE:FREQ=DAILY;COUNT=1", start="DTSTART:20300105T100000")
    events, _ = read(cal(plain, series, header="X-WR-TIMEZONE:America/New_York"))
    assert events["fl"].start == utc(2030, 7, 4, 14)
    assert events["flser@2030-01-05"].start == utc(2030, 1, 5, 15)


def test_floating_time_without_calendar_zone_is_utc() -> None:
    """A floating time with no X-WR-TIMEZONE is read as UTC."""
    events, _ = read(cal(vevent("fu", start="DTSTART:20300704T100000")))
    assert events["fu"].start == utc(2030, 7, 4, 10)


def test_bare_vevent_without_vcalendar_is_read() -> None:
    """A file holding only a VEVENT (no VCALENDAR) still yields the event."""
    data = vevent("bare").replace("\n", "\r\n").encode()
    events, _ = read(data)
    assert set(events) == {"bare"}


def test_several_vcalendars_in_one_file_are_all_read() -> None:
    """Two VCALENDARs in one file each contribute their events (with their own X-WR-TIMEZONE)."""
    first = cal(vevent("c1"))
    second = cal(vevent("c2", start="DTSTART:20300304T100000"), header="X-WR-TIMEZONE:Asia/Tokyo")
    events, _ = read(first + second)
    assert events["c1"].start == utc(2030, 3, 4, 10)
    assert events["c2"].start == utc(2030, 3, 4, 1)


def test_latin_1_bytes_are_decoded() -> None:
    """A Latin-1 encoded file is read, its accented text intact."""
    data = cal(vevent("lat", "LOCATION:Salle Genève")).decode().replace("Meeting", "Réunion café")
    events, _ = read(data.encode("latin-1"))
    assert (events["lat"].title, events["lat"].location) == ("Réunion café", "Salle Genève")


def test_broken_event_is_skipped_with_a_warning_naming_file_and_uid(caplog: pytest.LogCaptureFixture) -> None:
    """A VEVENT with an impossible date is skipped with a warning; the rest of the file is read."""
    bad = vevent("bad-one", "RRULE:FREQ=DAILY;COUNT=2", start="DTSTART:20301345T100000Z")
    with caplog.at_level(logging.WARNING):
        events, warnings = read(cal(vevent("good-one"), bad, vevent("good-two")))
    assert set(events) == {"good-one", "good-two"}
    assert len(warnings) == 1 and "test.ics" in warnings[0] and "bad-one" in warnings[0]
    assert "bad-one" in caplog.text


def test_event_without_dtstart_is_skipped_with_a_warning() -> None:
    """A VEVENT without DTSTART is skipped with a warning naming its UID."""
    no_start = "\n".join(["BEGIN:VEVENT", "UID:nostart", "SUMMARY:x", "END:VEVENT"])
    events, warnings = read(cal(no_start, vevent("fine")))
    assert set(events) == {"fine"}
    assert any("nostart" in w for w in warnings)


def test_event_without_uid_gets_a_stable_derived_uid() -> None:
    """An event without UID gets the same derived UID on every read, with a warning."""
    data = cal(vevent(None))
    first, warnings = read(data)
    second, _ = read(data)
    assert list(first) == list(second) and len(first) == 1
    assert next(iter(first)).startswith("derived-")
    assert warnings and "without UID" in warnings[0]


def test_private_and_confidential_are_private() -> None:
    """CLASS:PRIVATE and CLASS:CONFIDENTIAL mark the event private; PUBLIC does not."""
    events, _ = read(cal(vevent("p", "CLASS:PRIVATE"), vevent("c", "CLASS:CONFIDENTIAL"), vevent("o", "CLASS:PUBLIC")))
    assert (events["p"].private, events["c"].private, events["o"].private) == (True, True, False)


def test_statuses_are_mapped() -> None:
    """STATUS CANCELLED and TENTATIVE map; anything else is confirmed."""
    events, _ = read(cal(vevent("x", "STATUS:CANCELLED"), vevent("t", "STATUS:TENTATIVE"), vevent("c")))
    assert (events["x"].status, events["t"].status, events["c"].status) == ("cancelled", "tentative", "confirmed")


def test_attendees_rooms_responses_and_names() -> None:
    """PARTSTAT, CUTYPE=ROOM/RESOURCE, quoted CN and MAILTO prefixes are read; addresses lower-cased."""
    people = [
        'ORGANIZER;CN="Doe, Jane":MAILTO:Jane.Doe@Example.org',
        'ATTENDEE;CN="Doe, Jane";PARTSTAT=ACCEPTED:mailto:jane.doe@example.org',
        "ATTENDEE;PARTSTAT=TENTATIVE;CN=Tom:mailto:TOM@partner.example",
        "ATTENDEE;PARTSTAT=DECLINED:mailto:dee@partner.example",
        "ATTENDEE;PARTSTAT=DELEGATED:mailto:del@partner.example",
        "ATTENDEE;CUTYPE=ROOM;PARTSTAT=ACCEPTED:mailto:room.4@example.org",
        "ATTENDEE;CUTYPE=RESOURCE:mailto:projector@example.org",
    ]
    events, _ = read(cal(vevent("people", *people)))
    event = events["people"]
    got = {a.email: (a.name, a.response, a.is_resource, a.is_organizer) for a in event.attendees}
    assert event.organizer == "jane.doe@example.org"
    assert got == {
        "jane.doe@example.org": ("Doe, Jane", "accepted", False, True),
        "tom@partner.example": ("Tom", "tentative", False, False),
        "dee@partner.example": ("", "declined", False, False),
        "del@partner.example": ("", "needs-action", False, False),
        "room.4@example.org": ("", "accepted", True, False),
        "projector@example.org": ("", "needs-action", True, False),
    }


def test_organizer_missing_from_attendees_is_added_as_accepted() -> None:
    """An ORGANIZER not listed as ATTENDEE joins the attendees, accepted and flagged organizer."""
    events, _ = read(cal(vevent("org", "ORGANIZER;CN=Boss:mailto:boss@example.org", "ATTENDEE:mailto:a@example.org")))
    boss = [a for a in events["org"].attendees if a.email == "boss@example.org"]
    assert len(boss) == 1 and boss[0].is_organizer and boss[0].response == "accepted" and boss[0].name == "Boss"


def test_description_is_never_kept() -> None:
    """No field of the event carries the DESCRIPTION text."""
    events, _ = read(cal(vevent("d", "DESCRIPTION:secret-body-text", "LOCATION:Room")))
    assert "secret-body-text" not in repr(events["d"])


def test_only_occurrences_touching_the_window_are_returned() -> None:
    """Occurrences before or after the window are dropped; one overlapping its start is kept."""
    window = TimeWindow(utc(2030, 3, 5, 10, 30), utc(2030, 3, 7))
    series = vevent("w", "DTEND:20300304T110000Z", "RRULE:FREQ=DAILY;COUNT=5")
    long_one = vevent("l", "DTEND:20300306T000000Z", start="DTSTART:20300301T000000Z")
    events, _ = read(cal(series, long_one, vevent("before", start="DTSTART:20300101T100000Z")), window)
    assert set(events) == {"w@2030-03-05", "w@2030-03-06", "l"}


def test_escaped_text_is_unescaped() -> None:
    """Backslash escapes in SUMMARY and LOCATION are resolved."""
    events, _ = read(
        cal(vevent("e", "LOCATION:Room 1\\, Floor 2\\; East")).replace(b"SUMMARY:Meeting", b"SUMMARY:A\\,B")
    )
    assert (events["e"].title, events["e"].location) == ("A,B", "Room 1, Floor 2; East")


def test_not_icalendar_file_is_skipped_with_a_warning() -> None:
    """Bytes that are not iCalendar give no events and a warning naming the file."""
    events, warnings = read_calendar(b"<html>nope</html>", label="junk.ics", owner=OWNER, window=WIDE)
    assert events is None and warnings and "junk.ics" in warnings[0]


def test_folded_lines_are_unfolded() -> None:
    """A long SUMMARY folded over several lines reads back whole."""
    data = cal(vevent("f")).replace(b"SUMMARY:Meeting", b"SUMMARY:Meeting with\r\n  the partner")
    events, _ = read(data)
    assert events["f"].title == "Meeting with the partner"


def test_collector_needs_a_path_or_a_url_with_owner(tmp_path: Path) -> None:
    """Neither or both of path and url, or a url without owner, is a ConfigError."""
    with pytest.raises(ConfigError):
        IcsCollector("x", base_dir=tmp_path)
    with pytest.raises(ConfigError):
        IcsCollector("x", base_dir=tmp_path, path_glob="*.ics", url="https://example.org/a.ics", owner="a@b")
    with pytest.raises(ConfigError):
        IcsCollector("x", base_dir=tmp_path, url="https://example.org/a.ics")


def test_file_owner_is_the_lower_cased_stem(tmp_path: Path) -> None:
    """Each file is one calendar owned by its lower-cased stem, id the resolved path."""
    (tmp_path / "Jane.Doe@Example.org.ics").write_bytes(cal(vevent("j")))
    (calendar,) = IcsCollector("ics", path_glob="*.ics", base_dir=tmp_path).calendars()
    assert calendar.owner == "jane.doe@example.org"
    assert calendar.id == str((tmp_path / "Jane.Doe@Example.org.ics").resolve())


def test_unchanged_old_file_is_not_read_again(tmp_path: Path) -> None:
    """A file whose mtime and size match an older cursor costs no read and gives no changes."""
    path = tmp_path / "a@example.org.ics"
    path.write_bytes(cal(vevent("a")))
    old = (datetime.now(UTC) - timedelta(hours=1)).timestamp()
    os.utime(path, (old, old))
    collector = IcsCollector("ics", path_glob="*.ics", base_dir=tmp_path)
    (calendar,) = collector.calendars()
    first = collector.sync(calendar, None, WIDE)
    second = collector.sync(calendar, first.next_cursor, WIDE)
    assert first.requests == 1 and second.requests == 0
    assert not second.upserts and not second.full_resync


def test_unreadable_file_keeps_the_previous_cursor(tmp_path: Path) -> None:
    """A file turned to garbage is skipped with a warning and nothing stored is dropped."""
    path = tmp_path / "a@example.org.ics"
    path.write_bytes(cal(vevent("a")))
    collector = IcsCollector("ics", path_glob="*.ics", base_dir=tmp_path)
    (calendar,) = collector.calendars()
    first = collector.sync(calendar, None, WIDE)
    path.write_bytes(b"\x00\x01 garbage")
    second = collector.sync(calendar, first.next_cursor, WIDE)
    assert not second.full_resync and not second.deletions and second.next_cursor == first.next_cursor
    assert second.warnings and "a@example.org.ics" in second.warnings[0]


def test_emptied_file_deletes_nothing(tmp_path: Path) -> None:
    """A calendar file caught empty (being rewritten) deletes no stored event and warns naming it."""
    path = tmp_path / "a@example.org.ics"
    path.write_bytes(cal(vevent("a"), vevent("b", start="DTSTART:20300305T100000Z")))
    collector = IcsCollector("ics", path_glob="*.ics", base_dir=tmp_path)
    (calendar,) = collector.calendars()
    first = collector.sync(calendar, None, WIDE)
    path.write_bytes(b"")
    second = collector.sync(calendar, first.next_cursor, WIDE)
    assert not second.full_resync and not second.deletions and not second.upserts
    assert any("a@example.org.ics" in w and "truncated" in w for w in second.warnings)


def test_truncated_file_deletes_nothing_until_the_complete_file_is_back(tmp_path: Path) -> None:
    """A file cut off mid-event upserts what it holds and deletes nothing; the complete file then resyncs."""
    path = tmp_path / "a@example.org.ics"
    later = "DTSTART:20300305T100000Z"
    path.write_bytes(cal(vevent("a"), vevent("b", start=later), vevent("c", start=later)))
    collector = IcsCollector("ics", path_glob="*.ics", base_dir=tmp_path)
    (calendar,) = collector.calendars()
    first = collector.sync(calendar, None, WIDE)
    complete = cal(vevent("a", "LOCATION:Moved"), vevent("b", start=later))
    path.write_bytes(complete[: complete.index(b"UID:b")])
    second = collector.sync(calendar, first.next_cursor, WIDE)
    assert not second.full_resync and not second.deletions
    assert [(e.key, e.location) for e in second.upserts] == [("a", "Moved")]
    path.write_bytes(complete)
    third = collector.sync(calendar, second.next_cursor, WIDE)
    assert third.full_resync and third.deletions == ("c",)
    assert {e.key for e in third.upserts} == {"a", "b"}
