"""`sync --once` with a microsoft source, as a user runs it, against the Graph fake over https on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.contract import make_event
from tests.fakes.microsoft_graph import FakeGraph

ALICE = "alice@example.org"
BOB = "bob@example.org"
OWNER = "carol@example.org"


@pytest.fixture
def graph(tmp_path: Path) -> Iterator[FakeGraph]:
    """The Graph fake serving https on 127.0.0.1 with a self-signed certificate."""
    fake = FakeGraph(tls_dir=tmp_path).start()
    yield fake
    fake.stop()


def settings_for(folder: Path, graph: FakeGraph) -> Path:
    """A settings.toml whose only source is the fake's Microsoft 365 tenant."""
    path = folder / "settings.toml"
    path.write_text(
        '[organization]\nname = "Ours"\ninternal_domains = ["example.org"]\n'
        '[store]\npath = "state.db"\n'
        "[[sources]]\n"
        'kind = "microsoft"\n'
        'name = "m365"\n'
        f'tenant_id = "{graph.tenant}"\n'
        f'client_id = "{graph.client_id}"\n'
        'client_secret_env = "RD_TEST_GRAPH_SECRET"\n'
        'users_file = "staff.txt"\n'
        f'authority_host = "{graph.login_base}"\n'
        f'graph_endpoint = "{graph.graph_base}"\n'
        '[notifier]\ndelivery = "file"\npath = "outbox"\nfrom = "rd@example.org"\n',
        encoding="utf-8",
    )
    (folder / "staff.txt").write_text(f"# staff\n{ALICE}\n{BOB}\n", encoding="utf-8")
    (folder / "partners.csv").write_text(
        f"name,domains,aliases,owner,parent\nUNICEF,unicef.org,,{OWNER},\n", encoding="utf-8"
    )
    return path


def test_microsoft_source_sync_once_finds_collision_and_writes_alerts(graph: FakeGraph, tmp_path: Path) -> None:
    """Two colleagues meeting UNICEF days apart in Microsoft 365 get one collision and alert emails."""
    soon = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=3)
    graph.put(
        ALICE,
        make_event(
            "alice-unicef",
            soon,
            title="Visit",
            attendees=[(ALICE, "accepted", False), ("amy@unicef.org", "accepted", False)],
        ),
    )
    graph.put(
        BOB,
        make_event(
            "bob-unicef",
            soon + timedelta(days=2),
            title="Programme review",
            organizer=BOB,
            attendees=[(BOB, "accepted", False), ("raj@unicef.org", "accepted", False)],
        ),
    )
    config = settings_for(tmp_path, graph)
    env = {"RD_TEST_GRAPH_SECRET": graph.secret, "REQUESTS_CA_BUNDLE": str(graph.ca_file)}
    imported = run_cli("--config", config, "partners", "import", tmp_path / "partners.csv", env=env)
    assert imported.returncode == 0, imported.stderr
    synced = run_cli("--config", config, "sync", "--once", env=env)
    assert synced.returncode == 0, synced.stderr + synced.stdout
    listed = run_cli("--config", config, "collisions", "list", "--format", "json", env=env)
    assert listed.returncode == 0, listed.stderr
    (record,) = json.loads(listed.stdout)
    assert record["partner"] == "UNICEF"
    assert {m["key"] for m in record["meetings"]} == {"alice-unicef", "bob-unicef"}
    emails = list((tmp_path / "outbox").glob("*.eml"))
    assert emails
    recipients = " ".join(e.read_text(encoding="utf-8", errors="replace") for e in emails)
    assert ALICE in recipients and BOB in recipients
    assert graph.token_requests() and all(not r.path.startswith("/common/") for r in graph.requests)


def test_microsoft_check_reports_an_expired_secret_in_plain_words(graph: FakeGraph, tmp_path: Path) -> None:
    """`revolving-door check` on a microsoft source with an expired secret fails with advice, not a traceback."""
    graph.secret_expired = True
    config = settings_for(tmp_path, graph)
    env = {"RD_TEST_GRAPH_SECRET": graph.secret, "REQUESTS_CA_BUNDLE": str(graph.ca_file)}
    checked = run_cli("--config", config, "check", env=env)
    output = checked.stdout + checked.stderr
    assert checked.returncode != 0
    assert "expired" in output and "Traceback" not in output
    assert graph.secret not in output
