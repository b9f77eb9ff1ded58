"""Rendering alerts as emails: subject, parts, privacy, escaping and clean, deterministic headers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from notifier.plan import outbox_key
from notifier.render import clean_header, clean_text, format_when, message_id, render_alert, subject_for
from revolving_door.model import Alert, Attendee, Collision, Meeting

NOW = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
EVIL_TITLE = "<img src=x onerror=alert(1)> Visit\r\nBcc: victim@example.com"


def meeting(
    key: str,
    start: datetime,
    people: set[str],
    *,
    title: str = "Visit",
    private: bool = False,
    location: str = "",
    partners: tuple[str, ...] = ("UNICEF",),
    all_day: bool = False,
) -> Meeting:
    """A UNICEF-family meeting with one external guest."""
    return Meeting(
        key=key,
        uid=key,
        start=start,
        end=start + (timedelta(days=1) if all_day else timedelta(hours=1)),
        title=title,
        location=location,
        private=private,
        calendars=tuple(sorted(people)),
        internal_attendees=frozenset(people),
        partners=partners,
        families=("UNICEF",),
        external_attendees=(Attendee("guest@unicef.org", "Guest Person", "accepted"),),
        all_day=all_day,
    )


def alert_for(recipient: str, *pairs: tuple[Meeting, Meeting]) -> Alert:
    """An alert to `recipient` about the given meeting pairs."""
    collisions = tuple(Collision("UNICEF", a, b, "within-window") for a, b in pairs)
    keys = tuple(outbox_key(recipient, "UNICEF", c.a.key, c.b.key) for c in collisions)
    return Alert(recipient=recipient, family="UNICEF", collisions=collisions, outbox_keys=keys)


ALICE_MEETING = meeting("a", datetime(2025, 3, 3, 9, 0, tzinfo=UTC), {"alice@example.org"})
BOB_MEETING = meeting("b", datetime(2025, 3, 7, 14, 0, tzinfo=UTC), {"bob@example.org", "carol@example.org"})


def render(alert: Alert, **overrides: object) -> EmailMessage:
    """render_alert with test defaults."""
    options: dict[str, object] = {
        "sender": "Revolving Door <rd@example.org>",
        "organization": "Example Org",
        "owners": ["dana@example.org"],
        "now": NOW,
    }
    options.update(overrides)
    return render_alert(alert, **options)  # type: ignore[arg-type]


def parts(message: EmailMessage) -> tuple[str, str]:
    """The (text, html) contents of a rendered message, after a round trip through bytes."""
    parsed = BytesParser(policy=policy.default).parsebytes(message.as_bytes())
    assert isinstance(parsed, EmailMessage)
    text = parsed.get_body(("plain",))
    html = parsed.get_body(("html",))
    assert text is not None and html is not None
    return str(text.get_content()), str(html.get_content())


def test_subject_for_an_account_manager_counts_every_colleague() -> None:
    """The owner reads how many colleagues meet the partner, and within how many days."""
    message = render(alert_for("dana@example.org", (ALICE_MEETING, BOB_MEETING)))
    assert message["Subject"] == "Heads-up: 3 colleagues are meeting UNICEF within 5 days"


def test_subject_for_an_attendee_counts_the_others() -> None:
    """An attendee reads how many other colleagues are also meeting the partner."""
    assert subject_for(alert_for("alice@example.org", (ALICE_MEETING, BOB_MEETING))) == (
        "Heads-up: 2 colleagues are also meeting UNICEF within 5 days"
    )
    close = meeting("c", ALICE_MEETING.start + timedelta(hours=3), {"erin@example.org"})
    assert subject_for(alert_for("alice@example.org", (ALICE_MEETING, close))) == (
        "Heads-up: 1 colleague is also meeting UNICEF within a day"
    )


def test_message_is_multipart_alternative_with_text_and_html() -> None:
    """The email has a text part and an HTML part with the same essentials."""
    message = render(alert_for("alice@example.org", (ALICE_MEETING, BOB_MEETING)))
    assert message.get_content_type() == "multipart/alternative"
    text, html = parts(message)
    for body in (text, html):
        assert "UNICEF" in body
        assert "bob@example.org" in body and "carol@example.org" in body
        assert "dana@example.org" in body
        assert "compare notes before the visit" in body
        assert "Reply-All" in body
        assert "Mon 03 Mar 2025, 09:00–10:00 UTC" in body


def test_headers_are_deterministic_and_reply_to_reaches_the_colleagues() -> None:
    """Message-ID comes from the outbox keys, Date from now, Reply-To lists everyone involved but the reader."""
    alert = alert_for("alice@example.org", (ALICE_MEETING, BOB_MEETING))
    message = render(alert)
    assert message["Message-ID"] == message_id(alert.outbox_keys)
    assert message["Message-ID"].endswith("@revolving-door>")
    assert message["Date"] == "Sat, 01 Mar 2025 08:00:00 +0000"
    assert message["To"] == "alice@example.org"
    assert message["Reply-To"] == "bob@example.org, carol@example.org, dana@example.org"
    assert message["Cc"] is None
    assert message["Auto-Submitted"] == "auto-generated"
    assert render(alert).as_bytes() == message.as_bytes()


def test_hostile_title_is_escaped_in_html_and_adds_no_header() -> None:
    """An HTML-and-CRLF title is escaped in HTML, folded in text, and never becomes a Bcc header."""
    evil = meeting("a", ALICE_MEETING.start, {"alice@example.org"}, title=EVIL_TITLE)
    message = render(alert_for("bob@example.org", (evil, BOB_MEETING)))
    raw = message.as_bytes()
    parsed = BytesParser(policy=policy.default).parsebytes(raw)
    assert parsed["Bcc"] is None
    assert all("\n" not in v and "\r" not in v for _, v in parsed.items())
    text, html = parts(message)
    assert "<img" not in html
    assert "&lt;img src=x onerror=alert(1)&gt; Visit Bcc: victim@example.com" in html
    assert "\u201c<img src=x onerror=alert(1)> Visit Bcc: victim@example.com\u201d" in text
    assert "\nBcc:" not in text


def test_private_meeting_shows_no_title_location_or_outsiders() -> None:
    """A private meeting appears as 'a private meeting' without its title, location or external guests."""
    secret = meeting(
        "b", BOB_MEETING.start, {"bob@example.org"}, title="Merger talks", private=True, location="Hotel Secret"
    )
    text, html = parts(render(alert_for("alice@example.org", (ALICE_MEETING, secret))))
    for body in (text, html):
        assert "A private meeting" in body
        assert "Merger talks" not in body and "Hotel Secret" not in body
        assert body.count("guest@unicef.org") == 1  # Alice's own meeting only


def test_times_are_shown_in_the_recipients_zone_and_all_day_is_not_shifted() -> None:
    """With a known zone, times are local (named by zone); an all-day meeting keeps its date."""
    day = meeting("c", datetime(2025, 3, 5, tzinfo=UTC), {"erin@example.org"}, all_day=True)
    message = render(alert_for("alice@example.org", (ALICE_MEETING, day)), tz_of=lambda r: ZoneInfo("America/New_York"))
    text, _ = parts(message)
    assert "Mon 03 Mar 2025, 04:00–05:00 EST" in text
    assert "Wed 05 Mar 2025 (all day)" in text
    assert "Times are in America/New_York" in text


def test_format_when_handles_midnight_and_multi_day() -> None:
    """Meetings crossing midnight show both dates; multi-day all-day meetings show a date range."""
    late = meeting("x", datetime(2025, 3, 3, 23, 30, tzinfo=UTC), set())
    assert format_when(late) == "Mon 03 Mar 2025, 23:30 UTC to Tue 04 Mar 2025, 00:30 UTC"
    trip = Meeting(
        key="t",
        uid="t",
        start=datetime(2025, 3, 3, tzinfo=UTC),
        end=datetime(2025, 3, 6, tzinfo=UTC),
        title="Trip",
        location="",
        private=False,
        calendars=(),
        internal_attendees=frozenset(),
        partners=(),
        all_day=True,
    )
    assert format_when(trip, ZoneInfo("Asia/Tokyo")) == "Mon 03 Mar to Wed 05 Mar 2025 (all day)"


def test_units_name_the_most_specific_partner() -> None:
    """The body names the family with each meeting's unit, and each meeting its own partner."""
    innocenti = meeting("b", BOB_MEETING.start, {"bob@example.org"}, partners=("UNICEF Innocenti",))
    text, _ = parts(render(alert_for("dana@example.org", (ALICE_MEETING, innocenti))))
    assert "meeting UNICEF (UNICEF Innocenti)" in text
    assert "Partner: UNICEF Innocenti" in text and "Partner: UNICEF\n" in text


