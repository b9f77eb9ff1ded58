"""The one error hierarchy of revolving-door.

    RevolvingDoorError                 root: everything we raise on purpose
    ├── UserError                      the user can fix it; the CLI prints one line, exit 1
    │   ├── ConfigError                settings.toml is missing or invalid (carries every problem)
    │   ├── DirectoryError             a partner/domain command or CSV import was refused
    │   └── NotFoundError              a named partner, domain or alert does not exist
    ├── StoreError                     the database could not be opened or migrated
    ├── CollectorError                 one calendar (or source) could not be synced
    │   ├── AuthError                  credentials refused, delegation or consent missing
    │   ├── ThrottledError             rate limited; `retry_after` seconds if the server said
    │   ├── CursorExpiredError         the sync cursor is no longer valid: full resync needed
    │   ├── SourceUnavailableError     network failure, 5xx, timeouts
    │   └── BadDataError               the source returned data we cannot read
    └── DeliveryError                  an alert could not be delivered (it stays queued)

Vendor exceptions are converted at the adapter boundary with `raise ... from exc`.
"""

from __future__ import annotations

from collections.abc import Iterable


class RevolvingDoorError(Exception):
    """Root of every error revolving-door raises on purpose."""


class UserError(RevolvingDoorError):
    """A problem the user can fix; carries one or more messages."""

    def __init__(self, message: str | Iterable[str]) -> None:
        self.problems: tuple[str, ...] = (message,) if isinstance(message, str) else tuple(message)
        super().__init__("; ".join(self.problems))


class ConfigError(UserError):
    """settings.toml is missing or invalid; `problems` lists every one found."""


class DirectoryError(UserError):
    """A partner-directory change or import was refused."""


class NotFoundError(UserError):
    """A named partner, domain or alert does not exist."""


class StoreError(RevolvingDoorError):
    """The store could not be opened, migrated or written."""


class CollectorError(RevolvingDoorError):
    """One calendar or source could not be synced."""

    def __init__(self, message: str, *, calendar: str | None = None) -> None:
        self.calendar = calendar
        super().__init__(message)


class AuthError(CollectorError):
    """Credentials were refused, or delegation/consent is missing."""


class ThrottledError(CollectorError):
    """The source rate-limited us."""

    def __init__(
        self, message: str, *, calendar: str | None = None, retry_after: float | None = None
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, calendar=calendar)


class CursorExpiredError(CollectorError):
    """The sync cursor is no longer valid; a full resync is needed."""


class SourceUnavailableError(CollectorError):
    """The source could not be reached or answered with a server error."""


class BadDataError(CollectorError):
    """The source returned data that cannot be read."""


class DeliveryError(RevolvingDoorError):
    """An alert could not be delivered; it stays queued for a later try."""
