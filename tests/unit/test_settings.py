"""Settings: every problem named with the file and key; relative paths; secrets only by reference."""

from __future__ import annotations

from pathlib import Path

import pytest

from revolving_door.errors import ConfigError
from revolving_door.settings import load_settings
from tests.conftest import write_settings


def problems(path: Path) -> list[str]:
    """The problems load_settings reports for a file."""
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    return list(info.value.problems)


def test_minimal_settings_fill_defaults(tmp_path: Path) -> None:
    """A minimal file loads, with the documented defaults."""
    s = load_settings(write_settings(tmp_path))
    assert s.collision.window_days == 14
    assert s.collection.past_days == 30 and s.collection.future_days == 180
    assert s.notifier.horizon_days == 30


def test_relative_paths_resolve_against_the_settings_file(tmp_path: Path) -> None:
    """store.path and notifier.path are relative to the settings file, not the working directory."""
    s = load_settings(write_settings(tmp_path))
    assert s.store_url == f"sqlite:///{tmp_path / 'state.db'}"
    assert s.resolve(s.notifier.path or "") == tmp_path / "outbox"


def test_wrong_type_names_file_key_and_value(tmp_path: Path) -> None:
    """A wrong type names the file, the dotted key and the value given."""
    path = write_settings(tmp_path, '[collision]\nwindow_days = "two"\n')
    (problem,) = problems(path)
    assert problem.startswith(f"{path}: collision.window_days:")
    assert "'two'" in problem


def test_unknown_keys_are_errors_and_all_are_reported(tmp_path: Path) -> None:
    """Unknown keys are errors, and every problem in the file is reported at once."""
    path = write_settings(tmp_path, '[collision]\nwindow_dayz = 3\n[service]\ninterval_seconds = -1\n')
    found = problems(path)
    assert any("collision.window_dayz: unknown key" in p for p in found)
    assert any("service.interval_seconds" in p for p in found)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    """A missing settings file is named in the error."""
    (problem,) = problems(tmp_path / "nope.toml")
    assert "nope.toml: settings file not found" in problem


def test_invalid_toml_is_a_config_error(tmp_path: Path) -> None:
    """A file that is not TOML says so, with the position."""
    path = tmp_path / "settings.toml"
    path.write_text("[organization\n", encoding="utf-8")
    (problem,) = problems(path)
    assert "not valid TOML" in problem


def test_source_errors_point_at_the_source_index(tmp_path: Path) -> None:
    """A source missing its required keys is named by its position in [[sources]]."""
    path = write_settings(tmp_path, '[[sources]]\nkind = "ics"\nurl = "https://x.example/cal.ics"\n')
    (problem,) = problems(path)
    assert "sources[1]" in problem and "owner" in problem


def test_secrets_are_referenced_not_embedded(tmp_path: Path) -> None:
    """An SMTP password cannot be written in the file: only the name of an environment variable."""
    path = tmp_path / "settings.toml"
    path.write_text('[organization]\ninternal_domains = ["ours.org"]\n'
                    '[notifier]\ndelivery = "smtp"\nhost = "mail"\npassword = "hunter2"\n', encoding="utf-8")
    found = problems(path)
    assert any("notifier.password: unknown key" in p for p in found)
    assert not any("hunter2" in p for p in found)


def test_postgresql_url_is_accepted(tmp_path: Path) -> None:
    """A PostgreSQL URL is a supported store form."""
    path = tmp_path / "settings.toml"
    path.write_text('[organization]\ninternal_domains = ["ours.org"]\n'
                    '[store]\nurl = "postgresql+psycopg://rd@db/rd"\n', encoding="utf-8")
    assert load_settings(path).store_url == "postgresql+psycopg://rd@db/rd"


def test_an_ics_feed_url_can_come_from_the_environment(tmp_path: Path) -> None:
    """A private feed's URL can be named by an environment variable; it still needs its owner."""
    ok = write_settings(tmp_path, '[[sources]]\nkind = "ics"\nurl_env = "FEED_URL"\nowner = "ann@ours.org"\n')
    assert load_settings(ok).sources[1].url_env == "FEED_URL"  # type: ignore[union-attr]
    (problem,) = problems(write_settings(tmp_path, '[[sources]]\nkind = "ics"\nurl_env = "FEED_URL"\n'))
    assert "sources[1]" in problem and "owner" in problem
