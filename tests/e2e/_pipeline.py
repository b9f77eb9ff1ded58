"""Steps the provider end-to-end tests share: a settings.toml around one source, two colleagues meeting
UNICEF days apart, and `partners import` + `sync --once` + `collisions list` as a user runs them."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.conftest import run_cli
from tests.contract import make_event

ALICE = "alice@example.org"
BOB = "bob@example.org"
OWNER = "carol@example.org"


def write_settings(folder: Path, source: str) -> Path:
    """Write staff.txt (ALICE, BOB), partners.csv (UNICEF, owned by OWNER) and a settings.toml whose only
    source is `source` (the lines after `[[sources]]`), delivering to outbox/; returns the settings path."""
    (folder / "staff.txt").write_text(f"# staff\n{ALICE}\n{BOB}\n", encoding="utf-8")
    (folder / "partners.csv").write_text(
        f"name,domains,aliases,owner,parent\nUNICEF,unicef.org,,{OWNER},\n", encoding="utf-8"
    )
    path = folder / "settings.toml"
    path.write_text(
        '[organization]\nname = "Ours"\ninternal_domains = ["example.org"]\n'
        '[store]\npath = "state.db"\n'
        "[[sources]]\n"
        + source
        + '[notifier]\ndelivery = "file"\npath = "outbox"\nfrom = "rd@example.org"\n',
        encoding="utf-8",
    )
    return path


def put_unicef_meetings(put: Callable[[str, dict[str, Any]], object]) -> None:
    """Through the fake's `put`: ALICE meets amy@unicef.org in three days, BOB meets raj@unicef.org two days later."""
    soon = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=3)
    put(
        ALICE,
        make_event(
            "alice-unicef",
            soon,
            title="Visit",
            attendees=[(ALICE, "accepted", False), ("amy@unicef.org", "accepted", False)],
        ),
    )
    put(
        BOB,
        make_event(
            "bob-unicef",
            soon + timedelta(days=2),
            title="Programme review",
            organizer=BOB,
            attendees=[(BOB, "accepted", False), ("raj@unicef.org", "accepted", False)],
        ),
    )


def sync_once_finds_unicef_collision(folder: Path, config: Path, env: dict[str, str] | None = None) -> list[Path]:
    """Import partners.csv, `sync --once`, and check the one UNICEF collision and that ALICE and BOB were
    emailed; returns the alert emails written to outbox/."""
    imported = run_cli("--config", config, "partners", "import", folder / "partners.csv", env=env)
    assert imported.returncode == 0, imported.stderr
    synced = run_cli("--config", config, "sync", "--once", env=env)
    assert synced.returncode == 0, synced.stderr + synced.stdout
    listed = run_cli("--config", config, "collisions", "list", "--format", "json", env=env)
    assert listed.returncode == 0, listed.stderr
    (record,) = json.loads(listed.stdout)
    assert record["partner"] == "UNICEF"
    assert {m["key"] for m in record["meetings"]} == {"alice-unicef", "bob-unicef"}
    emails = list((folder / "outbox").glob("*.eml"))
    recipients = " ".join(e.read_text(encoding="utf-8", errors="replace") for e in emails)
    assert ALICE in recipients and BOB in recipients
    return emails
