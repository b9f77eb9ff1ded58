"""Shared test helpers: paths, running the CLI as a user does, and small settings files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


def run_cli(*args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run `revolving-door ARGS` in a subprocess, as a user would, and capture its output."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    full_env.pop("REVOLVING_DOOR_CONFIG", None)
    return subprocess.run([sys.executable, "-m", "revolving_door", *map(str, args)], cwd=cwd or ROOT,
                          env=full_env, capture_output=True, text=True, timeout=timeout, check=False)


def write_settings(folder: Path, body: str = "", *, internal: str = "ours.org") -> Path:
    """A minimal valid settings.toml in `folder` (ICS calendars under calendars/, file delivery)."""
    path = folder / "settings.toml"
    path.write_text(
        f'[organization]\nname = "Ours"\ninternal_domains = ["{internal}"]\n'
        '[store]\npath = "state.db"\n'
        '[[sources]]\nkind = "ics"\npath = "calendars/*.ics"\n'
        '[notifier]\ndelivery = "file"\npath = "outbox"\nfrom = "rd@ours.org"\n' + body,
        encoding="utf-8",
    )
    (folder / "calendars").mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session")
def shared() -> Path:
    """../shared, skipping the test when it is absent."""
    if not SHARED.is_dir():
        pytest.skip("../shared is not present")
    return SHARED
