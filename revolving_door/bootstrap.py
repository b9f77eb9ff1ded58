"""The composition root: builds collectors, resolver, notifier and store from settings."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from collectors.base import Collector
from notifier.delivery import Delivery, FileDelivery, SmtpDelivery
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
    """An ICS collector over local files or one feed (its URL possibly from an environment variable)."""
    from collectors.ics import IcsCollector

    url = src.url
    if src.url_env is not None:
        url = os.environ.get(src.url_env)
        if not url:
            raise ConfigError(f"{settings.file}: sources: {name}: url_env: environment variable {src.url_env} "
                              "is not set")
    return IcsCollector(
        name,
        path_glob=src.path,
        base_dir=settings.base_dir,
        url=url,
        owner=src.owner,
        timeout=src.timeout_seconds,
    )


def _build_google(name: str, src: GoogleSourceSettings, settings: Settings) -> Collector:
    """A Google Workspace collector: the service-account key, the staff to watch, the API endpoint."""
    import json
    from datetime import timedelta

    from collectors.google import GoogleCollector, GoogleDirectory

    where = f"{settings.file.name}: source {name}"
    if src.service_account_file is not None:
        key_path = settings.resolve(src.service_account_file)
        try:
            key_text = key_path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{where}: service_account_file: cannot read {key_path}: {exc}") from exc
        key_origin = str(key_path)
    else:
        env_name = src.service_account_json_env or ""
        key_text = os.environ.get(env_name, "")
        if not key_text.strip():
            raise ConfigError(f"{where}: service_account_json_env: environment variable {env_name} is not set")
        key_origin = f"environment variable {env_name}"
    try:
        info = json.loads(key_text)
    except ValueError as exc:
        raise ConfigError(f"{where}: the service account key in {key_origin} is not valid JSON ({exc})") from exc
    if not isinstance(info, dict):
        raise ConfigError(f"{where}: the service account key in {key_origin} is not a JSON object")
    missing = [k for k in ("client_email", "private_key", "token_uri") if not info.get(k)]
    if info.get("type") != "service_account" or missing:
        raise ConfigError(
            f"{where}: {key_origin} is not a service account key (type must be service_account"
            + (f"; missing {', '.join(missing)})" if missing else ")")
        )
    users: list[str] | None = None
    directory: GoogleDirectory | None = None
    if src.users == "directory":
        directory = GoogleDirectory(
            admin_email=src.admin_email or "", domain=src.domain, customer=src.customer, query=src.query
        )
    elif src.users is not None:
        users = list(src.users)
    else:
        users_path = settings.resolve(src.users_file or "")
        try:
            lines = users_path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{where}: users_file: cannot read {users_path}: {exc}") from exc
        users, problems = [], []
        for number, line in enumerate(lines, start=1):
            entry = line.split("#", 1)[0].strip().lower()
            if not entry:
                continue
            if entry.count("@") != 1 or " " in entry:
                problems.append(f"{where}: users_file {users_path} line {number}: not an email address: {entry!r}")
            users.append(entry)
        if problems:
            raise ConfigError(problems)
    return GoogleCollector(
        name,
        service_account_info=info,
        users=users,
        directory=directory,
        calendar_ids=tuple(src.calendar_ids),
        api_endpoint=src.api_endpoint,
        timeout=src.timeout_seconds,
        max_retries=src.max_retries,
        concurrency=src.concurrency,
        full_resync_every=timedelta(hours=src.full_resync_hours),
    )


def _build_microsoft(name: str, src: MicrosoftSourceSettings, settings: Settings) -> Collector:
    """A Microsoft 365 collector: client secret from the environment (or a certificate), users or a group."""
    from collectors.microsoft import MicrosoftCollector

    where = f"{settings.file.name}: sources ({name})"
    credential: str | dict[str, str]
    if src.client_secret_env is not None:
        secret = os.environ.get(src.client_secret_env, "")
        if not secret:
            raise ConfigError(f"{where}: client_secret_env: environment variable {src.client_secret_env} is not set")
        credential = secret
    else:
        key_path = settings.resolve(src.certificate_file or "")
        try:
            private_key = key_path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{where}: certificate_file: cannot read {key_path}: {exc}") from exc
        credential = {"private_key": private_key, "thumbprint": (src.certificate_thumbprint or "").replace(":", "")}
    users = list(src.users) if src.users is not None else None
    if src.users_file is not None:
        users_path = settings.resolve(src.users_file)
        try:
            lines = users_path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{where}: users_file: cannot read {users_path}: {exc}") from exc
        users = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
        if not users:
            raise ConfigError(f"{where}: users_file: {users_path} lists no users")
    return MicrosoftCollector(
        name,
        tenant_id=src.tenant_id,
        client_id=src.client_id,
        client_credential=credential,
        users=users,
        group_id=src.group_id,
        authority_host=src.authority_host,
        graph_endpoint=src.graph_endpoint,
        page_size=src.page_size,
        timeout=float(src.timeout_seconds),
        max_retries=src.max_retries,
        concurrency=src.concurrency,
    )


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
