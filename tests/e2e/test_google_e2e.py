"""`sync --once` and `check` with a google source, as a user runs them, against the loopback Google fake."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.e2e._pipeline import ALICE, BOB, put_unicef_meetings, sync_once_finds_unicef_collision, write_settings
from tests.fakes.google_calendar import CLIENT_ID, FakeGoogle


@pytest.fixture
def google() -> Iterator[FakeGoogle]:
    """A started Google fake."""
    with FakeGoogle() as fake:
        yield fake


def settings_for(folder: Path, google: FakeGoogle) -> Path:
    """A settings.toml whose only source is the fake's Google Workspace (key file, users file)."""
    (folder / "google-key.json").write_text(json.dumps(google.service_account_info()), encoding="utf-8")
    return write_settings(
        folder,
        'kind = "google"\n'
        'name = "workspace"\n'
        'service_account_file = "google-key.json"\n'
        'users_file = "staff.txt"\n'
        f'api_endpoint = "{google.base_url}"\n',
    )


@pytest.mark.slow
def test_google_source_sync_once_finds_collision_and_writes_alerts(
    google: FakeGoogle, tmp_path: Path
) -> None:
    """Two colleagues meeting UNICEF days apart in Google Workspace get one collision and alert emails."""
    put_unicef_meetings(google.put)
    config = settings_for(tmp_path, google)
    emails = sync_once_finds_unicef_collision(tmp_path, config)
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
