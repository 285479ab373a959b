"""The adaptive rate a connector gets with no [ratelimit] (gateway.ratelimit.adaptive), pure."""

from __future__ import annotations

from gateway.ratelimit.adaptive import MIN_CEILING, QUIET_SECONDS, AdaptiveRate
from gateway.ratelimit.config import AimdConfig, ConnectorLimitsConfig
from gateway.ratelimit.limits import LimitTable

CFG = AimdConfig(cooldown_seconds=1.0)


def test_the_first_throttle_installs_a_limit_below_the_rate_being_sent() -> None:
    """200 answers/s, then a throttle: a limit at half that rate; successes bring it back and then remove it."""
    a = AdaptiveRate(CFG)
    for i in range(400):
        a.succeeded(i / 200)
    assert a.aimd is None
    assert a.throttled(2.0)
    assert a.aimd is not None and 90 <= a.aimd.rate <= 110
    t = 3.0
    while a.aimd is not None and t < 60:
        a.succeeded(t)
        t += 0.01
    assert a.aimd is None  # back at the ceiling: unlimited again


def test_a_cold_throttle_does_not_learn_a_crawl() -> None:
    """A throttle before much was sent takes MIN_CEILING as the ceiling, not 1/s."""
    a = AdaptiveRate(CFG)
    a.succeeded(0.0)
    a.throttled(0.01)
    assert a.aimd is not None and a.aimd.limit == MIN_CEILING


def test_throttles_that_go_on_at_the_floor_release_the_limit_for_a_while() -> None:
    """An SMSC that throttles every 3rd submit whatever the pace: once AIMD is at its floor and the throttles
    go on, the limit is removed and throttles are ignored for QUIET_SECONDS."""
    a = AdaptiveRate(CFG)
    t = 0.0
    released_at = None
    while t < 30 and released_at is None:
        for _ in range(2):
            a.succeeded(t)
            t += 0.05
        if a.throttled(t) and a.aimd is None:
            released_at = t
        t += 0.05
    assert released_at is not None
    assert not a.throttled(released_at + 1)
    assert a.aimd is None
    assert a.throttled(released_at + QUIET_SECONDS + 1)  # rate-driven again: engaged


def test_a_connector_without_a_configured_rate_gets_the_adaptive_limit_and_can_turn_it_off() -> None:
    """LimitTable: no rate configured -> a throttle installs the adaptive connector limit; adaptive = false -> none."""
    table = LimitTable("smsc", ConnectorLimitsConfig())
    assert table.connector_limit is None
    table.throttled("1588", 0.0)
    assert table.connector_limit is not None and table.connector_limit.label == "adaptive"
    off = LimitTable("smsc-off", ConnectorLimitsConfig(adaptive=False))
    off.throttled("1588", 0.0)
    assert off.connector_limit is None


def test_the_engaged_adaptive_limit_is_released_through_the_table_when_throttles_go_on_at_its_floor() -> None:
    """LimitTable routes throttles to the adaptive rules once engaged (not plain AIMD), so throttles that go on
    at the floor remove the limit."""
    table = LimitTable("smsc-every-3rd", ConnectorLimitsConfig(aimd=AimdConfig(cooldown_seconds=0.5)))
    t = 0.0
    while t < 60 and not (t > 1 and table.connector_limit is None):
        table.succeeded("1588", t)
        table.succeeded("1588", t + 0.05)
        table.throttled("1588", t + 0.1)
        t += 0.15
    assert table.connector_limit is None, "pinned at the floor"
