"""Order within a lane: strict priority between classes, deficit round robin between campaigns."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gateway.ratelimit import Lane, Waiting
from gateway.ratelimit.lanes import CampaignRoundRobin, class_of


def waiting(item: str, *, kind: str = "informational", priority: int = 0, campaign: str | None = None, cost: float = 1):
    return Waiting(item, cost, 0.0, class_of(kind, priority), campaign)


def pop_all(lane: Lane) -> list:
    out = []
    while lane.count:
        out.append(lane.pop().item)
    return out


def test_informational_goes_before_advertising_whatever_the_order_of_arrival() -> None:
    """Advertising queued first still waits for every informational message of the lane."""
    lane: Lane[str] = Lane()
    for i in range(3):
        lane.push(waiting(f"ad{i}", kind="advertising", priority=100))
    for i in range(3):
        lane.push(waiting(f"info{i}"))
    assert pop_all(lane) == ["info0", "info1", "info2", "ad0", "ad1", "ad2"]


def test_higher_priority_goes_first_within_a_kind() -> None:
    """Within one kind, a higher numeric priority goes first; equal priorities keep arrival order."""
    lane: Lane[str] = Lane()
    lane.push(waiting("low", priority=-5))
    lane.push(waiting("mid-a"))
    lane.push(waiting("high", priority=7))
    lane.push(waiting("mid-b"))
    assert pop_all(lane) == ["high", "mid-a", "mid-b", "low"]


def test_a_small_campaign_is_not_stuck_behind_a_huge_one() -> None:
    """10 messages of campaign B queued after 10,000 of A all go within the first 21 sends."""
    lane: Lane[str] = Lane()
    for i in range(10_000):
        lane.push(waiting(f"A{i}", campaign="A"))
    for i in range(10):
        lane.push(waiting(f"B{i}", campaign="B"))
    order = pop_all(lane)
    last_b = max(i for i, item in enumerate(order) if item.startswith("B"))
    assert last_b <= 20
    assert [x for x in order if x.startswith("B")] == [f"B{i}" for i in range(10)]  # FIFO within a campaign
    assert len(order) == 10_010


def test_round_robin_is_by_cost_not_by_message() -> None:
    """A campaign of 3-segment messages gets about the same segments as one of 1-segment messages."""
    rr: CampaignRoundRobin[str] = CampaignRoundRobin(quantum=1.0)
    for i in range(300):
        rr.push(waiting(f"A{i}", campaign="A", cost=3))
        rr.push(waiting(f"B{i}", campaign="B", cost=1))
    served = {"A": 0.0, "B": 0.0}
    for _ in range(200):
        w = rr.pop()
        served[w.campaign] += w.cost
    assert abs(served["A"] - served["B"]) <= 3


def test_peek_names_what_pop_returns() -> None:
    """peek is stable until pop, and pop returns what peek named."""
    lane: Lane[str] = Lane()
    for i in range(5):
        lane.push(waiting(f"A{i}", campaign="A", cost=2))
        lane.push(waiting(f"B{i}", campaign="B"))
    while lane.count:
        head = lane.peek()
        assert lane.peek() is head
        assert lane.pop() is head


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["informational", "advertising"]),
            st.integers(min_value=-2, max_value=2),
            st.sampled_from([None, "c1", "c2", "c3"]),
            st.integers(min_value=1, max_value=4),
        ),
        max_size=80,
    )
)
def test_every_message_comes_out_once_in_class_order(specs) -> None:
    """Whatever is pushed comes out exactly once, never a worse class before a better one."""
    lane: Lane[int] = Lane()
    for i, (kind, priority, campaign, cost) in enumerate(specs):
        lane.push(Waiting(i, cost, 0.0, class_of(kind, priority), campaign))
    assert lane.cost == sum(s[3] for s in specs)
    out = []
    while lane.count:
        out.append(lane.pop())
    assert sorted(w.item for w in out) == list(range(len(specs)))
    classes = [w.klass for w in out]
    assert classes == sorted(classes)


def test_drain_returns_everything_and_empties_the_lane() -> None:
    """drain hands back every waiting message, best class first."""
    lane: Lane[str] = Lane()
    lane.push(waiting("ad", kind="advertising"))
    lane.push(waiting("info", campaign="x"))
    assert lane.drain() == ["info", "ad"]
    assert lane.count == 0 and lane.cost == 0
