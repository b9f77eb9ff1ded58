"""Event → partners: domains of the people invited, then names in the title.

Domain evidence outranks title evidence; each partner appears once, with its best evidence.
Inactive meetings (cancelled, or declined by every internal attendee) have no partners.
"""

from __future__ import annotations

from collections.abc import Iterable

from matching.directory import Directory
from matching.domains import DomainResolver
from matching.titles import TitleMatcher
from revolving_door.model import CalendarEvent, PartnerMatch


class Resolver:
    """Finds the partners of a calendar event, with evidence."""

    def __init__(
        self,
        directory: Directory,
        *,
        internal_domains: Iterable[str],
        freemail_extra: Iterable[str] = (),
        freemail_allow: Iterable[str] = (),
        ignored_domains: Iterable[str] = (),
        title_threshold: float = 80.0,
        match_location: bool = False,
    ) -> None:
        self.directory = directory
        self.internal_domains = tuple(d.strip().lower() for d in internal_domains)
        self.domains = DomainResolver(
            directory,
            internal_domains=self.internal_domains,
            freemail_extra=freemail_extra,
            freemail_allow=freemail_allow,
            ignored_domains=ignored_domains,
        )
        self.titles = TitleMatcher(directory, threshold=title_threshold)
        self.match_location = match_location

    def resolve(self, event: CalendarEvent) -> tuple[PartnerMatch, ...]:
        """The partners of `event` (most specific names), domain evidence first; none if inactive."""
        if not event.is_active(self.internal_domains):
            return ()
        found: dict[str, PartnerMatch] = {}
        addresses: list[str] = []
        listed = {a.email.strip().lower() for a in event.attendees}
        for a in event.attendees:
            if a.is_resource or a.response == "declined":
                continue
            addresses.append(a.email)
        if event.organizer and event.organizer.strip().lower() not in listed:
            addresses.append(event.organizer)
        for email in addresses:
            m = self.domains.resolve_address(email)  # internal hosts resolve to nothing
            if m is not None and m.partner not in found:
                found[m.partner] = m
        texts = [event.title]
        if self.match_location and event.location:
            texts.append(event.location)
        for text in texts:
            if not text:
                continue
            for m in self.titles.match(text):
                if m.partner not in found:
                    found[m.partner] = m
        return tuple(found.values())
