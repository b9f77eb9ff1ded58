"""`partners …`: keep the partner directory (names, domains, aliases, owners, parents)."""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import typer
from rich.console import Console
from rich.text import Text

from matching.directory import (
    CSV_COLUMNS,
    Directory,
    check_mappable,
    normalise_domain,
    parse_partners_csv,
    read_partners_text,
    validate_partners,
    write_partners_csv,
)
from matching.domains import DomainResolver
from revolving_door.cli.context import AppContext, app_context
from revolving_door.cli.output import Format, emit
from revolving_door.errors import DirectoryError, NotFoundError, UserError
from revolving_door.model import Partner

app = typer.Typer(help="Keep the partner directory.", no_args_is_help=True)


def freemail_of(app_ctx: AppContext) -> frozenset[str]:
    """The free-mail domains in force (bundled list with the settings' overrides)."""
    m = app_ctx.settings.matching
    resolver = DomainResolver(Directory([]), internal_domains=app_ctx.settings.organization.internal_domains,
                              freemail_extra=m.freemail_extra, freemail_allow=m.freemail_allow)
    return resolver.freemail


def domain_refusal(app_ctx: AppContext, domain: str, *, freemail: frozenset[str],
                   ignored: frozenset[str]) -> str | None:
    """Why a normalised domain may not be mapped (internal, free-mail, ignored), or None."""
    reason = check_mappable(domain, internal_domains=app_ctx.settings.organization.internal_domains,
                            freemail=freemail)
    if reason:
        return f"{reason} (use --force to map it anyway)"
    if domain in ignored:
        return f"{domain} is ignored; run `domains unignore {domain}` first"
    return None


def clean_domains(app_ctx: AppContext, domains: list[str], *, force: bool) -> tuple[str, ...]:
    """Normalise admin-entered domains; refuse ignored ones, and internal and free-mail ones unless forced."""
    out: list[str] = []
    problems: list[str] = []
    freemail = freemail_of(app_ctx) if domains else frozenset()
    ignored = frozenset(app_ctx.store.ignored_domains()) if domains else frozenset()
    for raw in domains:
        domain = normalise_domain(raw)
        reason = domain_refusal(app_ctx, domain, freemail=freemail, ignored=ignored)
        if reason and (not force or domain in ignored):
            problems.append(reason)
        elif domain not in out:
            out.append(domain)
    if problems:
        raise DirectoryError(problems)
    return tuple(out)


def save_checked(app_ctx: AppContext, changed: list[Partner], *, removed: tuple[str, ...] = ()) -> None:
    """Validate the directory as it would be after the change, then store the change in one transaction."""
    problems = check_change(app_ctx, changed, removed=removed)
    if problems:
        raise DirectoryError(problems)
    app_ctx.store.save_partners(changed, replace_names=removed)


def check_change(app_ctx: AppContext, changed: Sequence[Partner], *, removed: tuple[str, ...] = ()) -> list[str]:
    """Every problem of the directory as it would be after upserting `changed` and deleting `removed`."""
    folds = {p.name.casefold() for p in changed} | {n.casefold() for n in removed}
    after = [p for p in app_ctx.store.partners() if p.name.casefold() not in folds] + list(changed)
    return validate_partners(after)


def require(app_ctx: AppContext, name: str, *, what: str = "partner") -> Partner:
    """The partner with this name (any case), or a NotFoundError naming it as `what`."""
    partner = Directory(app_ctx.store.partners()).get(name)
    if partner is None:
        raise NotFoundError(f"no {what} named {name.strip()!r} (see `partners list`)")
    return partner


def clean_owners(owners: list[str]) -> tuple[str, ...]:
    """Owner emails stripped, lower-cased, without duplicates."""
    return tuple(dict.fromkeys(o.strip().lower() for o in owners if o.strip()))


@app.command("list")
def list_partners(
    ctx: typer.Context,
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="table, json or csv."),
) -> None:
    """Every partner with its domains, aliases, owners and parent."""
    rows = [{"name": p.name, "domains": list(p.domains), "aliases": list(p.aliases),
             "owners": list(p.owners), "parent": p.parent} for p in app_context(ctx).store.partners()]
    emit(rows, fmt, columns=["name", "domains", "aliases", "owners", "parent"], title="Partners")


@app.command()
def show(ctx: typer.Context, name: str = typer.Argument(..., help="The partner's name.")) -> None:
    """One partner in full: domains, aliases, owners, parent, children and meetings seen."""
    app_ctx = app_context(ctx)
    partner = require(app_ctx, name)
    directory = Directory(app_ctx.store.partners())
    meetings = app_ctx.store.meeting_counts().get(partner.name, 0)
    console = Console()
    console.print(Text(partner.name, style="bold"))
    for label, value in (
        ("domains", ", ".join(partner.domains) or "—"),
        ("aliases", ", ".join(partner.aliases) or "—"),
        ("owners", ", ".join(partner.owners) or "—"),
        ("parent", partner.parent or "—"),
        ("family", directory.root(partner.name)),
        ("children", ", ".join(directory.children(partner.name)) or "—"),
        ("meetings", str(meetings)),
    ):
        console.print(Text(f"  {label:<9} {value}"))


