"""Property tests (Hypothesis) of matching invariants."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from matching.directory import Directory
from matching.domains import DomainResolver
from matching.titles import TitleMatcher
from revolving_door.model import Partner

DIRECTORY = Directory([
    Partner("Wellcome Trust", ("wellcome.org",), ("Wellcome",)),
    Partner("Uni", ("uni.example.edu",)),
    Partner("Uni Med School", ("med.uni.example.edu",), parent="Uni"),
    Partner("GIZ", ("giz.de",)),
    Partner("Orange", ("orange.com",)),
])
RESOLVER = DomainResolver(DIRECTORY, internal_domains=["us.example"])
MATCHER = TitleMatcher(DIRECTORY)

hosts = st.sampled_from(["wellcome.org", "x.wellcome.org", "med.uni.example.edu", "a.b.uni.example.edu",
                         "giz.de", "gmail.com", "random.example", "us.example", "zoom.us"])
locals_ = st.from_regex(r"[a-z][a-z0-9._-]{0,12}", fullmatch=True)
tags = st.from_regex(r"[a-z0-9-]{1,8}", fullmatch=True)
spaces = st.sampled_from(["", " ", "  ", "\t"])


@given(locals_, hosts, tags, spaces, spaces, st.booleans())
def test_address_resolution_ignores_case_space_and_tags(
    local: str, host: str, tag: str, left: str, right: str, upper: bool
) -> None:
    """Resolution is unchanged by case, surrounding whitespace and +tags."""
    plain = RESOLVER.resolve_address(f"{local}@{host}")
    variant = f"{left}{local}+{tag}@{host}{right}"
    assert RESOLVER.resolve_address(variant.upper() if upper else variant.title()) == plain


TITLES = ["Prep for GIZ meeting", "Coffee w/ Sam (Wellcome Trust)", "Meeting with Orange", "Orange juice run",
          "Uni Med School quarterly review", "Budget planning", "GIZ <> Acme: WASH", "Wellcom Trust site visit"]
UNRELATED = st.lists(st.sampled_from(["budget", "notes", "agenda", "zoom", "draft", "q3", "followups", "room 4"]),
                     min_size=1, max_size=4)


@given(st.sampled_from(TITLES), UNRELATED, st.sampled_from([" - ", " | ", " // "]))
def test_unrelated_words_do_not_change_title_matches(title: str, extra: list[str], sep: str) -> None:
    """Appending unrelated words to a title does not change which partners it names."""
    before = {m.partner for m in MATCHER.match(title)}
    assert {m.partner for m in MATCHER.match(title + sep + " ".join(extra))} == before


labels = st.from_regex(r"[a-z]{3,8}", fullmatch=True)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(labels, st.sampled_from(["org", "de", "co.uk"])), min_size=1, max_size=5, unique=True),
       labels, st.sampled_from(["org", "de", "co.uk"]), st.lists(labels, max_size=2), labels)
def test_adding_a_partner_keeps_other_domain_matches(
    existing: list[tuple[str, str]], new_label: str, new_tld: str, sub: list[str], local: str
) -> None:
    """Adding a partner never takes an address from another partner unless it maps a more specific level."""
    domains = [f"{label}.{tld}" for label, tld in existing]
    new_domain = f"{new_label}.{new_tld}"
    partners = [Partner(f"P{i}", (d,)) for i, d in enumerate(domains) if d != new_domain]
    before = DomainResolver(Directory(partners), internal_domains=[])
    for parent in domains:
        deeper = ".".join([*sub, parent])
        for candidate in ([new_domain] if new_domain not in domains else []) + [f"x.{parent}"]:
            if candidate in domains:
                continue
            after = DomainResolver(Directory([*partners, Partner("New", (candidate,))]), internal_domains=[])
            address = f"{local}@{deeper}"
            old, new = before.resolve_address(address), after.resolve_address(address)
            if old is None:
                continue
            assert new is not None
            assert new.partner == old.partner or (new.partner == "New" and deeper.endswith(candidate))
