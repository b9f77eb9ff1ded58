"""Bad input gets one clear message naming the place, exit 1, and changes nothing in the store."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli, write_settings

GOOD = "name,domains,aliases,owner,parent\nAcme,acme.org,AC,o@ours.org,\n"


def partner_names(settings: Path) -> list[str]:
    """Partners currently in the store."""
    out = run_cli("--config", settings, "partners", "list", "--format", "json")
    assert out.returncode == 0, out.stderr
    return [p["name"] for p in json.loads(out.stdout)]


def test_wrong_type_in_settings(tmp_path: Path) -> None:
    """A wrong type names the file and key, exits 1, and creates no store."""
    settings = write_settings(tmp_path, '[collision]\nwindow_days = "two"\n')
    out = run_cli("--config", settings, "sync", "--once")
    assert out.returncode == 1
    assert "collision.window_days" in out.stderr and "settings.toml" in out.stderr
    assert "Traceback" not in out.stderr
    assert not (tmp_path / "state.db").exists()


def test_unknown_key_in_settings(tmp_path: Path) -> None:
    """An unknown key is named."""
    settings = write_settings(tmp_path, "[service]\npoll_every = 5\n")
    out = run_cli("--config", settings, "sync", "--once")
    assert out.returncode == 1 and "service.poll_every: unknown key" in out.stderr


def test_missing_settings_file(tmp_path: Path) -> None:
    """A missing settings file is named."""
    out = run_cli("--config", tmp_path / "missing.toml", "sync", "--once")
    assert out.returncode == 1 and "missing.toml: settings file not found" in out.stderr


def import_csv(tmp_path: Path, text: str) -> tuple[Path, str]:
    """Import a first good CSV, then `text`; return the settings and the second import's stderr."""
    settings = write_settings(tmp_path)
    (tmp_path / "good.csv").write_text(GOOD, encoding="utf-8")
    assert run_cli("--config", settings, "partners", "import", tmp_path / "good.csv").returncode == 0
    (tmp_path / "bad.csv").write_text(text, encoding="utf-8")
    out = run_cli("--config", settings, "partners", "import", tmp_path / "bad.csv")
    assert out.returncode == 1
    assert "Traceback" not in out.stderr
    return settings, out.stderr


def test_csv_missing_column(tmp_path: Path) -> None:
    """A CSV without the owner column is refused, naming the column; nothing is imported."""
    settings, err = import_csv(tmp_path, "name,domains,aliases,parent\nBeta,beta.org,,\n")
    assert "owner" in err and "bad.csv:1" in err
    assert partner_names(settings) == ["Acme"]


def test_csv_duplicate_name(tmp_path: Path) -> None:
    """Two rows with one name are refused with both line numbers; nothing is imported."""
    settings, err = import_csv(tmp_path, "name,domains,aliases,owner,parent\nBeta,beta.org,,,\nbeta,b2.org,,,\n")
    assert "bad.csv:3" in err and "duplicate" in err
    assert partner_names(settings) == ["Acme"]


def test_csv_broken_line_7(tmp_path: Path) -> None:
    """A broken line 7 is reported as line 7 and nothing of the file is imported."""
    rows = ["name,domains,aliases,owner,parent"] + [f"P{i},p{i}.org,,," for i in range(2, 7)]
    rows.append("P7,not a domain!,,,")
    settings, err = import_csv(tmp_path, "\n".join(rows) + "\n")
    assert "bad.csv:7" in err
    assert partner_names(settings) == ["Acme"]
