"""Finding partners named in meeting titles, robust to typos and abbreviations, wary of ordinary words.

How a title is matched:
1. It is split into tokens that keep their original spelling (for case checks) and a
   normal form: lower-case, accents removed, abbreviations expanded (Fdn → foundation,
   Intl → international, Univ. → university, …), British spellings folded, `U.S.` → `us`.
   Stop words (of, the, and, …) are skipped when names are aligned.
2. Every partner name and alias is normalised the same way (legal suffixes such as Inc.,
   Ltd, GmbH dropped) and indexed by its rarest token. A title token looks up the index
   exactly, or, if it is long and not an ordinary English word, through a one-deletion
   neighbourhood (typos: one insertion, deletion, substitution or transposition; a four-letter
   word only as a letter dropped from a word of a multi-word name; spellings that names fold away,
   such as "programme" or "Stiftung", are in the neighbourhood too). A name has at most one typo
   per word, and several only when it is long. Only those few candidate names are aligned against
   the title and scored with rapidfuzz. Names written as one word match two title words and the
   reverse ("Techno Serve"); umlauts also match their "ae/oe/ue" spelling.
3. A match of a name that is also an ordinary English word ("Orange", "Compass", "CARE") counts
   only when it names an organisation: spelt as a name (capitalised; acronyms in capitals)
   *and* in an organisation context — a meeting word next to it ("Orange annual meeting"),
   a preposition of meeting before it ("Meeting with Orange"), a possessive, brackets, a
   legal suffix, or a link to another organisation ("Orange <> Acme"). "Orange juice run" is not.
   A name that is no English word may be written in lower case in that context ("call with jica").
4. Overlapping matches keep the longest: "Plan International UK" is not also "Plan International".

Word frequencies come from `data/common_words.tsv` (wordfreq, Zipf scale).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from importlib import resources
from typing import NamedTuple

from rapidfuzz.distance import OSA

from matching.directory import Directory
from revolving_door.model import PartnerMatch

ABBREVIATIONS: dict[str, str] = {
    "fdn": "foundation", "fdns": "foundations", "fdtn": "foundation", "fndn": "foundation", "found": "foundation",
    "intl": "international", "int": "international", "intnl": "international",
    "univ": "university", "uni": "university",
    "dept": "department", "dep": "department",
    "assn": "association", "assoc": "association",
    "org": "organization", "orgn": "organization",
    "govt": "government", "gov": "government",
    "min": "ministry", "mnstry": "ministry",
    "natl": "national", "nat": "national",
    "corp": "corporation", "co": "company",
    "dev": "development", "devt": "development",
    "inst": "institute", "ctr": "center", "cntr": "center", "sch": "school",
    "soc": "society", "mgmt": "management", "svc": "services", "svcs": "services",
    "comm": "commission", "cttee": "committee", "mfa": "ministry foreign affairs",
    "hq": "headquarters", "st": "saint", "mt": "mount", "&": "and",
    # British and other spellings fold to one form
    "organisation": "organization", "organisations": "organizations", "centre": "center",
    "programme": "program", "programmes": "programs", "defence": "defense", "labour": "labor",
    # the kind of organisation in other languages ("Bosch Stiftung" is the "Bosch Foundation")
    "stiftung": "foundation", "fondation": "foundation", "fundacion": "foundation", "fondazione": "foundation",
    "fundacao": "foundation", "stichting": "foundation", "universitat": "university", "universite": "university",
    "universidad": "university", "universita": "university", "universidade": "university",
}
# German umlauts are also written "ae", "oe", "ue" ("Brot für die Welt" ↔ "Brot fuer die Welt").
_TRANSLITERATIONS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"})
# Abbreviations that are also ordinary words ("lost and found") expand in names, never in titles.
_NAME_ONLY_EXPANSIONS = frozenset({"int", "found", "dep", "nat", "comm", "st", "mt", "gov"})

def _words(text: str) -> frozenset[str]:
    """The whitespace-separated words of `text`."""
    return frozenset(text.split())


STOPWORDS = frozenset({"the", "of", "for", "and", "a", "an", "in", "on", "de", "la", "le", "du", "des",
                       "der", "die", "das", "y", "et", "l", "d", "to"})
LEGAL_SUFFIXES = frozenset({"inc", "incorporated", "ltd", "limited", "llc", "llp", "lp", "plc", "gmbh", "ag",
                            "sa", "sas", "sarl", "nv", "bv", "pty", "srl", "spa", "ab", "asa", "oy", "kk",
                            "pbc", "company", "ggmbh", "ev", "bhd", "pte", "pvt", "cic"})
# Words of meeting: next to a name they show it is an organisation being met.
MEETING_WORDS = _words("""
meeting meetings call calls sync catchup checkin visit visits review reviews update updates planning plan
workshop debrief briefing annual quarterly weekly monthly biweekly daily field site team teams partnership
partners partner proposal grant grants board steering delegation mission roundtable dinner lunch breakfast
coffee intro introduction kickoff followup discussion discussions consultation negotiation negotiations
contract agreement mou donor donors program project projects pitch summit conference convening session
sessions presentation staff office offices headquarters leadership ceo colleagues representatives officials
reps meet talks touchpoint touch base standup retreat symposium forum panel webinar event reception
visiting hosted hosting debriefing prep preparation strategy alignment coordination report reporting
""")
# Words before a name that show it is an organisation being met ("with", "from", "for", …).
LEFT_CUES = _words("""
with w meet meeting meetings call visit visiting intro introduction sync from at for re to between join
joining hosting host hosted by via prep debrief and x vs versus mission roundtable partner partners
catchup checkin coffee lunch dinner breakfast
""")
# Leading labels that calendars add and that say nothing about the partner.
NEUTRAL_LABELS = _words("""
canceled cancelled updated invitation reminder fw fwd re tentative accepted declined new event moved
rescheduled postponed tbc tbd draft hold
""")

_TOKEN = re.compile(
    r"(?:[^\W\d_]\.){2,}"  # dotted initials: U.S., A.P.
    r"|[^\W_]+(?:\.(?:com|org|net|edu|gov|int|io|co|ac|uk|de|fr|ch|africa))+(?![^\W_])"  # acme.com
    r"|[^\W_]+(?:[-'’][^\W_]+)*"
)


def _fold(text: str) -> str:
    """Lower-case and strip accents."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


