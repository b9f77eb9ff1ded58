"""The ICS collector over real-world .ics files from other projects (../shared/corpus/ics/).

The corpus is read in place (never copied). `baseline-parse-results.json` says what plain
icalendar + recurring-ical-events managed per file; the collector must do at least as well.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from collectors.ics import IcsCollector
from revolving_door.model import CalendarRef, SyncResult, TimeWindow

CORPUS = Path(__file__).parents[2].parent / "shared" / "corpus" / "ics"
WINDOW = TimeWindow(datetime(2000, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC))

pytestmark = pytest.mark.skipif(not (CORPUS / "baseline-parse-results.json").exists(), reason="corpus absent")


@dataclass(frozen=True)
class Outcome:
    """What the collector did with one corpus file, next to the baseline's record."""

    baseline: dict[str, Any]
    path: Path
    result: SyncResult | None
    crash: str | None


@pytest.fixture(scope="module")
def outcomes() -> list[Outcome]:
    """Every corpus file synced once through the real collector (a file-glob source per repo)."""
    baseline = json.loads((CORPUS / "baseline-parse-results.json").read_text(encoding="utf-8"))
    out: list[Outcome] = []
    collector = IcsCollector("corpus", path_glob="**/*.ics", base_dir=CORPUS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # icalendar's own warnings about guessed TZIDs
        for record in baseline:
            path = CORPUS / record["repo"] / record["file"]
            calendar = CalendarRef(source="corpus", owner=path.stem.lower(), id=str(path.resolve()))
            try:
                out.append(Outcome(record, path, collector.sync(calendar, None, WINDOW), None))
            except Exception as exc:  # the point of this test is to catch any crash, of any type
                out.append(Outcome(record, path, None, f"{type(exc).__name__}: {exc}"))
    return out


def test_no_file_crashes_the_collector(outcomes: list[Outcome]) -> None:
    """Every corpus file, broken ones included, is synced without an exception."""
    assert len(outcomes) > 250
    assert [(o.path.name, o.crash) for o in outcomes if o.crash] == []


def test_files_the_baseline_expands_yield_events(outcomes: list[Outcome]) -> None:
    """Every file where plain icalendar expanded occurrences in the window gives events too."""
    missing = [
        o.path.name
        for o in outcomes
        if o.baseline.get("expand") == "ok" and o.baseline.get("occurrences") and not (o.result and o.result.upserts)
    ]
    assert missing == []


def test_unreadable_files_are_named_in_a_warning(outcomes: list[Outcome]) -> None:
    """Where the baseline failed and the collector returned nothing, a warning names the file (or it has no VEVENT)."""
    silent = []
    for o in outcomes:
        if o.baseline.get("parse") == "ok" and o.baseline.get("expand") == "ok":
            continue
        assert o.result is not None
        named = any(o.path.name in w for w in o.result.warnings)
        has_events = b"BEGIN:VEVENT" in o.path.read_bytes().upper()
        if not o.result.upserts and has_events and not named:
            silent.append(o.path.name)
    assert silent == []


def test_every_warning_names_its_file(outcomes: list[Outcome]) -> None:
    """Each warning starts with the name of the file it is about."""
    unnamed = [w for o in outcomes if o.result for w in o.result.warnings if not w.startswith(o.path.name)]
    assert unnamed == []


def test_corpus_events_are_well_formed(outcomes: list[Outcome]) -> None:
    """Every event from the corpus has aware UTC times, end not before start, and a unique key."""
    for o in outcomes:
        if not o.result:
            continue
        keys = [e.key for e in o.result.upserts]
        assert len(keys) == len(set(keys)), o.path.name
        for event in o.result.upserts:
            assert event.start.utcoffset() is not None and event.start.utcoffset().total_seconds() == 0
            assert event.end >= event.start, (o.path.name, event.key)
