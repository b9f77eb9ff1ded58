"""Held-out evaluation: generate a NEW labelled split of unseen organisations, run the CLI on it, score it.

    python bench/heldout_eval.py [--seed N] [--staff N] [--partners N] [--out DIR] [--keep] [--details]

The split has exactly the format of the dev split (`../shared/eval/dev/README.md`): partners.csv,
calendars/<email>.ics, settings.toml and truth.json (with `meta` so `score.py` can categorise errors),
but a different organisation ("Southgate Aid"), different staff and ~130 organisations none of which
is in the dev directory (checked at start-up: names, aliases and domains). Titles cover every route
(name, alias, abbrev, variant, typo, lower, case) and every trap (distractor titles, lookalike domains,
similar names, declined attendees, word overlap). The script then runs
`revolving-door partners import / sync --once / events list / collisions list` and prints the score
report and `heldout_event_precision=…`-style lines. `--details` also lists each wrong event→partner pair
with its title.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import shutil
import subprocess
import sys
import tempfile
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parents[1]
SCORER = Path(__file__).resolve().parents[1].parent / "shared/eval/score.py"
DEV_PARTNERS = SCORER.parent / "dev/partners.csv"
WORDS = REPO / "matching/data/common_words.tsv"

ORG_NAME = "Southgate Aid"
ORG_SHORT = "Southgate"
INTERNAL_DOMAINS = ("southgate.org", "field.southgate.org")
ANCHOR = date(2026, 11, 10)  # events from anchor -30 to +59 days: crosses the EU and US DST changes
WINDOW_DAYS = 14

# ---------------------------------------------------------------------------------------------------------------------
# Data tables
# ---------------------------------------------------------------------------------------------------------------------

# name, domains (first is primary), aliases, parent
ORGS: list[tuple[str, str, str, str]] = [
    # names that are ordinary English words, acronyms that are words
    ("Orange", "orange.com;orange-business.com", "Orange S.A.", ""),
    ("Compass Group", "compass-group.com", "Compass", ""),
    ("Target", "target.com", "Target Corporation", ""),
    ("Unity Technologies", "unity.com", "Unity", ""),
    ("Visa", "visa.com", "Visa Inc.", ""),
    ("Stripe", "stripe.com", "", ""),
    ("Zipline", "flyzipline.com", "", ""),
    ("CARE International", "care-international.org", "CARE", ""),
    ("CARE USA", "care.org", "", "CARE International"),
    ("Plan International", "plan-international.org", "", ""),
    ("Plan International UK", "plan-uk.org", "", "Plan International"),
    ("Pact", "pactworld.org", "", ""),
    ("Project HOPE", "projecthope.org", "", ""),
    ("GOAL", "goalglobal.org", "GOAL Global", ""),
    ("ARK", "arkonline.org", "Absolute Return for Kids", ""),
    ("Concern Worldwide", "concern.net", "Concern", ""),
    ("Habitat for Humanity", "habitat.org", "Habitat", ""),
    ("World Health Organization", "who.int", "WHO", ""),
    ("WHO Regional Office for Africa", "afro.who.int", "WHO AFRO", "World Health Organization"),
    ("Peace Corps", "peacecorps.gov", "", ""),
    ("Mercy Ships", "mercyships.org", "", ""),
    ("Amnesty International", "amnesty.org", "Amnesty", ""),
    ("Imperial College London", "imperial.ac.uk", "Imperial", ""),
    ("Yale University", "yale.edu", "Yale", ""),
    # two-word names of common words
    ("Crown Agents", "crownagents.com", "", ""),
    ("Living Goods", "livinggoods.org", "", ""),
    ("Last Mile Health", "lastmilehealth.org", "", ""),
    ("Evidence Action", "evidenceaction.org", "", ""),
    ("Digital Green", "digitalgreen.org", "", ""),
    ("Global Citizen", "globalcitizen.org", "", ""),
    ("Room to Read", "roomtoread.org", "", ""),
    ("Right To Play", "righttoplay.com", "", ""),
    ("Direct Relief", "directrelief.org", "", ""),
    ("Smile Train", "smiletrain.org", "", ""),
    ("Christian Aid", "christianaid.org.uk", "", ""),
    ("Spring Impact", "springimpact.org", "", ""),
    ("World Vision International", "wvi.org", "World Vision", ""),
    ("World Vision US", "worldvision.org", "World Vision USA", "World Vision International"),
    ("Open Society Foundations", "opensocietyfoundations.org", "OSF", ""),
    ("Village Enterprise", "villageenterprise.org", "", ""),
    ("Restless Development", "restlessdevelopment.org", "", ""),
    # foundations, possessives, '&', legal suffixes
    ("Children's Investment Fund Foundation", "ciff.org", "CIFF", ""),
    ("Samaritan's Purse", "samaritanspurse.org", "", ""),
    ("David and Lucile Packard Foundation", "packard.org", "Packard Foundation", ""),
    ("William and Flora Hewlett Foundation", "hewlett.org", "Hewlett Foundation", ""),
    ("MacArthur Foundation", "macfound.org", "John D. and Catherine T. MacArthur Foundation", ""),
    ("W.K. Kellogg Foundation", "wkkf.org", "Kellogg Foundation;WKKF", ""),
    ("Kresge Foundation", "kresge.org", "", ""),
    ("Charles Stewart Mott Foundation", "mott.org", "Mott Foundation", ""),
    ("Open Philanthropy", "openphilanthropy.org", "", ""),
    ("Wellspring Philanthropic Fund", "wellspringphilanthropic.org", "", ""),
    ("Novo Nordisk Foundation", "novonordiskfonden.dk", "", ""),
    ("Robert Bosch Stiftung", "bosch-stiftung.de", "Bosch Foundation", ""),
    ("Siemens Stiftung", "siemens-stiftung.org", "", ""),
    ("Aga Khan Development Network", "akdn.org", "AKDN", ""),
    ("Aga Khan Foundation", "akf.akdn.org", "AKF", "Aga Khan Development Network"),
    ("Aga Khan University", "aku.edu", "AKU", "Aga Khan Development Network"),
    ("Ernst & Young", "ey.com", "EY", ""),
    ("McKinsey & Company", "mckinsey.com", "McKinsey", ""),
    ("Boston Consulting Group", "bcg.com", "BCG", ""),
    ("PricewaterhouseCoopers", "pwc.com", "PwC", ""),
    ("Dalberg", "dalberg.com", "Dalberg Advisors", ""),
    ("Deloitte", "deloitte.com;deloitte.co.uk", "Deloitte LLP", ""),
    ("Deloitte East Africa", "deloitte.co.ke", "", "Deloitte"),
    ("Tetra Tech", "tetratech.com", "Tetra Tech Inc.", ""),
    ("Chemonics International", "chemonics.com", "Chemonics", ""),
    ("DAI Global", "dai.com", "DAI", ""),
    ("Abt Associates", "abtassoc.com", "Abt", ""),
    ("Palladium", "thepalladiumgroup.com", "Palladium Group", ""),
    ("Vodafone Group", "vodafone.com;vodafone.co.uk", "Vodafone", ""),
    ("Vodacom", "vodacom.co.za", "Vodacom Group", "Vodafone Group"),
    ("MTN Group", "mtn.com", "MTN", ""),
    ("Ecobank", "ecobank.com", "Ecobank Transnational", ""),
    ("Equity Bank", "equitybank.co.ke", "Equity Bank Kenya", ""),
    ("Flutterwave", "flutterwave.com", "", ""),
    ("Andela", "andela.com", "", ""),
    ("Jumia", "jumia.com", "Jumia Technologies AG", ""),
    ("Sanofi", "sanofi.com", "Sanofi S.A.", ""),
    ("Pfizer", "pfizer.com", "Pfizer Inc.", ""),
    # NGOs, accents, hyphens
    ("Tearfund", "tearfund.org", "", ""),
    ("Trócaire", "trocaire.org", "", ""),
    ("Welthungerhilfe", "welthungerhilfe.de", "", ""),
    ("Terre des Hommes", "tdh.ch", "Terre des hommes Foundation", ""),
    ("Humanity & Inclusion", "hi.org;handicap-international.org", "Handicap International", ""),
    ("Solidarités International", "solidarites.org", "", ""),
    ("Médecins du Monde", "medecinsdumonde.org;doctorsoftheworld.org", "Doctors of the World", ""),
    ("Brot für die Welt", "brot-fuer-die-welt.de;bfdw.de", "Bread for the World", ""),
    ("Caritas Internationalis", "caritas.org", "Caritas", ""),
    ("Catholic Agency for Overseas Development", "cafod.org.uk", "CAFOD", ""),
    ("Tostan", "tostan.org", "", ""),
    ("Sightsavers", "sightsavers.org", "", ""),
    ("Helen Keller Intl", "hki.org", "Helen Keller International", ""),
    ("Population Services International", "psi.org", "PSI", ""),
    ("Management Sciences for Health", "msh.org", "MSH", ""),
    ("IntraHealth International", "intrahealth.org", "IntraHealth", ""),
    ("TechnoServe", "technoserve.org", "", ""),
    ("GiveDirectly", "givedirectly.org", "", ""),
    ("International Justice Mission", "ijm.org", "IJM", ""),
    ("Internews", "internews.org", "", ""),
    ("Frontline AIDS", "frontlineaids.org", "", ""),
    ("Inter-American Development Bank", "iadb.org", "IDB", ""),
    ("African Development Bank", "afdb.org", "AfDB", ""),
    ("World Food Programme", "wfp.org;wfp.int", "WFP", ""),
    ("UNHCR", "unhcr.org", "UN Refugee Agency", ""),
    ("UNDP", "undp.org", "United Nations Development Programme", ""),
    ("International Labour Organization", "ilo.org", "ILO", ""),
    ("International Organization for Migration", "iom.int", "IOM", ""),
    ("IFAD", "ifad.org", "International Fund for Agricultural Development", ""),
    ("CGIAR", "cgiar.org", "", ""),
    ("International Livestock Research Institute", "ilri.org", "ILRI", "CGIAR"),
    ("International Food Policy Research Institute", "ifpri.org", "IFPRI", "CGIAR"),
    # agencies and ministries
    ("Agence Française de Développement", "afd.fr", "AFD", ""),
    ("KfW Development Bank", "kfw.de;kfw-entwicklungsbank.de", "KfW", ""),
    ("Japan International Cooperation Agency", "jica.go.jp", "JICA", ""),
    ("Swiss Agency for Development and Cooperation", "eda.admin.ch", "SDC", ""),
    ("Sida", "sida.se", "Swedish International Development Cooperation Agency", ""),
    ("Australian Department of Foreign Affairs and Trade", "dfat.gov.au", "DFAT", ""),
    ("Department of Health and Social Care", "dhsc.gov.uk", "DHSC", ""),
    ("Kenya Ministry of Health", "health.go.ke", "Kenya MoH", ""),
    ("Uganda Ministry of Health", "health.go.ug", "Uganda MoH", ""),
    ("Finnish Ministry for Foreign Affairs", "um.fi;formin.fi", "Finland MFA", ""),
    ("Dutch Ministry of Foreign Affairs", "minbuza.nl", "Netherlands MFA", ""),
    ("New Zealand Ministry for Primary Industries", "mpi.govt.nz", "MPI", ""),
    ("Government of Rwanda", "gov.rw", "GoR", ""),
    ("Rwanda Biomedical Centre", "rbc.gov.rw", "RBC", "Government of Rwanda"),
    # universities
    ("University of Oxford", "ox.ac.uk", "Oxford;Oxford University", ""),
    ("Blavatnik School of Government", "bsg.ox.ac.uk", "Blavatnik School", "University of Oxford"),
    ("University College London", "ucl.ac.uk", "UCL", ""),
    ("Stanford University", "stanford.edu", "Stanford", ""),
    ("Columbia University", "columbia.edu", "", ""),
    ("Mailman School of Public Health", "mailman.columbia.edu", "Columbia Mailman", "Columbia University"),
    ("University of Edinburgh", "ed.ac.uk", "", ""),
    ("University of Sydney", "sydney.edu.au", "USyd", ""),
    ("University of the Witwatersrand", "wits.ac.za", "Wits University", ""),
    ("Strathmore University", "strathmore.edu", "", ""),
    ("Kenyatta University", "ku.ac.ke", "", ""),
    ("University of Ghana", "ug.edu.gh", "", ""),
]

# Titles where a word coincides with a partner name but names no organisation: (title, partner, trap).
DISTRACTORS: list[tuple[str, str, str]] = [
    ("Orange juice and pastries for the team breakfast", "Orange", "distractor_title"),
    ("Target setting for 2027 OKRs", "Target", "distractor_title"),
    ("Sales target review", "Target", "distractor_title"),
    ("Visa appointment at the consulate", "Visa", "distractor_title"),
    ("Visa renewal reminder", "Visa", "distractor_title"),
    ("Team Unity Day", "Unity Technologies", "distractor_title"),
    ("Moral Compass book club", "Compass Group", "distractor_title"),
    ("Care package assembly for field staff", "CARE International", "distractor_title"),
    ("Self-care workshop", "CARE International", "distractor_title"),
    ("Goal setting session", "GOAL", "distractor_title"),
    ("Who's covering the front desk?", "World Health Organization", "distractor_title"),
    ("Concern raised by auditors - follow-up", "Concern Worldwide", "distractor_title"),
    ("Habitat restoration webinar", "Habitat for Humanity", "distractor_title"),
    ("Imperial to metric conversion guide", "Imperial College London", "distractor_title"),
    ("Stripe colours for the annual report cover", "Stripe", "distractor_title"),
    ("Tax amnesty briefing", "Amnesty International", "distractor_title"),
    ("Oxford comma style guide refresh", "University of Oxford", "distractor_title"),
    ("Yale lock replacement - office", "Yale University", "distractor_title"),
    ("Zipline team-building day", "Zipline", "distractor_title"),
    ("Ark building workshop for staff kids", "ARK", "distractor_title"),
    ("Peace talks simulation exercise", "Peace Corps", "word_overlap"),
    ("Last mile delivery logistics", "Last Mile Health", "word_overlap"),
    ("Direct relief payments policy", "Direct Relief", "word_overlap"),
    ("Digital green skills training", "Digital Green", "word_overlap"),
    ("Global citizen award nominations", "Global Citizen", "word_overlap"),
    ("Quiet room to read reports", "Room to Read", "word_overlap"),
    ("Our world vision: strategy retreat", "World Vision International", "word_overlap"),
    ("Open society and its enemies - reading group", "Open Society Foundations", "word_overlap"),
    ("Spring cleaning of the shared drive", "Spring Impact", "word_overlap"),
    ("Equity review of salary bands", "Equity Bank", "word_overlap"),
    ("Business plan international expansion", "Plan International", "word_overlap"),
    ("Living goods inventory check", "Living Goods", "word_overlap"),
    ("Evidence action plan review", "Evidence Action", "word_overlap"),
    ("Smile train photo booth at the party", "Smile Train", "word_overlap"),
    ("Crown agents of change: staff awards", "Crown Agents", "word_overlap"),
]

TOPICS = ["nutrition", "cash transfers", "WASH", "school feeding", "digital ID", "climate adaptation",
          "maternal health", "GBV prevention", "livelihoods", "education in emergencies", "M&E framework",
          "market systems", "early warning"]
# (template, kind): {p} is the partner mention, {t} a topic, {x} a person's first name, {o} our short name.
PARTNER_TITLES = ["{p} quarterly review", "Meeting with {p}", "{p} <> {o}: {t}", "Intro: {p} x {o}", "Sync w/ {p}",
                  "Proposal debrief - {p}", "Touch base: {p}", "Call with {p} re {t}", "{p} site visit planning",
                  "{t} workshop ({p})", "{o}-{p} steering committee", "{p} / {o} catch-up", "Weekly {p} sync",
                  "Lunch: {x} / {p}", "{p} {t} update", "{p}'s {t} team + SGA"]
FREEMAIL_TITLES = ["Coffee w/ {x} ({p})", "Catch-up with {x} from {p}", "{x} ({p}) <> {o}", "{p} - informal chat"]
INTERNAL_PREP_TITLES = ["Prep for {p} meeting", "Internal debrief: {p} call", "Prep: {p} pitch deck",
                        "{p} proposal - internal review"]
ALLDAY_PARTNER_TITLES = ["{p} field visit", "Mission: {p} {t}", "{p} annual meeting"]
JOINT_TITLES = ["{p}/{q} joint {t} review", "Roundtable: {p}, {q} and {o}"]
NEUTRAL_TITLES = ["Quarterly check-in", "Monthly sync", "Draft agreement review", "Program review", "Follow-up call",
                  "Introductions", "Reporting call", "Budget discussion", "Technical review: {t}",
                  "Site visit planning", "{t} working session", "Intro call"]
INTERNAL_TITLES = ["Travel planning", "Security briefing", "Programme leads meeting", "Q1 planning", "Board prep",
                   "Weekly team meeting", "HR benefits Q&A", "Finance close", "All hands", "IT onboarding",
                   "Leadership offsite prep", "Grant compliance training", "Recruitment panel", "Comms review"]
TOOL_TITLES = ["Vendor demo", "Software licence renewal", "Conference logistics", "Webinar dry run"]
ALLDAY_OTHER = ["Out of office", "Public holiday", "Conference: Africa Health ExCon", "Staff retreat", "Annual leave"]
ABBREVIATIONS = {"Foundation": "Fdn", "International": "Intl", "University": "Univ.", "Association": "Assn",
                 "Department": "Dept", "Government": "Govt", "Ministry": "Min.", "Development": "Dev.",
                 "Institute": "Inst."}
VARIANTS = [(" & ", " and "), (" and ", " & "), ("Organization", "Organisation"), ("Programme", "Program"),
            ("Centre", "Center"), ("Labour", "Labor"), ("Corporation", "Corp"), ("Company", "Co."),
            ("Stiftung", "Foundation"), ("Inter-", "Inter "), ("Intl", "International")]
LEGAL = (" Inc.", " S.A.", " LLP", " AG", " plc", " Ltd")
FIRST = ["Amara", "Bilal", "Carmen", "Dawit", "Elena", "Farid", "Gloria", "Hamza", "Ingrid", "Jamal", "Keiko", "Lucia",
         "Mateo", "Nadia", "Oscar", "Pooja", "Rahel", "Sipho", "Tamar", "Umar", "Vanessa", "Wairimu", "Yusuf", "Zainab",
         "Aiko", "Bruno", "Chiara", "Desta", "Emeka", "Fatou", "Goran", "Hiroshi", "Imani", "Jonas", "Kalinda", "Leila"]
LAST = ["Achterberg", "Banda", "Castillo", "Diallo", "Eze", "Fofana", "Gruber", "Haile", "Ivanova", "Juma", "Kamau",
        "Lindqvist", "Mensah", "Nakato", "Ortiz", "Phiri", "Quispe", "Rahman", "Sato", "Tembo", "Uddin", "Varga",
        "Wekesa", "Yilmaz", "Zulu", "Abdi", "Bergström", "Cohen", "Dlamini", "Esposito"]
FREEMAIL = ["gmail.com", "outlook.com", "yahoo.com", "proton.me", "hotmail.com", "icloud.com", "yahoo.co.uk", "gmx.de"]
TOOLS = ["noreply@zoom.us", "calendar-notification@google.com", "no-reply@calendly.com", "notifications@webex.com",
         "noreply@doodle.com"]
UNKNOWN_DOMAINS = ["brightline-consulting.com", "kilimo-data.co.ke", "hartwell-events.com", "nairobi-printers.com",
                   "lexicon-translations.eu", "fieldkit.io", "savanna-travel.com", "auditpartners-ea.com"]
ZONES = ["Europe/London", "America/New_York", "Europe/Berlin", "Africa/Nairobi", "Asia/Tokyo", "Australia/Sydney"]
SUBDOMAINS = ["mail", "field", "us", "africa", "hq", "eu", "staff"]
MULTI_SUFFIXES = {"ac.uk", "org.uk", "gov.uk", "co.uk", "gov.au", "edu.au", "org.au", "go.ke", "co.ke", "ac.ke",
                  "go.ug", "ac.za", "co.za", "go.jp", "govt.nz", "edu.gh", "gov.rw", "admin.ch"}
GENERIC = {"international", "university", "foundation", "group", "ministry", "of", "for", "the", "and", "health",
           "development", "school", "bank", "world", "global", "us", "uk", "usa", "agency", "institute",
           "research", "public", "department", "college", "&"}

# VTIMEZONE blocks of the zones used (offsets in 2026/27).
VTIMEZONES = {
    "Europe/London": ("+0000", "+0100", "GMT", "BST", "19700329T010000", "-1SU", 3, "19701025T020000", "-1SU", 10),
    "Europe/Berlin": ("+0100", "+0200", "CET", "CEST", "19700329T020000", "-1SU", 3, "19701025T030000", "-1SU", 10),
    "America/New_York": ("-0500", "-0400", "EST", "EDT", "19700308T020000", "2SU", 3, "19701101T020000", "1SU", 11),
    "Australia/Sydney": ("+1000", "+1100", "AEST", "AEDT", "19701004T020000", "1SU", 10, "19700405T030000", "1SU", 4),
}
FIXED_ZONES = {"Africa/Nairobi": ("+0300", "EAT"), "Asia/Tokyo": ("+0900", "JST")}

# ---------------------------------------------------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Org:
    name: str
    domains: tuple[str, ...]
    aliases: tuple[str, ...]
    parent: str
    owner: str = ""


@dataclass
class Person:
    email: str
    cn: str
    partstat: str = "ACCEPTED"
    cutype: str = "INDIVIDUAL"
    route: str = ""
    """How the address leads to its partner (`domain`, `domain:case`, …), if it does."""


@dataclass
class Event:
    uid: str
    title: str
    start: datetime  # aware, in its zone (UTC for `Z`)
    zone: str  # "UTC", a tz name, or "DATE" (all-day)
    minutes: int
    organizer: Person
    attendees: list[Person]
    cat: str
    title_routes: dict[str, str] = field(default_factory=dict)
    traps: dict[str, str] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    cancelled: bool = False
    count: int = 1
    interval: int = 1
    exdate: int | None = None  # index of the removed occurrence
    until: bool = False
    byday: bool = False
    allday_days: int = 1
    location: str = ""
    zoom: bool = False


@dataclass
class Occurrence:
    key: str
    uid: str
    start: datetime  # UTC
    event: Event


# ---------------------------------------------------------------------------------------------------------------------
# Directory
# ---------------------------------------------------------------------------------------------------------------------


def load_orgs() -> list[Org]:
    """The organisation table as Org records."""
    return [Org(n, tuple(d.split(";")), tuple(a for a in al.split(";") if a), p) for n, d, al, p in ORGS]


def fold(text: str) -> str:
    """Lower-case, accents removed, whitespace squeezed."""
    text = unicodedata.normalize("NFKD", text)
    return " ".join("".join(c for c in text if not unicodedata.combining(c)).lower().split())


def check_disjoint_from_dev(orgs: list[Org], dev_csv: Path) -> None:
    """Refuse any organisation whose name, alias or domain is in the dev directory."""
    if not dev_csv.exists():
        return
    names: set[str] = set()
    domains: set[str] = set()
    with dev_csv.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            names.add(fold(row["name"]))
            names.update(fold(a) for a in row["aliases"].split(";") if a.strip())
            domains.update(d.strip().lower() for d in row["domains"].split(";") if d.strip())
    clashes = []
    for o in orgs:
        for text in (o.name, *o.aliases):
            if fold(text) in names:
                clashes.append(f"{o.name}: name/alias {text!r}")
        for d in o.domains:
            if d in domains or any(d.endswith("." + x) or x.endswith("." + d) for x in domains):
                clashes.append(f"{o.name}: domain {d!r}")
    if clashes:
        raise SystemExit("held-out organisations overlap the dev set:\n  " + "\n  ".join(clashes))


def select_orgs(orgs: list[Org], n: int, rng: random.Random) -> list[Org]:
    """`n` organisations (all if n ≥ the table), parents of chosen children included."""
    by_name = {o.name: o for o in orgs}
    chosen = {o.name for o in (orgs if n >= len(orgs) else rng.sample(orgs, n))}
    for name in list(chosen):
        while by_name[name].parent:
            name = by_name[name].parent
            chosen.add(name)
    return [o for o in orgs if o.name in chosen]


def registrable(host: str) -> str:
    """The registrable domain of a host, by the few multi-label suffixes used here."""
    labels = host.split(".")
    return ".".join(labels[-3:]) if ".".join(labels[-2:]) in MULTI_SUFFIXES else ".".join(labels[-2:])


class Directory:
    """Partners with the README's host → partner and family rules."""

    def __init__(self, orgs: list[Org]) -> None:
        self.orgs = orgs
        self.by_name = {o.name: o for o in orgs}
        self.domain_of = {d: o.name for o in orgs for d in o.domains}

    def partner_of_host(self, host: str) -> str | None:
        """The partner with the longest domain equal to or a dot-suffix of `host`."""
        labels = host.lower().split(".")
        for i in range(len(labels)):
            hit = self.domain_of.get(".".join(labels[i:]))
            if hit:
                return hit
        return None

    def root(self, name: str) -> str:
        while self.by_name[name].parent:
            name = self.by_name[name].parent
        return name

    def similar(self, name: str) -> list[str]:
        """Partners sharing a distinctive word with `name` (likely confusions)."""
        mine = set(fold(name).split()) - GENERIC
        return [o.name for o in self.orgs if o.name != name and mine & (set(fold(o.name).split()) - GENERIC)]


