"""The CLI as a user runs it: the embedded demo, idempotent re-runs, JSON contracts, exit codes."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cli


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the embedded default with its calendars rendered for today, synced once."""
    folder = tmp_path_factory.mktemp("demo")
    shutil.copy(ROOT / "settings.toml", folder / "settings.toml")
    shutil.copytree(ROOT / "demo", folder / "demo", ignore=shutil.ignore_patterns("calendars", "__pycache__"))
    import subprocess
    import sys

    subprocess.run([sys.executable, str(folder / "demo" / "make_calendars.py")], check=True, capture_output=True)
    imported = run_cli("--config", folder / "settings.toml", "partners", "import", folder / "demo" / "partners.csv")
    assert imported.returncode == 0, imported.stderr
    synced = run_cli("--config", folder / "settings.toml", "sync", "--once")
    assert synced.returncode == 0, synced.stderr
    return folder


def test_demo_finds_collisions_that_are_still_ahead(demo: Path) -> None:
    """The demo shows at least three collisions, each with a meeting still ahead."""
    out = run_cli("--config", demo / "settings.toml", "collisions", "list", "--format", "json")
    assert out.returncode == 0, out.stderr
    records = json.loads(out.stdout)
    assert len(records) >= 3
    now = datetime.now(UTC)
    for record in records:
        assert len(record["meetings"]) == 2
        starts = [datetime.fromisoformat(m["start"].replace("Z", "+00:00")) for m in record["meetings"]]
        assert max(starts) > now
        assert set(record["meetings"][0]) >= {"key", "calendar", "start", "title", "partners"}


def test_demo_writes_alert_emails(demo: Path) -> None:
    """The demo's file delivery writes .eml alerts under outbox/."""
    assert list((demo / "outbox").glob("*.eml"))


def test_demo_private_meeting_title_never_leaves(demo: Path) -> None:
    """The private demo meeting's title appears in no alert and no collision listing."""
    listing = run_cli("--config", demo / "settings.toml", "collisions", "list", "--format", "json").stdout
    assert "faculty secondment" not in listing
    for eml in (demo / "outbox").glob("*.eml"):
        assert "faculty secondment" not in eml.read_text(encoding="utf-8", errors="replace")


def test_second_sync_writes_nothing_new(demo: Path) -> None:
    """Running sync --once again on unchanged calendars stores no new events and queues no alerts."""
    before = sorted(p.name for p in (demo / "outbox").glob("*.eml"))
    again = run_cli("--config", demo / "settings.toml", "sync", "--once")
    assert again.returncode == 0, again.stderr
    assert "0 new or changed" in again.stdout and "0 queued" in again.stdout
    assert sorted(p.name for p in (demo / "outbox").glob("*.eml")) == before


def test_events_list_json_contract(demo: Path) -> None:
    """events list --format json gives one entry per calendar and key with the contract's fields."""
    out = run_cli("--config", demo / "settings.toml", "events", "list", "--format", "json")
    entries = json.loads(out.stdout)
    assert entries
    assert set(entries[0]) >= {"key", "calendar", "title", "start", "end", "partners", "evidence"}
    pairs = [(e["calendar"], e["key"]) for e in entries]
    assert len(pairs) == len(set(pairs))


def test_usage_error_exits_2(demo: Path) -> None:
    """An unknown option is a usage error: exit code 2."""
    out = run_cli("--config", demo / "settings.toml", "sync", "--bogus")
    assert out.returncode == 2


def test_user_error_is_one_line_without_traceback(demo: Path) -> None:
    """A user error prints one line, exits 1 and shows no traceback (unless --debug)."""
    out = run_cli("--config", demo / "settings.toml", "partners", "show", "Nobody At All")
    assert out.returncode == 1
    assert out.stderr.strip().count("\n") == 0 and "Traceback" not in out.stderr
    debug = run_cli("--debug", "--config", demo / "settings.toml", "partners", "show", "Nobody At All")
    assert "Traceback" in debug.stderr
