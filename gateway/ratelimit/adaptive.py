"""A connector limit learnt from throttling, for connectors with no rate configured (pure).

With no ``[ratelimit]`` for a connector, nothing limits its rate until the peer
says "slow down" (SMPP 0x58/0x14, HTTP 429). At the first such answer this
module measures the rate we were sending at (answers per second over the last
second, at least ``MIN_CEILING``), takes it as the ceiling and installs a limit at that rate lowered by AIMD
(``decrease_factor``): further throttles lower it again (once per
``cooldown_seconds``), accepted sends raise it back towards the ceiling, and
once it is back there the limit is removed — the connector is unlimited again
until the next throttle. So a throttling SMSC is backed off without any
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
MIN_CEILING = 10.0


class AdaptiveRate:
    """The learnt limit of one connector: ``aimd`` while engaged, None while unlimited."""

    __slots__ = ("_count", "_last", "_started", "aimd", "config", "spec")

    def __init__(self, config: AimdConfig) -> None:
        self.config = config
        self.aimd: Aimd | None = None
        self.spec: RateSpec | None = None
        self._started = 0.0  # the current one-second window of accepted sends
        self._count = 0
        self._last = 0.0  # accepted sends in the previous full window (per second)

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
        if self.aimd is None:
            ceiling = max(self.observed(now), MIN_CEILING)
            self.spec = RateSpec(rate=ceiling, burst=max(1.0, ceiling / 10))
            self.aimd = Aimd(ceiling, self.config)
        return self.aimd.on_throttle(now)

    def succeeded(self, now: float) -> bool:
        """An accepted send; True when the limit was raised or removed."""
        self._meter(now)
        self._count += 1
        if self.aimd is None:
            return False
        raised = self.aimd.on_success(now)
        if self.aimd.rate >= self.aimd.limit:
            self.aimd = self.spec = None  # back at the rate that drew the throttle: unlimited again
            return True
        return raised
