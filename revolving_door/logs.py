"""Logging set-up: readable lines on a terminal, or JSON lines for log collectors."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime


class JsonLines(logging.Formatter):
    """One JSON object per record: time, level, logger, message (and exception text)."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one JSON line."""
        data = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


def setup_logging(*, debug: bool = False, json_lines: bool = False) -> None:
    """Send our logs to stderr, at INFO (DEBUG with --debug); vendor libraries stay at WARNING."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines() if json_lines else logging.Formatter("%(levelname)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("revolving_door").setLevel(logging.DEBUG if debug else logging.WARNING)
    for name in ("googleapiclient.discovery_cache", "msal", "urllib3", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING if debug else logging.ERROR)
