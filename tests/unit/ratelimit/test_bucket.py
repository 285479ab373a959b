"""Properties of the pure limiter core (token bucket / GCRA)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.ratelimit import TokenBucket

rates = st.floats(min_value=0.5, max_value=5_000, allow_nan=False, allow_infinity=False)
bursts = st.floats(min_value=1, max_value=100, allow_nan=False, allow_infinity=False)
steps = st.lists(
    st.tuples(st.floats(min_value=0, max_value=2, allow_nan=False), st.integers(min_value=1, max_value=12)),
    max_size=150,
)

TOLERANCE = 1e-6


def windows_within_bound(admitted: list[tuple[float, float]], allowance, extra: float) -> None:
    for i, (start, _) in enumerate(admitted):
        total = 0.0
        for end, cost in admitted[i:]:
            total += cost
            bound = allowance(start, end) + extra
            assert total <= bound + TOLERANCE * max(1.0, bound), (start, end, total, bound)


@settings(max_examples=300)
@given(rate=rates, burst=bursts, ops=steps)
def test_admitted_cost_never_exceeds_rate_times_window_plus_burst(rate: float, burst: float, ops) -> None:
    """Over every window the admitted cost is at most rate*W + max(burst, largest cost), whatever the arrivals."""
    bucket = TokenBucket.full(rate, burst, 0.0)
    now = 0.0
    admitted: list[tuple[float, float]] = []
    for dt, cost in ops:
        now += dt
        ok, wait = bucket.try_acquire(cost, now)
        assert ok == (wait == 0.0)
        if ok:
            admitted.append((now, cost))
    largest = max((c for _, c in admitted), default=0.0)
    windows_within_bound(admitted, lambda s, e: rate * (e - s), max(burst, largest))


@settings(max_examples=200)
@given(rate=rates, burst=bursts, costs=st.lists(st.integers(min_value=1, max_value=12), min_size=1, max_size=100))
def test_a_greedy_sender_gets_the_whole_rate_and_no_more(rate: float, burst: float, costs: list[int]) -> None:
    """A sender that retries exactly when told is admitted every time and uses the full rate."""
    bucket = TokenBucket.full(rate, burst, 0.0)
    now = 0.0
    admitted: list[tuple[float, float]] = []
    for cost in costs:
        ok, wait = bucket.try_acquire(cost, now)
        if not ok:
            now += wait
            ok, _ = bucket.try_acquire(cost, now)
            assert ok, "sleeping the returned wait must be enough"
        admitted.append((now, cost))
    largest = max(costs)
    windows_within_bound(admitted, lambda s, e: rate * (e - s), max(burst, largest))
    # Used all of it: everything but the initial burst (and one oversize debt) took exactly the time the rate allows.
    total = sum(costs)
    assert now <= (total - min(burst, costs[0])) / rate + TOLERANCE * max(1.0, now)


@settings(max_examples=200)
@given(
    rate=rates,
    burst=bursts,
    idle=st.floats(min_value=0, max_value=1e7, allow_nan=False),
    costs=st.lists(st.integers(min_value=1, max_value=12), min_size=1, max_size=50),
)
def test_idle_time_is_not_hoarded_beyond_the_burst(rate: float, burst: float, idle: float, costs: list[int]) -> None:
    """After any idle period, what passes at one instant is at most the burst (or one oversize message)."""
    bucket = TokenBucket.empty(rate, burst, 0.0)
    assert bucket.level(idle) <= burst
    passed = [c for c in costs if bucket.try_acquire(c, idle)[0]]
    assert sum(passed) <= max(burst, max(costs, default=0)) + TOLERANCE
    if any(c > burst for c in passed):
        assert len(passed) == 1


@given(rate=rates, burst=st.floats(min_value=1, max_value=10), over=st.floats(min_value=0.1, max_value=50))
def test_a_message_costing_more_than_the_burst_passes_once_the_bucket_is_full(
    rate: float, burst: float, over: float
) -> None:
    """A cost above the burst is admitted when the bucket is full, and its debt delays what follows."""
    cost = burst + over
    bucket = TokenBucket.empty(rate, burst, 0.0)
    ok, wait = bucket.try_acquire(cost, 0.0)
    assert not ok
    assert wait == pytest.approx(burst / rate)
    ok, _ = bucket.try_acquire(cost, wait)
    assert ok
    assert bucket.level(wait) == pytest.approx(burst - cost)
    # The next unit waits for the debt to be paid, then for itself.
    _, next_wait = bucket.try_acquire(1, wait)
    assert next_wait == pytest.approx((cost - burst + min(1, burst)) / rate)


@settings(max_examples=200)
@given(
    burst=bursts,
    ops=st.lists(
        st.tuples(
            st.floats(min_value=0, max_value=1, allow_nan=False),
            st.integers(min_value=1, max_value=12),
            st.none() | st.floats(min_value=0.5, max_value=2_000, allow_nan=False),
        ),
        max_size=120,
    ),
)
def test_rate_changes_keep_the_window_bound(burst: float, ops) -> None:
    """With the rate changed at run time, admitted cost stays within the integral of the rate plus a burst."""
    bucket = TokenBucket.full(100.0, burst, 0.0)
    now = 0.0
    changes = [(0.0, 100.0)]  # (from, rate)
    admitted: list[tuple[float, float]] = []
    for dt, cost, new_rate in ops:
        now += dt
        if new_rate is not None:
            bucket.set_rate(new_rate, burst, now)
            changes.append((now, new_rate))
        elif bucket.try_acquire(cost, now)[0]:
            admitted.append((now, cost))

    def integral(start: float, end: float) -> float:
        total = 0.0
        for k, (at, rate) in enumerate(changes):
            until = changes[k + 1][0] if k + 1 < len(changes) else float("inf")
            lo, hi = max(start, at), min(end, until)
            if hi > lo:
                total += (hi - lo) * rate
        return total

    largest = max((c for _, c in admitted), default=0.0)
    windows_within_bound(admitted, integral, max(burst, largest))


def test_a_clock_going_back_earns_nothing() -> None:
    """A ``now`` earlier than the last call counts as no time passing."""
    bucket = TokenBucket.full(10, 5, 100.0)
    assert bucket.try_acquire(5, 100.0) == (True, 0.0)
    ok, wait = bucket.try_acquire(1, 50.0)
    assert not ok
    assert wait == pytest.approx(0.1)


def test_lowering_the_burst_drops_the_excess() -> None:
    """set_rate with a smaller burst caps the level at the new burst."""
    bucket = TokenBucket.full(10, 50, 0.0)
    bucket.set_rate(10, 5, 1.0)
    assert bucket.level(1.0) == 5


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (-1, 1), (1, 0), (1, -2)])
def test_rate_and_burst_must_be_positive(rate: float, burst: float) -> None:
    """A bucket refuses a non-positive rate or burst."""
    with pytest.raises(ValueError):
        TokenBucket.full(rate, burst, 0.0)
