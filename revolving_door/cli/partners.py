"""`partners …`: keep the partner directory (names, domains, aliases, owners, parents)."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import typer
from rich.console import Console
from rich.text import Text

from matching.directory import (
    Directory,
    check_mappable,
    normalise_domain,
    read_partners_csv,
    validate_partners,
    write_partners_csv,
)
from matching.domains import DomainResolver
from revolving_door.cli.context import AppContext, app_context
from revolving_door.cli.output import Format, emit
from revolving_door.errors import DirectoryError, NotFoundError
from revolving_door.model import Partner

app = typer.Typer(help="Keep the partner directory.", no_args_is_help=True)


def freemail_of(app_ctx: AppContext) -> frozenset[str]:
    """The free-mail domains in force (bundled list with the settings' overrides)."""
    m = app_ctx.settings.matching
    resolver = DomainResolver(Directory([]), internal_domains=app_ctx.settings.organization.internal_domains,
                              freemail_extra=m.freemail_extra, freemail_allow=m.freemail_allow)
    return resolver.freemail


def clean_domains(app_ctx: AppContext, domains: list[str], *, force: bool) -> tuple[str, ...]:
    """Normalise admin-entered domains; refuse internal and free-mail ones unless forced."""
    out: list[str] = []
    problems: list[str] = []
    freemail = freemail_of(app_ctx) if domains else frozenset()
    for raw in domains:
        domain = normalise_domain(raw)
        reason = check_mappable(domain, internal_domains=app_ctx.settings.organization.internal_domains,
                                freemail=freemail)
        if reason and not force:
            problems.append(f"{reason} (use --force to map it anyway)")
        elif domain not in out:
            out.append(domain)
    if problems:
        raise DirectoryError(problems)
    return tuple(out)


def save_checked(app_ctx: AppContext, changed: list[Partner], *, removed: tuple[str, ...] = ()) -> None:
    """Validate the directory as it would be after the change, then store the change in one transaction."""
    folds = {p.name.casefold() for p in changed} | {n.casefold() for n in removed}
    after = [p for p in app_ctx.store.partners() if p.name.casefold() not in folds] + changed
    problems = validate_partners(after)
    if problems:
        raise DirectoryError(problems)
    app_ctx.store.save_partners(changed, replace_names=removed)


def require(app_ctx: AppContext, name: str) -> Partner:
    """The partner with this name (any case), or a NotFoundError."""
    partner = Directory(app_ctx.store.partners()).get(name)
    if partner is None:
        raise NotFoundError(f"no partner named {name!r} (see `partners list`)")
    return partner


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
    if Directory(app_ctx.store.partners()).get(name) is not None:
        raise DirectoryError(f"partner {name!r} already exists (use `partners edit`)")
    parent_name = require(app_ctx, parent).name if parent else None
    partner = Partner(name=name, domains=clean_domains(app_ctx, domain, force=force),
                      aliases=tuple(a.strip() for a in alias if a.strip()),
                      owners=tuple(o.strip().lower() for o in owner), parent=parent_name)
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
    parent: str | None = typer.Option(None, "--parent", help="Set the parent partner."),
    no_parent: bool = typer.Option(False, "--no-parent", help="Make it a top-level partner."),
    force: bool = typer.Option(False, "--force", help="Map internal or free-mail domains anyway."),
) -> None:
    """Change a partner: rename, add or remove domains and aliases, set owners or parent."""
    app_ctx = app_context(ctx)
    old = require(app_ctx, name)
    gone = {normalise_domain(d) for d in remove_domain}
    missing = gone - set(old.domains)
    if missing:
        raise DirectoryError(f"{old.name} has no domain {', '.join(sorted(missing))}")
    domains = tuple(d for d in old.domains if d not in gone)
    domains += tuple(d for d in clean_domains(app_ctx, add_domain, force=force) if d not in domains)
    drop = {a.casefold() for a in remove_alias}
    aliases = tuple(a for a in old.aliases if a.casefold() not in drop)
    aliases += tuple(a.strip() for a in add_alias if a.strip() and a.strip() not in aliases)
    new_parent = None if no_parent else (require(app_ctx, parent).name if parent else old.parent)
    new = replace(old, name=(rename or old.name).strip(), domains=domains, aliases=aliases,
                  owners=tuple(o.strip().lower() for o in owner) if owner else old.owners, parent=new_parent)
    changed = [new]
    if new.name != old.name:
        changed += [replace(p, parent=new.name) for p in app_ctx.store.partners()
                    if p.parent and p.parent.casefold() == old.name.casefold()]
    save_checked(app_ctx, changed, removed=(old.name,) if new.name.casefold() != old.name.casefold() else ())
    typer.echo(f"updated {new.name}")


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


@app.command("import")
def import_csv(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="CSV with the header name,domains,aliases,owner,parent."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check and report; change nothing."),
) -> None:
    """Import partners from CSV, all or nothing: upsert by name; every error with its line number."""
    app_ctx = app_context(ctx)
    incoming = read_partners_csv(file)
    existing = {p.name.casefold() for p in app_ctx.store.partners()}
    added = sum(1 for p in incoming if p.name.casefold() not in existing)
    if not dry_run:
        save_checked(app_ctx, incoming)
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
