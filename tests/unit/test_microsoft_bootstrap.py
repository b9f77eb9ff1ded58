"""The composition root builds a Microsoft collector from `[[sources]] kind = "microsoft"`."""

from __future__ import annotations

from pathlib import Path

import pytest

from collectors.microsoft import MicrosoftCollector
from revolving_door.bootstrap import build_collectors
from revolving_door.errors import ConfigError
from revolving_door.settings import load_settings


def settings_file(folder: Path, source: str) -> Path:
    """A settings.toml with one microsoft source made of `source` lines."""
    path = folder / "settings.toml"
    path.write_text(
        '[organization]\ninternal_domains = ["example.org"]\n'
        '[[sources]]\nkind = "microsoft"\ntenant_id = "t"\nclient_id = "c"\n' + source,
        encoding="utf-8",
    )
    return path


def test_microsoft_source_with_secret_env_and_users_file_builds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A secret from the named environment variable and users from a file give a MicrosoftCollector."""
    monkeypatch.setenv("RD_UNIT_MS_SECRET", "value")
    (tmp_path / "staff.txt").write_text("# staff\nalice@example.org\n\nbob@example.org\n", encoding="utf-8")
    path = settings_file(tmp_path, 'client_secret_env = "RD_UNIT_MS_SECRET"\nusers_file = "staff.txt"\n')
    (collector,) = build_collectors(load_settings(path))
    assert isinstance(collector, MicrosoftCollector) and collector.name == "microsoft-1"
    assert [c.owner for c in collector.calendars()] == ["alice@example.org", "bob@example.org"]


def test_microsoft_source_with_unset_secret_env_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unset secret variable is a ConfigError naming it (and no value)."""
    monkeypatch.delenv("RD_UNIT_MS_MISSING", raising=False)
    path = settings_file(tmp_path, 'client_secret_env = "RD_UNIT_MS_MISSING"\ngroup_id = "g"\n')
    with pytest.raises(ConfigError, match="RD_UNIT_MS_MISSING"):
        build_collectors(load_settings(path))


def test_microsoft_source_with_missing_certificate_is_a_config_error(tmp_path: Path) -> None:
    """An unreadable certificate_file is a ConfigError naming the key."""
    path = settings_file(
        tmp_path, 'certificate_file = "nope.pem"\ncertificate_thumbprint = "AB:CD"\nusers = ["a@example.org"]\n'
    )
    with pytest.raises(ConfigError, match="certificate_file"):
        build_collectors(load_settings(path))


def test_microsoft_source_needs_exactly_one_way_to_name_users(tmp_path: Path) -> None:
    """Giving both users and group_id is refused by the settings validation."""
    path = settings_file(tmp_path, 'client_secret_env = "X"\nusers = ["a@example.org"]\ngroup_id = "g"\n')
    with pytest.raises(ConfigError, match="exactly one of users"):
        load_settings(path)
