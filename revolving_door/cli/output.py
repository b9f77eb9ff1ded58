"""Rendering lists for the terminal (Rich tables) or for tools (JSON, CSV)."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text


class Format(StrEnum):
    """Output formats of the list commands."""

    table = "table"
    json = "json"
    csv = "csv"


def _cell(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "; ".join(_cell(v) for v in value)
    return "" if value is None else str(value)


def emit(rows: Sequence[Mapping[str, Any]], fmt: Format, *, columns: Sequence[str],
         title: str | None = None) -> None:
    """Print rows as a table, a JSON array (every field) or CSV (the given columns)."""
    if fmt is Format.json:
        sys.stdout.write(json.dumps(list(rows), ensure_ascii=False, indent=1, default=str) + "\n")
        return
    if fmt is Format.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(row.get(c)) for c in columns])
        return
    table = Table(title=title, show_lines=False)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(Text(_cell(row.get(c))) for c in columns))  # Text: outsider text is not markup
    Console().print(table)
