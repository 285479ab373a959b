"""The adaptive rate: multiplicative decrease on throttling, additive recovery."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.ratelimit import Aimd, AimdConfig

CONFIG = AimdConfig(decrease_factor=0.5, floor_fraction=0.05, cooldown_seconds=1.0, increase_fraction_per_second=0.05)


def test_a_throttle_halves_the_rate() -> None:
    """One throttling answer multiplies the rate by the decrease factor."""
    aimd = Aimd(100.0, CONFIG)
    assert aimd.on_throttle(10.0) is True
    assert aimd.rate == 50.0
    assert aimd.fraction == 0.5


def test_a_burst_of_throttles_within_the_cooldown_counts_once() -> None:
    """64 throttled answers arriving within the cooldown lower the rate once."""
    aimd = Aimd(100.0, CONFIG)
    lowered = [aimd.on_throttle(10.0 + i * 0.01) for i in range(64)]
    assert lowered.count(True) == 1
    assert aimd.rate == 50.0
    assert aimd.on_throttle(11.01) is True  # after the cooldown it counts again
    assert aimd.rate == 25.0


def test_the_rate_never_drops_below_the_floor() -> None:
    """Repeated throttles stop at floor_fraction of the configured rate."""
    aimd = Aimd(100.0, CONFIG)
    for i in range(50):
        aimd.on_throttle(float(i * 2))
    assert aimd.rate == pytest.approx(5.0)


def test_recovery_is_gradual_and_stops_at_the_configured_rate() -> None:
    """Success raises the rate by 5 % of the limit per second, from the end of the cooldown, up to the limit."""
    aimd = Aimd(100.0, CONFIG)
    aimd.on_throttle(0.0)  # 50/s
    t = 0.0
    rates = {}
    while t < 20.0:
        t = round(t + 0.01, 2)
        aimd.on_success(t)
        rates[t] = aimd.rate
    assert rates[0.5] == 50.0  # still cooling down
    assert rates[6.0] == pytest.approx(50.0 + 5 * 5.0, abs=0.2)  # 5 s of credit after the 1 s cooldown
    assert rates[10.9] < 100.0
    assert rates[11.1] == 100.0
    assert rates[20.0] == 100.0


def test_idle_time_does_not_count_as_success() -> None:
    """A success after an hour of silence credits at most one second of increase."""
    aimd = Aimd(100.0, CONFIG)
    aimd.on_throttle(0.0)
    aimd.on_success(2.0)
    before = aimd.rate
    aimd.on_success(3600.0)
    assert aimd.rate == pytest.approx(before + 5.0)


def test_disabled_aimd_keeps_the_configured_rate() -> None:
    """With enabled=false, throttles change nothing."""
    aimd = Aimd(100.0, AimdConfig(enabled=False))
    assert aimd.on_throttle(1.0) is False
    assert aimd.rate == 100.0


@given(
    st.lists(
        st.tuples(st.floats(min_value=0, max_value=3, allow_nan=False), st.booleans()),
        max_size=200,
    )
)
def test_the_rate_stays_between_floor_and_limit(events) -> None:
    """Whatever the mix of throttles and successes, the rate stays within [floor, limit]."""
    aimd = Aimd(80.0, CONFIG)
    now = 0.0
    for dt, throttled in events:
        now += dt
        if throttled:
            aimd.on_throttle(now)
        else:
            aimd.on_success(now)
        assert aimd.floor - 1e-9 <= aimd.rate <= aimd.limit + 1e-9