class Token(NamedTuple):
    """One word of a title or name."""

    surface: str
    """As written (dots of initials removed)."""
    norm: str
    """Folded and abbreviation-expanded form (may hold several words, e.g. `ministry foreign affairs`)."""
    start: int
    end: int
    gap: str
    """The text between the previous token and this one (separators such as `<>`, `/`, `(`)."""
    possessive: bool = False

    @property
    def capitalised(self) -> bool:
        """Whether it is written as a name (initial capital or digit)."""
        return self.surface[:1].isupper() or self.surface[:1].isdigit()

    @property
    def all_caps(self) -> bool:
        """Whether every letter is upper-case."""
        return self.surface.isupper()


@functools.lru_cache(maxsize=65536)
def _piece(surface: str, expand_all: bool) -> tuple[str, str, bool] | None:
    """(surface without dots/possessive, normal form, possessive) of one raw word, or None if empty."""
    possessive = False
    s = surface.replace("’", "'")
    if s.lower().endswith("'s"):
        s, possessive = s[:-2], True
    s = s.replace("'", "")
    if "." in s and not re.search(r"[a-z]\.[a-z]", s):
        s = s.replace(".", "")
    if not s:
        return None
    folded = (s.lower() if s.isascii() else _fold(s)).replace(".", "")
    norm = ABBREVIATIONS.get(folded, folded)
    if not expand_all and folded in _NAME_ONLY_EXPANSIONS:
        norm = folded
    return s, norm, possessive


