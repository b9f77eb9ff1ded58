"""Tests of matching.directory: normalisation, validation, families and the CSV format."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from matching.directory import (
    Directory,
    check_mappable,
    normalise_domain,
    parse_partners_csv,
    read_partners_csv,
    validate_partners,
    write_partners_csv,
)
from revolving_door.errors import DirectoryError
from revolving_door.model import Partner


def _family() -> list[Partner]:
    """A three-level Acme family (with a lower-cased parent reference) and an unrelated partner."""
    return [
        Partner("Acme Group", ("acme.example",), ("AG",), ("boss@us.example",)),
        Partner("Acme Labs", ("labs.acme.example",), (), ("lab@us.example",), parent="Acme Group"),
        Partner("Acme Labs East", ("east-labs.example",), (), ("boss@us.example",), parent="acme labs"),
        Partner("Other", ("other.example",)),
    ]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Example.ORG", "example.org"),
        ("https://www.example.org/path?q=1", "example.org"),
        ("example.org.", "example.org"),
        ("example.org:8443", "example.org"),
        ("someone@Example.org", "example.org"),
        ("münchen.de", "xn--mnchen-3ya.de"),
        ("  sub.example.co.uk ", "sub.example.co.uk"),
    ],
)
def test_normalise_domain_canonical_forms(raw: str, expected: str) -> None:
    """Case, scheme, www., path, port, trailing dot and IDNA are normalised away."""
    assert normalise_domain(raw) == expected


@pytest.mark.parametrize("raw", ["", "localhost", "bad_label.org", "-x.org", "1.2.3.4", "a..org", "x.org:abc"])
def test_normalise_domain_refuses_invalid(raw: str) -> None:
    """Invalid domains raise DirectoryError naming the input."""
    with pytest.raises(DirectoryError, match="invalid domain"):
        normalise_domain(raw)


def test_check_mappable_reasons() -> None:
    """Internal and free-mail domains cannot be mapped; others can."""
    assert "internal" in (check_mappable("field.us.example", internal_domains=["us.example"], freemail=()) or "")
    assert "free-mail" in (check_mappable("gmail.com", internal_domains=[], freemail={"gmail.com"}) or "")
    assert check_mappable("partner.example", internal_domains=["us.example"], freemail={"gmail.com"}) is None


def test_validate_partners_reports_every_problem() -> None:
    """Duplicates, shared domains, unknown parents, cycles and bad emails are all reported at once."""
    problems = validate_partners([
        Partner("A", ("a.example",), parent="B"),
        Partner("B", ("a.example",), parent="A"),
        Partner("a"),
        Partner("C", ("bad domain",), owners=("not-an-email",), parent="Nobody"),
    ])
    text = "\n".join(problems)
    assert "duplicate partner name" in text
    assert "two partners" in text
    assert "unknown parent 'Nobody'" in text
    assert "parent cycle" in text
    assert "invalid domain" in text
    assert "not an email" in text


def test_directory_family_root_owners_and_lookup() -> None:
    """Families include all descendants; owners are the root's first, without duplicates."""
    d = Directory(_family())
    assert d.get("ACME labs") is not None
    assert d.get("missing") is None
    assert d.root("Acme Labs East") == "Acme Group"
    assert d.family("Acme Group") == {"Acme Group", "Acme Labs", "Acme Labs East"}
    assert d.family("Acme Labs") == {"Acme Labs", "Acme Labs East"}
    assert d.owners_of_family("Acme Group") == ("boss@us.example", "lab@us.example")
    assert d.domain_owner("LABS.acme.example") == "Acme Labs"
    assert d.domain_owner("nowhere.example") is None
    assert d.children("Acme Group") == ("Acme Labs",)


def test_directory_refuses_invalid_partners() -> None:
    """Building a Directory from invalid partners raises DirectoryError with every problem."""
    with pytest.raises(DirectoryError) as info:
        Directory([Partner("X", parent="Y"), Partner("x")])
    assert len(info.value.problems) == 2


def test_csv_round_trip(tmp_path: Path) -> None:
    """write_partners_csv output reads back to the same partners, commas and several owners included."""
    partners = [*_family(), Partner("Foo, Bar & Co", ("foo.example",), ("FB", "Foo Bar"),
                                    ("a@us.example", "b@us.example"))]
    buf = io.StringIO()
    write_partners_csv(partners, buf)
    path = tmp_path / "p.csv"
    path.write_text(buf.getvalue(), encoding="utf-8")
    assert read_partners_csv(path) == partners


def test_csv_errors_carry_line_numbers() -> None:
    """Every bad line is reported with its line number, and nothing is returned."""
    text = (
        "name,domains,aliases,owner,parent\n"
        "Good,good.example,,,\n"
        "Good,dup.example,,,\n"
        "Bad,bad_domain,,,\n"
        "Short,x.example\n"
        "Orphan,orphan.example,,,Ghost\n"
        "Owner,owner.example,,nope,\n"
        "Clash,good.example,,,\n"
    )
    with pytest.raises(DirectoryError) as info:
        parse_partners_csv(text)
    text_problems = "\n".join(info.value.problems)
    for line in ("partners.csv:3: duplicate name", "partners.csv:4: invalid domain", "partners.csv:5: expected 5",
                 "partners.csv:6: unknown parent", "partners.csv:7: owner", "partners.csv:8: domain good.example"):
        assert line in text_problems


def test_csv_header_problems() -> None:
    """Missing and unknown columns are reported on line 1."""
    with pytest.raises(DirectoryError, match=r"missing column\(s\): parent.*|unknown column") as info:
        parse_partners_csv("name,domains,aliases,owner,colour\nA,a.example,,,red\n")
    assert any("missing column(s): parent" in p for p in info.value.problems)
    assert any("unknown column(s): colour" in p for p in info.value.problems)


def test_csv_parses_quoted_fields_and_lists() -> None:
    """Quoted names with commas, ;-separated domains, aliases and owners are read."""
    [p] = parse_partners_csv('name,domains,aliases,owner,parent\n"Foo, Inc.",Foo.example;WWW.bar.example,'
                             '"F, I;FI",a@x.example;B@x.example,\n')
    assert p == Partner("Foo, Inc.", ("foo.example", "bar.example"), ("F, I", "FI"), ("a@x.example", "b@x.example"))


def test_csv_cycle_refused() -> None:
    """A parent cycle in an import is refused."""
    with pytest.raises(DirectoryError, match="cycle"):
        parse_partners_csv("name,domains,aliases,owner,parent\nA,,,,B\nB,,,,A\n")
