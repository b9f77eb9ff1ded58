"""settings.toml: read with tomllib, validated with pydantic, every problem reported with file and key.

Secrets never live here: only the *name* of an environment variable or the path of a file that
holds them. Relative paths are relative to the settings file.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveInt,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from revolving_door.errors import ConfigError

Email = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, pattern=r"^[^@\s]+@[^@\s]+$")]
DomainName = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1)]


class _Section(BaseModel):
    """Base of every settings section: unknown keys are errors, values are not coerced silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class OrganizationSettings(_Section):
    """`[organization]`: who we are."""

    name: str = "Our organisation"
    internal_domains: list[DomainName] = Field(min_length=1)


class CollectionSettings(_Section):
    """`[collection]`: the window of time collected, around now."""

    past_days: PositiveInt = 30
    future_days: PositiveInt = 180


class CollisionSettings(_Section):
    """`[collision]`: what counts as close together."""

    window_days: PositiveInt = 14
    """Meetings whose starts are at most this many days apart collide (severity: same-day under 24 h,
    within-3-days up to 72 h, else within-window)."""


class StoreSettings(_Section):
    """`[store]`: where state lives (a SQLite path, or a SQLAlchemy URL such as postgresql+psycopg://…)."""

    path: Path | None = None
    url: str | None = None
    url_env: str | None = None
    """Name of an environment variable holding the URL (use it when the URL carries a password)."""

    @model_validator(mode="after")
    def _one_of(self) -> StoreSettings:
        given = [k for k in ("path", "url", "url_env") if getattr(self, k) is not None]
        if len(given) > 1:
            raise ValueError(f"give only one of path, url, url_env (got {', '.join(given)})")
        return self


class MatchingSettings(_Section):
    """`[matching]`: partner resolution knobs."""

    freemail_extra: list[DomainName] = []
    """Domains to treat as free-mail in addition to the bundled list."""
    freemail_allow: list[DomainName] = []
    """Domains on the bundled free-mail list that are real organisations here."""
    ignored_domains: list[DomainName] = []
    """Extra domains never to treat as partners (rooms, conferencing tools), on top of the defaults."""
    title_threshold: float = Field(default=80.0, ge=50, le=100)


class IcsSourceSettings(_Section):
    """`[[sources]] kind = "ics"`: local files (glob; file stem = owner email) or one feed with its owner."""

    kind: Literal["ics"]
    name: str | None = None
    path: str | None = None
    url: str | None = None
    url_env: str | None = None
    """Name of an environment variable holding the feed URL (private feeds carry a secret in the URL)."""
    owner: Email | None = None
    timeout_seconds: PositiveInt = 30

    @model_validator(mode="after")
    def _path_or_url(self) -> IcsSourceSettings:
        given = [k for k in ("path", "url", "url_env") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of path (a glob), url or url_env")
        if self.path is None and self.owner is None:
            raise ValueError(f"{given[0]} needs owner (the staff member's email)")
        return self


class GoogleSourceSettings(_Section):
    """`[[sources]] kind = "google"`: Google Workspace calendars via domain-wide delegation."""

    kind: Literal["google"]
    name: str | None = None
    service_account_file: Path | None = None
    service_account_json_env: str | None = None
    users: list[Email] | Literal["directory"] | None = None
    users_file: Path | None = None
    admin_email: Email | None = None
    """With users = "directory": the admin the Directory API is called as."""
    domain: str | None = None
    customer: str | None = None
    query: str | None = None
    calendar_ids: list[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]] = Field(
        default=["primary"], min_length=1
    )
    """Calendars read per staff member: `primary` is their own calendar."""
    api_endpoint: str | None = None
    """Root of the Google APIs (e.g. https://restricted.googleapis.com); tokens use the key's token_uri."""
    timeout_seconds: PositiveInt = 30
    max_retries: int = Field(default=5, ge=0, le=20)
    concurrency: PositiveInt = 8
    full_resync_hours: PositiveInt = 24
    """How often a bounded full resync collects the meetings that moved into the window."""

    @model_validator(mode="after")
    def _credentials_and_users(self) -> GoogleSourceSettings:
        if (self.service_account_file is None) == (self.service_account_json_env is None):
            raise ValueError("give exactly one of service_account_file or service_account_json_env")
        if (self.users is None) == (self.users_file is None):
            raise ValueError('give exactly one of users (a list, or "directory") or users_file')
        if self.users == "directory" and not (self.domain or self.customer):
            raise ValueError('users = "directory" needs domain or customer')
        if self.users == "directory" and not self.admin_email:
            raise ValueError('users = "directory" needs admin_email (the administrator to list users as)')
        if self.api_endpoint is not None and not self.api_endpoint.startswith(("https://", "http://")):
            raise ValueError("api_endpoint must be an http(s) URL, e.g. https://restricted.googleapis.com")
        return self


