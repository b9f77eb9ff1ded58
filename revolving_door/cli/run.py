"""`sync`, `serve` and `check`: running the pipeline and verifying the sources."""

from __future__ import annotations

import logging
import sys

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from revolving_door.bootstrap import build_collectors, build_pipeline
from revolving_door.cli.context import app_context, utc_now
from revolving_door.errors import CollectorError, UserError
from revolving_door.lock import cycle_lock
from revolving_door.service import CycleReport, Pipeline, run_cycle


def summary(report: CycleReport) -> str:
    """A cycle's outcome in one plain line."""
    return (
        f"calendars: {report.calendars_ok} synced, {report.calendars_failed} failed"
        f"{f', {report.calendars_skipped} backing off' if report.calendars_skipped else ''}; "
        f"events: {report.events_upserted} new or changed, {report.events_deleted} removed, "
        f"{report.events_resolved} resolved; "
        f"collisions: {report.collisions} ({report.collisions_new} new); "
        f"alerts: {report.alerts_queued} queued, {report.alerts_sent} sent, {report.alerts_failed} failed"
    )


def sync(
    ctx: typer.Context,
    once: bool = typer.Option(False, "--once", help="Run one full cycle and exit (required)."),
) -> None:
    """Run one full cycle: collect every calendar, resolve partners, detect collisions, send alerts."""
    if not once:
        raise UserError("sync runs one cycle and needs --once; use `serve` to keep polling")
    app = app_context(ctx)
    pipeline = build_pipeline(app.settings, app.store, utc_now)

    def waiting() -> None:
        typer.echo("another cycle (serve or sync) is running on this store: waiting for it to finish", err=True)

    with cycle_lock(app.settings, on_wait=waiting):
        report = _run_with_progress(pipeline)
    typer.echo(summary(report))
    for error in report.errors:
        typer.echo(f"warning: {error}", err=True)


def _run_with_progress(pipeline: Pipeline) -> CycleReport:
    """One cycle by hand: a progress bar over calendars on a terminal, nothing extra otherwise."""
    if sys.stderr.isatty():
        console = Console(stderr=True)
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=console, transient=True) as bar:
            task = bar.add_task("calendars", total=None)

            def tick(owner: str, done: int, total: int) -> None:
                bar.update(task, completed=done, total=total, description=f"calendars ({owner})")

            return run_cycle(pipeline, progress=tick, respect_backoff=False)
    return run_cycle(pipeline, respect_backoff=False)


def serve(ctx: typer.Context) -> None:
    """Poll every source in the background until SIGTERM or SIGINT, then exit cleanly."""
    from revolving_door.serve import serve_forever

    app = app_context(ctx)
    if not app.debug:
        logging.getLogger("revolving_door").setLevel(logging.INFO)
    serve_forever(build_pipeline(app.settings, app.store, utc_now))


def check(ctx: typer.Context) -> None:
    """Verify every source's credentials and access, and say what to fix."""
    app = app_context(ctx)
    console = Console()
    failed = 0
    for collector in build_collectors(app.settings):
        console.print(Text(f"source {collector.name}", style="bold"))
        try:
            results = collector.check()
        except CollectorError as exc:
            console.print(Text(f"  FAIL  {exc}", style="red"))
            failed += 1
            continue
        for result in results:
            mark = Text("  ok    ", style="green") if result.ok else Text("  FAIL  ", style="red")
            console.print(mark + Text(result.what))
            if not result.ok:
                failed += 1
                if result.advice:
                    console.print(Text(f"        {result.advice}"))
    if failed:
        raise UserError(f"{failed} check(s) failed")


def register(app: typer.Typer) -> None:
    """Add the run commands to the root app."""
    app.command()(sync)
    app.command()(serve)
    app.command()(check)
