"""What the sync-cost benchmarks share: the full sync, the steady-state polls and the printout.

Each provider module (bench/sync_cost_<provider>.py) builds its loopback fake, its collector and its
changes, and names its own figures; the loops that drive `sync_many` and the printing live here.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence

from collectors.base import Collector
from revolving_door.errors import CollectorError
from revolving_door.model import CalendarRef, SyncResult, TimeWindow

POLLS = 3
"""Steady-state polls per run (each after a few changes per calendar)."""


def cursor(ref: CalendarRef, result: SyncResult | CollectorError) -> str | None:
    """The next cursor, failing loudly on an error (the benchmark has no faults)."""
    if isinstance(result, CollectorError):
        raise SystemExit(f"{ref.owner}: {result}")
    return result.next_cursor


def full_sync(
    collector: Collector, refs: Sequence[CalendarRef], window: TimeWindow
) -> tuple[dict[CalendarRef, str | None], float]:
    """Sync every calendar from scratch through `sync_many`; returns the cursors and the wall time."""
    started = time.perf_counter()
    cursors: dict[CalendarRef, str | None] = {}
    for ref, result in collector.sync_many([(r, None) for r in refs], window):
        cursors[ref] = cursor(ref, result)
    return cursors, time.perf_counter() - started


def steady_polls(
    collector: Collector,
    cursors: dict[CalendarRef, str | None],
    window: TimeWindow,
    change: Callable[[int], None],
) -> float:
    """POLLS polls of every calendar, `change(poll)` before each (untimed); updates `cursors` and returns
    the wall time of one poll (the mean)."""
    wall = 0.0
    for poll in range(POLLS):
        change(poll)
        started = time.perf_counter()
        for ref, result in collector.sync_many(list(cursors.items()), window):
            cursors[ref] = cursor(ref, result)
        wall += time.perf_counter() - started
    return wall / POLLS


def main(run: Callable[[int], dict[str, float]], doc: str | None, calendars: int | Sequence[str] | None) -> None:
    """Print `run`'s figures for `calendars` calendars (an int, or command-line arguments `--calendars N`,
    described by the first line of `doc`)."""
    if not isinstance(calendars, int):
        parser = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
        parser.add_argument("--calendars", type=int, default=500)
        calendars = parser.parse_args(list(calendars) if calendars is not None else None).calendars
    figures = run(calendars)
    print(f"calendars={calendars}")
    for name, value in figures.items():
        print(f"{name}={value:.3f}")
