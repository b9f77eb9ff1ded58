"""The partner directory: validated partners, their families, domains, and the CSV exchange format.

Everything here is pure: the store persists partners, the CLI calls these functions to
normalise and validate what an admin typed or imported before anything is written.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TextIO

from revolving_door.errors import DirectoryError
from revolving_door.model import Partner, is_internal_address

CSV_COLUMNS = ("name", "domains", "aliases", "owner", "parent")

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_EMAIL = re.compile(r"^[^@\s;,<>]+@[^@\s;,<>]+\.[^@\s;,<>]+$")


def normalise_domain(text: str) -> str:
    """Turn an admin-entered domain, address or URL into its canonical lower-case IDNA form."""
    raw = text.strip()
    host = raw
    if "://" in host:
        host = host.split("://", 1)[1]
    host = re.split(r"[/?#]", host, maxsplit=1)[0]
    if "@" in host:
        host = host.rsplit("@", 1)[1]
    if host.count(":") == 1:
        host, _, port = host.partition(":")
        if not port.isdigit():
            raise DirectoryError(f"invalid domain {raw!r}: bad port {port!r}")
    host = host.strip().rstrip(".").lower()
    if host.startswith("www."):
        host = host[4:]
    if not host:
        raise DirectoryError(f"invalid domain {raw!r}: empty")
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise DirectoryError(f"invalid domain {raw!r}: not a valid international domain name") from exc
    labels = host.split(".")
    if len(labels) < 2:
        raise DirectoryError(f"invalid domain {raw!r}: needs at least two labels (e.g. example.org)")
    if len(host) > 253:
        raise DirectoryError(f"invalid domain {raw!r}: longer than 253 characters")
    for label in labels:
        if not _LABEL.match(label):
            raise DirectoryError(f"invalid domain {raw!r}: bad label {label!r}")
    if labels[-1].isdigit():
        raise DirectoryError(f"invalid domain {raw!r}: an IP address is not a domain")
    return host


def check_mappable(domain: str, *, internal_domains: Iterable[str], freemail: Iterable[str]) -> str | None:
    """The reason `domain` may not be mapped to a partner (internal, free-mail), or None if it may."""
    host = domain.strip().rstrip(".").lower()
    internal = tuple(d.lower() for d in internal_domains)
    if is_internal_address("x@" + host, internal) or any(d.endswith("." + host) for d in internal):
        return f"{host} is an internal domain of your organisation"
    if host in set(freemail):
        return f"{host} is a free-mail provider: its addresses belong to individuals, not to one organisation"
    return None


def _valid_email(text: str) -> bool:
    return bool(_EMAIL.match(text))


def validate_partners(partners: Sequence[Partner]) -> list[str]:
    """Every problem in a set of partners: duplicates, shared domains, bad domains/emails, unknown parents, cycles."""
    problems: list[str] = []
    by_name: dict[str, Partner] = {}
    for p in partners:
        key = p.name.strip().casefold()
        if not key:
            problems.append("a partner has an empty name")
            continue
        if key in by_name:
            problems.append(f"duplicate partner name {p.name!r} (also {by_name[key].name!r})")
            continue
        by_name[key] = p
    domain_owner: dict[str, str] = {}
    for p in partners:
        for d in p.domains:
            try:
                nd = normalise_domain(d)
            except DirectoryError as exc:
                problems.append(f"{p.name}: {exc}")
                continue
            other = domain_owner.get(nd)
            if other is not None and other.casefold() != p.name.casefold():
                problems.append(f"domain {nd} is on two partners: {other!r} and {p.name!r}")
            elif other is not None:
                problems.append(f"{p.name}: domain {nd} listed twice")
            domain_owner[nd] = p.name
        for owner in p.owners:
            if not _valid_email(owner.strip()):
                problems.append(f"{p.name}: owner {owner!r} is not an email address")
        if p.parent is not None and p.parent.strip():
            parent_key = p.parent.strip().casefold()
            if parent_key not in by_name:
                problems.append(f"{p.name}: unknown parent {p.parent!r}")
            elif parent_key == p.name.strip().casefold():
                problems.append(f"{p.name}: a partner cannot be its own parent")
    reported: set[str] = set()
    for key in by_name:
        path: list[str] = []
        cur: str | None = key
        while cur is not None and cur in by_name and cur not in path:
            path.append(cur)
            parent = by_name[cur].parent
            cur = parent.strip().casefold() if parent and parent.strip() else None
        if cur is None or cur not in path:
            continue
        cycle = path[path.index(cur):]
        if len(cycle) > 1 and not reported.intersection(cycle):
            reported.update(cycle)
            names = [by_name[c].name for c in cycle] + [by_name[cycle[0]].name]
            problems.append("parent cycle: " + " → ".join(names))
    return problems


class Directory:
    """An immutable, validated view of the partners: lookups by name, family and domain."""

    def __init__(self, partners: Sequence[Partner]) -> None:
        problems = validate_partners(partners)
        if problems:
            raise DirectoryError(problems)
        self._partners = tuple(partners)
        self._by_key = {p.name.strip().casefold(): p for p in self._partners}
        self._domains: dict[str, str] = {}
        for p in self._partners:
            for d in p.domains:
                self._domains[normalise_domain(d)] = p.name
        self._children: dict[str, list[str]] = {}
        for p in self._partners:
            if p.parent:
                parent = self._by_key[p.parent.strip().casefold()].name
                self._children.setdefault(parent, []).append(p.name)

    @property
    def partners(self) -> tuple[Partner, ...]:
        """Every partner, in the order given."""
        return self._partners

    @property
    def domains(self) -> dict[str, str]:
        """Canonical domain → partner name (a copy)."""
        return dict(self._domains)

    def get(self, name: str) -> Partner | None:
        """The partner called `name` (case-insensitive), or None."""
        return self._by_key.get(name.strip().casefold())

    def _require(self, name: str) -> Partner:
        p = self.get(name)
        if p is None:
            raise DirectoryError(f"unknown partner {name!r}")
        return p

    def parent_of(self, name: str) -> str | None:
        """Canonical name of the parent of `name`, or None for a root."""
        p = self._require(name)
        if not p.parent:
            return None
        return self._require(p.parent).name

    def root(self, name: str) -> str:
        """The family root reached by following parents from `name`."""
        current = self._require(name).name
        while (parent := self.parent_of(current)) is not None:
            current = parent
        return current

    def children(self, name: str) -> tuple[str, ...]:
        """The direct children of `name`."""
        return tuple(self._children.get(self._require(name).name, ()))

    def family(self, root: str) -> frozenset[str]:
        """`root` and all its descendants."""
        start = self._require(root).name
        out: set[str] = set()
        stack = [start]
        while stack:
            cur = stack.pop()
            if cur in out:
                continue
            out.add(cur)
            stack.extend(self._children.get(cur, ()))
        return frozenset(out)

    def owners_of_family(self, root: str) -> tuple[str, ...]:
        """Owner emails of every family member, the root's first, without duplicates."""
        start = self._require(root).name
        ordered = [start, *sorted(self.family(start) - {start})]
        out: list[str] = []
        for name in ordered:
            for owner in self._require(name).owners:
                email = owner.strip().lower()
                if email and email not in out:
                    out.append(email)
        return tuple(out)

    def domain_owner(self, domain: str) -> str | None:
        """The partner that has exactly this domain, or None."""
        try:
            return self._domains.get(normalise_domain(domain))
        except DirectoryError:
            return None