# ---------------------------------------------------------------------------------------------------------------------
# Title mentions (routes)
# ---------------------------------------------------------------------------------------------------------------------




def load_common_words() -> set[str]:
    """Frequent English words (Zipf ≥ 3), so that typos never produce one and lower-case names stay unambiguous."""
    if not WORDS.exists():
        return set()
    out = set()
    for line in WORDS.read_text(encoding="utf-8").splitlines():
        word, _, freq = line.partition("\t")
        if freq and not line.startswith("#") and float(freq) >= 3.0:
            out.add(word)
    return out


class Mentions:
    """Ways a title can name a partner, one per route; None when a route does not apply to a name."""

    def __init__(self, directory: Directory, common: set[str], rng: random.Random) -> None:
        self.directory = directory
        self.common = common
        self.rng = rng
        self.vocab = {w for o in directory.orgs for t in (o.name, *o.aliases) for w in fold(t).split()}

    def _all_common(self, text: str) -> bool:
        """Whether every word is an ordinary English word (then a lower-case mention would be ambiguous)."""
        words = fold(text).replace("-", " ").replace("'s ", " ").replace("&", " ").split()
        return all(w.strip(".,'’") in self.common or len(w) <= 3 for w in words)

    def make(self, org: Org, route: str) -> str | None:
        """The mention of `org` by `route` (`name`, `alias`, …), or None if the route does not apply."""
        return getattr(self, "_" + route)(org)

    def _name(self, org: Org) -> str:
        return org.name

    def _alias(self, org: Org) -> str | None:
        return self.rng.choice(org.aliases) if org.aliases else None

    def _abbrev(self, org: Org) -> str | None:
        for text in (org.name, *org.aliases):
            words = text.split()
            if any(w in ABBREVIATIONS for w in words):
                return " ".join(ABBREVIATIONS.get(w, w) for w in words)
        return None

    def _variant(self, org: Org) -> str | None:
        options = []
        stripped = fold(org.name) if not org.name.isascii() else ""
        if stripped:
            options.append(" ".join(a if a.isascii() else b for a, b in zip(org.name.split(), stripped.split(),
                                                                             strict=True)))
        options += [org.name.replace(a, b) for a, b in VARIANTS if a in org.name]
        options += [a[: -len(s)] for a in org.aliases for s in LEGAL if a.endswith(s)]
        if any(c.isupper() for c in org.name[1:]) and " " not in org.name and not org.name.isupper():
            options.append("".join(" " + c if c.isupper() and i else c for i, c in enumerate(org.name)))
        options = [o for o in options if o != org.name and fold(o) not in {fold(a) for a in org.aliases}]
        return self.rng.choice(options) if options else None

    def _typo(self, org: Org) -> str | None:
        text = org.name
        words = text.split()
        # acronyms are not typo'd: a misspelt acronym ("UNCHR") may be another body's
        eligible = [i for i, w in enumerate(words)
                    if len(w) >= 5 and w.isalpha() and not w.isupper() and w.lower() not in GENERIC_SKIP]
        if not eligible:
            return None
        edits = 2 if len(eligible) >= 2 and len(text) >= 14 and self.rng.random() < 0.3 else 1
        for _ in range(20):
            out = list(words)
            for i in self.rng.sample(eligible, edits):
                out[i] = self._edit(words[i])
            changed = [out[i] for i in range(len(words)) if out[i] != words[i]]
            if len(changed) == edits and not any(w.lower() in self.common or w.lower() in self.vocab for w in changed):
                return " ".join(out)
        return None

    def _edit(self, word: str) -> str:
        i = self.rng.randrange(1, len(word) - 1)
        kind = self.rng.choice(["swap", "drop", "double", "sub"])
        if kind == "swap" and word[i] != word[i + 1]:
            return word[:i] + word[i + 1] + word[i] + word[i + 2:]
        if kind == "drop":
            return word[:i] + word[i + 1:]
        if kind == "double":
            return word[:i] + word[i] + word[i:]
        near = {"a": "s", "e": "r", "i": "o", "o": "i", "n": "m", "r": "t", "s": "a", "t": "r", "u": "y", "l": "k"}
        return word[:i] + near.get(word[i].lower(), "e") + word[i + 1:] if word[i].lower() in near else word

    def _lower(self, org: Org) -> str | None:
        text = self.rng.choice([org.name, *org.aliases])
        if self._all_common(text) or len(text) <= 3:
            return None
        return text.lower()

    def _case(self, org: Org) -> str | None:
        for text in (org.name, *org.aliases):
            if text.isupper() and text.isalpha() and len(text) >= 3 and text.lower() not in self.common:
                return text.capitalize()
        if " " not in org.name and org.name.isalpha() and not org.name.isupper() and not self._all_common(org.name):
            return org.name.upper()
        return None


