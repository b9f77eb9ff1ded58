"""Tests of matching.domains: offline host walking, free-mail, ignored hosts and no-reply senders."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from matching import domains as domains_module
from matching.directory import Directory
from matching.domains import DomainResolver, host_levels, registrable_domain, split_address
from revolving_door.model import Partner


def _resolver(**kw: Any) -> DomainResolver:
    """A resolver over a small directory with nested and ccTLD domains."""
    d = Directory([
        Partner("Uni", ("uni.example.edu",)),
        Partner("Uni Med School", ("med.uni.example.edu",), parent="Uni"),
        Partner("Commission", ("comm.union.eu",)),
        Partner("Ministry", ("mofa.gov.example.co.uk", "ministry.go.ke")),
        Partner("Mailer", ("mailbox-corp.com",)),
    ])
    return DomainResolver(d, internal_domains=["us.example"], **kw)


def test_most_specific_mapped_domain_wins() -> None:
    """A mapped child unit's domain beats its parent's; other subdomains go to the parent."""
    r = _resolver()
    assert (m := r.resolve_address("a@x.med.uni.example.edu")) is not None and m.partner == "Uni Med School"
    assert (m := r.resolve_address("a@law.uni.example.edu")) is not None and m.partner == "Uni"
    assert m.evidence == "domain law.uni.example.edu → uni.example.edu"


def test_sibling_under_shared_registrable_domain_is_unknown() -> None:
    """A sibling of a mapped domain below the registrable domain does not map to it."""
    r = _resolver()
    assert r.resolve_address("a@other.union.eu") is None
    assert (m := r.resolve_address("a@x.comm.union.eu")) is not None and m.partner == "Commission"


def test_second_level_public_suffixes() -> None:
    """Domains under ccTLD second levels (go.ke) resolve, and a bare public suffix never maps."""
    r = _resolver()
    assert (m := r.resolve_address("a@ministry.go.ke")) is not None and m.partner == "Ministry"
    assert r.resolve_address("a@go.ke") is None
    assert registrable_domain("a.b.example.co.uk") == "example.co.uk"
    assert host_levels("a.b.example.co.uk") == ("a.b.example.co.uk", "b.example.co.uk", "example.co.uk")


def test_case_tag_and_mailto_are_ignored() -> None:
    """Upper case, +tags, surrounding space and a mailto: prefix do not change resolution."""
    r = _resolver()
    m = r.resolve_address("  MAILTO:Jane.Doe+visit@MED.Uni.Example.EDU ")
    assert m is not None and m.partner == "Uni Med School"
    assert split_address("A+b@X.ORG") == ("a", "x.org")


def test_classify_kinds() -> None:
    """Hosts are classified as internal, free-mail, ignored, partner or unknown."""
    r = _resolver()
    assert r.classify("field.us.example") == "internal"
    assert r.classify("gmail.com") == "freemail"
    assert r.classify("zoom.us") == "ignored"
    assert r.classify("x.resource.calendar.google.com") == "ignored"
    assert r.classify("uni.example.edu") == "partner"
    assert r.classify("random.example") == "unknown"


def test_freemail_overrides() -> None:
    """freemail_extra adds providers; freemail_allow removes one from the public list."""
    r = _resolver(freemail_extra=["mailbox-corp.com"], freemail_allow=["gmail.com"])
    assert r.classify("gmail.com") == "unknown"
    assert r.classify("mailbox-corp.com") == "partner"  # an explicit mapping is the admin's decision
    assert _resolver(freemail_extra=["webmail.example"]).classify("webmail.example") == "freemail"


def test_ignored_domains_and_noreply_senders() -> None:
    """Configured ignored hosts and no-reply local parts never resolve to a partner."""
    r = _resolver(ignored_domains=["uni.example.edu"])
    assert r.resolve_address("a@uni.example.edu") is None
    assert _resolver().resolve_address("noreply@uni.example.edu") is None
    assert _resolver().resolve_address("calendar-notification@uni.example.edu") is None


def test_international_hosts_resolve_via_idna() -> None:
    """A Unicode host matches the partner's punycode domain."""
    d = Directory([Partner("Bücher", ("bücher.example",))])
    r = DomainResolver(d, internal_domains=[])
    assert (m := r.resolve_address("a@BÜCHER.example")) is not None and m.partner == "Bücher"


def test_public_suffix_list_is_never_downloaded(monkeypatch: pytest.MonkeyPatch) -> None:
    """With every socket blocked, a fresh extractor still resolves from the bundled snapshot."""

    def refuse(*args: object, **kwargs: object) -> None:
        """Fail the test on any network use."""
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    domains_module._extractor.cache_clear()
    registrable_domain.cache_clear()
    try:
        assert registrable_domain("x.corvid.govt.nz") == "corvid.govt.nz"
        assert registrable_domain("a.b.example.com.au") == "example.com.au"
        r = _resolver()
        assert (m := r.resolve_address("x@a.ministry.go.ke")) is not None and m.partner == "Ministry"
    finally:
        domains_module._extractor.cache_clear()
        registrable_domain.cache_clear()


def test_unknown_top_level_label_follows_the_default_public_suffix_rule() -> None:
    """Under a TLD the list lacks, the last two labels are registrable, so a mapped domain covers its subdomains."""
    assert registrable_domain("a.sub.acme.example") == "acme.example"
    assert host_levels("a.sub.acme.example") == ("a.sub.acme.example", "sub.acme.example", "acme.example")
    assert registrable_domain("10.0.0.1") == "10.0.0.1"
    r = DomainResolver(Directory([Partner("Acme", ("acme.example",))]), internal_domains=[])
    assert (m := r.resolve_address("a@field.acme.example")) is not None and m.partner == "Acme"
