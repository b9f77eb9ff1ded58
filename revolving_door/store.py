"""The store: the only module that speaks SQL (SQLAlchemy 2 Core; SQLite by default, PostgreSQL-ready).

Every multi-step write is one transaction: a calendar's changes commit together with its new
cursor; an alert's outbox row commits together with the pairs it covers.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    CursorResult,
    Engine,
    and_,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    tuple_,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, NoSuchModuleError, OperationalError
from sqlalchemy.pool import ConnectionPoolEntry

from revolving_door import schema as t
from revolving_door.errors import DirectoryError, NotFoundError, StoreError
from revolving_door.model import (
    Attendee,
    CalendarEvent,
    CalendarRef,
    Collision,
    Partner,
    PartnerMatch,
    SyncResult,
)

MIGRATIONS = Path(__file__).with_name("migrations")
DIRECTORY_VERSION = "directory_version"


@dataclass(frozen=True)
class CalendarState:
    """What the store remembers about one calendar between syncs."""

    ref: str
    source: str
    owner: str
    cursor: str | None
    failures: int
    last_error: str | None
    last_success_at: datetime | None
    next_attempt_at: datetime | None


@dataclass(frozen=True)
class SyncOutcome:
    """What applying one calendar's changes did."""

    upserted: int
    deleted: int
    unchanged: int
    touched_families: frozenset[str]
    """Partner families of the events that were deleted or changed (their old matches)."""


@dataclass(frozen=True)
class OutboxRow:
    """One queued, sent or failed alert email."""

    id: int
    message_id: str
    recipient: str
    family: str
    subject: str
    message: bytes
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


@dataclass(frozen=True)
class StoredCollision:
    """A collision as remembered: its family, pair of keys and severity."""

    family: str
    key_a: str
    key_b: str
    severity: str
    same_location: bool
    first_seen: datetime


def _attendees_to_json(attendees: Iterable[Attendee]) -> list[dict[str, Any]]:
    return [
        {"email": a.email, "name": a.name, "response": a.response, "resource": a.is_resource,
         "organizer": a.is_organizer}
        for a in attendees
    ]


def _attendees_from_json(data: Sequence[Mapping[str, Any]]) -> tuple[Attendee, ...]:
    return tuple(
        Attendee(email=d["email"], name=d.get("name", ""), response=d.get("response", "needs-action"),
                 is_resource=bool(d.get("resource")), is_organizer=bool(d.get("organizer")))
        for d in data
    )


def _event_row(calendar_id: int, e: CalendarEvent) -> dict[str, Any]:
    return {
        "calendar_id": calendar_id, "owner": e.calendar, "key": e.key, "uid": e.uid,
        "source_id": e.source_id, "title": e.title, "start": e.start, "end": e.end,
        "all_day": e.all_day, "location": e.location, "organizer": e.organizer,
        "attendees": _attendees_to_json(e.attendees), "status": e.status, "private": e.private,
    }


_EVENT_FIELDS = ("title", "start", "end", "all_day", "location", "organizer", "attendees", "status",
                 "private", "uid", "source_id")


def _event_from_row(row: Any) -> CalendarEvent:
    return CalendarEvent(
        calendar=row.owner, key=row.key, uid=row.uid, source_id=row.source_id, title=row.title,
        start=row.start, end=row.end, all_day=row.all_day, location=row.location,
        organizer=row.organizer, attendees=_attendees_from_json(row.attendees), status=row.status,
        private=row.private,
    )


def _new_id(result: CursorResult[Any]) -> int:
    """The primary key of the row an INSERT just created."""
    key = result.inserted_primary_key
    if key is None:
        raise StoreError("the database did not return the new row's id")
    return int(key[0])


def _sqlite_pragmas(dbapi_connection: Any, connection_record: ConnectionPoolEntry) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def _create_private_file(url: str) -> None:
    """Create a SQLite file readable by its owner only, before SQLite creates it with the umask."""
    database = make_url(url).database
    if not database or database == ":memory:":
        return
    path = Path(database)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))


