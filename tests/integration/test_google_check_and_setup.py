"""Google source setup: `check()` advice, Directory listing, and building the collector from settings.toml."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from collectors.google import DIRECTORY_SCOPE, GoogleCollector, GoogleDirectory
from revolving_door.bootstrap import build_collectors
from revolving_door.errors import AuthError, ConfigError
from revolving_door.model import CalendarRef, TimeWindow
from revolving_door.settings import load_settings
from tests.fakes.google_calendar import CLIENT_ID, FakeGoogle, meeting

NOW = datetime(2031, 3, 20, 8, tzinfo=UTC)
WINDOW = TimeWindow.around(NOW, 30, 180)
ALICE = "alice@example.org"


@pytest.fixture
def google() -> Iterator[FakeGoogle]:
    """A started Google fake."""
    with FakeGoogle() as fake:
        yield fake


def make(fake: FakeGoogle, users: list[str] | None = None, **options: object) -> GoogleCollector:
    """A collector on the fake (no waiting, fixed clock)."""
    return GoogleCollector(
        "google",
        service_account_info=options.pop("info", None) or fake.service_account_info(),  # type: ignore[arg-type]
        users=users,
        api_endpoint=fake.base_url,
        sleep=lambda seconds: None,
        clock=lambda: NOW,
        **options,  # type: ignore[arg-type]
    )


def test_google_check_passes_with_key_token_and_list_call(google: FakeGoogle) -> None:
    """A working setup checks the key, a token for the first user and one list call."""
    results = make(google, [ALICE]).check()
    assert [r.ok for r in results] == [True, True, True]
    assert CLIENT_ID in results[0].what and ALICE in results[1].what
    (call,) = google.calls("list")
    assert call.params["maxResults"] == "1"


def test_google_check_explains_missing_delegation(google: FakeGoogle) -> None:
    """A refused token tells the admin which client ID and scope to authorise, and where."""
    google.refused[ALICE] = "unauthorized_client"
    results = make(google, [ALICE]).check()
    assert [r.ok for r in results] == [True, False]
    advice = results[-1].advice
    assert CLIENT_ID in advice and "calendar.events.readonly" in advice and "Domain-wide delegation" in advice


def test_google_check_explains_api_not_enabled(google: FakeGoogle) -> None:
    """A disabled Calendar API is reported with how to enable it."""
    google.api_enabled = False
    results = make(google, [ALICE]).check()
    assert (
        not results[-1].ok
        and "not enabled" in results[-1].advice
        and "Google Calendar API" in results[-1].advice
    )


def test_google_check_explains_unknown_user(google: FakeGoogle) -> None:
    """A user Google does not know is reported as not found."""
    google.known_users = {"someone@example.org"}
    results = make(google, [ALICE]).check()
    assert not results[-1].ok and "not found" in results[-1].advice


def test_google_check_explains_unusable_key(google: FakeGoogle) -> None:
    """A key whose private key cannot be read fails the first check, and syncs fail as AuthError."""
    info = {**google.service_account_info(), "private_key": "not a key"}
    col = make(google, [ALICE], info=info)
    (result,) = col.check()
    assert not result.ok and "new JSON key" in result.advice
    with pytest.raises(AuthError):
        col.sync(CalendarRef("google", ALICE, ALICE), None, WINDOW)


def test_google_directory_lists_active_users_as_calendars(google: FakeGoogle) -> None:
    """users = "directory" lists users with the Admin SDK as the admin; suspended users are left out."""
    google.directory_users = [
        {"primaryEmail": "Alice@example.org"},
        {"primaryEmail": "gone@example.org", "suspended": True},
        {"primaryEmail": "bob@example.org"},
        {"primaryEmail": "x@other.org"},
    ]
    col = GoogleCollector(
        "google",
        service_account_info=google.service_account_info(),
        directory=GoogleDirectory(admin_email="admin@example.org", domain="example.org"),
        calendar_ids=("primary", "team@group.calendar.google.com"),
        api_endpoint=google.base_url,
        sleep=lambda seconds: None,
    )
    calendars = col.calendars()
    assert [c.id for c in calendars] == [
        ALICE,
        f"{ALICE}/team@group.calendar.google.com",
        "bob@example.org",
        "bob@example.org/team@group.calendar.google.com",
    ]
    (token,) = google.calls("token")
    assert token.subject == "admin@example.org" and token.params["scope"] == DIRECTORY_SCOPE
    assert google.calls("directory")[0].params["domain"] == "example.org"
    assert [r.ok for r in col.check()] == [True, True, True, True]


def test_google_directory_refused_is_explained(google: FakeGoogle) -> None:
    """A Directory listing the admin may not make names the scope to authorise."""
    google.refused["admin@example.org"] = "unauthorized_client"
    col = GoogleCollector(
        "google",
        service_account_info=google.service_account_info(),
        directory=GoogleDirectory(admin_email="admin@example.org", customer="my_customer"),
        api_endpoint=google.base_url,
    )
    with pytest.raises(AuthError, match=r"admin\.directory\.user\.readonly"):
        col.calendars()


def write(tmp_path: Path, body: str) -> Path:
    """settings.toml with one google source described by `body`."""
    path = tmp_path / "settings.toml"
    path.write_text(
        '[organization]\ninternal_domains = ["example.org"]\n[[sources]]\nkind = "google"\nname = "gw"\n'
        + body,
        encoding="utf-8",
    )
    return path


def test_google_settings_build_a_working_collector(google: FakeGoogle, tmp_path: Path) -> None:
    """A key file, a users file and api_endpoint in settings give a collector that syncs from the fake."""
    (tmp_path / "key.json").write_text(json.dumps(google.service_account_info()), encoding="utf-8")
    (tmp_path / "staff.txt").write_text("# staff\nALICE@example.org\n\nbob@example.org  # sales\n", "utf-8")
    settings = load_settings(
        write(
            tmp_path,
            'service_account_file = "key.json"\nusers_file = "staff.txt"\n'
            f'api_endpoint = "{google.base_url}"\n',
        )
    )
    (col,) = build_collectors(settings)
    assert [c.owner for c in col.calendars()] == [ALICE, "bob@example.org"]
    google.put(ALICE, meeting("m1", NOW))
    result = col.sync(col.calendars()[0], None, WINDOW)
    assert [e.key for e in result.upserts] == ["m1"]


def test_google_settings_key_from_environment(
    google: FakeGoogle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """service_account_json_env reads the key JSON from the environment."""
    monkeypatch.setenv("GW_KEY", json.dumps(google.service_account_info()))
    settings = load_settings(
        write(
            tmp_path,
            f'service_account_json_env = "GW_KEY"\nusers = ["{ALICE}"]\napi_endpoint = "{google.base_url}"\n',
        )
    )
    (col,) = build_collectors(settings)
    assert all(r.ok for r in col.check())


def test_google_settings_problems_are_config_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A missing variable, a non-key JSON and a bad users file line are one-line config errors."""
    monkeypatch.delenv("GW_KEY", raising=False)
    path = write(tmp_path, 'service_account_json_env = "GW_KEY"\nusers = ["a@example.org"]\n')
    with pytest.raises(ConfigError, match="GW_KEY is not set"):
        build_collectors(load_settings(path))
    monkeypatch.setenv("GW_KEY", '{"type": "authorized_user"}')
    with pytest.raises(ConfigError, match="not a service account key"):
        build_collectors(load_settings(path))
    (tmp_path / "key.json").write_text("{", encoding="utf-8")
    (tmp_path / "staff.txt").write_text("not-an-email\n", encoding="utf-8")
    path = write(tmp_path, 'service_account_file = "key.json"\nusers_file = "staff.txt"\n')
    with pytest.raises(ConfigError, match="not valid JSON"):
        build_collectors(load_settings(path))
    path = write(tmp_path, 'service_account_file = "key.json"\nusers = "directory"\ndomain = "example.org"\n')
    with pytest.raises(ConfigError, match="admin_email"):
        load_settings(path)
