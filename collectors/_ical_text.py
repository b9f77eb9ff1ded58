"""A small, lenient reader of iCalendar text: content lines, VEVENT blocks and VTIMEZONEs.

Plain `icalendar.Calendar.from_ical` costs about 0.6 ms per meeting (mostly in parsing the
parameters of ATTENDEE lines), which makes a few thousand meetings take seconds. This module
splits the text itself, keeps only the properties a collector needs (never DESCRIPTION) and
leaves time zones and recurrence to icalendar + recurring-ical-events (see `collectors.ics`).

It never raises on bad input: structural problems are returned as `ParsedText.problems`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

WANTED = frozenset(
    {
        "UID", "SUMMARY", "LOCATION", "STATUS", "CLASS", "ORGANIZER", "ATTENDEE",
        "DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE", "EXRULE", "RECURRENCE-ID",
        "SEQUENCE",
    }
)
"""VEVENT properties the collector reads; everything else (DESCRIPTION first) is dropped unread."""

TIMING = frozenset(
    {"DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE", "EXRULE", "RECURRENCE-ID", "SEQUENCE"}
)
"""Properties handed to icalendar when an event needs recurrence or time-zone work."""

_NAME = re.compile(r"[A-Za-z0-9-]+")
_PARAM = re.compile(r';([A-Za-z0-9-]+)=((?:"[^"]*"|[^";:,]*)(?:,(?:"[^"]*"|[^";:,]*))*)')
_CARET = re.compile(r"\^[n'^]")
_CARET_MAP = {"^n": "\n", "^'": '"', "^^": "^"}
_ESCAPE = re.compile(r"\\([\\;,nN])")


@dataclass(frozen=True)
class Prop:
    """One content line: upper-cased name, parameters (upper-cased names, unquoted values), raw value."""

    name: str
    params: dict[str, str]
    value: str
    raw: str
    """The unfolded line as written (handed to icalendar for timing work)."""


@dataclass
class EventBlock:
    """One VEVENT's wanted properties, in order, and the VCALENDAR it sat in."""

    index: int
    section: int
    props: list[Prop] = field(default_factory=list)
    bad_lines: list[str] = field(default_factory=list)
    """Names of wanted properties whose lines could not be read."""

    def first(self, name: str) -> Prop | None:
        """The first property called `name`, if any."""
        return next((p for p in self.props if p.name == name), None)

    def all(self, name: str) -> list[Prop]:
        """Every property called `name`."""
        return [p for p in self.props if p.name == name]


@dataclass
class ParsedText:
    """What one .ics text holds: events, raw VTIMEZONE blocks, per-VCALENDAR X-WR-TIMEZONE, problems."""

    events: list[EventBlock] = field(default_factory=list)
    timezones: list[str] = field(default_factory=list)
    wr_timezones: dict[int, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    saw_calendar_data: bool = False


def decode(data: bytes) -> str:
    """Text of an .ics file: UTF-8 (with or without BOM), else Windows-1252, else Latin-1."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def unfold(text: str) -> list[str]:
    """Logical lines: CRLF, LF or lone CR endings; continuation lines (space/tab) joined; blanks dropped."""
    lines: list[str] = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if line[:1] in (" ", "\t") and lines:
            lines[-1] += line[1:]
        elif line.strip():
            lines.append(line)
    return lines


def parse_line(line: str) -> Prop | None:
    """Split one content line into name, parameters and value; None if it is not a content line."""
    name_match = _NAME.match(line)
    if name_match is None:
        return None
    pos = name_match.end()
    params: dict[str, str] = {}
    while pos < len(line) and line[pos] == ";":
        param = _PARAM.match(line, pos)
        if param is None:
            return None
        params[param.group(1).upper()] = _param_value(param.group(2))
        pos = param.end()
    if pos >= len(line) or line[pos] != ":":
        return None
    return Prop(name_match.group(0).upper(), params, line[pos + 1 :], line)


def _param_value(raw: str) -> str:
    """A parameter value without quotes, RFC 6868 caret escapes decoded."""
    value = raw[1:-1] if len(raw) >= 2 and raw[0] == '"' and raw[-1] == '"' else raw
    return _CARET.sub(lambda m: _CARET_MAP[m.group(0)], value) if "^" in value else value


def unescape_text(value: str) -> str:
    """An RFC 5545 TEXT value with backslash escapes resolved."""
    if "\\" not in value:
        return value
    return _ESCAPE.sub(lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


def parse_text(text: str) -> ParsedText:
    """Split iCalendar text into VEVENT blocks and VTIMEZONEs; bare VEVENTs and several VCALENDARs allowed."""
    parsed = ParsedText()
    stack: list[str] = []
    section = 0
    event: EventBlock | None = None
    timezone: list[str] | None = None
    for line in unfold(text):
        upper = line[:16].upper()
        if upper.startswith(("BEGIN:", "END:")):
            kind, _, comp = line.partition(":")
            comp = comp.strip().upper()
            if kind.upper() == "BEGIN":
                parsed.saw_calendar_data = True
                if comp == "VCALENDAR" and not stack:
                    section += 1
                elif comp == "VEVENT" and event is None and "VEVENT" not in stack:
                    event = EventBlock(index=len(parsed.events), section=section)
                elif comp == "VTIMEZONE" and timezone is None and event is None:
                    timezone = []
                stack.append(comp)
                if timezone is not None:
                    timezone.append(line)
                continue
            if not stack or stack[-1] != comp:
                parsed.problems.append(f"unexpected END:{comp}")
                if comp not in stack:
                    continue
                while stack[-1] != comp:
                    stack.pop()
            stack.pop()
            if timezone is not None:
                timezone.append(line)
                if comp == "VTIMEZONE" and "VTIMEZONE" not in stack:
                    parsed.timezones.append("\r\n".join(timezone))
                    timezone = None
            if comp == "VEVENT" and event is not None and "VEVENT" not in stack:
                parsed.events.append(event)
                event = None
            continue
        if timezone is not None:
            timezone.append(line)
        elif event is not None and stack and stack[-1] == "VEVENT":
            _add_event_line(event, line)
        elif stack == ["VCALENDAR"] and upper.startswith("X-WR-TIMEZONE"):
            prop = parse_line(line)
            if prop is not None and prop.value.strip():
                parsed.wr_timezones[section] = prop.value.strip()
    if stack:
        parsed.problems.append(f"unterminated {stack[-1]}")
        if event is not None:
            parsed.problems.append("an unterminated VEVENT was dropped")
    return parsed


def _add_event_line(event: EventBlock, line: str) -> None:
    """Keep `line` in `event` when it is a wanted property; count unreadable wanted lines."""
    name = _NAME.match(line)
    if name is None or name.group(0).upper() not in WANTED:
        return
    prop = parse_line(line)
    if prop is None:
        event.bad_lines.append(name.group(0).upper())
    else:
        event.props.append(prop)
