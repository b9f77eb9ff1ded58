"""The composition root: builds collectors, resolver, notifier and store from settings."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from notifier.delivery import Delivery, FileDelivery, SmtpDelivery

from collectors.base import Collector
from revolving_door.errors import ConfigError
from revolving_door.settings import (
    GoogleSourceSettings,
    IcsSourceSettings,
    MicrosoftSourceSettings,
    Settings,
)
from revolving_door.store import Store

if TYPE_CHECKING:
    from revolving_door.service import Clock, Pipeline


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


def build_delivery(settings: Settings) -> Delivery:
    """The alert delivery named by `[notifier] delivery`."""
    ns = settings.notifier
    if ns.delivery == "file":
        return FileDelivery(settings.resolve(ns.path or "outbox"))
    password = None
    if ns.password_env:
        password = os.environ.get(ns.password_env)
        if password is None:
            raise ConfigError(f"{settings.file}: notifier.password_env: environment variable "
                              f"{ns.password_env} is not set")
    assert ns.host is not None  # validated by NotifierSettings
    return SmtpDelivery(host=ns.host, port=ns.port, security=ns.security, username=ns.username,
                        password=password, sender=ns.sender, timeout_seconds=ns.timeout_seconds)


def build_pipeline(settings: Settings, store: Store, clock: Clock) -> Pipeline:
    """Every port of the pipeline, from settings."""
    from revolving_door.service import Pipeline

    return Pipeline(settings=settings, store=store, collectors=build_collectors(settings),
                    delivery=build_delivery(settings), clock=clock)
