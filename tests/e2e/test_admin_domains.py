"""`domains …` as an admin runs it: map, unmap, ignore, unignore, review and accept, and every refusal."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from revolving_door.model import Partner
from tests.conftest import run_cli
from tests.e2e.test_admin_partners import (
    IFC,
    NOON,
    NWF,
    SEED,
    Meeting,
    ok,
    partner,
    refused,
    seed,
    snapshot,
    write_calendar,
)


@pytest.fixture
def settings(tmp_path: Path) -> Path:
    """A store holding the seed directory and the ignored domain rooms.example.net."""
    return seed(tmp_path)


# ---- map and unmap ---------------------------------------------------------------------------


def test_map_moves_a_domain_to_another_partner(settings: Path) -> None:
    """`map` of a domain another partner has moves it (normalised), saying where it came from."""
    out = ok(settings, "domains", "map", "https://WWW.NWF.org/about", IFC.lower())
    assert out.strip() == f"nwf.org → {IFC} (moved from {NWF})"
    assert partner(settings, IFC) == Partner(name=IFC, domains=("ifc.org", "nwf.org"), aliases=("IFC",),
                                             parent=SEED[1].parent)
    moved_from = partner(settings, NWF)
    assert moved_from is not None and moved_from.domains == ("northwind.org",)


def test_map_force_maps_a_free_mail_domain(settings: Path) -> None:
    """`map --force` maps a free-mail domain it otherwise refuses."""
    ok(settings, "domains", "map", "GMAIL.com", NWF, "--force")
    mapped = partner(settings, NWF)
    assert mapped is not None and "gmail.com" in mapped.domains


@pytest.mark.parametrize(("args", "reason"), [
    (("gmail.com", NWF), "gmail.com is a free-mail provider"),
    (("ours.org", NWF), "ours.org is an internal domain"),
    (("rooms.example.net", NWF), "rooms.example.net is ignored; run `domains unignore rooms.example.net` first"),
], ids=["free-mail", "internal", "ignored"])
def test_map_refusals(settings: Path, args: tuple[str, ...], reason: str) -> None:
    """A refused `map` exits 1 with one line giving the reason, and changes nothing."""
    refused(settings, "domains", "map", *args, reason=reason)


def test_unmap_removes_the_domain_from_its_partner(settings: Path) -> None:
    """`unmap` (any spelling of the domain) takes it off its partner."""
    assert ok(settings, "domains", "unmap", "WWW.NWF.ORG.").strip() == f"nwf.org no longer maps to {NWF}"
    unmapped = partner(settings, NWF)
    assert unmapped is not None and unmapped.domains == ("northwind.org",)


def test_unmap_unknown_domain_is_refused(settings: Path) -> None:
    """`unmap` of a domain no partner has exits 1 with one line."""
    refused(settings, "domains", "unmap", "elsewhere.org", reason="domain elsewhere.org is not mapped to any partner")


# ---- ignore and unignore ---------------------------------------------------------------------


def test_ignore_records_the_domain(settings: Path) -> None:
    """`ignore` stores the normalised domain as ignored; ignoring it again is harmless."""
    assert ok(settings, "domains", "ignore", "HTTPS://Calendar.Example.NET/").strip() == \
        "calendar.example.net ignored"
    assert ok(settings, "domains", "ignore", "calendar.example.net").strip() == \
        "calendar.example.net was already ignored"
    assert snapshot(settings)[1] == ["calendar.example.net", "rooms.example.net"]


def test_unignore_forgets_the_domain(settings: Path) -> None:
    """`unignore` makes an ignored domain mappable again."""
    assert ok(settings, "domains", "unignore", "rooms.example.net").strip() == "rooms.example.net no longer ignored"
    assert snapshot(settings)[1] == []


def test_ignore_of_a_mapped_domain_is_refused(settings: Path) -> None:
    """`ignore` of a domain mapped to a partner exits 1 and says to unmap it first."""
    refused(settings, "domains", "ignore", "nwf.org",
            reason=f"nwf.org maps to {NWF}; run `domains unmap nwf.org` first")


def test_unignore_of_a_domain_not_ignored_is_refused(settings: Path) -> None:
    """`unignore` of a domain that is not ignored exits 1 with one line."""
    refused(settings, "domains", "unignore", "nwf.org", reason="nwf.org is not ignored")


# ---- review and accept -----------------------------------------------------------------------

REVIEW_PARTNERS = (
    Partner(name="Alpha Partners"),
    Partner(name="Beta Works"),
    Partner(name="Gamma Corporation"),
    Partner(name="Secret Company"),
    Partner(name="Known Org", domains=("known.org",)),
)
PRIVATE_TITLE = "Confidential merger talk"


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two staff calendars with unknown, free-mail, internal, ignored and known domains, synced once."""
    settings = seed(tmp_path_factory.mktemp("review"), REVIEW_PARTNERS, ignored=("ignoredcorp.com",))
    write_calendar(settings, "alice@ours.org",
                   Meeting("a1", "Planning", 1, ("p@alpha-partners.org",)),
                   Meeting("a2", "Catch-up", 3, ("q@alpha-partners.org",)),
                   Meeting("a3", "Sync", 2, ("b@betaworks.net",)),
                   Meeting("a4", "Sync again", 4, ("c@betaworks.net",)),
                   Meeting("a5", "Intro", 5, ("g@gammacorp.io",)),
                   Meeting("a6", PRIVATE_TITLE, 6, ("s@secretco.com",), private=True),
                   Meeting("a7", "Coffee", 1, ("friend@gmail.com", "carol@ours.org", "r@ignoredcorp.com",
                                               "z@zoom.us", "k@known.org", "noreply@mailer.example.com")),
                   Meeting("a8", "Retro", -2, ("d@delta-unknown.org",)))
    write_calendar(settings, "bob@ours.org",
                   Meeting("b1", "Review", 7, ("p@alpha-partners.org",)),
                   Meeting("b2", "Follow-up", 8, ("h@gammacorp.io",)))
    ok(settings, "sync", "--once")
    return settings


