"""`revolving-door serve` as a user runs it: /healthz, /metrics on 127.0.0.1, and a clean exit on a signal."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

from tests.conftest import ROOT, write_settings
from tests.e2e.test_alerts_smtp import GRANT, SITE, alerts, import_partners, smtp_setup, write_calendars
from tests.fakes.smtp_server import free_port


class HungSmtpServer:
    """A TCP server on 127.0.0.1 that accepts connections and never says a word: an SMTP server that hangs."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.connections: list[socket.socket] = []
        threading.Thread(target=self._accept, name="hung-smtp", daemon=True).start()

    def _accept(self) -> None:
        """Hold every connection open until closed."""
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.connections.append(connection)

    def __enter__(self) -> HungSmtpServer:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.listener.close()
        for connection in self.connections:
            connection.close()


def start_serve(settings: Path) -> subprocess.Popen[str]:
    """`revolving-door serve` in a subprocess, as a user (or systemd) starts it."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("REVOLVING_DOOR_CONFIG", None)
    return subprocess.Popen([sys.executable, "-m", "revolving_door", "--config", str(settings), "serve"],
                            cwd=settings.parent, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def stop_within(process: subprocess.Popen[str], signum: signal.Signals, seconds: float) -> str:
    """Send `signum`; the service must exit 0 within `seconds` without a traceback. Returns its stderr."""
    sent = time.monotonic()
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=seconds + 10)
    elapsed = time.monotonic() - sent
    assert process.returncode == 0, stderr
    assert elapsed < seconds, f"took {elapsed:.1f}s to stop"
    assert "Traceback" not in stderr
    return stderr


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
    process = start_serve(settings)
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

        stop_within(process, signum, 5)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def test_sigterm_during_a_hung_smtp_delivery_exits_in_time_and_keeps_alerts_queued(tmp_path: Path) -> None:
    """SIGTERM while the SMTP server hangs stops after the email in hand, within 5 s, and loses no alert."""
    with HungSmtpServer() as hung:
        settings = smtp_setup(tmp_path, hung.port, [GRANT, SITE],
                              "[service]\ninterval_seconds = 60\njitter_seconds = 0\n", timeout=2)
        process = start_serve(settings)
        try:
            deadline = time.monotonic() + 60
            while not hung.connections and time.monotonic() < deadline:
                assert process.poll() is None, process.communicate()[1]
                time.sleep(0.05)
            assert hung.connections, "serve never tried to deliver"
            stderr = stop_within(process, signal.SIGTERM, 5)
            assert "left queued for the next run" in stderr
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
    queued = alerts(settings, "queued")
    assert len(queued) == 4 and sum(int(str(row["attempts"])) for row in queued) <= 2
