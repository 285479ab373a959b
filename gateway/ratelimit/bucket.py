"""The limiter core: a token bucket, pure and clock-injected (every call takes ``now``).

A token bucket of ``rate`` units/s and ``burst`` units is the same admission
rule as GCRA (the generic cell rate algorithm) with emission interval
``1/rate`` and tolerance ``burst/rate``; it is kept as a level rather than a
theoretical arrival time because the rate changes at run time (adaptive
decrease, cluster shares), and a level stays meaningful across such a change.

Guarantees, for any sequence of calls with non-decreasing ``now``:

* over any window of ``W`` seconds the admitted cost is at most
  ``rate * W + max(burst, largest single cost)``;
* idle time is not hoarded: the level never exceeds ``burst``;
* a message costing more than ``burst`` is admitted once the bucket is full,
  and the excess is a debt (the level goes negative) paid back at ``rate``
  before anything else passes. It therefore waits at most ``burst/rate``.

A ``now`` earlier than the last one is treated as no time passing.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["TokenBucket"]

# Levels within this (relative) distance of what is needed count as enough, so
# a caller that sleeps exactly the returned wait is never refused for rounding.
_EPSILON = 1e-9


@dataclass(slots=True)
class TokenBucket:
    rate: float
    burst: float
    tokens: float
    updated_at: float

    def __post_init__(self) -> None:
        if not self.rate > 0:
            raise ValueError(f"rate must be positive, not {self.rate!r}")
        if not self.burst > 0:
            raise ValueError(f"burst must be positive, not {self.burst!r}")
        self.tokens = min(self.tokens, self.burst)

    @classmethod
    def full(cls, rate: float, burst: float, now: float) -> TokenBucket:
        return cls(rate=rate, burst=burst, tokens=burst, updated_at=now)

    @classmethod
    def empty(cls, rate: float, burst: float, now: float) -> TokenBucket:
        return cls(rate=rate, burst=burst, tokens=0.0, updated_at=now)

    def level(self, now: float) -> float:
        """Tokens available at ``now`` (negative while a debt is being paid)."""
        if now <= self.updated_at:
            return self.tokens
        return min(self.burst, self.tokens + (now - self.updated_at) * self.rate)

    def _advance(self, now: float) -> None:
        self.tokens = self.level(now)
        if now > self.updated_at:
            self.updated_at = now

    def wait_time(self, cost: float, now: float) -> float:
        """Seconds from ``now`` until ``cost`` may pass (0.0 when it may pass now)."""
        need = min(cost, self.burst)
        missing = need - self.level(now)
        if missing <= _EPSILON * max(1.0, need):
            return 0.0
        return missing / self.rate

    def consume(self, cost: float, now: float) -> None:
        """Take ``cost`` unconditionally (the caller checked :meth:`wait_time`)."""
        self._advance(now)
        self.tokens -= cost

    def try_acquire(self, cost: float, now: float) -> tuple[bool, float]:
        """Admit ``cost`` now, or say how long to wait: ``(True, 0.0)`` or ``(False, seconds)``."""
        wait = self.wait_time(cost, now)
        if wait > 0.0:
            return False, wait
        self.consume(cost, now)
        return True, 0.0

    def set_rate(self, rate: float, burst: float, now: float) -> None:
        """Change rate and burst from ``now`` on; the level keeps what was earned so far."""
        if not rate > 0 or not burst > 0:
            raise ValueError(f"rate and burst must be positive, not {rate!r}, {burst!r}")
        self._advance(now)
        self.rate = rate
        self.burst = burst
        self.tokens = min(self.tokens, burst)