GENERIC_SKIP = {"international", "university", "foundation", "ministry", "development", "institute", "school"}
ROUTE_WEIGHTS = {"name": 30, "alias": 22, "typo": 14, "abbrev": 9, "variant": 9, "lower": 8, "case": 8}


# ---------------------------------------------------------------------------------------------------------------------
# Events
# ---------------------------------------------------------------------------------------------------------------------


class Generator:
    """Builds staff, partners' people and events of every category."""

    def __init__(self, rng: random.Random, directory: Directory, staff: list[Person], common: set[str]) -> None:
        self.rng = rng
        self.directory = directory
        self.staff = staff
        self.mentions = Mentions(directory, common, rng)
        self.events: list[Event] = []
        self._uids: set[str] = set()

    # ---- small helpers ----
    def uid(self) -> str:
        r = self.rng
        while True:
            style = r.randrange(3)
            if style == 0:
                u = "".join(r.choice("abcdefghijklmnopqrstuv0123456789") for _ in range(26)) + "@google.com"
            elif style == 1:
                u = "040000008200E00074C5B7101A82E00800000000" + "".join(r.choice("0123456789ABCDEF")
                                                                          for _ in range(56))
            else:
                h = "".join(r.choice("0123456789abcdef") for _ in range(32))
                u = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
            if u not in self._uids:
                self._uids.add(u)
                return u

    def person_name(self) -> tuple[str, str]:
        return self.rng.choice(FIRST), self.rng.choice(LAST)

    def when(self, zone: str | None = None, day: int | None = None) -> tuple[datetime, str]:
        """A start on a weekday: (aware local datetime, zone label)."""
        r = self.rng
        zone = zone or r.choice([*ZONES, "UTC", "UTC"])
        d = ANCHOR + timedelta(days=r.randrange(-30, 60) if day is None else day)
        while d.weekday() >= 5:
            d += timedelta(days=1)
        hour, minute = r.choice([8, 9, 10, 11, 13, 14, 15, 16, 17]), r.choice([0, 0, 30, 15])
        tz = UTC if zone == "UTC" else ZoneInfo(zone)
        return datetime.combine(d, time(hour, minute), tz), zone

    def tz_boundary(self) -> tuple[datetime, str]:
        """A start whose UTC date differs from its local date (Sydney morning, New York evening)."""
        d = ANCHOR + timedelta(days=self.rng.randrange(-28, 55))
        while d.weekday() >= 5:
            d += timedelta(days=1)
        if self.rng.random() < 0.5:
            return datetime.combine(d, time(9, 0), ZoneInfo("Australia/Sydney")), "Australia/Sydney"
        return datetime.combine(d, time(19, 30), ZoneInfo("America/New_York")), "America/New_York"

    def pick_staff(self, k: int) -> list[Person]:
        return [Person(p.email, p.cn) for p in self.rng.sample(self.staff, k)]

    def external(self, org: Org, route: str = "") -> Person:
        """A person of `org` whose address reaches it by `route` (random if empty)."""
        r = self.rng
        first, last = self.person_name()
        local = fold(f"{first}.{last}").replace(" ", "")
        route = route or r.choices(["domain", "domain:case", "domain:plus", "domain:subdomain", "domain:secondary"],
                                   [55, 15, 8, 14, 8])[0]
        host = org.domains[0]
        if route == "domain:secondary":
            if len(org.domains) < 2:
                route = "domain"
            else:
                host = r.choice(org.domains[1:])
        if route == "domain:subdomain":
            host = f"{r.choice(SUBDOMAINS)}.{host}"
            if self.directory.partner_of_host(host) != org.name:
                host, route = org.domains[0], "domain"
        if route == "domain:plus":
            local += "+" + r.choice(["cal", "work", "events"])
        if route == "domain:case":
            host = host.capitalize() if r.random() < 0.5 else host.upper()
            local = local.capitalize()
        matched = next(d for d in org.domains if host.lower() == d or host.lower().endswith("." + d))
        if registrable(matched) != matched:  # a partner domain below the registrable domain
            route = "domain:deep" if route == "domain" else route + "+deep"
        return Person(f"{local}@{host}", f"{first} {last}", route=route)

    def freemail(self) -> Person:
        first, last = self.person_name()
        return Person(f"{fold(first)}.{fold(last)}{self.rng.randrange(10, 99)}@{self.rng.choice(FREEMAIL)}",
                      f"{first} {last}")

    def mention(self, org: Org, allowed: tuple[str, ...] = tuple(ROUTE_WEIGHTS)) -> tuple[str, str]:
        """(text, route) naming `org` in a title."""
        routes = [r for r in ROUTE_WEIGHTS if r in allowed]
        route = self.rng.choices(routes, [ROUTE_WEIGHTS[r] for r in routes])[0]
        text = self.mentions.make(org, route)
        return (text, route) if text else (org.name, "name")

    def fill(self, template: str, **names: str) -> str:
        first, _ = self.person_name()
        return template.format(t=self.rng.choice(TOPICS), x=first, o=ORG_SHORT, **names)

    def title_for(self, org: Org, templates: list[str]) -> tuple[str, str]:
        text, route = self.mention(org)
        template = self.rng.choice(templates)
        if text.endswith("s") and "{p}'s" in template:
            template = "{p} {t} update"
        title = self.fill(template, p=text)
        if route == "lower" and self.rng.random() < 0.3:
            title = title.lower()
        return title, "title:" + route

    def add(self, ev: Event) -> Event:
        self.events.append(ev)
        return ev

    def event(self, cat: str, title: str, internal: list[Person], external: list[Person],
              *, when: tuple[datetime, str] | None = None, organizer: Person | None = None) -> Event:
        start, zone = when or self.when()
        organizer = organizer or internal[0]
        attendees = [*internal, *external]
        if organizer.email not in {a.email for a in attendees}:
            attendees.append(organizer)
        self.rng.shuffle(attendees)
        ev = Event(self.uid(), title, start, zone, self.rng.choice([30, 45, 60, 90]), organizer, attendees, cat)
        r = self.rng.random()
        if r < 0.25:
            ev.zoom = True
        elif r < 0.45:
            ev.location = self.rng.choice(["Boardroom", "Phone", f"{ORG_SHORT} HQ, 3rd floor", "Nairobi office"])
        if self.rng.random() < 0.15:
            self.add_room(ev)
        return ev

    def add_room(self, ev: Event) -> None:
        r = self.rng
        kind, email = r.choice([("ROOM", f"nbo-boardroom@{INTERNAL_DOMAINS[0]}"),
                                ("ROOM", f"c_{r.randrange(10**8)}@resource.calendar.google.com"),
                                ("RESOURCE", f"projector-2@{INTERNAL_DOMAINS[0]}"),
                                ("ROOM", f"ldn-3-huddle@{INTERNAL_DOMAINS[1]}")])
        ev.attendees.append(Person(email, "Room " + email.split("@")[0], cutype=kind))

    def recurring(self, ev: Event) -> None:
        r = self.rng
        ev.count = r.randrange(2, 9)
        ev.interval = 2 if r.random() < 0.2 else 1
        ev.byday = r.random() < 0.5
        ev.until = r.random() < 0.3
        if ev.count >= 3 and r.random() < 0.35:
            ev.exdate = r.randrange(1, ev.count)
        if ev.zone in ("UTC", "DATE"):
            ev.zone = r.choice(ZONES)
            ev.start = ev.start.replace(tzinfo=ZoneInfo(ev.zone))
        ev.tags.append("recurring")

    def decline_some(self, internal: list[Person]) -> None:
        if len(internal) >= 2 and self.rng.random() < 0.12:
            internal[-1].partstat = "DECLINED"
        for p in internal:
            if p.partstat == "ACCEPTED" and self.rng.random() < 0.15:
                p.partstat = self.rng.choice(["TENTATIVE", "NEEDS-ACTION"])

    # ---- categories ----
    def internal_meeting(self) -> None:
        people = self.pick_staff(self.rng.randrange(1, 5))
        self.decline_some(people)
        ev = self.add(self.event("internal", self.fill(self.rng.choice(INTERNAL_TITLES)), people, []))
        if self.rng.random() < 0.2:
            self.recurring(ev)

    def partner_meeting(self, cat: str = "partner", org: Org | None = None, *, recurring: bool | None = None,
                        when: tuple[datetime, str] | None = None, people: list[Person] | None = None) -> Event:
        r = self.rng
        org = org or r.choice(self.directory.orgs)
        people = people or self.pick_staff(r.randrange(1, 4))
        self.decline_some(people)
        guests = [self.external(org) for _ in range(r.randrange(1, 3))]
        named = r.random() < 0.6
        if named:
            title, route = self.title_for(org, PARTNER_TITLES)
        else:
            title, route = self.fill(r.choice(NEUTRAL_TITLES)), ""
        organizer = guests[0] if r.random() < 0.15 else people[0]
        if when is None and r.random() < 0.05:
            when = self.tz_boundary()
        ev = self.event(cat, title, people, guests, when=when, organizer=organizer)
        if when is not None and when[1] in ("Australia/Sydney", "America/New_York") and when[0].hour in (9, 19):
            ev.tags.append("tz_boundary")
        if named:
            ev.title_routes[org.name] = route
        if recurring if recurring is not None else r.random() < 0.2:
            self.recurring(ev)
        return self.add(ev)

    def planned_pair(self) -> None:
        """Two meetings with one family near the window edge, or sharing staff, or one cancelled."""
        r = self.rng
        org = r.choice(self.directory.orgs)
        a, b = self.pick_staff(2)
        start, zone = self.when("UTC", day=r.randrange(-30, 40))
        kind = r.choice(["exact_window", "near_miss_window", "shared_attendee", "cancelled_pair"])
        gap = timedelta(days=WINDOW_DAYS)
        if kind == "near_miss_window":
            gap += timedelta(hours=r.randrange(1, 47))
        elif kind in ("shared_attendee", "cancelled_pair"):
            gap = timedelta(days=r.randrange(1, 12))
        first = self.partner_meeting("planned", org, recurring=False, when=(start, zone), people=[a])
        second = self.partner_meeting("planned", org, recurring=False, when=(start + gap, zone),
                                      people=[Person(a.email, a.cn) if kind == "shared_attendee" else b])
        for p in (*first.attendees, *second.attendees):
            if p.email in (a.email, b.email):
                p.partstat = "ACCEPTED"
        if kind == "cancelled_pair":
            second.cancelled = True
            second.cat = "cancelled"
        first.tags.append(kind)
        second.tags.append(kind)

    def title_only(self, cat: str) -> None:
        r = self.rng
        org = r.choice(self.directory.orgs)
        people = self.pick_staff(r.randrange(1, 3))
        templates = FREEMAIL_TITLES if cat == "title_only_freemail" else INTERNAL_PREP_TITLES
        title, route = self.title_for(org, templates)
        guests = [self.freemail()] if cat == "title_only_freemail" else []
        ev = self.add(self.event(cat, title, people, guests))
        ev.title_routes[org.name] = route

    def joint(self) -> None:
        r = self.rng
        a, b = r.sample(self.directory.orgs, 2)
        if self.directory.root(a.name) == self.directory.root(b.name):
            return
        people = self.pick_staff(r.randrange(1, 4))
        if r.random() < 0.5:
            title = self.fill(r.choice(NEUTRAL_TITLES))
            ev = self.add(self.event("joint", title, people, [self.external(a), self.external(b)]))
            return
        (pa, ra), (pb, rb) = self.mention(a), self.mention(b)
        title = self.fill(r.choice(JOINT_TITLES), p=pa, q=pb)
        guests = [self.external(a)] if r.random() < 0.5 else []
        ev = self.add(self.event("joint", title, people, guests))
        ev.title_routes.update({a.name: "title:" + ra, b.name: "title:" + rb})

    def allday(self, with_partner: bool) -> None:
        r = self.rng
        people = self.pick_staff(r.randrange(1, 3))
        start, _ = self.when("UTC")
        when = (start.replace(hour=0, minute=0), "DATE")
        if with_partner:
            org = r.choice(self.directory.orgs)
            title, route = self.title_for(org, ALLDAY_PARTNER_TITLES)
            ev = self.add(self.event("allday_partner", title, people, [], when=when))
            ev.title_routes[org.name] = route
        else:
            ev = self.add(self.event("allday_other", self.fill(r.choice(ALLDAY_OTHER)), people, [], when=when))
        ev.allday_days = r.choice([1, 1, 1, 2, 3])

    def distractor(self) -> None:
        title, partner, trap = self.rng.choice(DISTRACTORS)
        if partner not in self.directory.by_name:
            return
        people = self.pick_staff(self.rng.randrange(1, 4))
        ev = self.add(self.event("distractor", title, people, []))
        ev.traps[partner] = trap

    def no_partner_guests(self, cat: str) -> None:
        r = self.rng
        people = self.pick_staff(r.randrange(1, 3))
        guests: list[Person] = []
        title = self.fill(r.choice(NEUTRAL_TITLES))
        trap = ""
        if cat == "freemail_only":
            guests = [self.freemail() for _ in range(r.randrange(1, 3))]
        elif cat == "tool_address":
            guests = [Person(r.choice(TOOLS), "Notifications")]
            title = r.choice(TOOL_TITLES)
        elif cat == "unknown_domain":
            first, last = self.person_name()
            guests = [Person(f"{fold(first)}@{r.choice(UNKNOWN_DOMAINS)}", f"{first} {last}")]
        else:  # lookalike_domain
            org = r.choice(self.directory.orgs)
            host = self.lookalike(org)
            if host is None:
                return
            guests = [Person(f"{fold(self.person_name()[0])}@{host}", "Guest")]
            trap = org.name
        ev = self.add(self.event(cat, title, people, guests))
        if trap:
            ev.traps[trap] = "lookalike_domain"

    def lookalike(self, org: Org) -> str | None:
        reg = registrable(org.domains[0])
        stem = reg.split(".")[0]
        for host in self.rng.sample([f"{stem}-careers.com", f"my{stem}.org", f"{stem}-events.net", f"{stem}mail.com",
                                     f"{stem}.{reg.split('.')[-1]}.example.com", f"{stem}-jobs.org"], 6):
            if self.directory.partner_of_host(host) is None:
                return host
        return None

    def declined_guest(self) -> None:
        """A partner's person declined; another partner (or none) attends."""
        r = self.rng
        a, b = r.sample(self.directory.orgs, 2)
        people = self.pick_staff(r.randrange(1, 3))
        gone = self.external(a, "domain")
        gone.partstat = "DECLINED"
        guests = [gone] + ([self.external(b)] if r.random() < 0.5 else [])
        ev = self.add(self.event("partner", self.fill(r.choice(NEUTRAL_TITLES)), people, guests))
        if self.directory.root(a.name) != self.directory.root(b.name) or len(guests) == 1:
            ev.traps[a.name] = "declined_attendee"

    def inactive(self, cat: str) -> None:
        ev = self.partner_meeting(cat, recurring=self.rng.random() < 0.15)
        if cat == "cancelled":
            ev.cancelled = True
            if self.rng.random() < 0.4:
                ev.title = self.rng.choice(["Canceled: ", "Cancelled: "]) + ev.title
        else:
            for p in ev.attendees:
                if is_internal(p.email) and p.cutype == "INDIVIDUAL":
                    p.partstat = "DECLINED"
            if is_internal(ev.organizer.email):
                ev.organizer.partstat = "DECLINED"

    def build(self, n_events: int) -> None:
        plan = [("internal", 38), ("partner", 25), ("planned", 4), ("title_only_freemail", 4),
                ("title_only_internal", 3), ("allday_other", 3), ("allday_partner", 2), ("distractor", 5),
                ("unknown_domain", 3), ("lookalike_domain", 3), ("joint", 3), ("freemail_only", 2),
                ("tool_address", 1.5), ("cancelled", 1.5), ("all_declined", 1), ("declined_guest", 1)]
        cats, weights = zip(*plan, strict=True)
        while len(self.events) < n_events:
            cat = self.rng.choices(cats, weights)[0]
            if cat == "internal":
                self.internal_meeting()
            elif cat == "partner":
                self.partner_meeting()
            elif cat == "planned":
                self.planned_pair()
            elif cat.startswith("title_only"):
                self.title_only(cat)
            elif cat.startswith("allday"):
                self.allday(cat == "allday_partner")
            elif cat == "distractor":
                self.distractor()
            elif cat == "joint":
                self.joint()
            elif cat == "declined_guest":
                self.declined_guest()
            elif cat in ("cancelled", "all_declined"):
                self.inactive(cat)
            else:
                self.no_partner_guests(cat)


