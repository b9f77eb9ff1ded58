"""The Google collector (real google-auth + google-api-python-client) passes the contract against the fake."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from collectors.google import GoogleCollector
from revolving_door.model import CalendarRef, TimeWindow
from tests.contract import ALICE, BOB, BaseDriver, CollectorContract, SourceDriver
from tests.fakes.google_calendar import FakeGoogle

WINDOW = TimeWindow(datetime(2031, 3, 1, tzinfo=UTC), datetime(2031, 6, 1, tzinfo=UTC))
NOW = datetime(2031, 3, 20, tzinfo=UTC)


class GoogleDriver(BaseDriver):
    """Drives the fake Google Workspace's calendars; the collector reads ALICE and BOB by delegation."""

    def __init__(self, fake: FakeGoogle) -> None:
        """A driver over a started fake; small server pages so that paging is exercised."""
        self.fake = fake
        fake.page_sizes = [2, 0, 1, 3]
        collector = GoogleCollector(
            "google",
            service_account_info=fake.service_account_info(),
            users=[ALICE, BOB],
            api_endpoint=fake.base_url,
            sleep=lambda seconds: None,
            clock=lambda: NOW,
        )
        super().__init__(collector, WINDOW)

    def calendar(self, owner: str) -> CalendarRef:
        """The owner's primary calendar."""
        return CalendarRef("google", owner.lower(), owner.lower())

    def put(self, owner: str, event: dict[str, Any]) -> None:
        """Create or replace the meeting on the owner's calendar."""
        self.fake.put(owner, event)

    def remove(self, owner: str, uid: str) -> None:
        """Delete the meeting (Google keeps it as a bare cancelled item)."""
        self.fake.remove(owner, uid)


@pytest.fixture
def google_fake() -> Iterator[FakeGoogle]:
    """A started Google fake, stopped after the test."""
    with FakeGoogle() as fake:
        yield fake


class TestGoogleContract(CollectorContract):
    """The collector contract, for Google Workspace via events.list sync tokens."""

    @pytest.fixture
    def source(self, google_fake: FakeGoogle) -> SourceDriver:
        """The Google driver."""
        return GoogleDriver(google_fake)

    def test_google_driver_paged_and_authorised_per_user(
        self, source: SourceDriver, google_fake: FakeGoogle
    ) -> None:
        """The contract ran through small pages and one delegated token per staff member."""
        source.put(
            ALICE,
            {
                "uid": "x-1",
                "title": "x",
                "start": NOW,
                "end": NOW,
                "attendees": [],
                "organizer": "",
                "status": "confirmed",
                "private": False,
                "rrule": "FREQ=DAILY;COUNT=5",
                "location": "",
            },
        )
        result = source.collector.sync(source.calendar(ALICE), None, source.window)
        assert len(result.upserts) == 5
        assert len(google_fake.calls("list")) > 2
        assert google_fake.token_subjects() == [ALICE]