class Store:
    """Persistent state: calendars and cursors, events, the partner directory, matches, collisions, outbox."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str) -> Store:
        """Open (creating if needed) the database at `url` and bring its schema up to date."""
        try:
            is_sqlite = make_url(url).get_backend_name() == "sqlite"
            if is_sqlite:
                _create_private_file(url)
            engine = create_engine(url)
        except (ArgumentError, NoSuchModuleError, OSError) as exc:
            raise StoreError(f"cannot open the store {make_url(url).render_as_string(hide_password=True)}: "
                             f"{exc}") from exc
        if is_sqlite:
            event.listen(engine, "connect", _sqlite_pragmas)
        store = cls(engine)
        store.migrate()
        return store

    def migrate(self) -> None:
        """Apply every Alembic migration not yet applied."""
        from alembic import command  # imported here: it is slow to import and needed once per process
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        try:
            with self.engine.begin() as conn:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
        except OperationalError as exc:
            raise StoreError(f"cannot open or migrate the store: {exc.orig}") from exc

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One transaction: committed on success, rolled back on any error."""
        with self.engine.begin() as conn:
            yield conn

    # ---- calendars and events -------------------------------------------------------------

    def _calendar_id(self, conn: Connection, cal: CalendarRef) -> int:
        row = conn.execute(select(t.calendars.c.id).where(t.calendars.c.ref == cal.ref)).first()
        if row is not None:
            return int(row.id)
        result = conn.execute(insert(t.calendars).values(ref=cal.ref, source=cal.source, owner=cal.owner,
                                                         failures=0))
        return _new_id(result)

    def calendar_state(self, cal: CalendarRef) -> CalendarState | None:
        """The stored cursor and health of a calendar, or None if never seen."""
        with self.engine.connect() as conn:
            row = conn.execute(select(t.calendars).where(t.calendars.c.ref == cal.ref)).first()
        return None if row is None else self._state(row)

    @staticmethod
    def _state(row: Any) -> CalendarState:
        return CalendarState(ref=row.ref, source=row.source, owner=row.owner, cursor=row.cursor,
                             failures=row.failures, last_error=row.last_error,
                             last_success_at=row.last_success_at, next_attempt_at=row.next_attempt_at)

    def calendar_states(self) -> list[CalendarState]:
        """Every calendar ever synced."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.calendars).order_by(t.calendars.c.ref)).all()
        return [self._state(r) for r in rows]

    def apply_sync(self, cal: CalendarRef, result: SyncResult, *, now: datetime) -> SyncOutcome:
        """Store one calendar's changes and its next cursor in one transaction."""
        upserted = deleted = unchanged = 0
        families: set[str] = set()
        with self.transaction() as conn:
            cid = self._calendar_id(conn, cal)
            existing = {
                r.key: r for r in conn.execute(
                    select(t.events).where(t.events.c.calendar_id == cid)
                ).all()
            } if result.full_resync or result.upserts else {}
            # A source may list one key twice (e.g. a meeting invited to twice): the last copy wins.
            upserts = {ev.key: ev for ev in result.upserts}
            seen = set(upserts)
            for ev in upserts.values():
                row = _event_row(cid, ev)
                old = existing.get(ev.key)
                if old is None:
                    conn.execute(insert(t.events).values(**row, resolved_version=None))
                    upserted += 1
                elif any(getattr(old, f) != row[f] for f in _EVENT_FIELDS):
                    families |= self._families_of(conn, [old.id])
                    conn.execute(update(t.events).where(t.events.c.id == old.id)
                                 .values(**row, resolved_version=None))
                    upserted += 1
                else:
                    unchanged += 1
            gone_ids: list[int] = []
            if result.full_resync:
                gone_ids += [r.id for k, r in existing.items() if k not in seen]
            if result.deletions:
                gone_ids += [r.id for r in conn.execute(
                    select(t.events.c.id).where(t.events.c.calendar_id == cid,
                                                t.events.c.source_id.in_(list(result.deletions)))
                ).all()]
            if gone_ids:
                families |= self._families_of(conn, gone_ids)
                conn.execute(delete(t.matches).where(t.matches.c.event_id.in_(gone_ids)))
                deleted = conn.execute(delete(t.events).where(t.events.c.id.in_(gone_ids))).rowcount
            conn.execute(update(t.calendars).where(t.calendars.c.id == cid).values(
                cursor=result.next_cursor, failures=0, last_error=None, last_attempt_at=now,
                last_success_at=now, next_attempt_at=None))
            self._mark_dirty(conn, families)
        return SyncOutcome(upserted=upserted, deleted=deleted, unchanged=unchanged,
                           touched_families=frozenset(families))

    def record_failure(self, cal: CalendarRef, error: str, *, now: datetime, retry_at: datetime) -> int:
        """Count a failed sync of a calendar (its cursor is kept); returns failures in a row."""
        with self.transaction() as conn:
            cid = self._calendar_id(conn, cal)
            conn.execute(update(t.calendars).where(t.calendars.c.id == cid).values(
                failures=t.calendars.c.failures + 1, last_error=error[:2000], last_attempt_at=now,
                next_attempt_at=retry_at))
            return int(conn.execute(select(t.calendars.c.failures)
                                    .where(t.calendars.c.id == cid)).scalar_one())

    @staticmethod
    def _families_of(conn: Connection, event_ids: Sequence[int]) -> set[str]:
        rows = conn.execute(select(t.matches.c.family).where(t.matches.c.event_id.in_(list(event_ids)))
                            .distinct()).all()
        return {r.family for r in rows}

    def events(self, keys: Iterable[str] | None = None) -> list[CalendarEvent]:
        """Stored events (every calendar's copy), optionally only those with the given keys."""
        query = select(t.events).order_by(t.events.c.start, t.events.c.key, t.events.c.owner)
        if keys is not None:
            query = query.where(t.events.c.key.in_(list(keys)))
        with self.engine.connect() as conn:
            return [_event_from_row(r) for r in conn.execute(query).all()]

    def count_events(self) -> int:
        """How many (calendar, key) events are stored."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(t.events)).scalar_one())

    # ---- resolution -----------------------------------------------------------------------

    def directory_version(self) -> int:
        """A counter bumped by every change to the partner directory."""
        with self.engine.connect() as conn:
            return self._directory_version(conn)

    @staticmethod
    def _directory_version(conn: Connection) -> int:
        value = conn.execute(select(t.settings_kv.c.value)
                             .where(t.settings_kv.c.name == DIRECTORY_VERSION)).scalar()
        return int(value) if value is not None else 0

    @staticmethod
    def _bump_directory(conn: Connection) -> None:
        Store._set_meta(conn, DIRECTORY_VERSION, str(Store._directory_version(conn) + 1))

    @staticmethod
    def _set_meta(conn: Connection, name: str, value: str) -> None:
        if conn.execute(update(t.settings_kv).where(t.settings_kv.c.name == name)
                        .values(value=value)).rowcount == 0:
            conn.execute(insert(t.settings_kv).values(name=name, value=value))

    def get_meta(self, name: str) -> str | None:
        """A small named value kept by the service (e.g. the directory version last detected on)."""
        with self.engine.connect() as conn:
            value = conn.execute(select(t.settings_kv.c.value).where(t.settings_kv.c.name == name)).scalar()
        return None if value is None else str(value)

    def set_meta(self, name: str, value: str) -> None:
        """Remember a small named value."""
        with self.transaction() as conn:
            self._set_meta(conn, name, value)

    def unresolved_events(self, version: int) -> list[tuple[int, CalendarEvent]]:
        """Events not yet resolved against directory `version`, with their row ids."""
        query = select(t.events).where(
            (t.events.c.resolved_version.is_(None)) | (t.events.c.resolved_version != version))
        with self.engine.connect() as conn:
            return [(r.id, _event_from_row(r)) for r in conn.execute(query).all()]

    def save_matches(self, resolved: Iterable[tuple[int, Sequence[PartnerMatch], Sequence[str]]],
                     version: int) -> set[str]:
        """Replace the matches of each (event id, matches, families) and mark it resolved; returns
        the families touched (old and new)."""
        touched: set[str] = set()
        with self.transaction() as conn:
            for event_id, found, families in resolved:
                touched |= self._families_of(conn, [event_id])
                conn.execute(delete(t.matches).where(t.matches.c.event_id == event_id))
                if found:
                    conn.execute(insert(t.matches), [
                        {"event_id": event_id, "partner": m.partner, "family": fam, "via": m.via,
                         "evidence": m.evidence, "score": m.score}
                        for m, fam in zip(found, families, strict=True)
                    ])
                touched |= set(families)
                conn.execute(update(t.events).where(t.events.c.id == event_id)
                             .values(resolved_version=version))
            self._mark_dirty(conn, touched)
        return touched

    def matches(self, keys: Iterable[str] | None = None) -> dict[tuple[str, str], list[PartnerMatch]]:
        """Matches per (calendar owner, key)."""
        query = (select(t.events.c.owner, t.events.c.key, t.matches)
                 .join(t.matches, t.matches.c.event_id == t.events.c.id)
                 .order_by(t.matches.c.via, t.matches.c.partner))
        if keys is not None:
            query = query.where(t.events.c.key.in_(list(keys)))
        out: dict[tuple[str, str], list[PartnerMatch]] = {}
        with self.engine.connect() as conn:
            for r in conn.execute(query).all():
                out.setdefault((r.owner, r.key), []).append(
                    PartnerMatch(partner=r.partner, via=r.via, evidence=r.evidence, score=r.score))
        return out

    @staticmethod
    def _mark_dirty(conn: Connection, families: Iterable[str]) -> None:
        known = {r.family for r in conn.execute(select(t.dirty_families)).all()}
        fresh = [{"family": f} for f in set(families) - known]
        if fresh:
            conn.execute(insert(t.dirty_families), fresh)

    def dirty_families(self) -> set[str]:
        """Families whose collisions must be recomputed (touched by a change not yet detected)."""
        with self.engine.connect() as conn:
            return {r.family for r in conn.execute(select(t.dirty_families)).all()}

    def forget_calendars(self, source: str, keep: Iterable[str]) -> int:
        """Delete the calendars of `source` (and their events) whose refs are not in `keep`; returns how many."""
        keep = set(keep)
        with self.transaction() as conn:
            gone = [r.id for r in conn.execute(select(t.calendars.c.id, t.calendars.c.ref)
                                               .where(t.calendars.c.source == source)).all() if r.ref not in keep]
            if not gone:
                return 0
            event_ids = [r.id for r in conn.execute(select(t.events.c.id)
                                                    .where(t.events.c.calendar_id.in_(gone))).all()]
            if event_ids:
                self._mark_dirty(conn, self._families_of(conn, event_ids))
                conn.execute(delete(t.matches).where(t.matches.c.event_id.in_(event_ids)))
                conn.execute(delete(t.events).where(t.events.c.id.in_(event_ids)))
            conn.execute(delete(t.calendars).where(t.calendars.c.id.in_(gone)))
            return len(gone)

    def keys_in_families(self, families: Iterable[str]) -> set[str]:
        """Keys of events matched to any partner of these families."""
        query = (select(t.events.c.key).join(t.matches, t.matches.c.event_id == t.events.c.id)
                 .where(t.matches.c.family.in_(list(families))).distinct())
        with self.engine.connect() as conn:
            return {r.key for r in conn.execute(query).all()}

    def known_families(self) -> set[str]:
        """Every family that has a matched event or a stored collision."""
        with self.engine.connect() as conn:
            matched = {r.family for r in conn.execute(select(t.matches.c.family).distinct()).all()}
            colliding = {r.family for r in conn.execute(select(t.collisions.c.family).distinct()).all()}
        return matched | colliding

    # ---- collisions -----------------------------------------------------------------------

    def replace_collisions(self, families: Iterable[str], found: Iterable[Collision], *,
                           now: datetime) -> list[Collision]:
        """Make the stored collisions of `families` exactly `found`; returns those that are new."""
        families = set(families)
        found = list(found)
        new: list[Collision] = []
        with self.transaction() as conn:
            old = {(r.family, r.key_a, r.key_b) for r in conn.execute(
                select(t.collisions).where(t.collisions.c.family.in_(list(families)))).all()}
            keep = {(c.family, c.a.key, c.b.key) for c in found}
            gone = old - keep
            if gone:
                conn.execute(delete(t.collisions).where(
                    tuple_(t.collisions.c.family, t.collisions.c.key_a, t.collisions.c.key_b)
                    .in_(list(gone))))
            for c in found:
                ident = (c.family, c.a.key, c.b.key)
                if ident in old:
                    conn.execute(update(t.collisions).where(and_(
                        t.collisions.c.family == c.family, t.collisions.c.key_a == c.a.key,
                        t.collisions.c.key_b == c.b.key)).values(severity=c.severity,
                                                                  same_location=c.same_location))
                else:
                    conn.execute(insert(t.collisions).values(
                        family=c.family, key_a=c.a.key, key_b=c.b.key, severity=c.severity,
                        same_location=c.same_location, first_seen=now))
                    new.append(c)
            if families:
                conn.execute(delete(t.dirty_families).where(t.dirty_families.c.family.in_(list(families))))
        return new

    def collisions(self) -> list[StoredCollision]:
        """Every current collision."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.collisions).order_by(
                t.collisions.c.family, t.collisions.c.key_a, t.collisions.c.key_b)).all()
        return [StoredCollision(family=r.family, key_a=r.key_a, key_b=r.key_b, severity=r.severity,
                                same_location=r.same_location, first_seen=r.first_seen) for r in rows]

    # ---- outbox ---------------------------------------------------------------------------

    def alerted(self) -> set[tuple[str, str, str]]:
        """Every (recipient, key_a, key_b) already queued or sent."""
        with self.engine.connect() as conn:
            return {(r.recipient, r.key_a, r.key_b) for r in conn.execute(select(t.alerted_pairs)).all()}

    def enqueue(self, *, message_id: str, recipient: str, family: str, subject: str, message: bytes,
                pairs: Iterable[tuple[str, str]], now: datetime) -> bool:
        """Queue one email and the pairs it covers, in one transaction; False if already queued."""
        try:
            with self.transaction() as conn:
                result = conn.execute(insert(t.outbox).values(
                    message_id=message_id, recipient=recipient, family=family, subject=subject,
                    message=message, status="queued", attempts=0, next_attempt_at=now, created_at=now))
                outbox_id = _new_id(result)
                conn.execute(insert(t.alerted_pairs), [
                    {"recipient": recipient, "family": family, "key_a": a, "key_b": b, "outbox_id": outbox_id}
                    for a, b in pairs
                ])
        except IntegrityError:
            return False
        return True

    def outbox(self, status: str | None = None) -> list[OutboxRow]:
        """Outbox rows, optionally of one status (queued, sent, failed)."""
        query = select(t.outbox).order_by(t.outbox.c.created_at, t.outbox.c.id)
        if status:
            query = query.where(t.outbox.c.status == status)
        with self.engine.connect() as conn:
            return [OutboxRow(**r._mapping) for r in conn.execute(query).all()]

    def due(self, now: datetime) -> list[OutboxRow]:
        """Queued rows whose next attempt is due."""
        query = (select(t.outbox).where(t.outbox.c.status == "queued", t.outbox.c.next_attempt_at <= now)
                 .order_by(t.outbox.c.id))
        with self.engine.connect() as conn:
            return [OutboxRow(**r._mapping) for r in conn.execute(query).all()]

    def mark_sent(self, outbox_id: int, *, now: datetime) -> None:
        """Record a delivered email."""
        with self.transaction() as conn:
            conn.execute(update(t.outbox).where(t.outbox.c.id == outbox_id).values(
                status="sent", sent_at=now, attempts=t.outbox.c.attempts + 1, last_error=None))

    def mark_attempt_failed(self, outbox_id: int, error: str, *, retry_at: datetime | None) -> None:
        """Record a failed delivery: queued again at `retry_at`, or failed for good when None."""
        with self.transaction() as conn:
            values: dict[str, Any] = {"attempts": t.outbox.c.attempts + 1, "last_error": error[:2000]}
            if retry_at is None:
                values["status"] = "failed"
            else:
                values["next_attempt_at"] = retry_at
            conn.execute(update(t.outbox).where(t.outbox.c.id == outbox_id).values(**values))

    def requeue_failed(self, now: datetime) -> int:
        """Put failed rows back in the queue (for `alerts retry`); returns how many."""
        with self.transaction() as conn:
            return int(conn.execute(update(t.outbox).where(t.outbox.c.status == "failed").values(
                status="queued", attempts=0, next_attempt_at=now)).rowcount)

    # ---- partner directory ----------------------------------------------------------------

    def partners(self) -> list[Partner]:
        """The whole partner directory, by name."""
        with self.engine.connect() as conn:
            return self._partners(conn)

    @staticmethod
    def _partners(conn: Connection) -> list[Partner]:
        domains: dict[int, list[str]] = {}
        for r in conn.execute(select(t.partner_domains).order_by(t.partner_domains.c.partner_id,
                                                                 t.partner_domains.c.position)).all():
            domains.setdefault(r.partner_id, []).append(r.domain)
        return [
            Partner(name=r.name, domains=tuple(domains.get(r.id, ())), aliases=tuple(r.aliases),
                    owners=tuple(r.owners), parent=r.parent)
            for r in conn.execute(select(t.partners).order_by(t.partners.c.name_fold)).all()
        ]

    def save_partners(self, partners: Iterable[Partner], *, replace_names: Iterable[str] = ()) -> None:
        """Upsert partners by name (case-insensitive), removing `replace_names` first; one transaction.

        The caller validates the resulting directory; a domain held by two partners is a DirectoryError.
        """
        try:
            with self.transaction() as conn:
                for name in replace_names:
                    conn.execute(delete(t.partners).where(t.partners.c.name_fold == name.casefold()))
                ids: list[tuple[int, Partner]] = []
                for p in partners:
                    fold = p.name.casefold()
                    row = conn.execute(select(t.partners.c.id).where(t.partners.c.name_fold == fold)).first()
                    values = {"name": p.name, "name_fold": fold, "parent": p.parent,
                              "aliases": list(p.aliases), "owners": list(p.owners)}
                    if row is None:
                        pid = _new_id(conn.execute(insert(t.partners).values(**values)))
                    else:
                        pid = row.id
                        conn.execute(update(t.partners).where(t.partners.c.id == pid).values(**values))
                        conn.execute(delete(t.partner_domains).where(t.partner_domains.c.partner_id == pid))
                    ids.append((pid, p))
                # Domains go in only after every changed partner released its old ones, so a domain can
                # move between two partners of one change; a domain still held elsewhere is refused.
                for pid, p in ids:
                    if p.domains:
                        conn.execute(insert(t.partner_domains), [
                            {"domain": d, "partner_id": pid, "position": i} for i, d in enumerate(p.domains)])
                self._bump_directory(conn)
        except IntegrityError as exc:
            raise DirectoryError(f"the directory change was refused by the store: {exc.orig}") from exc

    def remove_partner(self, name: str) -> None:
        """Delete a partner (its domains go with it)."""
        with self.transaction() as conn:
            gone = conn.execute(delete(t.partners).where(t.partners.c.name_fold == name.casefold()))
            if gone.rowcount == 0:
                raise NotFoundError(f"no partner named {name!r}")
            self._bump_directory(conn)

    def ignored_domains(self) -> list[str]:
        """Domains the admin marked as never a partner."""
        with self.engine.connect() as conn:
            return [r.domain for r in conn.execute(select(t.ignored_domains)
                                                   .order_by(t.ignored_domains.c.domain)).all()]

    def set_ignored(self, domain: str, ignored: bool) -> bool:
        """Mark or unmark a domain as ignored; False if nothing changed."""
        with self.transaction() as conn:
            if ignored:
                known = select(t.ignored_domains).where(t.ignored_domains.c.domain == domain)
                if conn.execute(known).first():
                    return False
                conn.execute(insert(t.ignored_domains).values(domain=domain))
            elif conn.execute(delete(t.ignored_domains)
                              .where(t.ignored_domains.c.domain == domain)).rowcount == 0:
                return False
            self._bump_directory(conn)
            return True

    def unmap_domain(self, domain: str) -> str:
        """Remove a domain from its partner; returns the partner's name."""
        with self.transaction() as conn:
            row = conn.execute(select(t.partners.c.name).join(
                t.partner_domains, t.partner_domains.c.partner_id == t.partners.c.id)
                .where(t.partner_domains.c.domain == domain)).first()
            if row is None:
                raise NotFoundError(f"domain {domain} is not mapped to any partner")
            conn.execute(delete(t.partner_domains).where(t.partner_domains.c.domain == domain))
            self._bump_directory(conn)
            return str(row.name)

    def meeting_counts(self) -> dict[str, int]:
        """Distinct meeting keys per matched partner."""
        query = (select(t.matches.c.partner, func.count(t.events.c.key.distinct()))
                 .join(t.events, t.events.c.id == t.matches.c.event_id).group_by(t.matches.c.partner))
        with self.engine.connect() as conn:
            return {r[0]: int(r[1]) for r in conn.execute(query).all()}