def is_internal(email: str) -> bool:
    host = email.rpartition("@")[2].lower()
    return any(host == d or host.endswith("." + d) for d in INTERNAL_DOMAINS)


def make_staff(rng: random.Random, n: int) -> list[Person]:
    staff: list[Person] = []
    seen: set[str] = set()
    while len(staff) < n:
        first, last = rng.choice(FIRST), rng.choice(LAST)
        local = fold(f"{first}.{last}")
        if local in seen:
            continue
        seen.add(local)
        domain = INTERNAL_DOMAINS[1] if rng.random() < 0.25 else INTERNAL_DOMAINS[0]
        staff.append(Person(f"{local}@{domain}", f"{first} {last}"))
    return staff


# ---------------------------------------------------------------------------------------------------------------------
# Ground truth
# ---------------------------------------------------------------------------------------------------------------------


def occurrences(ev: Event) -> list[Occurrence]:
    """The occurrences of an event, keyed as the README says (UID, or UID@UTC-date for series)."""
    if ev.zone == "DATE":
        start = datetime.combine(ev.start.date(), time(0), UTC)
        return [Occurrence(ev.uid, ev.uid, start, ev)]
    if ev.count == 1:
        return [Occurrence(ev.uid, ev.uid, ev.start.astimezone(UTC), ev)]
    out = []
    for k in range(ev.count):
        if k == ev.exdate:
            continue
        start = (ev.start + timedelta(weeks=k * ev.interval)).astimezone(UTC)
        out.append(Occurrence(f"{ev.uid}@{start.date().isoformat()}", ev.uid, start, ev))
    return out


