"""Adaptive rate (AIMD), pure and clock-injected.

Throttling answers from the peer (SMPP 0x58 ESME_RTHROTTLED, 0x14
ESME_RMSGQFUL, HTTP 429) multiply the effective rate by ``decrease_factor``,
at most once per ``cooldown_seconds``: a window of 64 submits that all come
back throttled is one signal, not 64. Successful sends then raise the rate by
``increase_fraction_per_second`` of the configured rate for every second of
successful traffic, up to the configured rate. Idle time does not count as
success (at most one second is credited per success), so a rate lowered
before a quiet night comes back gradually, not at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.ratelimit.config import AimdConfig

__all__ = ["Aimd"]

# The most idle time one success may credit, in seconds.
_MAX_CREDIT_SECONDS = 1.0


@dataclass(slots=True)
class Aimd:
    limit: float
    config: AimdConfig = AimdConfig()
    rate: float = field(init=False)
    _decreased_at: float | None = field(init=False, default=None)
    _credited_at: float | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        if not self.limit > 0:
            raise ValueError(f"limit must be positive, not {self.limit!r}")
        self.rate = self.limit

    @property
    def floor(self) -> float:
        return self.limit * self.config.floor_fraction

    @property
    def fraction(self) -> float:
        """The effective rate as a share of the configured one (1.0 when not lowered)."""
        return self.rate / self.limit

    def on_throttle(self, now: float) -> bool:
        """Record a throttling answer; True when it lowered the rate."""
        if not self.config.enabled:
            return False
        if self._decreased_at is not None and now - self._decreased_at < self.config.cooldown_seconds:
            return False
        self._decreased_at = now
        self._credited_at = now
        new = max(self.floor, self.rate * self.config.decrease_factor)
        changed = new < self.rate
        self.rate = new
        return changed

    def on_success(self, now: float) -> bool:
        """Record an accepted send; True when it raised the rate."""
        if self.rate >= self.limit:
            self._credited_at = now
            return False
        if self._decreased_at is not None and now - self._decreased_at < self.config.cooldown_seconds:
            # Answers to what was sent before the decrease are still arriving:
            # they prove nothing about the new rate.
            self._credited_at = now
            return False
        last = self._credited_at if self._credited_at is not None else now
        credit = min(max(0.0, now - last), _MAX_CREDIT_SECONDS)
        self._credited_at = max(last, now)
        if credit <= 0.0:
            return False
        self.rate = min(self.limit, self.rate + self.limit * self.config.increase_fraction_per_second * credit)
        return True
