"""Directory changes take effect on the next cycle without refetching: stored events are re-resolved."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from revolving_door.model import Partner
from tests.e2e.test_admin_partners import Meeting, ok, seed, write_calendar

ACME = "Acme Relief"
MAPPED = (Partner(name=ACME, domains=("acme-intl.org",)),)


def write_calendars(settings: Path) -> None:
    """Alice and Bob each meet Acme (by address only) two days apart, neither knowing of the other."""
    write_calendar(settings, "alice@ours.org", Meeting("a1", "Planning session", 2, ("x@acme-intl.org",)))
    write_calendar(settings, "bob@ours.org", Meeting("b1", "Budget talk", 4, ("y@hq.acme-intl.org",)))


def sync(settings: Path, *, collisions: int) -> str:
    """Run one cycle; assert how many collisions it ends with; return its summary line."""
    line = ok(settings, "sync", "--once").strip()
    assert f"collisions: {collisions} (" in line, line
    return line


def collisions(settings: Path) -> list[dict[str, Any]]:
    """`collisions list --format json`, parsed."""
    records: list[dict[str, Any]] = json.loads(ok(settings, "collisions", "list", "--format", "json"))
    return records


@pytest.fixture
def unmapped(tmp_path: Path) -> Path:
    """Acme in the directory without its domain; calendars synced once: no partner found, no collision."""
    settings = seed(tmp_path, (Partner(name=ACME),), ignored=())
    write_calendars(settings)
    sync(settings, collisions=0)
    return settings


@pytest.fixture
def colliding(tmp_path: Path) -> Path:
    """Acme mapped to acme-intl.org; calendars synced once: the two meetings collide."""
    settings = seed(tmp_path, MAPPED, ignored=())
    write_calendars(settings)
    sync(settings, collisions=1)
    return settings


def test_mapping_a_domain_finds_the_collision_without_refetching(unmapped: Path) -> None:
    """After `domains map`, the next cycle (nothing refetched) shows the new matches and the new collision."""
    ok(unmapped, "domains", "map", "acme-intl.org", ACME)
    line = sync(unmapped, collisions=1)
    assert "events: 0 new or changed" in line
    events = json.loads(ok(unmapped, "events", "list", "--format", "json"))
    assert {(e["key"], tuple(e["partners"])) for e in events} == {("a1", (ACME,)), ("b1", (ACME,))}
    assert any("hq.acme-intl.org → acme-intl.org" in ev for e in events for ev in e["evidence"])
    [record] = collisions(unmapped)
    assert record["partner"] == ACME
    assert sorted(m["key"] for m in record["meetings"]) == ["a1", "b1"]


def test_importing_partners_finds_the_collision_without_refetching(tmp_path: Path) -> None:
    """After `partners import`, the next cycle (nothing refetched) finds the collision."""
    settings = seed(tmp_path, (), ignored=())
    write_calendars(settings)
    sync(settings, collisions=0)
    csv_file = tmp_path / "partners.csv"
    csv_file.write_text(f"name,domains,aliases,owner,parent\n{ACME},acme-intl.org,,,\n", encoding="utf-8")
    ok(settings, "partners", "import", csv_file)
    assert "events: 0 new or changed" in sync(settings, collisions=1)
    assert [r["partner"] for r in collisions(settings)] == [ACME]


def test_unmapping_the_domain_removes_the_collision(colliding: Path) -> None:
    """After `domains unmap`, the collision is gone on the next cycle."""
    ok(colliding, "domains", "unmap", "acme-intl.org")
    assert "events: 0 new or changed" in sync(colliding, collisions=0)
    assert collisions(colliding) == []


def test_removing_the_partner_removes_the_collision(colliding: Path) -> None:
    """After `partners remove`, the collision is gone on the next cycle."""
    ok(colliding, "partners", "remove", ACME)
    sync(colliding, collisions=0)


def test_ignoring_a_subdomain_removes_the_collision(colliding: Path) -> None:
    """After `domains ignore` of the host one side used, that meeting loses its partner and the collision goes."""
    ok(colliding, "domains", "ignore", "hq.acme-intl.org")
    sync(colliding, collisions=0)
    events = json.loads(ok(colliding, "events", "list", "--format", "json"))
    assert {e["key"]: e["partners"] for e in events} == {"a1": [ACME], "b1": []}


def test_renaming_the_partner_sends_no_alert_twice(colliding: Path) -> None:
    """After `partners edit --rename`, the next cycle finds the same collision and alerts nobody again."""
    sent = sorted((colliding.parent / "outbox").iterdir())
    assert sent
    ok(colliding, "partners", "edit", ACME, "--rename", "Acme Relief International")
    assert "alerts: 0 queued" in sync(colliding, collisions=1)
    assert sorted((colliding.parent / "outbox").iterdir()) == sent
