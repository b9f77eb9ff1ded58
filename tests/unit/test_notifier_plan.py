"""Planning alerts: who is told, when, and never twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from notifier.plan import is_due, is_mailbox, outbox_key, plan_alerts, recipients_of
from revolving_door.model import Collision, Meeting

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
OWNERS = {"UNICEF": ["Dana@Example.org"], "Wayfarer Bank Group": []}


def owners_of(family: str) -> list[str]:
    """Account managers per family in the test directory."""
    return OWNERS.get(family, [])


def meeting(key: str, start: datetime, people: set[str]) -> Meeting:
    """A meeting with `people` from our side."""
    return Meeting(
        key=key,
        uid=key,
        start=start,
        end=start + timedelta(hours=1),
        title=key,
        location="",
        private=False,
        calendars=tuple(sorted(people)),
        internal_attendees=frozenset(people),
        partners=("UNICEF",),
        families=("UNICEF",),
    )


def collision(
    a: str, b: str, *, days: float = 2, gap_days: float = 1, family: str = "UNICEF", people: tuple[str, str] = ()
) -> Collision:
    """A collision between meetings `a` and `b` starting `days` from NOW, `gap_days` apart."""
    first_people, second_people = people or (f"{a}@example.org", f"{b}@example.org")
    first = meeting(a, NOW + timedelta(days=days), {first_people})
    second = meeting(b, NOW + timedelta(days=days + gap_days), {second_people})
    return Collision(family=family, a=first, b=second, severity="within-3-days")


def plan(collisions: list[Collision], **overrides: object) -> list[tuple[str, str, tuple[tuple[str, str], ...]]]:
    """plan_alerts with test defaults, as (recipient, family, pairs) rows."""
    options: dict[str, object] = {
        "now": NOW,
        "horizon_days": 30,
        "owners_of": owners_of,
        "exclude": (),
        "already_alerted": (),
    }
    options.update(overrides)
    alerts = plan_alerts(collisions, **options)  # type: ignore[arg-type]
    return [(a.recipient, a.family, tuple(c.pair for c in a.collisions)) for a in alerts]


def test_attendees_of_both_meetings_and_the_owner_are_told() -> None:
    """Recipients are both meetings' internal attendees plus the family's owner, lower-cased, sorted."""
    assert plan([collision("a", "b")]) == [
        ("a@example.org", "UNICEF", (("a", "b"),)),
        ("b@example.org", "UNICEF", (("a", "b"),)),
        ("dana@example.org", "UNICEF", (("a", "b"),)),
    ]


def test_collision_entirely_in_the_past_is_not_alerted() -> None:
    """When both meetings have started, nobody is told."""
    assert plan([collision("a", "b", days=-3, gap_days=1)]) == []


def test_collision_with_one_meeting_ahead_is_alerted() -> None:
    """One meeting still ahead (within the horizon) is enough."""
    assert len(plan([collision("a", "b", days=-1, gap_days=2)])) == 3


def test_meeting_starting_exactly_now_is_not_ahead() -> None:
    """A meeting starting at `now` is no longer ahead; the horizon end is inclusive."""
    at_now = collision("a", "b", days=0, gap_days=0)
    assert not is_due(at_now, now=NOW, horizon_days=30)
    at_horizon = collision("a", "b", days=30, gap_days=0)
    assert is_due(at_horizon, now=NOW, horizon_days=30)


def test_collision_beyond_the_horizon_waits() -> None:
    """Meetings further away than horizon_days are not alerted yet."""
    assert plan([collision("a", "b", days=31)]) == []
    assert plan([collision("a", "b", days=31)], horizon_days=40) != []


def test_exclude_is_case_insensitive() -> None:
    """People who opted out are never told, whatever the case of their address."""
    rows = plan([collision("a", "b")], exclude={"DANA@example.ORG", " A@Example.org "})
    assert [r[0] for r in rows] == ["b@example.org"]


def test_already_alerted_rows_are_skipped_as_collection_or_predicate() -> None:
    """A (recipient, family, key_a, key_b) already in the outbox is not planned again."""
    done = {("a@example.org", "UNICEF", "a", "b")}
    assert [r[0] for r in plan([collision("a", "b")], already_alerted=done)] == [
        "b@example.org",
        "dana@example.org",
    ]
    asked: list[tuple[str, str, str, str]] = []

    def seen(recipient: str, family: str, key_a: str, key_b: str) -> bool:
        """Record the question; only Bob was alerted."""
        asked.append((recipient, family, key_a, key_b))
        return recipient == "b@example.org"

    assert [r[0] for r in plan([collision("a", "b")], already_alerted=seen)] == [
        "a@example.org",
        "dana@example.org",
    ]
    assert ("dana@example.org", "UNICEF", "a", "b") in asked


def test_one_alert_per_recipient_and_family_lists_every_new_pair() -> None:
    """Dana (owner) gets one UNICEF email listing both pairs, ordered by start, keys aligned."""
    late = collision("c", "d", days=5)
    early = collision("a", "b", days=2)
    alerts = plan_alerts(
        [late, early, early], now=NOW, horizon_days=30, owners_of=owners_of, exclude=(), already_alerted=()
    )
    [dana] = [a for a in alerts if a.recipient == "dana@example.org"]
    assert [c.pair for c in dana.collisions] == [("a", "b"), ("c", "d")]
    assert dana.outbox_keys == (
        outbox_key("dana@example.org", "UNICEF", "a", "b"),
        outbox_key("dana@example.org", "UNICEF", "c", "d"),
    )


def test_separate_families_make_separate_alerts() -> None:
    """The same person colliding in two families gets one alert per family."""
    shared = ("x@example.org", "y@example.org")
    rows = plan([collision("a", "b", people=shared), collision("a", "b", people=shared, family="Wayfarer Bank Group")])
    assert [(r[0], r[1]) for r in rows if r[0] == "x@example.org"] == [
        ("x@example.org", "UNICEF"),
        ("x@example.org", "Wayfarer Bank Group"),
    ]


def test_outbox_key_is_deterministic_and_distinguishes_rows() -> None:
    """The key depends on recipient (case-insensitively), family and the unordered pair only."""
    key = outbox_key("Alice@Example.org", "UNICEF", "a", "b")
    assert key == outbox_key("alice@example.org", "UNICEF", "b", "a")
    assert len(key) == 32 and int(key, 16) >= 0
    others = {
        outbox_key("bob@example.org", "UNICEF", "a", "b"),
        outbox_key("alice@example.org", "WFBG", "a", "b"),
        outbox_key("alice@example.org", "UNICEF", "a", "c"),
    }
    assert key not in others and len(others) == 3


def test_recipients_of_skips_blank_owner_entries() -> None:
    """Empty owner strings never become recipients."""
    assert recipients_of(collision("a", "b"), owners_of=lambda f: ["", "  "]) == ["a@example.org", "b@example.org"]


PEOPLE = st.sampled_from(["a@x.org", "b@x.org", "c@x.org", "d@x.org"])


@st.composite
def collisions(draw: st.DrawFn) -> list[Collision]:
    """Random collisions among a few keys, people, families and dates around NOW."""
    found = []
    for _ in range(draw(st.integers(min_value=0, max_value=8))):
        a, b = sorted(draw(st.lists(st.sampled_from("abcdef"), min_size=2, max_size=2, unique=True)))
        days = draw(st.integers(min_value=-5, max_value=40))
        first = meeting(a, NOW + timedelta(days=days), {draw(PEOPLE)})
        second = meeting(b, NOW + timedelta(days=days + draw(st.integers(0, 3))), {draw(PEOPLE)})
        family = draw(st.sampled_from(["UNICEF", "Wayfarer Bank Group"]))
        found.append(Collision(family=family, a=first, b=second, severity="within-window"))
    return found


@settings(max_examples=150, deadline=None)
@given(collisions())
def test_planning_again_with_the_outbox_sends_nothing(items: list[Collision]) -> None:
    """Each (recipient, family, pair) is planned at most once; replanning after recording them plans none."""
    first = plan_alerts(items, now=NOW, horizon_days=30, owners_of=owners_of, exclude=(), already_alerted=())
    rows = [(alert.recipient, alert.family, *c.pair) for alert in first for c in alert.collisions]
    assert len(rows) == len(set(rows))
    assert len({k for alert in first for k in alert.outbox_keys}) == len(rows)
    assert len({(a.recipient, a.family) for a in first}) == len(first)
    again = plan_alerts(items, now=NOW, horizon_days=30, owners_of=owners_of, exclude=(), already_alerted=set(rows))
    assert again == []


def test_attendee_address_listing_several_addresses_is_never_a_recipient() -> None:
    """An attendee 'spy@evil.test,x@example.org' (internal by its last host) gets no alert; bare addresses do."""
    hostile = collision("a", "b", people=("spy@evil.test,x@example.org", "b@example.org"))
    assert [r[0] for r in plan([hostile])] == ["b@example.org", "dana@example.org"]
    assert not is_mailbox("Spy <spy@evil.test>") and not is_mailbox("a@b.org\nBcc: c@d.org")
    assert is_mailbox("first.last+tag@field.example.org")
