"""`serve`: the poll loop, its signal handling, and the /healthz and /metrics endpoints on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import random
import signal
import threading
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, generate_latest

from revolving_door.errors import RevolvingDoorError
from revolving_door.lock import cycle_lock
from revolving_door.service import CycleReport, Pipeline, jittered, run_cycle

log = logging.getLogger("revolving_door.serve")


@dataclass
class Metrics:
    """The Prometheus metrics of one service process."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.cycles = Counter("revolving_door_cycles", "Cycles run", ["outcome"], registry=r)
        self.cycle_seconds = Gauge("revolving_door_cycle_seconds", "Duration of the last cycle", registry=r)
        self.events = Gauge("revolving_door_events", "Events stored (calendar × key)", registry=r)
        self.events_changed = Counter("revolving_door_events_changed", "Events added, changed or removed",
                                      registry=r)
        self.matches = Counter("revolving_door_events_resolved", "Events resolved against the directory",
                               registry=r)
        self.collisions = Gauge("revolving_door_collisions", "Current collisions", registry=r)
        self.alerts_sent = Counter("revolving_door_alerts_sent", "Alert emails delivered", registry=r)
        self.alerts_failed = Counter("revolving_door_alerts_failed", "Alert emails given up on", registry=r)
        self.source_errors = Counter("revolving_door_source_errors", "Calendar syncs that failed", registry=r)
        self.failing = Gauge("revolving_door_failing_calendars", "Calendars failing now", registry=r)

    def observe(self, report: CycleReport, events: int) -> None:
        """Fold one cycle's report into the metrics."""
        self.cycles.labels(outcome="ok" if not report.calendars_failed else "partial").inc()
        self.cycle_seconds.set(report.seconds)
        self.events.set(events)
        self.events_changed.inc(report.events_upserted + report.events_deleted)
        self.matches.inc(report.events_resolved)
        self.collisions.set(report.collisions)
        self.alerts_sent.inc(report.alerts_sent)
        self.alerts_failed.inc(report.alerts_failed)
        self.source_errors.inc(report.calendars_failed)
        self.failing.set(len(report.failing_calendars))


@dataclass
class Health:
    """What /healthz reports: the last good cycle and the calendars failing now."""

    started: datetime
    last_cycle: datetime | None = None
    last_good_cycle: datetime | None = None
    failing_calendars: list[str] = field(default_factory=list)
    last_error: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def as_json(self) -> dict[str, Any]:
        """The health document."""
        with self.lock:
            return {
                "status": "ok" if self.last_good_cycle else "starting",
                "started": self.started.isoformat(),
                "last_cycle": self.last_cycle.isoformat() if self.last_cycle else None,
                "last_good_cycle": self.last_good_cycle.isoformat() if self.last_good_cycle else None,
                "failing_calendars": list(self.failing_calendars),
                "last_error": self.last_error,
            }


def start_health_server(port: int, health: Health, metrics: Metrics) -> ThreadingHTTPServer:
    """Serve /healthz (JSON) and /metrics (Prometheus) on 127.0.0.1:port in a daemon thread."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?")[0] == "/healthz":
                body, ctype = json.dumps(health.as_json()).encode(), "application/json"
            elif self.path.split("?")[0] == "/metrics":
                body, ctype = generate_latest(metrics.registry), CONTENT_TYPE_LATEST
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("health: " + format, *args)

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, name="health", daemon=True).start()
    return server


def serve_forever(p: Pipeline, *, stop: threading.Event | None = None, rng: random.Random | None = None) -> None:
    """Run cycles every interval (with jitter) until SIGTERM/SIGINT or `stop` is set."""
    stop = stop or threading.Event()
    rng = rng or random.Random()
    svc = p.settings.service
    health = Health(started=p.clock())
    metrics = Metrics()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("received %s: finishing the current step, then exiting", signal.Signals(signum).name)
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
    server = start_health_server(svc.health_port, health, metrics) if svc.health_port is not None else None
    if server:
        log.info("health and metrics on http://127.0.0.1:%d/healthz and /metrics", server.server_address[1])
    log.info("serving: polling every %ds (+ up to %ds jitter)", svc.interval_seconds, svc.jitter_seconds)
    try:
        while not stop.is_set():
            _one_cycle(p, health, metrics, stop)
            stop.wait(jittered(svc.interval_seconds, svc.jitter_seconds, rng))
    finally:
        if server:
            server.shutdown()
            server.server_close()
        log.info("stopped")


def _one_cycle(p: Pipeline, health: Health, metrics: Metrics, stop: threading.Event) -> None:
    """Run one cycle (its delivery cut short once `stop` is set); a failure is logged, never fatal."""
    try:
        with cycle_lock(p.settings, wait_seconds=5):
            report = run_cycle(p, stop=stop)
    except RevolvingDoorError as exc:
        log.error("cycle failed: %s", exc)
        with health.lock:
            health.last_cycle, health.last_error = p.clock(), str(exc)
        metrics.cycles.labels(outcome="failed").inc()
        return
    metrics.observe(report, p.store.count_events())
    with health.lock:
        health.last_cycle = report.finished
        health.last_good_cycle = report.finished
        health.failing_calendars = sorted(set(report.failing_calendars))
        health.last_error = report.errors[-1] if report.errors else None
    log.info("cycle done in %.1fs: %d calendars, %d failed, %d collisions, %d alerts sent",
             report.seconds, report.calendars_ok, report.calendars_failed, report.collisions,
             report.alerts_sent)
