"""`sync --once` with a microsoft source, as a user runs it, against the Graph fake over https on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.e2e._pipeline import put_unicef_meetings, sync_once_finds_unicef_collision, write_settings
from tests.fakes.microsoft_graph import FakeGraph


@pytest.fixture
def graph(tmp_path: Path) -> Iterator[FakeGraph]:
    """The Graph fake serving https on 127.0.0.1 with a self-signed certificate."""
    fake = FakeGraph(tls_dir=tmp_path).start()
    yield fake
    fake.stop()


def settings_for(folder: Path, graph: FakeGraph) -> Path:
    """A settings.toml whose only source is the fake's Microsoft 365 tenant."""
    return write_settings(
        folder,
        'kind = "microsoft"\n'
        'name = "m365"\n'
        f'tenant_id = "{graph.tenant}"\n'
        f'client_id = "{graph.client_id}"\n'
        'client_secret_env = "RD_TEST_GRAPH_SECRET"\n'
        'users_file = "staff.txt"\n'
        f'authority_host = "{graph.login_base}"\n'
        f'graph_endpoint = "{graph.graph_base}"\n',
    )


def test_microsoft_source_sync_once_finds_collision_and_writes_alerts(graph: FakeGraph, tmp_path: Path) -> None:
    """Two colleagues meeting UNICEF days apart in Microsoft 365 get one collision and alert emails."""
    put_unicef_meetings(graph.put)
    config = settings_for(tmp_path, graph)
    env = {"RD_TEST_GRAPH_SECRET": graph.secret, "REQUESTS_CA_BUNDLE": str(graph.ca_file)}
    emails = sync_once_finds_unicef_collision(tmp_path, config, env)
    assert emails
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
