"""Exponential back-off with jitter: the one formula every retry loop uses.

    delay(failures) = min(maximum, initial * 2 ** (failures - 1)), then jittered
    down to a uniform value in [delay * (1 - jitter), delay]

``failures`` counts consecutive failures, 1 for the first; ``jitter = 1`` is
"full jitter" (uniform in (0, delay]), ``jitter = 0`` none. The random source
is passed in so that tests can seed it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["Backoff"]

_MAX_DOUBLINGS = 60  # 2**60 already exceeds every sensible maximum


@dataclass(frozen=True, slots=True)
class Backoff:
    initial: float
    maximum: float
    jitter: float = 0.0

    def __post_init__(self) -> None:
        if self.initial < 0 or self.maximum < 0:
            raise ValueError("back-off delays cannot be negative")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter is a fraction between 0 and 1")

    def ceiling(self, failures: int) -> float:
        """The delay before jitter after ``failures`` consecutive failures."""
        doublings = min(max(failures - 1, 0), _MAX_DOUBLINGS)
        return min(self.maximum, self.initial * 2.0**doublings)

    def delay(self, failures: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after ``failures`` consecutive failures (1 = the first)."""
        ceiling = self.ceiling(failures)
        if not self.jitter or ceiling <= 0:
            return ceiling
        draw = (rng or random).random()
        return ceiling * (1 - self.jitter * draw)
