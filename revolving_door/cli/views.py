"""`events list` and `collisions list`: what was collected and what collides (JSON shapes are a contract)."""

from __future__ import annotations

from typing import Any

import typer

from revolving_door.cli.context import app_context
from revolving_door.cli.output import Format, emit
from revolving_door.model import CalendarEvent, Meeting

events_app = typer.Typer(help="Collected calendar events.", no_args_is_help=True)
collisions_app = typer.Typer(help="Meetings with the same partner that fall close together.",
                             no_args_is_help=True)

PRIVATE_TITLE = "(private meeting)"


def _iso(value: Any) -> str:
    return str(value.isoformat().replace("+00:00", "Z"))


def _title(title: str, private: bool) -> str:
    return PRIVATE_TITLE if private else title


@events_app.command("list")
def list_events(
    ctx: typer.Context,
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="table, json or csv."),
    partner: str | None = typer.Option(None, "--partner", help="Only events matched to this partner."),
) -> None:
    """Every collected occurrence, one entry per calendar and key, with the partners found and why."""
    store = app_context(ctx).store
    matches = store.matches()
    rows = []
    for event in store.events():
        found = matches.get((event.calendar, event.key), [])
        names = sorted({m.partner for m in found})
        if partner and partner.casefold() not in {n.casefold() for n in names}:
            continue
        rows.append(_event_row(event, names, [m.evidence for m in found]))
    emit(rows, fmt, columns=["start", "calendar", "title", "partners", "key"], title="Events")


def _event_row(event: CalendarEvent, names: list[str], evidence: list[str]) -> dict[str, Any]:
    private = event.private
    return {
        "key": event.key,
        "calendar": event.calendar,
        "title": _title(event.title, private),
        "start": _iso(event.start),
        "end": _iso(event.end),
        "all_day": event.all_day,
        "status": event.status,
        "partners": names,
        "evidence": [] if private else evidence,
    }


def _meeting(m: Meeting) -> dict[str, Any]:
    return {
        "key": m.key,
        "calendar": m.calendars[0] if m.calendars else "",
        "calendars": list(m.calendars),
        "start": _iso(m.start),
        "title": _title(m.title, m.private),
        "partners": list(m.partners),
        "attendees": sorted(m.internal_attendees),
    }


@collisions_app.command("list")
def list_collisions(
    ctx: typer.Context,
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="table, json or csv."),
    partner: str | None = typer.Option(None, "--partner", help="Only this partner family."),
) -> None:
    """Every colliding pair of meetings: same partner family, close in time, nobody in common."""
    from revolving_door.bootstrap import build_pipeline
    from revolving_door.cli.context import utc_now
    from revolving_door.service import build_directory, current_collisions

    app = app_context(ctx)
    pipeline = build_pipeline(app.settings, app.store, utc_now)
    directory, _ = build_directory(pipeline)
    records: list[dict[str, Any]] = []
    for c in current_collisions(pipeline, directory):
        if partner and directory.root(partner).casefold() != c.family.casefold():
            continue
        first, second = sorted((c.a, c.b), key=lambda m: (m.start, m.key))
        records.append({
            "partner": c.family,
            "severity": c.severity,
            "same_location": c.same_location,
            "gap_hours": round(c.gap.total_seconds() / 3600, 1),
            "meetings": [_meeting(first), _meeting(second)],
        })
    records.sort(key=lambda r: (r["meetings"][0]["start"], r["partner"]))
    if fmt is Format.json:
        emit(records, fmt, columns=[])
        return
    flat = [{
        "partner": r["partner"],
        "severity": r["severity"],
        "when": " → ".join(m["start"][:16].replace("T", " ") for m in r["meetings"]),
        "who": " | ".join(m["calendar"] for m in r["meetings"]),
        "meetings": " | ".join(m["title"] for m in r["meetings"]),
    } for r in records]
    emit(flat, fmt, columns=["partner", "severity", "when", "who", "meetings"], title="Collisions")
