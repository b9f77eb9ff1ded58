"""Benchmark the collision detector on the data structures the store hands over (no parsing).

Builds `--events` Meetings (default 1,000,000) over `--partners` partner families (default 10,000),
starting over a `--span-days` collection window (default 210: 30 days back, 180 ahead), each with
one to three internal attendees drawn from `--staff` people, and prints:

    detect_seconds_1m=S         full detection over every family
    incremental_seconds_100=S   recomputing only the families touched by 100 changed events
    *_cpu_seconds_*=S           the same, as process CPU time (less noisy on a shared machine)
    peak_memory_mb=N            the process's peak resident set size
    collisions=N                how many collisions the full run found

Incremental detection is measured the way the service runs it: the store answers "meetings of
these families" from an index (here a dict of family -> meetings), and only those are re-detected.
Targets on the 2-core reference machine: detect <= 10 s, incremental <= 0.1 s.

Run: `.venv/bin/python bench/detect.py [--events N] [--partners N] [--window-days N] [--seed N]`
"""

from __future__ import annotations

import argparse
import random
import resource
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from revolving_door.detect import affected_families, detect, group_by_family
from revolving_door.model import Meeting

_LOCATIONS = (
    "",
    "",
    "Zoom",
    "Microsoft Teams Meeting",
    "HQ, Room 4B",
    "Palais des Nations, Geneva",
    "3 UN Plaza, New York, NY 10017",
    "Rue de la Loi 200, 1049 Brussels",
    "Nairobi",
)


def build(events: int, partners: int, staff: int, span_days: int, seed: int) -> list[Meeting]:
    """`events` random meetings over `partners` families, as the store would hand them over."""
    rng = random.Random(seed)
    origin = datetime(2025, 1, 1, tzinfo=UTC)
    people = [f"person{i}@example.org" for i in range(staff)]
    names = [f"Partner {i}" for i in range(partners)]
    span_minutes = span_days * 24 * 60
    hour = timedelta(hours=1)
    meetings: list[Meeting] = []
    for i in range(events):
        family = names[rng.randrange(partners)]
        start = origin + timedelta(minutes=15 * rng.randrange(span_minutes // 15))
        attendees = frozenset(rng.sample(people, rng.randint(1, 3)))
        key = f"uid-{i}@bench"
        meetings.append(
            Meeting(
                key=key,
                uid=key,
                start=start,
                end=start + hour,
                title=f"Visit {family}",
                location=_LOCATIONS[rng.randrange(len(_LOCATIONS))],
                private=rng.random() < 0.05,
                calendars=tuple(sorted(attendees)),
                internal_attendees=attendees,
                partners=(family,),
                families=(family,),
            )
        )
    return meetings


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--partners", type=int, default=10_000)
    parser.add_argument("--staff", type=int, default=5_000)
    parser.add_argument("--span-days", type=int, default=210)
    parser.add_argument("--window-days", type=int, default=7)
    parser.add_argument("--changed", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    meetings = build(args.events, args.partners, args.staff, args.span_days, args.seed)

    began, began_cpu = time.perf_counter(), time.process_time()
    collisions = detect(meetings, window_days=args.window_days)
    detect_seconds = time.perf_counter() - began
    detect_cpu = time.process_time() - began_cpu
    found = len(collisions)
    del collisions

    # The store's index: meetings per family (a SQL "WHERE family IN (...)" in production).
    index = group_by_family(meetings)
    rng = random.Random(args.seed + 1)
    changed_old = rng.sample(meetings, min(args.changed, len(meetings)))
    changed_new = [replace(m, start=m.start + timedelta(days=rng.randint(-3, 3))) for m in changed_old]

    began, began_cpu = time.perf_counter(), time.process_time()
    touched = affected_families(changed_old, changed_new)
    for old, new in zip(changed_old, changed_new, strict=True):
        for family in old.families:
            group = index[family]
            group[group.index(old)] = new
    subset = [m for family in touched for m in index[family]]
    incremental = detect(subset, window_days=args.window_days, families=touched)
    incremental_seconds = time.perf_counter() - began
    incremental_cpu = time.process_time() - began_cpu

    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    suffix = "1m" if args.events == 1_000_000 else f"{args.events}"
    print(f"events={args.events} partners={args.partners} window_days={args.window_days}")
    print(f"collisions={found}")
    print(f"detect_seconds_{suffix}={detect_seconds:.2f}")
    print(f"detect_cpu_seconds_{suffix}={detect_cpu:.2f}")
    print(f"incremental_seconds_{args.changed}={incremental_seconds:.4f}")
    print(f"incremental_cpu_seconds_{args.changed}={incremental_cpu:.4f}")
    print(f"incremental_collisions={len(incremental)} touched_families={len(touched)}")
    print(f"peak_memory_mb={peak_kib // 1024}")


if __name__ == "__main__":
    main()