class MicrosoftSourceSettings(_Section):
    """`[[sources]] kind = "microsoft"`: Microsoft 365 mailboxes via an application permission."""

    kind: Literal["microsoft"]
    name: str | None = None
    tenant_id: str
    client_id: str
    client_secret_env: str | None = None
    certificate_file: Path | None = None
    certificate_thumbprint: str | None = None
    users: list[str] | None = None
    users_file: Path | None = None
    group_id: str | None = None
    authority_host: str = "https://login.microsoftonline.com"
    graph_endpoint: str = "https://graph.microsoft.com"
    page_size: int = Field(default=100, ge=1, le=1000)
    timeout_seconds: PositiveInt = 30
    max_retries: int = Field(default=5, ge=0, le=20)
    concurrency: PositiveInt = 8

    @model_validator(mode="after")
    def _credentials_and_users(self) -> MicrosoftSourceSettings:
        if (self.client_secret_env is None) == (self.certificate_file is None):
            raise ValueError("give exactly one of client_secret_env or certificate_file")
        if self.certificate_file is not None and not self.certificate_thumbprint:
            raise ValueError("certificate_file needs certificate_thumbprint")
        given = [k for k in ("users", "users_file", "group_id") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of users, users_file or group_id")
        return self


SourceSettings = Annotated[
    IcsSourceSettings | GoogleSourceSettings | MicrosoftSourceSettings, Field(discriminator="kind")
]


class NotifierSettings(_Section):
    """`[notifier]`: who is told, and how alerts are delivered."""

    delivery: Literal["file", "smtp"] = "file"
    path: Path | None = None
    """file delivery: the folder .eml files are written to."""
    sender: Email = Field(default="revolving-door@localhost", alias="from")
    horizon_days: PositiveInt = 30
    exclude: list[Email] = []
    max_attempts: PositiveInt = 8
    host: str | None = None
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    password_env: str | None = None
    timeout_seconds: PositiveInt = 30

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _delivery_keys(self) -> NotifierSettings:
        if self.delivery == "file" and self.path is None:
            raise ValueError('delivery = "file" needs path (a folder for .eml files)')
        if self.delivery == "smtp" and not self.host:
            raise ValueError('delivery = "smtp" needs host')
        return self


class ServiceSettings(_Section):
    """`[service]`: the background poll loop."""

    interval_seconds: PositiveInt = 300
    jitter_seconds: int = Field(default=30, ge=0)
    concurrency: PositiveInt = 4
    health_port: int | None = Field(default=None, ge=0, le=65535)
    failure_warning_after: PositiveInt = 3


class Settings(_Section):
    """The whole of settings.toml."""

    organization: OrganizationSettings
    collection: CollectionSettings = CollectionSettings()
    collision: CollisionSettings = CollisionSettings()
    store: StoreSettings = StoreSettings()
    matching: MatchingSettings = MatchingSettings()
    sources: list[SourceSettings] = []
    notifier: NotifierSettings = NotifierSettings(path=Path("outbox"))
    service: ServiceSettings = ServiceSettings()

    base_dir: Path = Path(".")
    """The settings file's folder (not a key of the file): relative paths resolve against it."""
    file: Path = Path("settings.toml")

    @field_validator("sources")
    @classmethod
    def _unique_names(cls, sources: list[Any]) -> list[Any]:
        names = [s.name for s in sources if s.name]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"source names must be unique: {', '.join(dupes)}")
        return sources

    def resolve(self, path: Path | str) -> Path:
        """A path from the settings, made absolute against the settings file's folder."""
        p = Path(path).expanduser()
        return p if p.is_absolute() else self.base_dir / p

    def source_name(self, index: int) -> str:
        """The name of the index-th source: its `name`, or `KIND-N`."""
        src = self.sources[index]
        return src.name or f"{src.kind}-{index + 1}"

    @property
    def store_url(self) -> str:
        """The SQLAlchemy URL of the store."""
        if self.store.url:
            return self.store.url
        if self.store.url_env:
            value = os.environ.get(self.store.url_env)
            if not value:
                raise ConfigError(
                    f"{self.file.name}: store.url_env: environment variable {self.store.url_env} is not set"
                )
            return value
        return f"sqlite:///{self.resolve(self.store.path or 'state.db')}"


def _location(loc: Sequence[int | str]) -> str:
    """pydantic's error location as a dotted key path (`sources[1].path`)."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("ics", "google", "microsoft"):
            continue  # the discriminated union's tag: not part of the user's key path
        else:
            out += ("." if out else "") + str(part)
    return out


def _describe(err: Any) -> str:
    """One pydantic error as `key: problem, got VALUE`."""
    key = _location(err["loc"])
    msg = err["msg"]
    kind = err["type"]
    if kind == "extra_forbidden":
        return f"{key}: unknown key"
    if kind == "missing":
        return f"{key}: required key is missing"
    msg = msg.removeprefix("Value error, ")
    got = err.get("input")
    if kind not in ("model_type", "union_tag_invalid") and not isinstance(got, dict | list):
        msg += f", got {got!r}"
    return f"{key}: {msg}" if key else msg


def load_settings(path: Path | str) -> Settings:
    """Read and validate settings.toml; raise ConfigError naming the file and every bad key."""
    path = Path(path)
    name = str(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{name}: settings file not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{name}: cannot read: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{name}: not valid TOML: {exc}") from exc
    for forbidden in ("base_dir", "file"):
        if forbidden in raw:
            raise ConfigError(f"{name}: {forbidden}: unknown key")
    try:
        settings = Settings.model_validate(
            {**raw, "base_dir": path.resolve().parent, "file": path}
        )
    except ValidationError as exc:
        raise ConfigError([f"{name}: {_describe(e)}" for e in exc.errors()]) from exc
    return settings
