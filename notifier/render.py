"""Rendering an Alert as an email: a short text part and an HTML part from Jinja2 templates.

Safety rules, all enforced here rather than trusted to callers:
- every header value goes through `clean_header` (no CR/LF or other control characters), so a
  meeting title can never add a header such as `Bcc:`;
- the HTML template is autoescaped; the text template receives outsider text (titles, names,
  locations) folded onto one line and shortened, so it cannot forge lines either;
- a private meeting shows neither its title, location nor external attendees.
The Message-ID is derived from the alert's outbox keys, so re-rendering gives the same message and a
delivery retried after a crash can be recognised as the same email.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from email.message import EmailMessage
from email.utils import format_datetime
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from notifier.plan import is_mailbox
from revolving_door.model import Alert, Meeting

__all__ = ["clean_header", "clean_text", "format_when", "message_id", "render_alert", "subject_for"]

TEMPLATES = Path(__file__).resolve().parent / "templates"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_SPACES = re.compile(r"\s+")
_MAX_TEXT = 200


def clean_header(value: str) -> str:
    """`value` with CR, LF and every other control character replaced by a space, on one trimmed line."""
    return _SPACES.sub(" ", _CONTROL.sub(" ", value)).strip()


def clean_text(value: str, limit: int = _MAX_TEXT) -> str:
    """Outsider text folded onto one line and cut to `limit` characters (with an ellipsis)."""
    text = clean_header(value)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def message_id(outbox_keys: Sequence[str]) -> str:
    """A deterministic Message-ID for the email that delivers these outbox rows."""
    digest = hashlib.sha256("\n".join(sorted(outbox_keys)).encode("ascii")).hexdigest()[:32]
    return f"<{digest}@revolving-door>"


def format_when(meeting: Meeting, zone: tzinfo | None = None) -> str:
    """When a meeting happens, in `zone` (UTC when None); all-day meetings by date, never shifted."""
    if meeting.all_day:
        first = meeting.start.date()
        last = (meeting.end - timedelta(days=1)).date() if meeting.end > meeting.start else first
        if last <= first:
            return f"{first:%a %d %b %Y} (all day)"
        return f"{first:%a %d %b} to {last:%a %d %b %Y} (all day)"
    start = meeting.start.astimezone(zone or UTC)
    end = meeting.end.astimezone(zone or UTC)
    name = start.tzname() or "UTC"
    if end.date() == start.date():
        return f"{start:%a %d %b %Y, %H:%M}–{end:%H:%M} {name}"
    return f"{start:%a %d %b %Y, %H:%M} {name} to {end:%a %d %b %Y, %H:%M} {end.tzname() or name}"


def _days_text(gap: timedelta) -> str:
    """'a day' or 'N days', rounding a gap up to whole days."""
    days = max(1, math.ceil(gap / timedelta(days=1)))
    return "a day" if days == 1 else f"{days} days"


def subject_for(alert: Alert) -> str:
    """The subject line, e.g. `Heads-up: 2 colleagues are meeting UNICEF within 5 days`."""
    people = _people(alert)
    within = _days_text(max((c.gap for c in alert.collisions), default=timedelta(0)))
    if alert.recipient in people:
        others = len(people) - 1
        noun = "colleague is" if others == 1 else "colleagues are"
        text = f"Heads-up: {others} {noun} also meeting {alert.family} within {within}"
    else:
        noun = "colleague is" if len(people) == 1 else "colleagues are"
        text = f"Heads-up: {len(people)} {noun} meeting {alert.family} within {within}"
    return clean_header(text)


def _people(alert: Alert) -> set[str]:
    """Every internal attendee of every meeting in the alert."""
    return {p for c in alert.collisions for m in (c.a, c.b) for p in m.internal_attendees}


def _meetings(alert: Alert) -> list[Meeting]:
    """The distinct meetings of the alert, by start then key."""
    unique = {m.key: m for c in alert.collisions for m in (c.a, c.b)}
    return sorted(unique.values(), key=lambda m: (m.start, m.key))


@dataclass(frozen=True)
class _MeetingView:
    """What the templates show of one meeting (already filtered for privacy)."""

    when: str
    title: str | None
    what: str
    """The title in quotes, or "A private meeting"."""
    private: bool
    partners: str
    our_side: tuple[str, ...]
    includes_you: bool
    location: str
    externals: tuple[str, ...]


def _view(
    meeting: Meeting,
    *,
    recipient: str,
    family: str,
    zone: tzinfo | None,
) -> _MeetingView:
    """The privacy-filtered, one-line-per-field view of a meeting."""
    label = ", ".join(meeting.partners)
    externals: tuple[str, ...] = ()
    if not meeting.private:
        externals = tuple(
            clean_text(f"{a.name} <{a.email}>" if a.name else a.email) for a in meeting.external_attendees
        )
    title = None if meeting.private else clean_text(meeting.title or "(untitled)")
    return _MeetingView(
        when=format_when(meeting, zone),
        title=title,
        what="A private meeting" if title is None else f"\u201c{title}\u201d",
        private=meeting.private,
        partners=clean_text(label or family),
        our_side=tuple(sorted(clean_text(p) for p in meeting.internal_attendees if p != recipient)),
        includes_you=recipient in meeting.internal_attendees,
        location="" if meeting.private else clean_text(meeting.location),
        externals=externals,
    )


def _zone_name(zone: tzinfo | None, now: datetime) -> str:
    """A readable name for the zone times are shown in: its IANA key when it has one."""
    if zone is None:
        return "UTC"
    key = getattr(zone, "key", None)
    return key if isinstance(key, str) and key else (now.astimezone(zone).tzname() or "UTC")


@cache
def _environment() -> Environment:
    """The Jinja2 environment: autoescape for .html templates, strict about undefined names."""
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True, default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_alert(
    alert: Alert,
    *,
    sender: str,
    organization: str,
    owners: Sequence[str],
    now: datetime,
    tz_of: Callable[[str], tzinfo | None] | None = None,
) -> EmailMessage:
    """The multipart/alternative (text + HTML) email for one alert, with clean, deterministic headers.

    `owners` are the family's account managers; `now` gives the Date header; each meeting is
    labelled with its most specific partner names; `tz_of` gives the recipient's time zone (UTC
    when unknown). Reply-To lists the colleagues involved and the account managers (bare
    addresses only), so Reply-All reaches them; they are not copied, since each receives an alert
    of their own.
    """
    recipient = alert.recipient.strip().lower()
    zone = tz_of(recipient) if tz_of else None
    meetings = [_view(m, recipient=recipient, family=alert.family, zone=zone) for m in _meetings(alert)]
    people = _people(alert)
    owner_list = [clean_text(o) for o in owners if o.strip()]
    colleagues = sorted(p for p in (people | {o.lower() for o in owner_list}) - {recipient} if is_mailbox(p))
    units = sorted({m.partners for m in meetings} - {alert.family})
    context = {
        "organization": clean_text(organization),
        "family": clean_text(alert.family),
        "units": units,
        "meetings": meetings,
        "attends": recipient in people,
        "people_count": len(people - {recipient}),
        "within": _days_text(max((c.gap for c in alert.collisions), default=timedelta(0))),
        "same_location": any(c.same_location and not (c.a.private or c.b.private) for c in alert.collisions),
        "owners": owner_list,
        "is_owner": recipient in {o.lower() for o in owner_list},
        "tz_name": _zone_name(zone, now),
    }
    env = _environment()
    text = env.get_template("alert.txt").render(context)
    html = env.get_template("alert.html").render(context)

    message = EmailMessage()
    message["Subject"] = subject_for(alert)
    message["From"] = clean_header(sender)
    message["To"] = clean_header(recipient)
    if colleagues:
        message["Reply-To"] = clean_header(", ".join(colleagues))
    message["Date"] = clean_header(format_datetime(now.astimezone(UTC)))
    message["Message-ID"] = message_id(alert.outbox_keys)
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    # Both parts are quoted-printable, which encodes every "=" as "=3D": the fixed boundary below
    # ("=_rd_" + hex) can therefore never occur inside a part, and re-rendering is byte-for-byte identical.
    message.set_content(text, cte="quoted-printable")
    message.add_alternative(html, subtype="html", cte="quoted-printable")
    message.set_boundary("=_rd_" + message_id(alert.outbox_keys)[1:33])
    return message
