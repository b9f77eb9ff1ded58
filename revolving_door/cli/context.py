"""What every CLI command shares: the settings file, the store and the pipeline, opened on demand."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import typer

from revolving_door.settings import Settings, load_settings
from revolving_door.store import Store


def utc_now() -> datetime:
    """The current time, aware UTC: the one clock of the running program."""
    return datetime.now(UTC)


@dataclass
class AppContext:
    """Lazily opened settings and store for one CLI invocation."""

    config: Path
    debug: bool = False
    _settings: Settings | None = field(default=None, repr=False)
    _store: Store | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        """The validated settings (read once)."""
        if self._settings is None:
            self._settings = load_settings(self.config)
        return self._settings

    @property
    def store(self) -> Store:
        """The store named by the settings, migrated (opened once)."""
        if self._store is None:
            self._store = Store.open(self.settings.store_url)
        return self._store

    def close(self) -> None:
        """Release the store."""
        if self._store is not None:
            self._store.close()


def app_context(ctx: typer.Context) -> AppContext:
    """The AppContext the root callback stored."""
    obj = ctx.find_root().obj
    assert isinstance(obj, AppContext)
    return obj