@pytest.fixture(scope="module")
def review_json(reviewed: Path) -> list[dict[str, Any]]:
    """What `domains review --format json` printed after the sync."""
    return review_rows(reviewed)


@pytest.fixture
def review_copy(reviewed: Path, tmp_path: Path) -> Path:
    """A private copy of the reviewed folder (settings, calendars and store) for tests that change it."""
    shutil.copytree(reviewed.parent, tmp_path / "copy")
    return tmp_path / "copy" / "settings.toml"


def day(offset: int) -> str:
    """The ISO date `offset` days from today (UTC)."""
    return (NOON + timedelta(days=offset)).date().isoformat()


def review_rows(settings: Path) -> list[dict[str, Any]]:
    """`domains review --format json`, parsed."""
    rows: list[dict[str, Any]] = json.loads(ok(settings, "domains", "review", "--format", "json"))
    return rows


def test_review_ranks_unknown_domains_with_suggestions(review_json: list[dict[str, Any]]) -> None:
    """`review --format json` ranks unknown domains by meetings then staff, with dates and a scored suggestion."""
    rows = review_json
    assert [(r["domain"], r["meetings"], r["staff"]) for r in rows] == [
        ("alpha-partners.org", 3, 2), ("gammacorp.io", 2, 2), ("betaworks.net", 2, 1),
        ("delta-unknown.org", 1, 1), ("secretco.com", 1, 1)]
    alpha = rows[0]
    assert (alpha["first_seen"], alpha["last_seen"]) == (day(1), day(7))
    assert (alpha["suggestion"], alpha["score"]) == ("Alpha Partners", 100.0)
    assert 'domain label "alphapartners" ~ name "Alpha Partners"' in alpha["why"]
    assert rows[3]["first_seen"] == day(-2) and rows[3]["suggestion"] is None
    assert {r["domain"]: r["suggestion"] for r in rows}["gammacorp.io"] == "Gamma Corporation"


def test_review_leaves_out_free_mail_internal_ignored_and_known_domains(review_json: list[dict[str, Any]]) -> None:
    """Free-mail, internal, ignored (bundled or admin), mapped and no-reply domains are not in the review."""
    shown = {r["domain"] for r in review_json}
    for domain in ("gmail.com", "ours.org", "ignoredcorp.com", "zoom.us", "known.org", "example.com"):
        assert domain not in shown


def test_review_never_shows_a_private_title(reviewed: Path, review_json: list[dict[str, Any]]) -> None:
    """A private meeting's title appears in neither the table nor the JSON of `review`."""
    out = run_cli("--config", reviewed, "domains", "review", env={"COLUMNS": "250"})
    assert out.returncode == 0, out.stderr
    table = out.stdout
    assert "secretco.com" in table and "Secret Company" in table
    assert "merger" not in table.lower()
    assert "merger" not in json.dumps(review_json).lower()


def test_accept_maps_the_suggestion(review_copy: Path) -> None:
    """`accept DOMAIN` maps the domain to its suggested partner."""
    assert ok(review_copy, "domains", "accept", "alpha-partners.org").strip() == \
        "alpha-partners.org → Alpha Partners (100.0)"
    accepted = partner(review_copy, "Alpha Partners")
    assert accepted is not None and accepted.domains == ("alpha-partners.org",)


def test_accept_all_takes_only_suggestions_at_or_above_the_score(review_copy: Path,
                                                                 review_json: list[dict[str, Any]]) -> None:
    """`accept --all --min-score 90` maps the suggestions scoring 90 or more and leaves the rest."""
    scores = {r["domain"]: r["score"] for r in review_json}
    assert scores["gammacorp.io"] < 90 and scores["secretco.com"] < 90
    ok(review_copy, "domains", "accept", "--all", "--min-score", "90")
    domains = {p.name: p.domains for p in snapshot(review_copy)[0]}
    assert domains["Alpha Partners"] == ("alpha-partners.org",)
    assert domains["Beta Works"] == ("betaworks.net",)
    assert domains["Gamma Corporation"] == () and domains["Secret Company"] == ()


@pytest.mark.parametrize(("domain", "reason"), [
    ("delta-unknown.org", "no suggestion for delta-unknown.org"),
    ("gmail.com", "gmail.com is not in the review list"),
], ids=["no-suggestion", "not-in-review"])
def test_accept_refusals(reviewed: Path, domain: str, reason: str) -> None:
    """`accept` of a domain without a suggestion, or not under review, exits 1 with one line."""
    refused(reviewed, "domains", "accept", domain, reason=reason)


def test_accept_of_a_domain_and_all_is_a_usage_error(reviewed: Path) -> None:
    """`accept` with both a domain and --all is a usage error, exit 2."""
    out = run_cli("--config", reviewed, "domains", "accept", "alpha-partners.org", "--all")
    assert out.returncode == 2 and "Traceback" not in out.stderr
