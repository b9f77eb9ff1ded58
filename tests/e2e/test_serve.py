"""`revolving-door serve` as a user runs it: /healthz, /metrics on 127.0.0.1, and a clean exit on a signal."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, write_settings
from tests.e2e.test_alerts_smtp import GRANT, SITE, import_partners, write_calendars
from tests.fakes.smtp_server import free_port


def get(port: int, path: str) -> tuple[str, str]:
    """GET http://127.0.0.1:port/path; returns (content type, body)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
        return response.headers["Content-Type"], response.read().decode("utf-8")


def wait_for_good_cycle(port: int, process: subprocess.Popen[str], deadline: float) -> dict[str, Any]:
    """Poll /healthz until it reports a last good cycle (failing if the service exits or time runs out)."""
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1]
        try:
            ctype, body = get(port, "/healthz")
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
            continue
        assert ctype.startswith("application/json")
        health: dict[str, Any] = json.loads(body)
        if health["last_good_cycle"]:
            return health
        time.sleep(0.1)
    raise AssertionError("no good cycle reported in time")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_reports_health_and_metrics_then_exits_on_signal(tmp_path: Path, signum: signal.Signals) -> None:
    """serve answers /healthz (last good cycle) and /metrics (revolving_door_*), then exits 0 within 5 s of a signal."""
    port = free_port()
    settings = write_settings(tmp_path, f"[service]\ninterval_seconds = 1\njitter_seconds = 0\nhealth_port = {port}\n")
    import_partners(settings)
    write_calendars(tmp_path, [GRANT, SITE])
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("REVOLVING_DOOR_CONFIG", None)
    process = subprocess.Popen([sys.executable, "-m", "revolving_door", "--config", str(settings), "serve"],
                               cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        health = wait_for_good_cycle(port, process, time.monotonic() + 60)
        assert health["status"] == "ok" and health["failing_calendars"] == []

        ctype, metrics = get(port, "/metrics")
        assert ctype.startswith("text/plain")
        lines = metrics.splitlines()
        assert "revolving_door_collisions 1.0" in lines
        assert "revolving_door_alerts_sent_total 4.0" in lines
        assert any(line.startswith('revolving_door_cycles_total{outcome="ok"}') for line in lines)
        assert any(line.startswith("revolving_door_cycle_seconds ") for line in lines)
        assert len(list((tmp_path / "outbox").glob("*.eml"))) == 4

        sent = time.monotonic()
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=15)
        elapsed = time.monotonic() - sent
        assert process.returncode == 0, stderr
        assert elapsed < 5, f"took {elapsed:.1f}s to stop"
        assert "Traceback" not in stderr
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
