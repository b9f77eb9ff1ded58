"""The labelled dev set, run as an admin would and scored by ../shared/eval/score.py."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import run_cli


@pytest.fixture(scope="module")
def scores(tmp_path_factory: pytest.TempPathFactory, shared: Path) -> dict[str, dict[str, float]]:
    """Import, sync, list and score a writable copy of ../shared/eval/dev/."""
    work = tmp_path_factory.mktemp("dev")
    shutil.copytree(shared / "eval" / "dev", work, dirs_exist_ok=True)
    for path in [work, *work.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o200)
    config = work / "settings.toml"
    for args in (("partners", "import", work / "partners.csv"), ("sync", "--once")):
        done = run_cli("--config", config, *args, timeout=240)
        assert done.returncode == 0, done.stderr
    for name in ("events", "collisions"):
        listed = run_cli("--config", config, name, "list", "--format", "json", timeout=120)
        assert listed.returncode == 0, listed.stderr
        (work / f"{name}.json").write_text(listed.stdout, encoding="utf-8")
    scored = subprocess.run(
        [sys.executable, str(shared / "eval" / "score.py"), "--truth", str(work / "truth.json"),
         "--events", str(work / "events.json"), "--collisions", str(work / "collisions.json"), "--json"],
        capture_output=True, text=True, check=True)
    result: dict[str, dict[str, float]] = json.loads(scored.stdout)
    assert not result["warnings"], result["warnings"]
    return result


def test_event_partner_accuracy(scores: dict[str, dict[str, float]]) -> None:
    """Event→partner pairs on the dev set: precision >= 0.99 and F1 >= 0.98."""
    assert scores["events"]["precision"] >= 0.99
    assert scores["events"]["f1"] >= 0.98


def test_collision_pair_accuracy(scores: dict[str, dict[str, float]]) -> None:
    """Collision pairs on the dev set: precision >= 0.98 and F1 >= 0.97."""
    assert scores["collisions"]["precision"] >= 0.98
    assert scores["collisions"]["f1"] >= 0.97
