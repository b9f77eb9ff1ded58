"""`sync --once` and `check` with a google source, as a user runs them, against the loopback Google fake."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.contract import make_event
from tests.fakes.google_calendar import CLIENT_ID, FakeGoogle

ALICE = "alice@example.org"
BOB = "bob@example.org"
OWNER = "carol@example.org"


@pytest.fixture
def google() -> Iterator[FakeGoogle]:
    """A started Google fake."""
    with FakeGoogle() as fake:
        yield fake


def settings_for(folder: Path, google: FakeGoogle) -> Path:
    """A settings.toml whose only source is the fake's Google Workspace (key file, users file)."""
    (folder / "google-key.json").write_text(json.dumps(google.service_account_info()), encoding="utf-8")
    (folder / "staff.txt").write_text(f"# staff\n{ALICE}\n{BOB}\n", encoding="utf-8")
    (folder / "partners.csv").write_text(
        f"name,domains,aliases,owner,parent\nUNICEF,unicef.org,,{OWNER},\n", encoding="utf-8"
    )
    path = folder / "settings.toml"
    path.write_text(
        '[organization]\nname = "Ours"\ninternal_domains = ["example.org"]\n'
        '[store]\npath = "state.db"\n'
        "[[sources]]\n"
        'kind = "google"\n'
        'name = "workspace"\n'
        'service_account_file = "google-key.json"\n'
        'users_file = "staff.txt"\n'
        f'api_endpoint = "{google.base_url}"\n'
        '[notifier]\ndelivery = "file"\npath = "outbox"\nfrom = "rd@example.org"\n',
        encoding="utf-8",
    )
    return path


@pytest.mark.slow
def test_google_source_sync_once_finds_collision_and_writes_alerts(
    google: FakeGoogle, tmp_path: Path
) -> None:
    """Two colleagues meeting UNICEF days apart in Google Workspace get one collision and alert emails."""
    soon = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=3)
    google.put(
        ALICE,
        make_event(
            "alice-unicef",
            soon,
            title="Visit",
            attendees=[(ALICE, "accepted", False), ("amy@unicef.org", "accepted", False)],
        ),
    )
    google.put(
        BOB,
        make_event(
            "bob-unicef",
            soon + timedelta(days=2),
            title="Programme review",
            organizer=BOB,
            attendees=[(BOB, "accepted", False), ("raj@unicef.org", "accepted", False)],
        ),
    )
    config = settings_for(tmp_path, google)
    imported = run_cli("--config", config, "partners", "import", tmp_path / "partners.csv")
    assert imported.returncode == 0, imported.stderr
    synced = run_cli("--config", config, "sync", "--once")
    assert synced.returncode == 0, synced.stderr + synced.stdout
    listed = run_cli("--config", config, "collisions", "list", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    (record,) = json.loads(listed.stdout)
    assert record["partner"] == "UNICEF"
    assert {m["key"] for m in record["meetings"]} == {"alice-unicef", "bob-unicef"}
    emails = list((tmp_path / "outbox").glob("*.eml"))
    recipients = " ".join(e.read_text(encoding="utf-8", errors="replace") for e in emails)
    assert ALICE in recipients and BOB in recipients
    assert sorted(set(google.token_subjects())) == [ALICE, BOB]
    google.reset_log()
    again = run_cli("--config", config, "sync", "--once")
    assert again.returncode == 0, again.stderr + again.stdout
    assert all("syncToken" in c.params and c.batch is not None for c in google.calls("list"))
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == len(emails)


def test_google_check_reports_missing_delegation_in_plain_words(google: FakeGoogle, tmp_path: Path) -> None:
    """`revolving-door check` on a google source without delegation fails with advice, not a traceback."""
    google.refused[ALICE] = "unauthorized_client"
    config = settings_for(tmp_path, google)
    checked = run_cli("--config", config, "check")
    output = checked.stdout + checked.stderr
    assert checked.returncode != 0
    assert "Domain-wide delegation" in output and CLIENT_ID in output and "Traceback" not in output
    assert "PRIVATE KEY" not in output
