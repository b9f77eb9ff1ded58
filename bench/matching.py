"""Benchmark of partner resolution on a synthetic directory (10,000 partners) and synthetic events.

    python bench/matching.py [--events N] [--partners N] [--naive-sample N] [--seed S]

Prints one figure per line: events_per_second, peak_memory_mb, speedup_vs_naive (the naive
matcher is `rapidfuzz.process.extractOne(title, all_names_and_aliases, scorer=fuzz.WRatio,
score_cutoff=85)`, timed on a sample of the same titles in the same run).
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and its name would hide the package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from rapidfuzz import fuzz, process  # noqa: E402  (after the sys.path fix above)

from matching.directory import Directory  # noqa: E402
from matching.resolver import Resolver  # noqa: E402
from revolving_door.model import Attendee, CalendarEvent, Partner  # noqa: E402

SYLLABLES = ["ka", "lo", "mi", "ren", "tor", "vi", "sa", "bel", "dun", "ar", "quin", "zel", "mor", "tha", "pes",
             "gri", "nal", "ost", "ver", "lum", "cas", "dro", "fen", "hal", "jor", "wen", "yor", "ul", "ix", "eb"]
KINDS = ["Foundation", "Institute", "University", "Trust", "Fund", "Alliance", "Agency", "Initiative",
         "Council", "Network", "Partners", "Bank", "Society", "Corporation", "Health", "Relief"]
TOPICS = ["WASH", "nutrition", "budget", "procurement", "M&E framework", "digital ID", "school feeding"]
TEMPLATES = ["Meeting with {p}", "{p} quarterly review", "Intro: {p} x Acme", "Call with {p} re {t}",
             "{p} <> Acme: {t}", "Coffee w/ Sam ({p})", "{t} workshop ({p})", "Prep for {p} visit"]
PLAIN = ["Squad standup", "1:1", "Budget reforecast", "{t} planning", "Lunch", "All-staff huddle",
         "Bank reconciliation", "Berry picking - team social", "Deep work block", "Interview: data analyst"]


def word(rng: random.Random) -> str:
    """A pronounceable made-up word."""
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))).capitalize()


def make_directory(n: int, rng: random.Random) -> list[Partner]:
    """n partners with 1-2 domains, an acronym and a short alias each."""
    partners: list[Partner] = []
    names: set[str] = set()
    domains: set[str] = set()
    while len(partners) < n:
        core = [word(rng) for _ in range(rng.randint(1, 3))]
        name = " ".join([*core, rng.choice(KINDS)])
        if name.casefold() in names:
            continue
        label = "".join(core).lower()
        doms = [f"{label}.org"] + ([f"{label}.{rng.choice(['de', 'co.uk', 'or.ke'])}"] if rng.random() < 0.3 else [])
        if any(d in domains for d in doms):
            continue
        acronym = "".join(w[0] for w in name.split()).upper() + str(len(partners))
        names.add(name.casefold())
        domains.update(doms)
        partners.append(Partner(name, tuple(doms), (acronym, " ".join(core))))
    return partners


def typo(text: str, rng: random.Random) -> str:
    """Swap two adjacent letters of the longest word."""
    words = text.split()
    i = max(range(len(words)), key=lambda k: len(words[k]))
    w = words[i]
    if len(w) >= 6:
        j = rng.randint(1, len(w) - 3)
        words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2:]
    return " ".join(words)


def titles(partners: list[Partner], rng: random.Random) -> Iterator[tuple[str, Partner | None]]:
    """An endless stream of titles, about half naming a partner (some with typos or aliases)."""
    while True:
        if rng.random() < 0.5:
            p = rng.choice(partners)
            ref = rng.choice([p.name, p.name, p.aliases[0], p.aliases[1]])
            if rng.random() < 0.15:
                ref = typo(ref, rng)
            yield rng.choice(TEMPLATES).format(p=ref, t=rng.choice(TOPICS)), p
        else:
            yield rng.choice(PLAIN).format(t=rng.choice(TOPICS)), None


def events(partners: list[Partner], n: int, rng: random.Random) -> Iterator[CalendarEvent]:
    """n synthetic events, generated lazily."""
    start = datetime(2030, 1, 1, tzinfo=UTC)
    stream = titles(partners, rng)
    for i in range(n):
        title, p = next(stream)
        guest = rng.choice(partners) if p is None or rng.random() < 0.2 else p
        host = guest.domains[0] if rng.random() < 0.7 else rng.choice(["gmail.com", "zoom.us", "x.example"])
        if rng.random() < 0.3:
            host = "mail." + host
        people = (Attendee(f"staff{i % 500}@acme.example", response="accepted"),
                  Attendee(f"guest{i % 97}+x@{host}"),
                  Attendee("room-1@acme.example", is_resource=True))
        t = start + timedelta(minutes=30 * i)
        yield CalendarEvent(calendar=people[0].email, key=f"e{i}", uid=f"e{i}", source_id=f"e{i}", title=title,
                            start=t, end=t + timedelta(hours=1), attendees=people)


def main() -> None:
    """Run the benchmark and print its figures."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--partners", type=int, default=10_000)
    ap.add_argument("--naive-sample", type=int, default=300)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    partners = make_directory(a.partners, rng)
    t0 = time.perf_counter()
    resolver = Resolver(Directory(partners), internal_domains=["acme.example"])
    build = time.perf_counter() - t0

    resolved = 0
    matched = 0
    busy = 0.0
    chunk: list[CalendarEvent] = []
    stream = events(partners, a.events, rng)
    while True:
        chunk = [e for _, e in zip(range(10_000), stream, strict=False)]
        if not chunk:
            break
        t = time.process_time()  # CPU time of this process: robust to other load on the machine
        for e in chunk:
            matched += bool(resolver.resolve(e))
        busy += time.process_time() - t
        resolved += len(chunk)
    eps = resolved / busy

    sample_rng = random.Random(a.seed + 1)
    sample = [t for t, _ in (next(titles(partners, sample_rng)) for _ in range(a.naive_sample))]
    choices = [s for p in partners for s in (p.name, *p.aliases)]
    t = time.process_time()
    for title in sample:
        process.extractOne(title, choices, scorer=fuzz.WRatio, score_cutoff=85)
    naive_per_title = (time.process_time() - t) / len(sample)
    fresh = Resolver(Directory(partners), internal_domains=["acme.example"]).titles
    t = time.process_time()
    for title in sample:
        fresh.match(title)
    ours_per_title = (time.process_time() - t) / len(sample)

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"events_per_second={eps:.0f}")
    print(f"peak_memory_mb={peak_mb:.0f}")
    print(f"speedup_vs_naive={naive_per_title / ours_per_title:.0f}")
    print(f"# events={resolved} matched={matched} partners={len(partners)} build_s={build:.2f} "
          f"naive_ms_per_title={naive_per_title * 1000:.2f} ours_ms_per_title={ours_per_title * 1000:.3f}")


if __name__ == "__main__":
    main()
