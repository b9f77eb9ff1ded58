"""The composition root: builds collectors, resolver, notifier and store from settings."""

from __future__ import annotations

from collectors.base import Collector
from revolving_door.errors import ConfigError
from revolving_door.settings import (
    GoogleSourceSettings,
    IcsSourceSettings,
    MicrosoftSourceSettings,
    Settings,
)


def build_collectors(settings: Settings) -> list[Collector]:
    """One collector per `[[sources]]` entry, in order."""
    out: list[Collector] = []
    for index, src in enumerate(settings.sources):
        name = settings.source_name(index)
        if isinstance(src, IcsSourceSettings):
            out.append(_build_ics(name, src, settings))
        elif isinstance(src, GoogleSourceSettings):
            out.append(_build_google(name, src, settings))
        elif isinstance(src, MicrosoftSourceSettings):
            out.append(_build_microsoft(name, src, settings))
    return out


def _build_ics(name: str, src: IcsSourceSettings, settings: Settings) -> Collector:
    """An ICS collector over local files or one URL."""
    from collectors.ics import IcsCollector

    return IcsCollector(
        name,
        path_glob=src.path,
        base_dir=settings.base_dir,
        url=src.url,
        owner=src.owner,
        timeout=src.timeout_seconds,
    )


def _build_google(name: str, src: GoogleSourceSettings, settings: Settings) -> Collector:
    """A Google Workspace collector (filled in by the Google collector work)."""
    raise ConfigError(f"{settings.file.name}: sources: kind = \"google\" is not available in this build")


def _build_microsoft(name: str, src: MicrosoftSourceSettings, settings: Settings) -> Collector:
    """A Microsoft 365 collector (filled in by the Microsoft collector work)."""
    raise ConfigError(f"{settings.file.name}: sources: kind = \"microsoft\" is not available in this build")
