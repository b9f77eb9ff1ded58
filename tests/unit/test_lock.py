"""The cycle lock: one cycle at a time per store, released when its holder ends."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from revolving_door.errors import UserError
from revolving_door.lock import cycle_lock, lock_path
from revolving_door.settings import load_settings
from tests.conftest import ROOT, write_settings


def test_lock_file_sits_beside_the_sqlite_store(tmp_path: Path) -> None:
    """With SQLite the lock file is the database path plus .lock."""
    settings = load_settings(write_settings(tmp_path))
    assert lock_path(settings) == tmp_path / "state.db.lock"


def test_a_second_holder_waits_then_gives_up(tmp_path: Path) -> None:
    """While another process holds the lock, a cycle waits, says so once, then fails with a UserError."""
    config = write_settings(tmp_path)
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            sys.path.insert(0, {str(ROOT)!r})
            from revolving_door.lock import cycle_lock
            from revolving_door.settings import load_settings
            with cycle_lock(load_settings({str(config)!r})):
                print("held", flush=True)
                time.sleep(30)
        """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        told: list[str] = []
        with pytest.raises(UserError, match="another cycle"), cycle_lock(
            load_settings(config), wait_seconds=0.5, on_wait=lambda: told.append("waiting")
        ):
            pass
        assert told == ["waiting"]
    finally:
        holder.kill()
        holder.wait()
    with cycle_lock(load_settings(config), wait_seconds=5):
        pass