@app.command()
def add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Canonical name, e.g. 'World Health Organization'."),
    domain: list[str] = typer.Option([], "--domain", "-d", help="An email domain (repeatable)."),
    alias: list[str] = typer.Option([], "--alias", "-a", help="An acronym or other name (repeatable)."),
    owner: list[str] = typer.Option([], "--owner", "-o", help="Account manager's email (repeatable)."),
    parent: str | None = typer.Option(None, "--parent", "-p", help="The parent partner's name."),
    force: bool = typer.Option(False, "--force", help="Map internal or free-mail domains anyway."),
) -> None:
    """Add a partner."""
    app_ctx = app_context(ctx)
    name = name.strip()
    existing = Directory(app_ctx.store.partners()).get(name) if name else None
    if existing is not None:
        raise DirectoryError(f"partner {existing.name!r} already exists (use `partners edit`)")
    parent_name = require(app_ctx, parent, what="parent partner").name if parent else None
    partner = Partner(name=name, domains=clean_domains(app_ctx, domain, force=force),
                      aliases=tuple(dict.fromkeys(a.strip() for a in alias if a.strip())),
                      owners=clean_owners(owner), parent=parent_name)
    save_checked(app_ctx, [partner])
    typer.echo(f"added {name}")


@app.command()
def edit(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The partner to change."),
    rename: str | None = typer.Option(None, "--rename", help="A new canonical name."),
    add_domain: list[str] = typer.Option([], "--add-domain", help="Add a domain (repeatable)."),
    remove_domain: list[str] = typer.Option([], "--remove-domain", help="Remove a domain (repeatable)."),
    add_alias: list[str] = typer.Option([], "--add-alias", help="Add an alias (repeatable)."),
    remove_alias: list[str] = typer.Option([], "--remove-alias", help="Remove an alias (repeatable)."),
    owner: list[str] = typer.Option([], "--owner", help="Replace the owners (repeatable)."),
    no_owner: bool = typer.Option(False, "--no-owner", help="Remove every owner."),
    parent: str | None = typer.Option(None, "--parent", help="Set the parent partner."),
    no_parent: bool = typer.Option(False, "--no-parent", help="Make it a top-level partner."),
    force: bool = typer.Option(False, "--force", help="Map internal or free-mail domains anyway."),
) -> None:
    """Change a partner: rename, add or remove domains and aliases, set owners or parent."""
    if parent is not None and no_parent:
        raise typer.BadParameter("give --parent or --no-parent, not both", param_hint="--no-parent")
    if owner and no_owner:
        raise typer.BadParameter("give --owner or --no-owner, not both", param_hint="--no-owner")
    if not (rename is not None or add_domain or remove_domain or add_alias or remove_alias or owner or no_owner
            or parent is not None or no_parent):
        raise UserError("nothing to change: give at least one option (see `partners edit --help`)")
    app_ctx = app_context(ctx)
    old = require(app_ctx, name)
    new_name = old.name if rename is None else rename.strip()
    if new_name.casefold() != old.name.casefold():
        clash = Directory(app_ctx.store.partners()).get(new_name) if new_name else None
        if clash is not None:
            raise DirectoryError(f"cannot rename {old.name} to {new_name!r}: partner {clash.name!r} already exists")
    gone = {normalise_domain(d) for d in remove_domain}
    missing = gone - set(old.domains)
    if missing:
        raise DirectoryError(f"{old.name} has no domain {', '.join(sorted(missing))}")
    domains = tuple(d for d in old.domains if d not in gone)
    domains += tuple(d for d in clean_domains(app_ctx, add_domain, force=force) if d not in domains)
    drop = {a.strip().casefold() for a in remove_alias}
    missing_aliases = drop - {a.casefold() for a in old.aliases}
    if missing_aliases:
        raise DirectoryError(f"{old.name} has no alias {', '.join(sorted(missing_aliases))}")
    aliases = tuple(a for a in old.aliases if a.casefold() not in drop)
    aliases += tuple(dict.fromkeys(a.strip() for a in add_alias if a.strip() and a.strip() not in aliases))
    new_parent = None if no_parent else (require(app_ctx, parent, what="parent partner").name if parent
                                         else old.parent)
    owners = () if no_owner else (clean_owners(owner) if owner else old.owners)
    new = replace(old, name=new_name, domains=domains, aliases=aliases, owners=owners, parent=new_parent)
    changed = [new]
    if new.name != old.name:
        changed += [replace(p, parent=new.name) for p in app_ctx.store.partners()
                    if p.parent and p.parent.casefold() == old.name.casefold()
                    and p.name.casefold() != old.name.casefold()]
    save_checked(app_ctx, changed, removed=(old.name,) if new.name.casefold() != old.name.casefold() else ())
    typer.echo(f"updated {new.name}" if new.name == old.name else f"updated {new.name} (was {old.name})")


