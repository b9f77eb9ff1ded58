"""The shared vocabulary's few rules: who is internal, which meetings are active."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from revolving_door.model import Attendee, CalendarEvent, is_internal_address

DOMAINS = ("ours.org",)


def test_internal_addresses_include_subdomains() -> None:
    """An address at an internal domain or one of its subdomains is internal; look-alikes are not."""
    assert is_internal_address("ann@ours.org", DOMAINS)
    assert is_internal_address("bo@Field.Ours.org", DOMAINS)
    assert not is_internal_address("eve@notours.org", DOMAINS)
    assert not is_internal_address("eve@ours.org.evil.test", DOMAINS)


def test_text_that_is_not_one_address_is_never_internal() -> None:
    """Several addresses, display names or header tricks in one attendee are never internal."""
    for text in ("spy@evil.test,ann@ours.org", "Spy <spy@evil.test> ann@ours.org", "ann@ours.org\r\nBcc: x@y.z",
                 "a@b@ours.org", "ours.org"):
        assert not is_internal_address(text, DOMAINS), text


def event(*attendees: Attendee, status: str = "confirmed") -> CalendarEvent:
    """A meeting on Ann's calendar with these attendees."""
    start = datetime(2026, 12, 1, 9, tzinfo=UTC)
    return CalendarEvent(calendar="ann@ours.org", key="k", uid="k", source_id="k", title="t", start=start,
                         end=start + timedelta(hours=1), attendees=attendees, status=status)  # type: ignore[arg-type]


def test_active_means_not_cancelled_and_not_declined_by_every_insider() -> None:
    """A meeting is active unless cancelled or declined by every internal attendee (rooms do not count)."""
    ann = Attendee("ann@ours.org", response="accepted")
    declined = Attendee("ann@ours.org", response="declined")
    room = Attendee("room@ours.org", is_resource=True)
    guest = Attendee("x@partner.org")
    assert event(ann, guest).is_active(DOMAINS)
    assert not event(ann, guest, status="cancelled").is_active(DOMAINS)
    assert not event(declined, room, guest).is_active(DOMAINS)
    assert event(ann, room).internal_attendees(DOMAINS) == {"ann@ours.org"}


def test_a_personal_event_belongs_to_its_calendar_owner() -> None:
    """An event with no attendee list is attended by its calendar's owner."""
    assert event().internal_attendees(DOMAINS) == {"ann@ours.org"}