def _split(field: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in field.split(";") if part.strip())


def read_partners_text(path: Path) -> str:
    """The text of a partners CSV file (UTF-8, a BOM dropped); DirectoryError naming the file if unreadable."""
    label = path.name
    try:
        return path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise DirectoryError(f"{label}: cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise DirectoryError(f"{label}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc


def read_partners_csv(path: Path) -> list[Partner]:
    """Read a partners CSV (`name,domains,aliases,owner,parent`); raise DirectoryError listing every problem."""
    return parse_partners_csv(read_partners_text(path), label=path.name)


def parse_partners_csv(text: str, *, label: str = "partners.csv") -> list[Partner]:
    """Parse partners CSV text; raise DirectoryError listing every problem with its line number."""
    problems: list[str] = []
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise DirectoryError(f"{label}: empty file; expected the header {','.join(CSV_COLUMNS)}") from None
    except csv.Error as exc:
        raise DirectoryError(f"{label}:1: {exc}") from exc
    cols = [h.strip().lower() for h in header]
    missing = [c for c in CSV_COLUMNS if c not in cols]
    extra = [c for c in cols if c not in CSV_COLUMNS]
    if missing:
        problems.append(f"{label}:1: missing column(s): {', '.join(missing)}")
    if extra:
        problems.append(f"{label}:1: unknown column(s): {', '.join(extra)}")
    if len(set(cols)) != len(cols):
        problems.append(f"{label}:1: duplicate column names")
    if problems:
        raise DirectoryError(problems)
    index = {c: cols.index(c) for c in CSV_COLUMNS}
    partners: list[Partner] = []
    lines: dict[str, int] = {}
    domain_line: dict[str, tuple[int, str]] = {}
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(f"{label}:{reader.line_num}: {exc}")
            break
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(cols):
            problems.append(f"{label}:{line}: expected {len(cols)} fields, found {len(row)}")
            continue
        name = row[index["name"]].strip()
        if not name:
            problems.append(f"{label}:{line}: empty name")
            continue
        key = name.casefold()
        if key in lines:
            problems.append(f"{label}:{line}: duplicate name {name!r} (first on line {lines[key]})")
            continue
        lines[key] = line
        domains: list[str] = []
        for d in _split(row[index["domains"]]):
            try:
                nd = normalise_domain(d)
            except DirectoryError as exc:
                problems.append(f"{label}:{line}: {exc}")
                continue
            if nd in domain_line:
                first_line, first_name = domain_line[nd]
                problems.append(f"{label}:{line}: domain {nd} already belongs to {first_name!r} (line {first_line})")
                continue
            domain_line[nd] = (line, name)
            domains.append(nd)
        owners = tuple(o.lower() for o in _split(row[index["owner"]]))
        for o in owners:
            if not _valid_email(o):
                problems.append(f"{label}:{line}: owner {o!r} is not an email address")
        parent = row[index["parent"]].strip() or None
        partners.append(Partner(name=name, domains=tuple(domains), aliases=_split(row[index["aliases"]]),
                                owners=owners, parent=parent))
    for p in partners:
        if p.parent is not None and p.parent.casefold() not in lines:
            problems.append(f"{label}:{lines[p.name.casefold()]}: unknown parent {p.parent!r}")
    if not problems:
        problems.extend(f"{label}: {msg}" for msg in validate_partners(partners) if "cycle" in msg
                        or "own parent" in msg)
    if problems:
        raise DirectoryError(problems)
    return partners


def write_partners_csv(partners: Iterable[Partner], stream: TextIO) -> None:
    """Write partners as CSV with the header `name,domains,aliases,owner,parent` (read back unchanged)."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for p in partners:
        writer.writerow([p.name, ";".join(p.domains), ";".join(p.aliases), ";".join(p.owners), p.parent or ""])