def internal_set(ev: Event) -> list[str]:
    return sorted({a.email.lower() for a in ev.attendees
                   if a.cutype == "INDIVIDUAL" and is_internal(a.email) and a.partstat != "DECLINED"})


def status(ev: Event) -> str:
    if ev.cancelled:
        return "cancelled"
    return "ok" if internal_set(ev) else "all_declined"


def event_truth(ev: Event, directory: Directory) -> tuple[list[str], dict[str, list[str]], dict[str, str]]:
    """(partners if active, routes per partner, traps) of an event."""
    routes: dict[str, set[str]] = defaultdict(set)
    for a in ev.attendees:
        if a.cutype != "INDIVIDUAL" or a.partstat == "DECLINED" or is_internal(a.email):
            continue
        partner = directory.partner_of_host(a.email.rpartition("@")[2])
        if partner:
            routes[partner].add(a.route or "domain")
    for partner, route in ev.title_routes.items():
        routes[partner].add(route)
    traps = dict(ev.traps)
    for partner, route in ev.title_routes.items():
        for other in directory.similar(partner):
            if other not in routes and route:
                traps.setdefault(other, "similar_name")
    traps = {p: t for p, t in traps.items() if p not in routes}
    partners = sorted(routes) if status(ev) == "ok" else []
    return partners, {p: sorted(r) for p, r in routes.items()}, traps


