"""Tests of matching.resolver and matching.review."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from matching.directory import Directory
from matching.resolver import Resolver
from matching.review import DomainSighting, rank_unknown_domains, suggest_partner
from revolving_door.model import Attendee, CalendarEvent, Partner

T0 = datetime(2030, 3, 4, 9, tzinfo=UTC)
DIRECTORY = Directory([
    Partner("Wellcome Trust", ("wellcome.org",), ("Wellcome",)),
    Partner("Uni", ("uni.example.edu",)),
    Partner("Uni Med School", ("med.uni.example.edu",), ("Uni Med",), parent="Uni"),
    Partner("GIZ", ("giz.de",)),
])


def _resolver() -> Resolver:
    """A resolver over the test directory, internal domain us.example."""
    return Resolver(DIRECTORY, internal_domains=["us.example"])


def _event(title: str = "Sync", *attendees: Attendee, status: str = "confirmed", organizer: str = "",
           private: bool = False) -> CalendarEvent:
    """A one-hour event on me@us.example (who accepted) with `attendees`."""
    people = (Attendee("me@us.example", response="accepted"), *attendees)
    return CalendarEvent(calendar="me@us.example", key="k", uid="k", source_id="k", title=title, start=T0,
                         end=T0 + timedelta(hours=1), attendees=people, status=status,  # type: ignore[arg-type]
                         organizer=organizer, private=private)


def test_domain_and_title_matches_deduplicated_domain_first() -> None:
    """A partner found by domain and title appears once, with the domain evidence."""
    ms = _resolver().resolve(_event("Wellcome Trust sync", Attendee("a@wellcome.org")))
    assert [(m.partner, m.via) for m in ms] == [("Wellcome Trust", "domain")]


def test_most_specific_partner_is_named() -> None:
    """The child unit is reported, not its family root."""
    ms = _resolver().resolve(_event("Sync", Attendee("a@x.med.uni.example.edu")))
    assert [m.partner for m in ms] == ["Uni Med School"]


def test_declined_resource_and_internal_attendees_do_not_count() -> None:
    """Declined attendees, resources and internal addresses are never partners."""
    ms = _resolver().resolve(_event(
        "Sync", Attendee("a@giz.de", response="declined"), Attendee("room@wellcome.org", is_resource=True),
        Attendee("b@field.us.example"),
    ))
    assert ms == ()


def test_organizer_counts() -> None:
    """An external organizer not in the attendee list is resolved too."""
    ms = _resolver().resolve(_event("Sync", organizer="host@giz.de"))
    assert [m.partner for m in ms] == ["GIZ"]


def test_inactive_events_have_no_partners() -> None:
    """Cancelled meetings and meetings every internal attendee declined have no partners."""
    r = _resolver()
    assert r.resolve(_event("GIZ sync", Attendee("a@giz.de"), status="cancelled")) == ()
    declined = CalendarEvent(calendar="me@us.example", key="k", uid="k", source_id="k", title="GIZ sync",
                             start=T0, end=T0, attendees=(Attendee("me@us.example", response="declined"),
                                                          Attendee("a@giz.de")))
    assert r.resolve(declined) == ()


def test_private_events_are_resolved() -> None:
    """Private meetings still get partners (privacy is about display)."""
    assert [m.partner for m in _resolver().resolve(_event("GIZ sync", private=True))] == ["GIZ"]


def test_title_only_partner_with_freemail_guest() -> None:
    """A partner named in the title counts even when its guest uses free mail."""
    ms = _resolver().resolve(_event("Coffee w/ Ana (GIZ)", Attendee("ana@gmail.com")))
    assert [(m.partner, m.via) for m in ms] == [("GIZ", "title")]


def test_suggest_partner_from_domain_label() -> None:
    """A domain whose label spells a partner's name is suggested for it."""
    s = suggest_partner("wellcometrust.co.uk", DIRECTORY, [])
    assert s is not None and s.partner == "Wellcome Trust" and s.score >= 90
    assert "wellcometrust" in s.why


def test_suggest_partner_from_titles() -> None:
    """Titles of the meetings a domain was seen in support a suggestion."""
    s = suggest_partner("zz-consult.example", DIRECTORY, ["GIZ sync", "Prep for GIZ visit", "Budget"])
    assert s is not None and s.partner == "GIZ"
    assert suggest_partner("zz-consult.example", DIRECTORY, ["Budget"]) is None


def test_rank_unknown_domains() -> None:
    """Unknown domains rank by distinct meetings, then distinct staff, with first and last seen."""
    sightings = [
        DomainSighting("a.example", "k1", "x@us.example", T0),
        DomainSighting("a.example", "k1", "y@us.example", T0),
        DomainSighting("b.example", "k1", "x@us.example", T0),
        DomainSighting("b.example", "k2", "x@us.example", T0 + timedelta(days=2)),
    ]
    ranked = rank_unknown_domains(sightings)
    assert [(u.domain, u.meetings, u.staff) for u in ranked] == [("b.example", 2, 1), ("a.example", 1, 2)]
    assert ranked[0].last_seen - ranked[0].first_seen == timedelta(days=2)
