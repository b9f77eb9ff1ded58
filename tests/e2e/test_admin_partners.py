"""`partners …` as an admin runs it: add, show, edit, remove, list, import and export, and every refusal."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from revolving_door.model import Partner
from revolving_door.settings import load_settings
from revolving_door.store import Store
from tests.conftest import run_cli, write_settings

WBG = "World Bank Group"
IFC = "International Finance Corporation"
NWF = "Northwind Foundation"
SEED = (
    Partner(name=WBG, domains=("worldbank.org",), aliases=("WBG",), owners=("lead@ours.org",)),
    Partner(name=IFC, domains=("ifc.org",), aliases=("IFC",), parent=WBG),
    Partner(name=NWF, domains=("northwind.org", "nwf.org"), aliases=("NWF",)),
    Partner(name="IFC Asia", domains=("asia.ifc.org",), parent=IFC),
)
SEED_IGNORED = ("rooms.example.net",)
HEADER = "name,domains,aliases,owner,parent\n"

Snapshot = tuple[list[Partner], list[str], int]
NOON = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
"""Meetings start at noon UTC, whole days from today, so their dates are known in advance."""


@dataclass(frozen=True)
class Meeting:
    """A one-hour meeting on a staff calendar, `day` days from today at noon UTC."""

    uid: str
    title: str
    day: int
    guests: tuple[str, ...] = ()
    private: bool = False

    @property
    def start(self) -> datetime:
        """When it starts."""
        return NOON + timedelta(days=self.day)


def _ics_time(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%SZ")


def write_calendar(settings: Path, owner: str, *meetings: Meeting) -> None:
    """Write `owner`'s calendar (calendars/OWNER.ics next to the settings) holding `meetings`."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//revolving-door tests//EN"]
    for m in meetings:
        lines += ["BEGIN:VEVENT", f"UID:{m.uid}", f"DTSTAMP:{_ics_time(NOON)}", f"DTSTART:{_ics_time(m.start)}",
                  f"DTEND:{_ics_time(m.start + timedelta(hours=1))}", f"SUMMARY:{m.title}",
                  f"ORGANIZER:mailto:{owner}", f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{owner}",
                  *(f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{g}" for g in m.guests),
                  *(["CLASS:PRIVATE"] if m.private else []), "END:VEVENT"]
    lines.append("END:VCALENDAR")
    (settings.parent / "calendars" / f"{owner}.ics").write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")


@contextmanager
def open_store(settings: Path) -> Iterator[Store]:
    """The store named by `settings`, opened in this process (the CLI runs in others)."""
    store = Store.open(load_settings(settings).store_url)
    try:
        yield store
    finally:
        store.close()


def seed(folder: Path, partners: Iterable[Partner] = SEED, ignored: Iterable[str] = SEED_IGNORED) -> Path:
    """Settings in `folder` and a store holding `partners` and `ignored` domains; returns the settings path."""
    folder.mkdir(parents=True, exist_ok=True)
    settings = write_settings(folder)
    with open_store(settings) as store:
        store.save_partners(list(partners))
        for domain in ignored:
            store.set_ignored(domain, True)
    return settings


def snapshot(settings: Path) -> Snapshot:
    """The directory as stored: partners, ignored domains and the directory version."""
    with open_store(settings) as store:
        return store.partners(), store.ignored_domains(), store.directory_version()


def partner(settings: Path, name: str) -> Partner | None:
    """The stored partner called exactly `name`, or None."""
    return next((p for p in snapshot(settings)[0] if p.name == name), None)


def ok(settings: Path, *args: str | Path) -> str:
    """Run a CLI command that must succeed; returns its standard output."""
    out = run_cli("--config", settings, *args)
    assert out.returncode == 0, out.stderr
    return out.stdout


def refused(settings: Path, *args: str | Path, reason: str) -> None:
    """Run a command that must be refused: exit 1, one line on stderr naming `reason`, store unchanged."""
    before = snapshot(settings)
    out = run_cli("--config", settings, *args)
    assert out.returncode == 1, (out.stdout, out.stderr)
    assert "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("error: ") and reason in lines[0], lines[0]
    assert snapshot(settings) == before


@pytest.fixture
def settings(tmp_path: Path) -> Path:
    """A store holding the seed directory (a parent, its child, a third partner) and one ignored domain."""
    return seed(tmp_path)


# ---- add -------------------------------------------------------------------------------------


def test_add_normalises_domains_and_owners(settings: Path) -> None:
    """`add` stores domains canonical (scheme, www., case, path, trailing dot, IDNA) and owners lower-case."""
    out = ok(settings, "partners", "add", "  Example Org ", "-d", "HTTPS://WWW.Example.ORG/path.",
             "--domain", "Bücher.DE", "-a", "EXO", "-o", "Boss@Ours.org", "--parent", "world bank GROUP")
    assert out.strip() == "added Example Org"
    assert partner(settings, "Example Org") == Partner(
        name="Example Org", domains=("example.org", "xn--bcher-kva.de"), aliases=("EXO",),
        owners=("boss@ours.org",), parent=WBG)


def test_add_force_maps_free_mail_and_internal_domains(settings: Path) -> None:
    """With --force, `add` maps a free-mail and an internal domain it otherwise refuses."""
    ok(settings, "partners", "add", "Solo Consultant", "-d", "gmail.com", "-d", "lab.ours.org", "--force")
    added = partner(settings, "Solo Consultant")
    assert added is not None and added.domains == ("gmail.com", "lab.ours.org")


@pytest.mark.parametrize(("args", "reason"), [
    (("world bank GROUP",), f"partner {WBG!r} already exists"),
    (("New Org", "--parent", "Nobody"), "no parent partner named 'Nobody'"),
    (("New Org", "-d", "gmail.com"), "gmail.com is a free-mail provider"),
    (("New Org", "-d", "https://mail.OURS.org/"), "mail.ours.org is an internal domain"),
    (("New Org", "-d", "WWW.IFC.ORG"), f"domain ifc.org is on two partners: {IFC!r} and 'New Org'"),
    (("New Org", "-d", "not a domain"), "invalid domain 'not a domain'"),
    (("New Org", "-o", "not-an-email"), "owner 'not-an-email' is not an email address"),
], ids=["duplicate-name", "unknown-parent", "free-mail", "internal-subdomain", "taken-domain",
        "invalid-domain", "invalid-owner"])
def test_add_refusals(settings: Path, args: tuple[str, ...], reason: str) -> None:
    """A refused `add` exits 1 with one line giving the reason, and changes nothing."""
    refused(settings, "partners", "add", *args, reason=reason)


# ---- show and list ---------------------------------------------------------------------------


def test_show_gives_the_whole_partner(settings: Path) -> None:
    """`show` prints domains, aliases, owner, parent, children and the meetings seen with the partner."""
    write_calendar(settings, "alice@ours.org", Meeting("m1", "Planning", 2, ("x@ifc.org",)),
                   Meeting("m2", "Visit", 3, ("y@ifc.org",)), Meeting("m3", "Call", 4, ("z@worldbank.org",)))
    ok(settings, "sync", "--once")
    shown = ok(settings, "partners", "show", IFC.upper()).splitlines()
    assert shown[0] == IFC
    assert {line.split(None, 1)[0]: line.split(None, 1)[1] for line in shown[1:]} == {
        "domains": "ifc.org", "aliases": "IFC", "owners": "—", "parent": WBG, "family": WBG,
        "children": "IFC Asia", "meetings": "2"}


def test_show_unknown_partner_is_refused(settings: Path) -> None:
    """`show` of an unknown name exits 1 with one line."""
    refused(settings, "partners", "show", "Nobody", reason="no partner named 'Nobody'")


def test_list_json_has_every_partner(settings: Path) -> None:
    """`list --format json` gives every partner with its domains, aliases, owners and parent."""
    rows = json.loads(ok(settings, "partners", "list", "--format", "json"))
    assert [r["name"] for r in rows] == ["IFC Asia", IFC, NWF, WBG]
    assert rows[1] == {"name": IFC, "domains": ["ifc.org"], "aliases": ["IFC"], "owners": [], "parent": WBG}


# ---- edit ------------------------------------------------------------------------------------


def test_edit_rename_keeps_children_pointing_at_it(settings: Path) -> None:
    """Renaming a parent keeps its domains and makes its children point at the new name."""
    assert "updated World Bank (was World Bank Group)" in ok(settings, "partners", "edit", "world bank group",
                                                                "--rename", "World Bank")
    names = {p.name: p for p in snapshot(settings)[0]}
    assert WBG not in names and names["World Bank"].domains == ("worldbank.org",)
    assert names[IFC].parent == "World Bank"


def test_edit_domains_aliases_and_owners(settings: Path) -> None:
    """`edit` adds and removes domains (normalised) and aliases, and replaces the owners."""
    ok(settings, "partners", "edit", NWF, "--add-domain", "https://WWW.Northwind.Fund/", "--remove-domain",
       "WWW.NWF.ORG", "--add-alias", "Northwind", "--remove-alias", "nwf", "--owner", "A@ours.org",
       "--owner", "b@ours.org")
    assert partner(settings, NWF) == Partner(name=NWF, domains=("northwind.org", "northwind.fund"),
                                             aliases=("Northwind",), owners=("a@ours.org", "b@ours.org"))


def test_edit_no_owner_clears_owners(settings: Path) -> None:
    """`edit --no-owner` leaves the partner without an account manager."""
    ok(settings, "partners", "edit", WBG, "--no-owner")
    changed = partner(settings, WBG)
    assert changed is not None and changed.owners == ()


def test_edit_parent_then_no_parent(settings: Path) -> None:
    """`edit --parent` attaches a partner to a family and `--no-parent` makes it top-level again."""
    ok(settings, "partners", "edit", NWF, "--parent", IFC.lower())
    moved = partner(settings, NWF)
    assert moved is not None and moved.parent == IFC
    ok(settings, "partners", "edit", NWF, "--no-parent")
    back = partner(settings, NWF)
    assert back is not None and back.parent is None


@pytest.mark.parametrize(("args", "reason"), [
    ((WBG, "--parent", IFC.lower()), "parent cycle: "),
    ((IFC, "--remove-domain", "worldbank.org"), f"{IFC} has no domain worldbank.org"),
    ((IFC, "--rename", "northwind FOUNDATION"), f"partner {NWF!r} already exists"),
    ((IFC, "--add-domain", "ours.org"), "ours.org is an internal domain"),
], ids=["cycle", "missing-domain", "rename-onto-existing", "internal"])
def test_edit_refusals(settings: Path, args: tuple[str, ...], reason: str) -> None:
    """A refused `edit` exits 1 with one line giving the reason, and changes nothing."""
    refused(settings, "partners", "edit", *args, reason=reason)


def test_edit_parent_with_no_parent_is_a_usage_error(settings: Path) -> None:
    """`--parent` with `--no-parent` is a usage error (exit 2) and changes nothing."""
    before = snapshot(settings)
    out = run_cli("--config", settings, "partners", "edit", IFC, "--parent", NWF, "--no-parent")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert snapshot(settings) == before


# ---- remove ----------------------------------------------------------------------------------


def test_remove_deletes_partner_and_its_domains(settings: Path) -> None:
    """`remove` deletes a partner with its domains and leaves the others."""
    assert ok(settings, "partners", "remove", "northwind foundation").strip() == f"removed {NWF}"
    partners = snapshot(settings)[0]
    assert [p.name for p in partners] == ["IFC Asia", IFC, WBG]
    assert not {"northwind.org", "nwf.org"} & {d for p in partners for d in p.domains}


@pytest.mark.parametrize(("name", "reason"), [
    (IFC, f"{IFC} is the parent of IFC Asia"),
    ("Nobody", "no partner named 'Nobody'"),
], ids=["has-children", "unknown"])
def test_remove_refusals(settings: Path, name: str, reason: str) -> None:
    """`remove` is refused for a parent with children and for an unknown name."""
    refused(settings, "partners", "remove", name, reason=reason)


# ---- import ----------------------------------------------------------------------------------


def test_import_upserts_by_name(settings: Path, tmp_path: Path) -> None:
    """`import` updates partners named in the file (any case) and adds the new ones; others stay."""
    csv_file = tmp_path / "partners.csv"
    csv_file.write_text(HEADER + f"{NWF},nwf.org,NWF;Northwind,a@ours.org,\n"
                        "Acme Relief,acme-relief.org,,,\n", encoding="utf-8")
    out = ok(settings, "partners", "import", csv_file)
    assert out.strip() == "imported 2 partners from partners.csv: 1 new, 1 updated"
    names = {p.name: p for p in snapshot(settings)[0]}
    assert names[NWF] == Partner(name=NWF, domains=("nwf.org",), aliases=("NWF", "Northwind"),
                                 owners=("a@ours.org",))
    assert names["Acme Relief"].domains == ("acme-relief.org",)
    assert names[WBG] == SEED[0] and names[IFC] == SEED[1]


def test_import_accepts_a_parent_that_is_only_in_the_store(settings: Path, tmp_path: Path) -> None:
    """A CSV row whose parent exists only in the store is accepted (import upserts into the directory)."""
    csv_file = tmp_path / "children.csv"
    csv_file.write_text(HEADER + "MIGA,miga.org,,,world bank group\nIDA,ida.org,,,MIGA\n", encoding="utf-8")
    ok(settings, "partners", "import", csv_file)
    names = {p.name: p for p in snapshot(settings)[0]}
    assert names["MIGA"].parent == WBG and names["IDA"].parent == "MIGA"


def test_import_dry_run_changes_nothing(settings: Path, tmp_path: Path) -> None:
    """`import --dry-run` reports what it would do and leaves the store (and directory version) unchanged."""
    csv_file = tmp_path / "partners.csv"
    csv_file.write_text(HEADER + f"{NWF},nwf.org,,,\nAcme Relief,acme-relief.org,,,\n", encoding="utf-8")
    before = snapshot(settings)
    out = ok(settings, "partners", "import", csv_file, "--dry-run")
    assert out.strip() == "would import 2 partners from partners.csv: 1 new, 1 updated"
    assert snapshot(settings) == before


def test_import_is_all_or_nothing_with_line_numbers(settings: Path, tmp_path: Path) -> None:
    """A CSV with bad rows imports nothing, not even its good rows, and names every problem with its line."""
    csv_file = tmp_path / "bad.csv"
    csv_file.write_text(HEADER + "Good Org,good.org,,,\n"   # line 2: fine
                        "Bad Domain,not a domain,,,\n"       # 3
                        "Bad Owner,owner.org,,nope,\n"       # 4
                        "Orphan,orphan.org,,,Nobody\n",      # 5
                        encoding="utf-8")
    before = snapshot(settings)
    out = run_cli("--config", settings, "partners", "import", csv_file)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert out.stderr.splitlines() == ["error: bad.csv:3: invalid domain 'not a domain': needs at least two labels "
                                       "(e.g. example.org)", "error: bad.csv:4: owner 'nope' is not an email address",
                                       "error: bad.csv:5: unknown parent 'Nobody'"]
    assert snapshot(settings) == before


def test_import_dry_run_reports_conflicts_with_the_store(settings: Path, tmp_path: Path) -> None:
    """`import --dry-run` checks the file against the stored directory: free-mail and taken domains, by line."""
    csv_file = tmp_path / "conflicts.csv"
    csv_file.write_text(HEADER + "Good Org,good.org,,,\nFreemail Org,gmail.com,,,\nThief,WWW.IFC.ORG,,,\n",
                        encoding="utf-8")
    before = snapshot(settings)
    out = run_cli("--config", settings, "partners", "import", csv_file, "--dry-run")
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "conflicts.csv:3: Freemail Org: gmail.com is a free-mail provider" in out.stderr
    assert f"conflicts.csv:4: domain ifc.org is on two partners: {IFC!r} and 'Thief'" in out.stderr
    assert snapshot(settings) == before


# ---- export ----------------------------------------------------------------------------------


def test_export_round_trips(tmp_path: Path) -> None:
    """export → import into a fresh store → export gives the same CSV, quoting and IDNA included."""
    partners = (*SEED, Partner(name="Bill & Melinda Gates Foundation, Inc.", domains=("gatesfoundation.org",
                               "xn--bcher-kva.de"), aliases=("Gates Fdn", "BMGF"),
                               owners=("a@ours.org", "b@ours.org"), parent=NWF))
    first = seed(tmp_path / "first", partners, ignored=())
    exported = tmp_path / "export.csv"
    assert "exported 5 partners" in ok(first, "partners", "export", exported)
    fresh = write_settings(tmp_path)
    ok(fresh, "partners", "import", exported)
    assert ok(fresh, "partners", "export") == exported.read_text(encoding="utf-8")
    assert snapshot(fresh)[0] == snapshot(first)[0]