@app.command()
def remove(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The partner to delete."),
) -> None:
    """Delete a partner and its domains (refused while it has children)."""
    app_ctx = app_context(ctx)
    partner = require(app_ctx, name)
    children = Directory(app_ctx.store.partners()).children(partner.name)
    if children:
        raise DirectoryError(f"{partner.name} is the parent of {', '.join(children)}: "
                             "remove them or change their parent first")
    app_ctx.store.remove_partner(partner.name)
    typer.echo(f"removed {partner.name}")


def _csv_rows(text: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The lower-cased header and (line, cells) of every data row; empty lists if the CSV cannot be read."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader, [])]
        rows = [(reader.line_num, row) for row in reader]
    except csv.Error:
        return [], []
    return header, rows


def read_import(app_ctx: AppContext, file: Path) -> tuple[list[Partner], dict[str, int]]:
    """Parse an import file: partners (parents canonical, which may be in the store) and name → line."""
    label = file.name
    text = read_partners_text(file)
    header, rows = _csv_rows(text)
    line_of: dict[str, int] = {}
    in_file: set[str] = set()
    parents: set[str] = set()
    if all(c in header for c in CSV_COLUMNS):
        for line, row in rows:
            if len(row) == len(header):
                in_file.add(row[header.index("name")].strip().casefold())
                line_of.setdefault(row[header.index("name")].strip().casefold(), line)
                parents.add(row[header.index("parent")].strip())
    stored = Directory(app_ctx.store.partners())
    # A parent named only in the store is fine (import upserts into the directory), but the CSV
    # reader checks parents against the file alone: give it a stub row for each, dropped after.
    stubs = sorted({stored_p.name for p in parents if p and p.casefold() not in in_file
                    and (stored_p := stored.get(p)) is not None})
    if stubs:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        for stub in stubs:
            writer.writerow([stub if c == "name" else "" for c in header])
        text = text + ("" if text.endswith(("\n", "\r")) else "\n") + out.getvalue()
    parsed = parse_partners_csv(text, label=label)
    stub_folds = {s.casefold() for s in stubs}
    incoming = [p for p in parsed if p.name.casefold() not in stub_folds]
    canonical = {p.name.casefold(): p.name for p in [*stored.partners, *incoming]}
    incoming = [replace(p, parent=canonical.get(p.parent.casefold(), p.parent)) if p.parent else p
                for p in incoming]
    return incoming, line_of


def _with_line(problem: str, incoming: Sequence[Partner], line_of: dict[str, int], label: str) -> str:
    """Prefix a directory problem with the file and line of the first imported partner it names."""
    named = problem.removeprefix("parent cycle: ").split(" → ")
    for p in incoming:
        line = line_of.get(p.name.casefold())
        if line is not None and (problem.startswith(f"{p.name}: ") or repr(p.name) in problem or p.name in named):
            return f"{label}:{line}: {problem}"
    return f"{label}: {problem}"


@app.command("import")
def import_csv(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="CSV with the header name,domains,aliases,owner,parent."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check and report; change nothing."),
    force: bool = typer.Option(False, "--force", help="Map internal or free-mail domains anyway."),
) -> None:
    """Import partners from CSV, all or nothing: upsert by name; every error with its line number."""
    app_ctx = app_context(ctx)
    incoming, line_of = read_import(app_ctx, file)
    label = file.name
    freemail = freemail_of(app_ctx)
    ignored = frozenset(app_ctx.store.ignored_domains())
    problems: list[str] = []
    for p in incoming:
        for d in p.domains:
            reason = domain_refusal(app_ctx, d, freemail=freemail, ignored=ignored)
            if reason and (not force or d in ignored):
                problems.append(f"{label}:{line_of.get(p.name.casefold(), '?')}: {p.name}: {reason}")
    problems += [_with_line(msg, incoming, line_of, label) for msg in check_change(app_ctx, incoming)]
    if problems:
        raise DirectoryError(problems)
    existing = {p.name.casefold() for p in app_ctx.store.partners()}
    added = sum(1 for p in incoming if p.name.casefold() not in existing)
    if not dry_run:
        app_ctx.store.save_partners(incoming)
    verb = "would import" if dry_run else "imported"
    typer.echo(f"{verb} {len(incoming)} partners from {file.name}: {added} new, {len(incoming) - added} updated")


@app.command()
def export(
    ctx: typer.Context,
    file: Path | None = typer.Argument(None, help="Write here instead of standard output."),
) -> None:
    """Export the directory as CSV (the import format)."""
    partners = app_context(ctx).store.partners()
    if file is None:
        write_partners_csv(partners, sys.stdout)
        return
    with file.open("w", encoding="utf-8", newline="") as stream:
        write_partners_csv(partners, stream)
    typer.echo(f"exported {len(partners)} partners to {file}")