def tokenize(text: str, *, expand_all: bool = True) -> list[Token]:
    """Split text into tokens; hyphenated names (`Q-LUMA`, `UN-Tides`) split, ordinary compounds join."""
    tokens: list[Token] = []
    last_end = 0
    for m in _TOKEN.finditer(text):
        raw = m.group(0)
        pieces: list[tuple[str, int, int]] = []
        if "-" in raw:
            parts = raw.split("-")
            split = parts[0].isupper() or any(p[:1].isupper() or p[:1].isdigit() for p in parts[1:])
            if split:
                pos = m.start()
                for p in parts:
                    pieces.append((p, pos, pos + len(p)))
                    pos += len(p) + 1
            else:
                pieces.append(("".join(parts), m.start(), m.end()))
        else:
            pieces.append((raw, m.start(), m.end()))
        for surface, start, end in pieces:
            piece = _piece(surface, expand_all)
            if piece is None:
                continue
            tokens.append(Token(piece[0], piece[1], start, end, text[last_end:start], piece[2]))
            last_end = end
    return tokens


@functools.cache
def common_words() -> dict[str, float]:
    """English word → Zipf frequency (bundled wordfreq export)."""
    text = resources.files("matching").joinpath("data", "common_words.tsv").read_text(encoding="utf-8")
    out: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        word, _, freq = line.partition("\t")
        out[word] = float(freq)
    return out


def _title_case(toks: list[Token]) -> bool:
    """Whether every word of the title (but short stop words) is capitalised, as in "Team Lunch Social"."""
    words = [t for t in toks if t.surface[:1].isalpha() and t.norm not in STOPWORDS]
    return len(words) >= 2 and all(t.capitalised for t in words)


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1:] for i in range(len(word))}


@dataclass(frozen=True, slots=True)
class _Variant:
    partner: str
    label: str
    """`name` or `alias`."""
    text: str
    tokens: tuple[str, ...]
    acronym: bool
    common: bool
    """Every token is an ordinary English word."""
    anchor: str
    capitals: tuple[bool, ...]
    """Per content word of the name as written: whether it is capitalised (`sun power collective` is not)."""


@dataclass(frozen=True, slots=True)
class _Hit:
    variant: _Variant
    first: int
    last: int
    score: float
    edits: int


