"""One cycle at a time: `serve` and a manual `sync --once` on the same store never run together.

Two cycles at once could deliver the same queued alert twice; an advisory file lock (flock) next
to the store serialises them. The kernel drops the lock when its process dies, so a crash never
leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import make_url

from revolving_door.errors import UserError
from revolving_door.settings import Settings


def lock_path(settings: Settings) -> Path:
    """The lock file: beside the SQLite database, or beside settings.toml for a server database."""
    url = make_url(settings.store_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database + ".lock")
    return settings.base_dir / ".revolving-door.lock"


@contextmanager
def cycle_lock(settings: Settings, *, wait_seconds: float = 600, on_wait: Callable[[], None] | None = None,
               poll_seconds: float = 0.2) -> Iterator[None]:
    """Hold the cycle lock; wait up to `wait_seconds` for another cycle to finish, else UserError."""
    path = lock_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        deadline = time.monotonic() + wait_seconds
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise UserError(f"another cycle (serve or sync) is still running on this store ({path})"
                                    ) from None
                if on_wait is not None and not told:
                    on_wait()
                    told = True
                time.sleep(poll_seconds)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
