"""An awaitable token bucket, for limits enforced inside a connector (per SMPP bind).

``await pacer.acquire(cost)`` returns once the bucket admits ``cost``. Callers
are served first come, first served (a lock), so a large cost is not starved
by small ones. Cancelled while waiting, it has taken nothing.
"""

from __future__ import annotations

from collections.abc import Callable

import anyio

from gateway.ratelimit.bucket import TokenBucket

__all__ = ["Pacer"]


class Pacer:
    def __init__(self, rate: float, burst: float, *, clock: Callable[[], float] = anyio.current_time) -> None:
        self._clock = clock
        self._rate = rate
        self._burst = burst
        self._bucket: TokenBucket | None = None  # made on first use: the clock needs a running loop
        self._lock = anyio.Lock()

    def _get(self, now: float) -> TokenBucket:
        if self._bucket is None:
            self._bucket = TokenBucket.full(self._rate, self._burst, now)
        return self._bucket

    def set_rate(self, rate: float, burst: float) -> None:
        self._rate, self._burst = rate, burst
        if self._bucket is not None:
            self._bucket.set_rate(rate, burst, self._clock())

    async def acquire(self, cost: float) -> None:
        async with self._lock:
            while True:
                now = self._clock()
                ok, wait = self._get(now).try_acquire(cost, now)
                if ok:
                    return
                await anyio.sleep(wait)