def collisions(occs: list[Occurrence], partners: dict[str, list[str]], directory: Directory) -> list[list[str]]:
    """[key_a, key_b, root] for every two colliding occurrences (README rule)."""
    by_root: dict[str, list[Occurrence]] = defaultdict(list)
    for o in occs:
        for root in {directory.root(p) for p in partners[o.key]}:
            by_root[root].append(o)
    window = timedelta(days=WINDOW_DAYS)
    out = []
    for root, group in by_root.items():
        group.sort(key=lambda o: o.start)
        staff = {o.key: set(internal_set(o.event)) for o in group}
        for i, a in enumerate(group):
            for b in group[i + 1:]:
                if b.start - a.start > window:
                    break
                if a.uid != b.uid and not staff[a.key] & staff[b.key]:
                    out.append([min(a.key, b.key), max(a.key, b.key), root])
    return sorted(out)


def build_truth(events: list[Event], directory: Directory, seed: int) -> dict[str, object]:
    occs = [o for ev in events for o in occurrences(ev)]
    ev_partners: dict[str, list[str]] = {}
    meta: dict[str, dict[str, object]] = {}
    for o in occs:
        partners, routes, traps = event_truth(o.event, directory)
        ev_partners[o.key] = partners
        meta[o.key] = {"uid": o.uid, "start": o.start.strftime("%Y-%m-%dT%H:%M:%SZ"), "internal": internal_set(o.event),
                       "status": status(o.event), "cat": o.event.cat, "routes": routes, "traps": traps,
                       "tags": o.event.tags, "title": o.event.title}
    cols = collisions([o for o in occs if ev_partners[o.key]], ev_partners, directory)
    cats: dict[str, int] = defaultdict(int)
    for ev in events:
        cats[ev.cat] += 1
    stats = {"partners": len(directory.orgs), "vevents": len(events), "occurrences": len(occs),
             "occurrences_with_partner": sum(1 for p in ev_partners.values() if p), "collisions": len(cols),
             "categories": dict(sorted(cats.items()))}
    return {"window_days": WINDOW_DAYS, "events": ev_partners, "collisions": cols, "meta": meta, "stats": stats,
            "generator": {"seed": seed, "anchor_date": ANCHOR.isoformat(), "script": "bench/heldout_eval.py"}}


