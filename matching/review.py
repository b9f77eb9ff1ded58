"""The review queue: unknown external domains seen in meetings, ranked, each with a suggested partner."""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from rapidfuzz import fuzz, process

from matching.directory import Directory
from matching.domains import registrable_domain
from matching.titles import TitleMatcher, tokenize

_NON_ALNUM = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class Suggestion:
    """A partner suggested for an unknown domain."""

    partner: str
    score: float
    """0–100: how sure the suggestion is."""
    why: str
    """Human-readable reason, e.g. `domain label "lumentrust" ~ name "Lumen Trust" (100)`."""


@dataclass(frozen=True)
class DomainSighting:
    """One meeting in which an unknown domain was seen."""

    domain: str
    key: str
    staff: str
    """The staff member (calendar owner) whose meeting it was."""
    start: datetime


@dataclass(frozen=True)
class UnknownDomain:
    """An unknown domain with how often, by how many staff, and when it was seen."""

    domain: str
    meetings: int
    staff: int
    first_seen: datetime
    last_seen: datetime
    keys: tuple[str, ...] = field(default=())


def _squash(text: str) -> str:
    return _NON_ALNUM.sub("", text.lower())


def _initials(text: str) -> str:
    return "".join(t.norm[:1] for t in tokenize(text) if t.norm not in {"of", "the", "and", "for", "&"})


# A Directory is immutable, so what is derived from it is built once per directory, not once per domain.
@functools.lru_cache(maxsize=4)
def _label_keys(directory: Directory) -> dict[str, tuple[str, str, str]]:
    """Squashed names and aliases (and initials of long ones) → (partner, `name`/`alias`, text)."""
    keys: dict[str, tuple[str, str, str]] = {}
    for p in directory.partners:
        for label, text in [("name", p.name), *(("alias", a) for a in p.aliases)]:
            for key in (_squash(text), _initials(text) if len(text.split()) >= 3 else ""):
                if len(key) >= 3:
                    keys.setdefault(key, (p.name, label, text))
    return keys


@functools.lru_cache(maxsize=4)
def _title_matcher(directory: Directory) -> TitleMatcher:
    """The default title matcher over `directory`."""
    return TitleMatcher(directory)


def suggest_partner(
    domain: str, directory: Directory, titles: Sequence[str], *, matcher: TitleMatcher | None = None,
    min_score: float = 70.0,
) -> Suggestion | None:
    """Suggest a partner for an unknown domain from its label and from titles of the meetings it was in."""
    host = domain.strip().lower()
    reg = registrable_domain(host)
    label = _squash(reg.split(".", 1)[0])
    best: Suggestion | None = None
    keys = _label_keys(directory)
    if label and keys:
        found = process.extractOne(label, list(keys), scorer=fuzz.ratio, score_cutoff=min_score)
        if found is not None:
            key, score, _ = found
            partner, kind, text = keys[key]
            best = Suggestion(partner, round(float(score), 1),
                              f'domain label "{label}" ~ {kind} "{text}" ({score:.0f})')
    if titles:
        m = matcher or _title_matcher(directory)
        counts: Counter[str] = Counter()
        for t in titles:
            for pm in m.match(t):
                counts[pm.partner] += 1
        if counts:
            partner, n = counts.most_common(1)[0]
            share = n / len(titles)
            score = round(60.0 + 40.0 * share, 1)
            if score >= min_score and (best is None or score > best.score):
                best = Suggestion(partner, score, f"named in {n} of {len(titles)} meeting titles with {host}")
            elif best is not None and best.partner == partner:
                best = Suggestion(partner, min(100.0, best.score + 10.0 * share),
                                  best.why + f"; named in {n} of {len(titles)} meeting titles")
    return best


def rank_unknown_domains(sightings: Iterable[DomainSighting]) -> list[UnknownDomain]:
    """Group sightings per domain and rank by distinct meetings, then distinct staff, then name."""
    keys: dict[str, set[str]] = {}
    staff: dict[str, set[str]] = {}
    first: dict[str, datetime] = {}
    last: dict[str, datetime] = {}
    for s in sightings:
        d = s.domain.strip().lower()
        keys.setdefault(d, set()).add(s.key)
        staff.setdefault(d, set()).add(s.staff.lower())
        first[d] = min(first.get(d, s.start), s.start)
        last[d] = max(last.get(d, s.start), s.start)
    out = [UnknownDomain(d, len(keys[d]), len(staff[d]), first[d], last[d], tuple(sorted(keys[d])))
           for d in keys]
    out.sort(key=lambda u: (-u.meetings, -u.staff, u.domain))
    return out
