"""`alerts …`: the outbox of alert emails."""

from __future__ import annotations

from enum import StrEnum

import typer

from revolving_door.cli.context import app_context, utc_now
from revolving_door.cli.output import Format, emit

app = typer.Typer(help="Alert emails: queued, sent and failed.", no_args_is_help=True)


class Status(StrEnum):
    """Outbox states."""

    queued = "queued"
    sent = "sent"
    failed = "failed"


@app.command("list")
def list_alerts(
    ctx: typer.Context,
    status: Status | None = typer.Option(None, "--status", help="queued, sent or failed."),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="table, json or csv."),
) -> None:
    """Alert emails with their status, attempts and last error."""
    rows = [{
        "message_id": r.message_id, "recipient": r.recipient, "partner": r.family, "subject": r.subject,
        "status": r.status, "attempts": r.attempts, "created": r.created_at.isoformat(),
        "sent": r.sent_at.isoformat() if r.sent_at else None,
        "next_attempt": r.next_attempt_at.isoformat() if r.status == "queued" else None,
        "last_error": r.last_error,
    } for r in app_context(ctx).store.outbox(status.value if status else None)]
    emit(rows, fmt, columns=["created", "recipient", "partner", "status", "attempts", "subject", "last_error"],
         title="Alerts")


@app.command()
def retry(ctx: typer.Context) -> None:
    """Queue failed alerts again; the next cycle delivers them."""
    count = app_context(ctx).store.requeue_failed(utc_now())
    typer.echo(f"{count} failed alert(s) queued again")
