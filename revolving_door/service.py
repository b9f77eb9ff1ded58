"""The pipeline: collect → store → resolve → detect → plan → deliver, once (`sync --once`) or forever (`serve`).

Functions here receive their ports (store, collectors, delivery, clock) in a `Pipeline`; the
composition root (`bootstrap.py`) builds it from settings.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Protocol

from collectors.base import Collector
from matching.directory import Directory
from matching.resolver import Resolver
from notifier.delivery import Delivery, backoff_delay
from notifier.plan import plan_alerts
from notifier.render import render_alert
from revolving_door.detect import build_meetings, detect
from revolving_door.errors import CollectorError, DeliveryError, ThrottledError
from revolving_door.model import CalendarRef, Collision, Meeting, SyncResult, TimeWindow
from revolving_door.settings import Settings
from revolving_door.store import Store

log = logging.getLogger("revolving_door")

_STORED = policy.SMTP.clone(refold_source="none", max_line_length=200)
"""Queued messages are sent exactly as rendered: never refolded on the way out."""
DETECTED_VERSION = "detected_directory_version"
DETECTED_WINDOW = "detected_window_days"


class Clock(Protocol):
    """Tells the time (aware UTC); tests pass a fixed one."""

    def __call__(self) -> datetime: ...


@dataclass
class Pipeline:
    """Everything one cycle needs, built once by the composition root."""

    settings: Settings
    store: Store
    collectors: Sequence[Collector]
    delivery: Delivery
    clock: Clock


@dataclass
class CycleReport:
    """What one cycle did, for the CLI summary, logs, metrics and /healthz."""

    started: datetime
    finished: datetime | None = None
    calendars_ok: int = 0
    calendars_failed: int = 0
    calendars_skipped: int = 0
    events_upserted: int = 0
    events_deleted: int = 0
    events_resolved: int = 0
    collisions: int = 0
    collisions_new: int = 0
    alerts_queued: int = 0
    alerts_sent: int = 0
    alerts_failed: int = 0
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    failing_calendars: list[str] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        """Duration of the cycle."""
        return ((self.finished or self.started) - self.started).total_seconds()


Progress = Callable[[str, int, int], None]
"""Called as (what, done, total) while calendars are collected."""


def collection_window(settings: Settings, now: datetime) -> TimeWindow:
    """The span of time collected, around now."""
    return TimeWindow.around(now, settings.collection.past_days, settings.collection.future_days)


def run_cycle(p: Pipeline, *, progress: Progress | None = None, respect_backoff: bool = True,
              stop: threading.Event | None = None) -> CycleReport:
    """One full cycle: collect, resolve, detect, plan, deliver.

    With `respect_backoff=False` (`sync --once`, run by hand) failing calendars are tried again and
    queued alerts are sent now, whatever their backoff; `serve` keeps to the backoff. Once `stop` is
    set, delivery ends after the email in hand; the rest stay queued for the next run.
    """
    report = CycleReport(started=p.clock())
    collect(p, report, progress=progress, respect_backoff=respect_backoff)
    directory = resolve(p, report)
    detect_collisions(p, report, directory)
    plan(p, report, directory)
    deliver(p, report, respect_backoff=respect_backoff, stop=stop)
    report.finished = p.clock()
    return report


def _retry_at(now: datetime, failures: int, error: CollectorError) -> datetime:
    """When to try a failing calendar again: Retry-After if given, else exponential backoff."""
    if isinstance(error, ThrottledError) and error.retry_after:
        return now + timedelta(seconds=error.retry_after)
    return now + timedelta(seconds=min(60 * 2 ** max(failures - 1, 0), 6 * 3600))


def collect(p: Pipeline, report: CycleReport, *, progress: Progress | None = None,
            respect_backoff: bool = True) -> None:
    """Sync every calendar of every source; the store marks the partner families whose events changed."""
    now = p.clock()
    window = collection_window(p.settings, now)
    plans: list[tuple[Collector, list[tuple[CalendarRef, str | None]]]] = []
    for collector in p.collectors:
        try:
            cals = collector.calendars()
        except CollectorError as exc:
            report.errors.append(f"source {collector.name}: {exc}")
            log.error("source %s cannot list its calendars: %s", collector.name, exc)
            continue
        forgotten = p.store.forget_calendars(collector.name, {cal.ref for cal in cals})
        if forgotten:
            log.info("source %s no longer lists %d calendar(s): their events are removed", collector.name,
                     forgotten)
        requests: list[tuple[CalendarRef, str | None]] = []
        for cal in cals:
            state = p.store.calendar_state(cal)
            if respect_backoff and state and state.next_attempt_at and state.next_attempt_at > now:
                report.calendars_skipped += 1
                continue
            requests.append((cal, state.cursor if state else None))
        plans.append((collector, requests))
    total = sum(len(r) for _, r in plans)
    done = 0
    for cal, result in _sync_sources(plans, window, workers=p.settings.service.concurrency):
        done += 1
        if progress:
            progress(cal.owner, done, total)
        if isinstance(result, CollectorError):
            _record_failure(p, report, cal, result)
            continue
        outcome = p.store.apply_sync(cal, result, now=p.clock())
        report.calendars_ok += 1
        report.events_upserted += outcome.upserted
        report.events_deleted += outcome.deleted
        for warning in result.warnings:
            report.warnings.append(warning)
            log.warning("%s: %s", cal.owner, warning)


_DONE = object()


def _sync_sources(
    plans: Sequence[tuple[Collector, list[tuple[CalendarRef, str | None]]]], window: TimeWindow, *, workers: int
) -> Iterator[tuple[CalendarRef, SyncResult | CollectorError]]:
    """Run the sources concurrently (at most `workers` at once) and yield their results in this thread.

    Only this (the caller's) thread writes to the store; each collector batches and pools its own
    calendars. An unexpected exception in a source is re-raised here, never swallowed.
    """
    if len(plans) <= 1 or workers <= 1:
        for collector, requests in plans:
            yield from collector.sync_many(requests, window)
        return
    results: queue.Queue[object] = queue.Queue()

    def produce(collector: Collector, requests: list[tuple[CalendarRef, str | None]]) -> None:
        try:
            for item in collector.sync_many(requests, window):
                results.put(item)
        except BaseException as exc:  # handed to the consuming thread, which re-raises it
            results.put(exc)
        finally:
            results.put(_DONE)

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="source") as pool:
        for collector, requests in plans:
            pool.submit(produce, collector, requests)
        running = len(plans)
        while running:
            item = results.get()
            if item is _DONE:
                running -= 1
            elif isinstance(item, BaseException):
                raise item
            else:
                yield item  # type: ignore[misc]


def _record_failure(p: Pipeline, report: CycleReport, cal: CalendarRef, error: CollectorError) -> None:
    """Count a calendar's failure and schedule its retry; its cursor is kept."""
    now = p.clock()
    state = p.store.calendar_state(cal)
    failures = (state.failures if state else 0) + 1
    p.store.record_failure(cal, f"{type(error).__name__}: {error}", now=now,
                           retry_at=_retry_at(now, failures, error))
    report.calendars_failed += 1
    report.failing_calendars.append(cal.owner)
    message = f"calendar {cal.owner} ({cal.source}): {error}"
    report.errors.append(message)
    if failures >= p.settings.service.failure_warning_after:
        log.warning("%s — failed %d times in a row", message, failures)
    else:
        log.info("%s", message)


def build_directory(p: Pipeline) -> tuple[Directory, Resolver]:
    """The partner directory and a resolver over it, from the store and settings."""
    directory = Directory(p.store.partners())
    m = p.settings.matching
    resolver = Resolver(
        directory,
        internal_domains=p.settings.organization.internal_domains,
        freemail_extra=m.freemail_extra,
        freemail_allow=m.freemail_allow,
        ignored_domains=[*m.ignored_domains, *p.store.ignored_domains()],
        title_threshold=m.title_threshold,
    )
    return directory, resolver


def resolve(p: Pipeline, report: CycleReport) -> Directory:
    """Resolve every event not yet resolved against the current directory (touched families are marked)."""
    version = p.store.directory_version()
    directory, resolver = build_directory(p)
    pending = p.store.unresolved_events(version)
    resolved = []
    for event_id, event in pending:
        found = resolver.resolve(event)
        resolved.append((event_id, found, [directory.root(m.partner) for m in found]))
    if resolved:
        p.store.save_matches(resolved, version)
    report.events_resolved = len(resolved)
    return directory


def meetings_for(p: Pipeline, directory: Directory, keys: Iterable[str]) -> dict[str, Meeting]:
    """The merged, active meetings with these keys."""
    keys = list(keys)
    events = p.store.events(keys)
    matches = p.store.matches(keys)
    meetings = build_meetings(events, matches, internal_domains=p.settings.organization.internal_domains,
                              root_of=directory.root)
    return {m.key: m for m in meetings}


def detect_collisions(p: Pipeline, report: CycleReport, directory: Directory) -> None:
    """Recompute collisions of the families touched since the last detection (all of them after a
    directory or window change); the store remembers touched families across crashes."""
    version = str(p.store.directory_version())
    window_days = str(p.settings.collision.window_days)
    full = (p.store.get_meta(DETECTED_VERSION) != version
            or p.store.get_meta(DETECTED_WINDOW) != window_days)
    families = p.store.known_families() | p.store.dirty_families() if full else p.store.dirty_families()
    if families:
        meetings = meetings_for(p, directory, p.store.keys_in_families(families))
        found = detect(list(meetings.values()), window_days=p.settings.collision.window_days,
                       families=families)
        new = p.store.replace_collisions(families, found, now=p.clock())
        report.collisions_new = len(new)
    if full:
        p.store.set_meta(DETECTED_VERSION, version)
        p.store.set_meta(DETECTED_WINDOW, window_days)
    report.collisions = len(p.store.collisions())


def current_collisions(p: Pipeline, directory: Directory) -> list[Collision]:
    """Stored collisions with their meetings filled in."""
    stored = p.store.collisions()
    meetings = meetings_for(p, directory, {k for c in stored for k in (c.key_a, c.key_b)})
    out = []
    for c in stored:
        a, b = meetings.get(c.key_a), meetings.get(c.key_b)
        if a is not None and b is not None:
            out.append(Collision(family=c.family, a=a, b=b, severity=c.severity,  # type: ignore[arg-type]
                                 same_location=c.same_location))
    return out


def _alerted_predicate(alerted: set[tuple[str, str, str]]) -> Callable[[str, str, str, str], bool]:
    """Whether (recipient, family, key_a, key_b) was alerted, whatever the family was called then."""
    return lambda recipient, family, key_a, key_b: (recipient, key_a, key_b) in alerted


def plan(p: Pipeline, report: CycleReport, directory: Directory) -> None:
    """Queue one email per recipient and family for every collision pair not yet alerted."""
    now = p.clock()
    ns = p.settings.notifier
    alerts = plan_alerts(
        current_collisions(p, directory),
        now=now,
        horizon_days=ns.horizon_days,
        owners_of=directory.owners_of_family,
        exclude=ns.exclude,
        already_alerted=_alerted_predicate(p.store.alerted()),
    )
    for alert in alerts:
        message = render_alert(alert, sender=ns.sender, organization=p.settings.organization.name, now=now,
                               owners=directory.owners_of_family(alert.family))
        queued = p.store.enqueue(
            message_id=str(message["Message-ID"]), recipient=alert.recipient, family=alert.family,
            subject=str(message["Subject"]), message=message.as_bytes(policy=_STORED),
            pairs=[c.pair for c in alert.collisions], now=now)
        report.alerts_queued += int(queued)


def deliver(p: Pipeline, report: CycleReport, *, respect_backoff: bool = True,
            stop: threading.Event | None = None) -> None:
    """Send every queued email that is due (all of them without `respect_backoff`) until `stop` is set;
    a failure stays queued with backoff, then fails for good."""
    max_attempts = p.settings.notifier.max_attempts
    rows = p.store.due(p.clock()) if respect_backoff else p.store.outbox("queued")
    for done, row in enumerate(rows):
        if stop is not None and stop.is_set():
            log.info("stopping: %d alert(s) left queued for the next run", len(rows) - done)
            return
        message = message_from_bytes(row.message, policy=_STORED)
        assert isinstance(message, EmailMessage)
        try:
            p.delivery.send(message)
        except DeliveryError as exc:
            attempts = row.attempts + 1
            retry_at = None if attempts >= max_attempts else p.clock() + backoff_delay(attempts)
            p.store.mark_attempt_failed(row.id, str(exc), retry_at=retry_at)
            report.alerts_failed += int(retry_at is None)
            report.errors.append(f"alert to {row.recipient}: {exc}")
            log.warning("alert %s to %s not delivered (attempt %d): %s", row.message_id, row.recipient,
                        attempts, exc)
            continue
        p.store.mark_sent(row.id, now=p.clock())
        report.alerts_sent += 1


def jittered(interval: float, jitter: float, rng: random.Random) -> float:
    """The next sleep: the interval plus a random jitter, so many instances do not poll in step."""
    return interval + rng.uniform(0, jitter)
