"""The pure admission decision, driven by a fake clock: hierarchy, lanes, fairness, adaptation."""

from __future__ import annotations

import math
from collections.abc import Callable

from structlog.testing import capture_logs

from gateway.ratelimit import (
    AimdConfig,
    ConnectorLimitsConfig,
    LimitTable,
    LocalTokens,
    RateSpec,
    Scheduler,
    TokenBucket,
    Waiting,
)


def scheduler(limits: ConnectorLimitsConfig, connector: str = "sched") -> Scheduler[str]:
    return Scheduler(LimitTable(connector, limits), LocalTokens())


def push(
    s: Scheduler,
    item: str,
    *,
    sender: str,
    cost: float = 1,
    kind: str = "informational",
    now: float = 0.0,
    campaign: str | None = None,
    priority: int = 0,
) -> None:
    s.push(item, cost, sender=sender, kind=kind, priority=priority, campaign=campaign, now=now)


def drive(s: Scheduler, until: float, on_admit: Callable[[float, Waiting], None], start: float = 0.0) -> float:
    """Poll as the dispatcher does: admit while possible, else jump the clock to the wake time."""
    now = start
    while now <= until:
        admitted, wake_at = s.poll(now)
        if admitted is not None:
            on_admit(now, admitted)
            continue
        if math.isinf(wake_at):
            break
        now = max(wake_at, now)
    return now


def test_a_message_passes_only_when_sender_and_connector_limits_both_have_room() -> None:
    """A message needs room in both its sender and its connector limit: the tighter one sets the pace."""
    s = scheduler(ConnectorLimitsConfig(rate=5, burst=1, default_sender=RateSpec(rate=10, burst=1)))
    for i in range(100):
        push(s, f"m{i}", sender="A")
    times: list[float] = []
    drive(s, 10.05, lambda now, w: times.append(now))
    assert len(times) == 51  # one at t=0, then 5/s for 10 s
    s2 = scheduler(ConnectorLimitsConfig(rate=50, burst=1, default_sender=RateSpec(rate=2, burst=1)))
    for i in range(100):
        push(s2, f"m{i}", sender="A")
    times2: list[float] = []
    drive(s2, 10.05, lambda now, w: times2.append(now))
    assert len(times2) == 21  # the sender limit sets the pace


def test_a_slow_sender_does_not_delay_another() -> None:
    """A sender limited to 1/s with 100 waiting does not hold up a 100/s sender on the same connector."""
    s = scheduler(
        ConnectorLimitsConfig(senders={"slow": RateSpec(rate=1, burst=1), "fast": RateSpec(rate=100, burst=1)})
    )
    for i in range(100):
        push(s, f"slow{i}", sender="slow")
        push(s, f"fast{i}", sender="fast")
    done: dict[str, list[float]] = {"slow": [], "fast": []}
    drive(s, 1.0, lambda now, w: done[w.item.rstrip("0123456789")].append(now))
    assert len(done["fast"]) == 100
    assert max(done["fast"]) <= 0.99 + 1e-9
    assert len(done["slow"]) == 2  # t=0 and t=1


def test_informational_traffic_on_one_sender_takes_connector_tokens_before_advertising_on_another() -> None:
    """When the connector is the bottleneck, the better class goes first across lanes too."""
    s = scheduler(ConnectorLimitsConfig(rate=1, burst=1))
    for i in range(5):
        push(s, f"ad{i}", sender="A", kind="advertising")
    for i in range(5):
        push(s, f"info{i}", sender="B")
    order: list[str] = []
    drive(s, 100.0, lambda now, w: order.append(w.item))
    assert order[:5] == [f"info{i}" for i in range(5)]


def test_lanes_of_one_class_take_turns() -> None:
    """Two busy senders of the same class alternate on a saturated connector."""
    s = scheduler(ConnectorLimitsConfig(rate=10, burst=1))
    for i in range(20):
        push(s, f"A{i}", sender="A")
    for i in range(20):
        push(s, f"B{i}", sender="B")
    order: list[str] = []
    drive(s, 100.0, lambda now, w: order.append(w.item[0]))
    assert order[:10] == list("ABABABABAB")


def test_a_costly_message_is_not_starved_by_cheap_ones_on_the_connector() -> None:
    """A 3-segment message waits for 3 connector tokens while 1-segment lanes keep arriving, and gets them."""
    s = scheduler(ConnectorLimitsConfig(rate=3, burst=3))
    admitted: list[tuple[float, str]] = []
    for i in range(300):
        push(s, f"cheap{i}", sender="cheap")
    push(s, "costly", sender="costly", cost=3)
    drive(s, 10.0, lambda now, w: admitted.append((now, w.item)))
    assert "costly" in [item for _, item in admitted[:5]]