class TitleMatcher:
    """Finds the partners a title names, with evidence and a score."""

    def __init__(
        self,
        directory: Directory,
        *,
        threshold: float = 80.0,
        typo_min_length: int = 5,
        ambiguous_zipf: float = 3.0,
        exact_case_zipf: float = 3.5,
        cache_size: int = 65536,
    ) -> None:
        self.threshold = threshold
        self.typo_min_length = typo_min_length
        self.ambiguous_zipf = ambiguous_zipf
        self.exact_case_zipf = exact_case_zipf
        self._freq = common_words()
        self._variants: list[_Variant] = []
        self._by_anchor: dict[str, list[_Variant]] = {}
        self._vocab: set[str] = set()
        self._acronym_vocab: set[str] = set()
        self._deletes: dict[str, set[str]] = {}
        # spellings folded away in names ("programme" → "program", "stiftung" → "foundation") still attract typos
        self._spelt: dict[str, str] = {}
        self._joined: dict[str, list[_Variant]] = {}
        doc_freq: dict[str, int] = {}
        prepared: list[tuple[str, str, str, tuple[str, ...], bool, tuple[bool, ...]]] = []
        for p in directory.partners:
            seen: set[tuple[str, ...]] = set()
            texts = [("name", p.name), *(("alias", a) for a in p.aliases)]
            texts += [(label, t.translate(_TRANSLITERATIONS)) for label, t in texts if t != t.translate(
                _TRANSLITERATIONS)]
            for label, text in texts:
                toks = self._name_tokens(text)
                if not toks or toks in seen:
                    continue
                seen.add(toks)
                surface = [t for t in tokenize(text) if t.norm not in STOPWORDS]
                acronym = len(toks) == 1 and len(surface) == 1 and surface[0].all_caps and len(toks[0]) <= 8
                capitals = tuple(t.capitalised for t in surface for _ in t.norm.split())
                prepared.append((p.name, label, text, toks, acronym, capitals))
                for t in set(toks):
                    doc_freq[t] = doc_freq.get(t, 0) + 1
                for tok in tokenize(text):
                    raw = _fold(tok.surface)
                    if (raw != tok.norm and raw.isalpha() and " " not in tok.norm and len(raw) >= self.typo_min_length
                            and 10 * len(raw) >= 7 * len(tok.norm)):  # other spellings, not abbreviations
                        self._spelt.setdefault(raw, tok.norm)
        for partner, label, text, toks, acronym, capitals in prepared:
            anchor = min(toks, key=lambda t: (doc_freq[t], -len(t)))
            common = all(self._zipf(t) >= self.ambiguous_zipf for t in toks)
            v = _Variant(partner, label, text, toks, acronym, common, anchor, capitals)
            self._variants.append(v)
            self._by_anchor.setdefault(anchor, []).append(v)
            self._vocab.update(toks)
            if acronym:
                self._acronym_vocab.add(toks[0])
            if 2 <= len(toks) <= 3 or (len(toks) == 1 and not acronym and len(toks[0]) >= 2 * self.typo_min_length):
                # names written as one word, and one-word names written as two ("Techno Serve")
                self._joined.setdefault("".join(toks), []).append(v)
        for word in self._vocab | self._spelt.keys():
            if len(word) >= self.typo_min_length and word not in self._acronym_vocab and word.isalpha():
                for d in {word, *_deletions(word)}:
                    self._deletes.setdefault(d, set()).add(word)
        self._cached = functools.lru_cache(maxsize=cache_size)(self._match)
        self._word_options = functools.lru_cache(maxsize=cache_size)(self._word_options_uncached)

    @staticmethod
    def _name_tokens(text: str) -> tuple[str, ...]:
        toks: list[str] = []
        for t in tokenize(text):
            toks.extend(t.norm.split())
        while toks and toks[-1] in LEGAL_SUFFIXES and len(toks) > 1:
            toks.pop()
        return tuple(t for t in toks if t not in STOPWORDS)

    def _zipf(self, word: str) -> float:
        return self._freq.get(word, 0.0)

    def match(self, text: str) -> list[PartnerMatch]:
        """The partners named in `text`, best evidence per partner, in order of appearance."""
        return list(self._cached(text))

    def _word_options_uncached(self, w: str) -> dict[str, int]:
        """Vocabulary words one typo away from `w`: 1, or 2 when `w` is itself an English word, or 3 when `w`
        is shorter than `typo_min_length` (a letter dropped from a longer word)."""
        if not w.isalpha() or len(w) < self.typo_min_length - 1:
            return {}
        english = self._zipf(w) >= self.ambiguous_zipf
        if len(w) < self.typo_min_length:
            return {} if english else {cand: 3 for cand in self._fuzzy(w) if len(cand) > len(w)}
        return {cand: 2 if english else 1 for cand in self._fuzzy(w)}

    def _fuzzy(self, word: str) -> set[str]:
        """Vocabulary words within one edit of `word` (which is not itself in the vocabulary)."""
        out: set[str] = set()
        for d in {word, *_deletions(word)}:
            for cand in self._deletes.get(d, ()):
                if OSA.distance(word, cand, score_cutoff=1) <= 1:
                    out.add(self._spelt.get(cand, cand))
        return out

    def _match(self, text: str) -> tuple[PartnerMatch, ...]:
        toks = tokenize(text, expand_all=False)
        if not toks:
            return ()
        # content positions: indices of non-stopword tokens, each with its normalised words
        content: list[int] = [i for i, t in enumerate(toks) if t.norm not in STOPWORDS]
        words: list[tuple[str, int]] = []  # (word, token index); an expansion can yield several words
        for i in content:
            for w in toks[i].norm.split():
                words.append((w, i))
        lowercase_title = not any(c.isupper() for c in text)
        # per word position: vocab word → 0 (exact), 1 (typo), 2 (typo that is an English word, only in names
        # of 3+ words) or 3 (typo in a short word, only in names of 2+ words: "Digital Gren")
        options: list[dict[str, int]] = []
        for w, i in words:
            if w in self._vocab:
                opts = {w: 0}
            elif len(w) >= self.typo_min_length - 1 and not toks[i].all_caps:
                opts = dict(self._word_options(w))
            else:
                opts = {}
            raw = _fold(toks[i].surface).replace(".", "")
            if raw != w and " " not in toks[i].norm and raw.isalpha():
                # an abbreviation that is really a typo of a name's word: "Peace Corp" for "Peace Corps"
                for cand in self._fuzzy(raw) if len(raw) >= self.typo_min_length - 1 else ():
                    opts.setdefault(cand, 1 if len(raw) >= self.typo_min_length else 3)
            options.append(opts)
        hits: list[_Hit] = []
        for pos, opts in enumerate(options):
            for vocab_word in opts:
                for v in self._by_anchor.get(vocab_word, ()):
                    k = v.tokens.index(vocab_word)
                    start = pos - k
                    if start < 0 or start + len(v.tokens) > len(words):
                        continue
                    edits = english = 0
                    for j, vt in enumerate(v.tokens):
                        e = options[start + j].get(vt)
                        if e is None or (e == 2 and len(v.tokens) < 3) or (e == 3 and len(v.tokens) < 2):
                            break
                        edits += min(e, 1)
                        english += e == 2
                    else:
                        if english > 1:
                            continue
                        hit = self._accept(v, toks, words, start, start + len(v.tokens) - 1, edits,
                                           lowercase_title)
                        if hit is not None:
                            hits.append(hit)
        # names written as one word ("Sea Link" ↔ "SeaLink", "KTX 500" ↔ "Ktx500")
        for pos in range(len(words)):
            for span in (1, 2):
                if pos + span > len(words):
                    continue
                key = "".join(w for w, _ in words[pos:pos + span])
                if span == 1 and key in self._vocab:
                    continue
                for v in self._joined.get(key, ()):
                    hit = self._accept(v, toks, words, pos, pos + span - 1, 0, lowercase_title, joined=True)
                    if hit is not None:
                        hits.append(hit)
        return self._resolve(hits, toks, words, text)

    def _accept(
        self,
        v: _Variant,
        toks: list[Token],
        words: list[tuple[str, int]],
        first: int,
        last: int,
        edits: int,
        lowercase_title: bool,
        *,
        joined: bool = False,
    ) -> _Hit | None:
        span_tokens = sorted({words[p][1] for p in range(first, last + 1)})
        surfaces = [toks[i] for i in span_tokens]
        n = len(v.tokens)
        chars = sum(len(t) for t in v.tokens)
        # one typo per word at most; long names of several words may have several ("Wordl Visiin International")
        if edits > max(1, min(n, chars // 7)):
            return None
        score = round(100.0 * (1 - edits / max(chars, 1)), 1)
        if score < self.threshold:
            return None
        if v.acronym or (n == 1 and not joined and surfaces[0].all_caps and len(v.tokens[0]) <= 8):
            # acronyms: whole tokens; ordinary-word acronyms only in capitals and in context
            tok = surfaces[0]
            if edits:
                return None
            zipf = self._zipf(v.tokens[0])
            if len(v.tokens[0]) <= 2 or zipf >= self.exact_case_zipf:
                if not tok.all_caps:
                    return None
            elif not lowercase_title and not any(c.isupper() for c in tok.surface) and not self._plain_lower(
                    v.tokens[0], toks, span_tokens):
                return None
            if zipf >= self.ambiguous_zipf and not self._in_context(toks, span_tokens):
                return None
        elif joined and n == 1 and len(surfaces) > 1:
            # a one-word name written as words ("Techno Serve"): each capitalised; ordinary words need context
            if not all(t.capitalised for t in surfaces):
                return None
            if all(self._zipf(t.norm) >= self.ambiguous_zipf for t in surfaces) and not self._in_context(
                    toks, span_tokens):
                return None
        elif n == 1 or (v.common and n <= 2):
            # written as a name: capitalised wherever the directory capitalises it
            if not lowercase_title and not all(
                t.capitalised or not cap for t, cap in zip(surfaces, v.capitals, strict=False)
            ) and not (n == 1 and edits == 0 and self._plain_lower(v.tokens[0], toks, span_tokens)):
                return None
            if n == 1:
                ambiguous = edits == 0 and self._zipf(v.tokens[0]) >= self.ambiguous_zipf
                if ambiguous and lowercase_title and v.capitals[:1] == (True,):
                    return None  # "orange squad standup": nothing shows it is the name
                needs_context = ambiguous
            else:
                # two ordinary words: capitals are evidence unless every word of the title has them
                needs_context = lowercase_title or _title_case(toks)
            if needs_context and not self._in_context(toks, span_tokens):
                return None
        return _Hit(v, span_tokens[0], span_tokens[-1], score, edits)

    def _plain_lower(self, word: str, toks: list[Token], span: list[int]) -> bool:
        """Whether a name written in lower case in a capitalised title still names it: a word of 4+ letters
        that is no English word ("flutterwave", "jica"), where the title shows an organisation."""
        return len(word) >= 4 and self._zipf(word) < self.ambiguous_zipf and self._in_context(toks, span)

    @staticmethod
    def _in_context(toks: list[Token], span: list[int]) -> bool:
        """Whether the tokens around `span` show that it names an organisation."""
        first, last = span[0], span[-1]
        lead = 0  # leading calendar labels ("Canceled:", "FW:") count as the start of the title
        while lead < first and toks[lead].norm in NEUTRAL_LABELS:
            lead += 1
        if lead and ":" not in toks[lead].gap:
            lead = 0
        if lead == first and last == len(toks) - 1:
            return True
        if toks[last].possessive:
            return True
        if last + 1 < len(toks) and TitleMatcher._right(toks, last):
            return True
        return first > lead and TitleMatcher._left(toks, first, lead)

    @staticmethod
    def _right(toks: list[Token], last: int) -> bool:
        nxt = toks[last + 1]
        gap = nxt.gap
        if any(s in gap for s in (")", "<>", "|", ":", " - ", " – ", "@")):
            return True
        if any(s in gap for s in "/+&,") and nxt.capitalised:
            return True
        if nxt.norm in MEETING_WORDS or nxt.norm in LEGAL_SUFFIXES:
            return True
        return nxt.norm in ("x", "and", "vs", "with") and last + 2 < len(toks) and toks[last + 2].capitalised

    @staticmethod
    def _left(toks: list[Token], first: int, lead: int) -> bool:
        while first - 1 > lead and toks[first - 1].norm in ("the", "a", "an"):
            first -= 1  # "with the Acme Trust"
        gap = toks[first].gap
        prev = toks[first - 1]
        if "(" in gap or "<>" in gap or "@" in gap:
            return True
        if any(s in gap for s in "/+&,|") and (prev.capitalised or prev.norm == "w"):
            return True
        if ":" in gap:
            return any(t.norm in MEETING_WORDS or t.norm in LEFT_CUES for t in toks[lead:first])
        if prev.norm in ("x", "and", "vs"):
            return first >= 2 and toks[first - 2].capitalised
        return prev.norm in LEFT_CUES

    def _resolve(self, hits: list[_Hit], toks: list[Token], words: list[tuple[str, int]],
                 text: str) -> tuple[PartnerMatch, ...]:
        hits.sort(key=lambda h: (-(h.last - h.first), -len(h.variant.tokens), -h.score, h.first))
        taken: list[_Hit] = []
        for h in hits:
            clash = False
            for t in taken:
                if h.first <= t.last and t.first <= h.last and t.variant.partner != h.variant.partner:
                    clash = True
                    break
            if not clash:
                taken.append(h)
        best: dict[str, _Hit] = {}
        for h in taken:
            cur = best.get(h.variant.partner)
            if cur is None or h.score > cur.score:
                best[h.variant.partner] = h
        out: list[PartnerMatch] = []
        for h in sorted(best.values(), key=lambda h: h.first):
            quote = text[toks[h.first].start:toks[h.last].end]
            out.append(PartnerMatch(
                partner=h.variant.partner, via="title",
                evidence=f'title "{quote}" ~ {h.variant.label} "{h.variant.text}" ({h.score:g})',
                score=h.score,
            ))
        return tuple(out)