# ---------------------------------------------------------------------------------------------------------------------
# Writing: partners.csv, calendars/*.ics, settings.toml, truth.json
# ---------------------------------------------------------------------------------------------------------------------


def escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def fold_line(line: str) -> str:
    """RFC 5545 folding at 75 octets, never inside a UTF-8 character."""
    out, cur, limit = [], "", 75
    for ch in line:
        if len((cur + ch).encode()) > limit:
            out.append(cur)
            cur, limit = " ", 75
        cur += ch
    out.append(cur)
    return "\r\n".join(out)


def vtimezone(zone: str) -> list[str]:
    lines = ["BEGIN:VTIMEZONE", f"TZID:{zone}", f"X-LIC-LOCATION:{zone}"]
    if zone in FIXED_ZONES:
        off, name = FIXED_ZONES[zone]
        return [*lines, "BEGIN:STANDARD", f"TZOFFSETFROM:{off}", f"TZOFFSETTO:{off}", f"TZNAME:{name}",
                "DTSTART:19700101T000000", "END:STANDARD", "END:VTIMEZONE"]
    std, dst, std_name, dst_name, dst_start, dst_day, dst_month, std_start, std_day, std_month = VTIMEZONES[zone]
    return [*lines,
            "BEGIN:DAYLIGHT", f"TZOFFSETFROM:{std}", f"TZOFFSETTO:{dst}", f"TZNAME:{dst_name}", f"DTSTART:{dst_start}",
            f"RRULE:FREQ=YEARLY;BYMONTH={dst_month};BYDAY={dst_day}", "END:DAYLIGHT",
            "BEGIN:STANDARD", f"TZOFFSETFROM:{dst}", f"TZOFFSETTO:{std}", f"TZNAME:{std_name}", f"DTSTART:{std_start}",
            f"RRULE:FREQ=YEARLY;BYMONTH={std_month};BYDAY={std_day}", "END:STANDARD", "END:VTIMEZONE"]


def address_line(kind: str, p: Person, rng: random.Random) -> str:
    cn = p.cn
    if "," in cn or ";" in cn or ":" in cn or rng.random() < 0.1:
        if rng.random() < 0.5 and " " in cn and "," not in cn:
            first, _, last = cn.partition(" ")
            cn = f"{last}, {first}"
        cn = f'"{cn}"'
    mailto = "MAILTO:" if rng.random() < 0.1 else "mailto:"
    if kind == "ORGANIZER":
        return f"ORGANIZER;CN={cn}:{mailto}{p.email}"
    role = "NON-PARTICIPANT" if p.cutype != "INDIVIDUAL" else "REQ-PARTICIPANT"
    return f"ATTENDEE;CUTYPE={p.cutype};ROLE={role};PARTSTAT={p.partstat};CN={cn};X-NUM-GUESTS=0:{mailto}{p.email}"