def test_missing_account_manager_is_said_plainly() -> None:
    """Without owners the email says no account manager is recorded."""
    text, html = parts(render(alert_for("alice@example.org", (ALICE_MEETING, BOB_MEETING)), owners=[]))
    assert "No account manager is recorded for UNICEF." in text
    assert "No account manager is recorded for UNICEF." in html


def test_shared_location_is_noted_only_between_public_meetings() -> None:
    """A same-location collision is mentioned, unless a private meeting would be revealed by it."""
    pair = Collision("UNICEF", ALICE_MEETING, BOB_MEETING, "within-window", same_location=True)
    alert = Alert("alice@example.org", "UNICEF", (pair,), ("k",))
    assert "same place or in the same city" in parts(render(alert))[0]
    hidden = Collision(
        "UNICEF", ALICE_MEETING, meeting("b", BOB_MEETING.start, {"b@example.org"}, private=True), "same-day", True
    )
    assert "same place" not in parts(render(Alert("alice@example.org", "UNICEF", (hidden,), ("k",))))[0]


def test_clean_header_removes_line_breaks_and_controls() -> None:
    """CR, LF, NEL, line separators and other controls become single spaces."""
    assert clean_header(" a\r\nBcc: x\u2028y\x00z\x85w\t ") == "a Bcc: x y z w"
    assert clean_text("x" * 300, 10) == "xxxxxxxxx…"


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=60), st.text(max_size=30))
def test_any_title_and_organization_render_without_breaking_headers_or_html(title: str, org: str) -> None:
    """Whatever the title or organisation name, headers stay single-line and no raw '<' reaches the HTML."""
    hostile = meeting("a", ALICE_MEETING.start, {"alice@example.org"}, title=title + "<b>x</b>\r\nX-Evil: 1")
    message = render(alert_for("bob@example.org", (hostile, BOB_MEETING)), organization=org)
    parsed = BytesParser(policy=policy.default).parsebytes(message.as_bytes())
    assert parsed["X-Evil"] is None
    assert all("\n" not in v and "\r" not in v for _, v in parsed.items())
    html = parts(message)[1]
    assert "<b>x</b>" not in html


def test_reply_to_lists_only_bare_addresses() -> None:
    """An attendee address that lists several addresses never reaches Reply-To, so Reply-All stays internal."""
    hostile = meeting("b", BOB_MEETING.start, {"bob@example.org", "spy@evil.test,carol@example.org"})
    message = render(alert_for("alice@example.org", (ALICE_MEETING, hostile)))
    assert message["Reply-To"] == "bob@example.org, dana@example.org"
