"""Who is told about which collision: from collisions to one Alert per recipient and partner family.

Pure: the clock, the owners of each family, the opt-outs and what was already alerted are all
passed in. The store persists the returned alerts' outbox keys (one unique row per recipient,
family and pair), which is what makes "each (recipient, pair) at most once, ever" hold across runs.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import datetime, timedelta

from revolving_door.model import Alert, Collision

__all__ = ["AlreadyAlerted", "is_due", "is_mailbox", "outbox_key", "plan_alerts", "recipients_of"]

# One bare addr-spec: no display name, list separator, route, quoting, group or whitespace.
_MAILBOX = re.compile(r"[^\s@,;:<>()\[\]\\\"]+@[^\s@,;:<>()\[\]\\\"]+")

AlreadyAlerted = Callable[[str, str, str, str], bool] | Collection[tuple[str, str, str, str]]
"""Either a predicate or a collection over (recipient, family, key_a, key_b)."""


def outbox_key(recipient: str, family: str, key_a: str, key_b: str) -> str:
    """A deterministic 32-hex-digit key for one (recipient, family, pair) row of the outbox."""
    first, second = sorted((key_a, key_b))
    material = "\x1f".join((recipient.strip().lower(), family, first, second))
    return hashlib.sha256(material.encode("utf-8")).hexdigest()[:32]


def is_mailbox(address: str) -> bool:
    """Whether `address` is one bare email address (an attendee "a@evil.test,b@us.example" is not)."""
    return _MAILBOX.fullmatch(address) is not None


def is_due(collision: Collision, *, now: datetime, horizon_days: int) -> bool:
    """Whether a meeting of the collision is still ahead of `now` and starts within the horizon."""
    horizon = now + timedelta(days=horizon_days)
    return any(now < m.start <= horizon for m in (collision.a, collision.b))


def recipients_of(
    collision: Collision, *, owners_of: Callable[[str], Sequence[str]], exclude: Collection[str] = ()
) -> list[str]:
    """The lower-cased, sorted people told about a collision: both meetings' attendees and the owners.

    Only bare addresses are recipients: an attendee address is outsider text, and one that lists
    several addresses must not carry an alert to each of them.
    """
    excluded = {e.strip().lower() for e in exclude}
    people = set(collision.a.internal_attendees) | set(collision.b.internal_attendees)
    people.update(owners_of(collision.family))
    return sorted({p.strip().lower() for p in people if is_mailbox(p.strip())} - excluded)


def plan_alerts(
    collisions: Iterable[Collision],
    *,
    now: datetime,
    horizon_days: int,
    owners_of: Callable[[str], Sequence[str]],
    exclude: Collection[str] = (),
    already_alerted: AlreadyAlerted = (),
) -> list[Alert]:
    """One Alert per recipient and family listing every due pair not yet alerted to that recipient.

    Alerts are sorted by (recipient, family); their collisions by (earlier start, pair), each with
    its outbox key at the same position in `outbox_keys`. A collision given twice is planned once.
    """
    if callable(already_alerted):
        seen: Callable[[str, str, str, str], bool] = already_alerted
    else:
        done = {(r.strip().lower(), f, a, b) for r, f, a, b in already_alerted}

        def seen(recipient: str, family: str, key_a: str, key_b: str) -> bool:
            """Whether the collection lists this row."""
            return (recipient, family, key_a, key_b) in done

    grouped: dict[tuple[str, str], dict[str, Collision]] = {}
    for collision in collisions:
        if not is_due(collision, now=now, horizon_days=horizon_days):
            continue
        key_a, key_b = collision.pair
        for recipient in recipients_of(collision, owners_of=owners_of, exclude=exclude):
            if seen(recipient, collision.family, key_a, key_b):
                continue
            rows = grouped.setdefault((recipient, collision.family), {})
            rows.setdefault(outbox_key(recipient, collision.family, key_a, key_b), collision)

    alerts: list[Alert] = []
    for (recipient, family), rows in sorted(grouped.items()):
        ordered = sorted(rows.items(), key=lambda row: (min(row[1].a.start, row[1].b.start), row[1].pair))
        alerts.append(
            Alert(
                recipient=recipient,
                family=family,
                collisions=tuple(c for _, c in ordered),
                outbox_keys=tuple(k for k, _ in ordered),
            )
        )
    return alerts
