"""The `revolving-door` command line: one root app, one module per command group."""

from __future__ import annotations

import logging
import sys
from enum import StrEnum
from pathlib import Path

import typer

from revolving_door.cli import alerts, domains, partners, run, views
from revolving_door.cli.context import AppContext
from revolving_door.errors import RevolvingDoorError


class LogFormat(StrEnum):
    """How logs are written to stderr."""

    text = "text"
    json = "json"


app = typer.Typer(
    name="revolving-door",
    help="Warns colleagues before they visit the same partner organisation one after another.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(partners.app, name="partners")
app.add_typer(domains.app, name="domains")
app.add_typer(alerts.app, name="alerts")
app.add_typer(views.events_app, name="events")
app.add_typer(views.collisions_app, name="collisions")
run.register(app)


@app.callback()
def root(
    ctx: typer.Context,
    config: Path = typer.Option(Path("settings.toml"), "--config", "-c", help="The settings file.",
                                envvar="REVOLVING_DOOR_CONFIG"),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks and debug logs."),
    log_format: LogFormat = typer.Option(LogFormat.text, "--log-format", help="Logs as text or JSON lines."),
) -> None:
    """Warns colleagues before they visit the same partner organisation one after another."""
    from revolving_door.logs import setup_logging

    setup_logging(debug=debug, json_lines=log_format is LogFormat.json)
    ctx.obj = AppContext(config=config, debug=debug)
    ctx.call_on_close(ctx.obj.close)


def main() -> None:
    """Entry point: run the app; our errors become one line on stderr and exit code 1."""
    debug = "--debug" in sys.argv[1:]
    try:
        app()
    except RevolvingDoorError as exc:
        if debug:
            raise
        problems = getattr(exc, "problems", None) or (str(exc),)
        for problem in problems:
            typer.echo(f"error: {problem}", err=True)
        logging.shutdown()
        sys.exit(1)