def test_small_campaign_finishes_early_on_a_rate_limited_sender() -> None:
    """On a 100/s sender, 10 messages of a small campaign finish within 0.25 s despite 10,000 of a big one."""
    s = scheduler(ConnectorLimitsConfig(default_sender=RateSpec(rate=100, burst=1)))
    for i in range(10_000):
        push(s, f"big{i}", sender="A", campaign="big", kind="advertising")
    for i in range(10):
        push(s, f"small{i}", sender="A", campaign="small", kind="advertising")
    finished: list[float] = []
    drive(s, 1.0, lambda now, w: finished.append(now) if w.campaign == "small" else None)
    assert len(finished) == 10
    assert max(finished) <= 0.25


def test_drain_returns_every_waiting_message() -> None:
    """drain hands back everything not admitted, and the scheduler is empty afterwards."""
    s = scheduler(ConnectorLimitsConfig(rate=1, burst=1))
    for i in range(10):
        push(s, f"m{i}", sender="A" if i % 2 else "B")
    admitted, _ = s.poll(0.0)
    assert admitted is not None
    left = s.drain()
    assert sorted([*left, admitted.item]) == sorted(f"m{i}" for i in range(10))
    assert s.count == 0 and s.poll(5.0)[0] is None


def test_throttling_feedback_converges_below_the_carrier_capacity_and_loses_nothing() -> None:
    """Configured 500/s against a carrier taking 300/s: attempts settle at or below 300/s and all 40,000 arrive once."""
    limits = ConnectorLimitsConfig(
        rate=500, burst=25, aimd=AimdConfig(cooldown_seconds=1.0, increase_fraction_per_second=0.05)
    )
    table = LimitTable("sim", limits)
    s: Scheduler[int] = Scheduler(table, LocalTokens())
    carrier = TokenBucket.full(300, 10, 0.0)
    total = 40_000
    for i in range(total):
        s.push(i, 1, sender="A", kind="informational", priority=0, campaign=None, now=0.0)
    accepted: list[float] = []
    attempts: list[float] = []
    delivered: set[int] = set()

    def submit(now: float, w: Waiting[int]) -> None:
        attempts.append(now)
        if carrier.try_acquire(1, now)[0]:
            assert w.item not in delivered
            delivered.add(w.item)
            accepted.append(now)
            table.succeeded("A", now)
        else:
            table.throttled("A", now)
            s.push(w.item, 1, sender="A", kind="informational", priority=0, campaign=None, now=now)  # requeued

    end = drive(s, 1_000.0, submit)
    assert delivered == set(range(total))  # nothing lost, nothing twice
    # Steady state: the last 60 s before the work ran out.
    late_attempts = [t for t in attempts if end - 70 <= t < end - 10]
    late_accepted = [t for t in accepted if end - 70 <= t < end - 10]
    assert len(late_attempts) / 60 <= 300 * 1.05
    assert len(late_accepted) / 60 >= 300 * 0.6
    assert len(late_attempts) - len(late_accepted) <= 0.05 * len(late_attempts)


def test_feedback_scope_chooses_which_limits_a_throttle_lowers() -> None:
    """feedback=sender lowers only the sender's rate, connector only the account's, both lowers both."""
    spec = {"rate": 100, "burst": 10, "default_sender": RateSpec(rate=40, burst=4)}
    rates = {}
    for scope in ("sender", "connector", "both"):
        table = LimitTable(f"scope-{scope}", ConnectorLimitsConfig(feedback=scope, **spec))
        table.throttled("S", 0.0)
        sender, connector = table.limits_for("S")
        rates[scope] = (sender.rate, connector.rate)
    assert rates == {"sender": (20, 100), "connector": (40, 50), "both": (20, 50)}


def test_recovery_to_the_configured_rate_is_logged_once() -> None:
    """After a throttle, successes bring the rate back and ratelimit.rate.restored is logged when it gets there."""
    table = LimitTable(
        "restore",
        ConnectorLimitsConfig(
            rate=100,
            burst=10,
            feedback="connector",
            aimd=AimdConfig(cooldown_seconds=0.0, increase_fraction_per_second=0.5),
        ),
    )
    table.throttled("S", 0.0)
    with capture_logs() as logs:
        for i in range(1, 50):
            table.succeeded("S", i * 0.1)
    assert [e["event"] for e in logs] == ["ratelimit.rate.restored"]
    assert table.connector_limit is not None and table.connector_limit.rate == 100
