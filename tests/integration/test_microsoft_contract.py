"""The Microsoft collector, through real msal + requests against the loopback Graph fake, passes the contract."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from revolving_door.model import CalendarRef, TimeWindow
from tests.contract import BaseDriver, CollectorContract, SourceDriver
from tests.fakes.microsoft_graph import FakeGraph, make_collector

WINDOW = TimeWindow(datetime(2031, 3, 1, tzinfo=UTC), datetime(2031, 6, 1, tzinfo=UTC))
GROUP = "0f0e0d0c-staff-group"


class GraphDriver(BaseDriver):
    """Drives the fake Graph's mailboxes; the collector finds them as members of one group."""

    def __init__(self, fake: FakeGraph) -> None:
        """A driver over a started fake."""
        self.fake = fake
        fake.groups[GROUP] = []
        super().__init__(make_collector(fake, group_id=GROUP, page_size=3)[0], WINDOW)

    def calendar(self, owner: str) -> CalendarRef:
        """The owner's mailbox calendar (created empty and added to the group if needed)."""
        box = self.fake.mailbox(owner)
        if box.email not in self.fake.groups[GROUP]:
            self.fake.groups[GROUP].append(box.email)
        return CalendarRef("microsoft", box.email, box.id)

    def put(self, owner: str, event: dict[str, Any]) -> None:
        """Create or replace the meeting in the owner's mailbox."""
        self.calendar(owner)
        self.fake.put(owner, event)

    def remove(self, owner: str, uid: str) -> None:
        """Delete the meeting from the owner's mailbox."""
        self.fake.remove(owner, uid)


@pytest.fixture
def graph() -> Iterator[FakeGraph]:
    """A started Graph fake, stopped after the test."""
    fake = FakeGraph().start()
    yield fake
    fake.stop()


class TestMicrosoftContract(CollectorContract):
    """The collector contract, for Microsoft 365 via Graph delta queries."""

    @pytest.fixture
    def source(self, graph: FakeGraph) -> SourceDriver:
        """The Graph driver."""
        return GraphDriver(graph)