def stamp(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def vevent(ev: Event, rng: random.Random) -> list[str]:
    if ev.zone == "DATE":
        d = ev.start.date()
        lines = [f"DTSTART;VALUE=DATE:{d:%Y%m%d}", f"DTEND;VALUE=DATE:{d + timedelta(days=ev.allday_days):%Y%m%d}"]
    elif ev.zone == "UTC":
        lines = [f"DTSTART:{stamp(ev.start)}", f"DTEND:{stamp(ev.start + timedelta(minutes=ev.minutes))}"]
    else:
        end = ev.start + timedelta(minutes=ev.minutes)
        lines = [f"DTSTART;TZID={ev.zone}:{ev.start:%Y%m%dT%H%M%S}", f"DTEND;TZID={ev.zone}:{end:%Y%m%dT%H%M%S}"]
    if ev.count > 1:
        rule = "RRULE:FREQ=WEEKLY"
        if ev.until:
            last = ev.start + timedelta(weeks=(ev.count - 1) * ev.interval)
            rule += f";UNTIL={stamp(last)}"
        else:
            rule += f";COUNT={ev.count}"
        if ev.interval > 1:
            rule += f";INTERVAL={ev.interval}"
        if ev.byday:
            rule += ";BYDAY=" + ["MO", "TU", "WE", "TH", "FR", "SA", "SU"][ev.start.weekday()]
        lines.append(rule)
        if ev.exdate is not None:
            ex = ev.start + timedelta(weeks=ev.exdate * ev.interval)
            lines.append(f"EXDATE;TZID={ev.zone}:{ex:%Y%m%dT%H%M%S}")
    created = datetime.combine(ANCHOR - timedelta(days=45), time(12), UTC)
    lines += [f"DTSTAMP:{stamp(created)}", address_line("ORGANIZER", ev.organizer, rng), f"UID:{ev.uid}"]
    lines += [address_line("ATTENDEE", a, rng) for a in ev.attendees]
    lines += [f"CREATED:{stamp(created)}"]
    if ev.zoom:
        meeting = rng.randrange(10**10, 10**11)
        lines.append(escape_prop("DESCRIPTION", f"Join Zoom Meeting\nhttps://zoom.us/j/{meeting}\n\nMeeting ID: "
                                                f"{meeting}"))
        lines.append(f"LOCATION:https://zoom.us/j/{meeting}")
    elif ev.location:
        lines.append(escape_prop("LOCATION", ev.location))
    lines += [f"LAST-MODIFIED:{stamp(created)}", "SEQUENCE:0", f"STATUS:{'CANCELLED' if ev.cancelled else 'CONFIRMED'}",
              escape_prop("SUMMARY", ev.title), "TRANSP:OPAQUE"]
    return ["BEGIN:VEVENT", *lines, "END:VEVENT"]


def escape_prop(name: str, value: str) -> str:
    return f"{name}:{escape(value)}"


def write_split(out: Path, orgs: list[Org], staff: list[Person], events: list[Event], truth: dict[str, object],
                rng: random.Random) -> None:
    (out / "calendars").mkdir(parents=True, exist_ok=True)
    with (out / "partners.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["name", "domains", "aliases", "owner", "parent"])
        for o in sorted(orgs, key=lambda o: o.name):
            owner = rng.choice(staff).email if rng.random() < 0.6 else ""
            w.writerow([o.name, ";".join(o.domains), ";".join(o.aliases), owner, o.parent])
    by_staff: dict[str, list[Event]] = defaultdict(list)
    for ev in events:
        for email in {a.email.lower() for a in ev.attendees if a.cutype == "INDIVIDUAL" and is_internal(a.email)}:
            by_staff[email].append(ev)
    for person in staff:
        mine = sorted(by_staff[person.email.lower()], key=lambda e: e.start.astimezone(UTC))
        zones = sorted({e.zone for e in mine} - {"UTC", "DATE"})
        lines = ["BEGIN:VCALENDAR", "PRODID:-//Southgate Aid//heldout-eval//EN", "VERSION:2.0", "CALSCALE:GREGORIAN",
                 "METHOD:PUBLISH", f"X-WR-CALNAME:{person.email}", f"X-WR-TIMEZONE:{rng.choice(ZONES)}"]
        for zone in zones:
            lines += vtimezone(zone)
        for ev in mine:
            lines += vevent(ev, random.Random(ev.uid))  # same UID → identical content in every calendar
        lines.append("END:VCALENDAR")
        text = "".join(fold_line(line) + "\r\n" for line in lines)
        (out / "calendars" / f"{person.email}.ics").write_bytes(text.encode("utf-8"))
    (out / "settings.toml").write_text(
        f'[organization]\nname = "{ORG_NAME}"\ninternal_domains = {json.dumps(list(INTERNAL_DOMAINS))}\n'
        "[collection]\npast_days = 3650\nfuture_days = 3650\n"
        f"[collision]\nwindow_days = {WINDOW_DAYS}\n"
        '[store]\npath = "state.db"\n[[sources]]\nkind = "ics"\npath = "calendars/*.ics"\n'
        '[notifier]\ndelivery = "file"\npath = "outbox"\n', encoding="utf-8")
    (out / "truth.json").write_text(json.dumps(truth, ensure_ascii=False, indent=1), encoding="utf-8")


def generate(out: Path, seed: int, n_staff: int, n_partners: int) -> dict[str, object]:
    """Write a complete labelled split to `out`; returns its truth."""
    rng = random.Random(seed)
    all_orgs = load_orgs()
    check_disjoint_from_dev(all_orgs, DEV_PARTNERS)
    orgs = select_orgs(all_orgs, n_partners, rng)
    directory = Directory(orgs)
    staff = make_staff(rng, n_staff)
    gen = Generator(rng, directory, staff, load_common_words())
    gen.build(n_staff * 52)
    truth = build_truth(gen.events, directory, seed)
    write_split(out, orgs, staff, gen.events, truth, rng)
    return truth


# ---------------------------------------------------------------------------------------------------------------------
# Running the service and scoring
# ---------------------------------------------------------------------------------------------------------------------


def run_cli(out: Path) -> None:
    cli = str(REPO / ".venv/bin/revolving-door")
    base = [cli, "--config", str(out / "settings.toml")]
    subprocess.run([*base, "partners", "import", str(out / "partners.csv")], cwd=out, check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run([*base, "sync", "--once"], cwd=out, check=True, stdout=subprocess.DEVNULL)
    for what, name in (("events", "events.json"), ("collisions", "collisions.json")):
        result = subprocess.run([*base, what, "list", "--format", "json"], cwd=out, check=True, capture_output=True)
        (out / name).write_bytes(result.stdout)


def score(out: Path) -> dict[str, dict[str, float]]:
    args = ["python3", str(SCORER), "--truth", str(out / "truth.json"),
            "--events", str(out / "events.json"), "--collisions", str(out / "collisions.json")]
    print(subprocess.run(args, check=True, capture_output=True, text=True).stdout, end="")
    result = json.loads(subprocess.run([*args, "--json"], check=True, capture_output=True, text=True).stdout)
    return {k: result[k] for k in ("events", "collisions")}


def details(out: Path) -> None:
    """Each wrong event → partner pair, with its category and title."""
    truth = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    predicted: dict[str, set[str]] = defaultdict(set)
    for e in json.loads((out / "events.json").read_text(encoding="utf-8")):
        predicted[e["key"]] |= set(e.get("partners") or [])
    seen: set[tuple[str, str, str]] = set()
    for key, want in truth["events"].items():
        m = truth["meta"][key]
        got = predicted.get(key, set())
        for p in sorted(got - set(want)):
            line = ("FP", p, f'{m["cat"]}/{m["traps"].get(p, "-")}: "{m["title"]}"')
            if line not in seen:
                seen.add(line)
                print(f"  {line[0]} {line[1]!r:45} {line[2]}")
        for p in sorted(set(want) - got):
            line = ("FN", p, f'{m["cat"]}/{",".join(m["routes"][p])}: "{m["title"]}"')
            if line not in seen:
                seen.add(line)
                print(f"  {line[0]} {line[1]!r:45} {line[2]}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--staff", type=int, default=40)
    ap.add_argument("--partners", type=int, default=120)
    ap.add_argument("--out", type=Path, help="folder for the split and the service's output (default: a temp folder)")
    ap.add_argument("--keep", action="store_true", help="keep the temp folder")
    ap.add_argument("--details", action="store_true", help="list each false positive and negative with its title")
    ap.add_argument("--no-run", action="store_true", help="only generate the split")
    a = ap.parse_args(argv)
    out = a.out or Path(tempfile.mkdtemp(prefix="heldout-"))
    if a.out and out.exists() and any(out.iterdir()):
        if not (out / "truth.json").exists():
            raise SystemExit(f"{out} is not empty and holds no earlier split; refusing to overwrite it")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    try:
        truth = generate(out, a.seed, a.staff, a.partners)
        stats = truth["stats"]
        print(f"held-out split (seed {a.seed}): {stats}")
        if a.no_run:
            return 0
        run_cli(out)
        res = score(out)
        if a.details:
            details(out)
        for part, label in (("events", "event"), ("collisions", "collision")):
            for metric in ("precision", "recall", "f1"):
                print(f"heldout_{label}_{metric}={res[part][metric]:.4f}")
    finally:
        if a.out or a.keep:
            print(f"work folder: {out}")
        else:
            shutil.rmtree(out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
