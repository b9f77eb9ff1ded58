"""`domains …`: map and ignore email domains, and review the unknown ones seen in meetings."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import typer

from matching.directory import Directory, normalise_domain
from matching.domains import DomainResolver, registrable_domain, split_address
from revolving_door.cli.context import AppContext, app_context
from revolving_door.cli.output import Format, emit
from revolving_door.cli.partners import clean_domains, require, save_checked
from revolving_door.errors import DirectoryError, UserError

app = typer.Typer(help="Map, ignore and review email domains.", no_args_is_help=True)


@app.command("map")
def map_domain(
    ctx: typer.Context,
    domain: str = typer.Argument(..., help="The email domain, e.g. example.org."),
    partner: str = typer.Argument(..., help="The partner it belongs to."),
    force: bool = typer.Option(False, "--force", help="Map an internal or free-mail domain anyway."),
) -> None:
    """Map a domain to a partner (moving it if another partner had it)."""
    app_ctx = app_context(ctx)
    target = require(app_ctx, partner)
    (clean,) = clean_domains(app_ctx, [domain], force=force)
    if clean in target.domains:
        typer.echo(f"{clean} already maps to {target.name}")
        return
    changed = [replace(target, domains=(*target.domains, clean))]
    previous = [p for p in app_ctx.store.partners() if p.name != target.name and clean in p.domains]
    changed += [replace(p, domains=tuple(d for d in p.domains if d != clean)) for p in previous]
    save_checked(app_ctx, changed)
    moved = f" (moved from {', '.join(p.name for p in previous)})" if previous else ""
    typer.echo(f"{clean} → {target.name}{moved}")


@app.command()
def unmap(ctx: typer.Context, domain: str = typer.Argument(..., help="The domain to unmap.")) -> None:
    """Remove a domain from its partner."""
    clean = normalise_domain(domain)
    name = app_context(ctx).store.unmap_domain(clean)
    typer.echo(f"{clean} no longer maps to {name}")


@app.command()
def ignore(ctx: typer.Context, domain: str = typer.Argument(..., help="The domain to ignore.")) -> None:
    """Never treat a domain as a partner (rooms, tools, look-alikes); hides it from review."""
    app_ctx = app_context(ctx)
    clean = normalise_domain(domain)
    owner = Directory(app_ctx.store.partners()).domain_owner(clean)
    if owner:
        raise DirectoryError(f"{clean} maps to {owner}; run `domains unmap {clean}` first")
    changed = app_ctx.store.set_ignored(clean, True)
    typer.echo(f"{clean} ignored" if changed else f"{clean} was already ignored")


@app.command()
def unignore(ctx: typer.Context, domain: str = typer.Argument(..., help="The domain to stop ignoring.")) -> None:
    """Stop ignoring a domain."""
    clean = normalise_domain(domain)
    if not app_context(ctx).store.set_ignored(clean, False):
        raise UserError(f"{clean} is not ignored")
    typer.echo(f"{clean} no longer ignored")


def unknown_domains(app_ctx: AppContext) -> list[dict[str, Any]]:
    """Unknown external domains seen in meetings, most seen first, each with a suggested partner."""
    from matching.review import DomainSighting, rank_unknown_domains, suggest_partner

    settings = app_ctx.settings
    directory = Directory(app_ctx.store.partners())
    resolver = DomainResolver(directory, internal_domains=settings.organization.internal_domains,
                              freemail_extra=settings.matching.freemail_extra,
                              freemail_allow=settings.matching.freemail_allow,
                              ignored_domains=[*settings.matching.ignored_domains,
                                               *app_ctx.store.ignored_domains()])
    sightings: list[DomainSighting] = []
    titles: dict[str, dict[str, str]] = {}
    for event in app_ctx.store.events():
        if event.cancelled:
            continue
        for attendee in event.attendees:
            if attendee.is_resource or attendee.response == "declined":
                continue
            local, host = split_address(attendee.email)
            if not host or local in resolver.ignored_local_parts or resolver.classify(host) != "unknown":
                continue
            domain = registrable_domain(host)
            sightings.append(DomainSighting(domain=domain, key=event.key, staff=event.calendar, start=event.start))
            if not event.private:  # a private meeting's title never reaches the review queue
                titles.setdefault(domain, {}).setdefault(event.key, event.title)
    rows = []
    for unknown in rank_unknown_domains(sightings):
        suggestion = suggest_partner(unknown.domain, directory, list(titles.get(unknown.domain, {}).values()))
        rows.append({
            "domain": unknown.domain, "meetings": unknown.meetings, "staff": unknown.staff,
            "first_seen": unknown.first_seen.date().isoformat(),
            "last_seen": unknown.last_seen.date().isoformat(),
            "suggestion": suggestion.partner if suggestion else None,
            "score": round(suggestion.score, 1) if suggestion else None,
            "why": suggestion.why if suggestion else None,
        })
    return rows


@app.command()
def review(
    ctx: typer.Context,
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="table, json or csv."),
) -> None:
    """Unknown external domains seen in meetings, ranked, with a suggested partner and why."""
    emit(unknown_domains(app_context(ctx)), fmt,
         columns=["domain", "meetings", "staff", "first_seen", "last_seen", "suggestion", "score", "why"],
         title="Unknown domains")


@app.command()
def accept(
    ctx: typer.Context,
    domain: str | None = typer.Argument(None, help="The domain whose suggestion to accept."),
    accept_all: bool = typer.Option(False, "--all", help="Accept every suggestion scoring at least --min-score."),
    min_score: float = typer.Option(90.0, "--min-score", help="With --all: the lowest score accepted."),
) -> None:
    """Map a reviewed domain to its suggested partner (or all suggestions above a score)."""
    app_ctx = app_context(ctx)
    if (domain is None) == (not accept_all):
        raise typer.BadParameter("give a DOMAIN or --all (not both)", param_hint="DOMAIN")
    rows = unknown_domains(app_ctx)
    if domain is not None:
        clean = normalise_domain(domain)
        picked = [r for r in rows if r["domain"] == clean]
        if not picked:
            raise UserError(f"{clean} is not in the review list (see `domains review`)")
        if not picked[0]["suggestion"]:
            raise UserError(f"no suggestion for {clean}; map it with `domains map {clean} PARTNER`")
    else:
        picked = [r for r in rows if r["suggestion"] and (r["score"] or 0) >= min_score]
    directory = Directory(app_ctx.store.partners())
    by_partner: dict[str, list[str]] = {}
    for row in picked:
        by_partner.setdefault(str(row["suggestion"]), []).append(str(row["domain"]))
    changed = []
    for name, domains in by_partner.items():
        partner = directory.get(name)
        if partner is not None:
            changed.append(replace(partner, domains=(*partner.domains, *domains)))
    if changed:
        save_checked(app_ctx, changed)
    for row in picked:
        typer.echo(f"{row['domain']} → {row['suggestion']} ({row['score']})")
    if not picked:
        typer.echo("nothing to accept")
