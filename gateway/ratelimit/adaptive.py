"""A connector limit learnt from throttling, for connectors with no rate configured (pure).

With no ``[ratelimit]`` for a connector, nothing limits its rate until the peer
says "slow down" (SMPP 0x58/0x14, HTTP 429). At the first such answer this
module measures the rate we were sending at (answers per second over the last
second, at least ``MIN_CEILING``), takes it as the ceiling and installs a limit at that rate lowered by AIMD
(``decrease_factor``): further throttles lower it again (once per
``cooldown_seconds``), accepted sends raise it back towards the ceiling, and
once it is back there the limit is removed — the connector is unlimited again
until the next throttle. Throttles that go on once the rate is at its floor
(``floor_fraction`` of the ceiling) are not about the rate: the limit is removed
and throttles are ignored for ``QUIET_SECONDS``, so such an SMSC does not pin the
connector at a crawl. So a throttling SMSC is backed off without any
configuration (``adaptive = false`` in the connector's ``[ratelimit]`` table
turns it off). The rate shows as ``gateway_ratelimit_effective_rate{limit="adaptive"}``.
"""

from __future__ import annotations

from gateway.ratelimit.aimd import Aimd
from gateway.ratelimit.config import AimdConfig, RateSpec

__all__ = ["ADAPTIVE_LABEL", "AdaptiveRate"]

ADAPTIVE_LABEL = "adaptive"
# The least ceiling learnt: a throttle right after a quiet spell says little about the rate
# the peer takes (AIMD can still go down to floor_fraction of it).
MIN_CEILING = 50.0
# Throttles that go on at the floor are not about the rate (an SMSC that refuses every Nth
# submit whatever the pace): the limit is removed and throttles are ignored this long.
QUIET_SECONDS = 30.0


class AdaptiveRate:
    """The learnt limit of one connector: ``aimd`` while engaged, None while unlimited."""

    __slots__ = ("_count", "_floor_since", "_last", "_quiet_until", "_started", "aimd", "config", "spec")

    def __init__(self, config: AimdConfig) -> None:
        self.config = config
        self.aimd: Aimd | None = None
        self.spec: RateSpec | None = None
        self._started = 0.0  # the current one-second window of accepted sends
        self._count = 0
        self._last = 0.0  # accepted sends in the previous full window (per second)
        self._quiet_until = 0.0
        self._floor_since: float | None = None  # when throttles brought the rate to its floor

    def _meter(self, now: float) -> None:
        elapsed = now - self._started
        if elapsed >= 1.0:
            self._last = self._count / elapsed if elapsed < 2.0 else 0.0
            self._started, self._count = now, 0

    def observed(self, now: float) -> float:
        """Answered sends per second lately (the larger of the last window and the current one)."""
        self._meter(now)
        current = self._count / max(now - self._started, 1e-3) if self._count else 0.0
        return max(self._last, min(current, self._count))

    def throttled(self, now: float) -> bool:
        """A throttling answer; True when the limit was installed or lowered."""
        self._meter(now)
        self._count += 1
        if now < self._quiet_until:
            return False
        aimd = self.aimd
        if aimd is None:
            ceiling = max(self.observed(now), MIN_CEILING)
            self.spec = RateSpec(rate=ceiling, burst=max(1.0, ceiling / 10))
            aimd = self.aimd = Aimd(ceiling, self.config)
            self._floor_since = None
        elif self._floor_since is not None:  # throttled at the floor: not about the rate
            if now - self._floor_since < self.config.cooldown_seconds:
                return False
            self.aimd = self.spec = None
            self._quiet_until = now + QUIET_SECONDS
            return True
        lowered = aimd.on_throttle(now)
        if aimd.rate <= aimd.floor:
            self._floor_since = now
        return lowered

    def succeeded(self, now: float) -> bool:
        """An accepted send; True when the limit was raised or removed."""
        self._meter(now)
        self._count += 1
        if self.aimd is None:
            return False
        raised = self.aimd.on_success(now)
        if raised and self.aimd.rate > 2 * self.aimd.floor:  # well clear of the floor: rate-driven again
            self._floor_since = None
        if self.aimd.rate >= self.aimd.limit:
            self.aimd = self.spec = None  # back at the rate that drew the throttle: unlimited again
            return True
        return raised
