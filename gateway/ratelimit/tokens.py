"""Where the tokens of a limit come from: this process alone, or the cluster.

:class:`LocalTokens` keeps one :class:`TokenBucket` per limit and is right for
a single instance (and for tests). :class:`~gateway.ratelimit.cluster.ClusterTokens`
hands out tokens granted by PostgreSQL so that every instance together stays
within each limit. Both follow :class:`TokenSource`, which is all the
scheduler knows; the scheduler passes ``now`` to every call.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

import anyio
from anyio.abc import TaskStatus

from gateway.ratelimit.bucket import TokenBucket
from gateway.ratelimit.limits import Limit

__all__ = ["DemandFn", "LaneDemand", "LocalTokens", "TokenSource", "WakeFn"]

NEVER = math.inf


@dataclass(frozen=True, slots=True)
class LaneDemand:
    """What one lane is waiting for: its limits, total cost and largest single cost."""

    sender: Limit | None
    connector: Limit | None
    cost: float
    max_cost: float


DemandFn = Callable[[], Iterable[LaneDemand]]
WakeFn = Callable[[], None]


class TokenSource(Protocol):
    def wait_time(self, limit: Limit, cost: float, now: float) -> float:
        """Seconds until ``cost`` may pass ``limit``: 0.0 now, ``math.inf`` when only a wake-up will tell."""

    def consume(self, limit: Limit, cost: float, now: float) -> None:
        """Spend ``cost`` (after :meth:`wait_time` said 0.0)."""

    def attach(self, demand: DemandFn, wake: WakeFn) -> None:
        """Register a scheduler: ``demand`` says what it waits for, ``wake`` tells it tokens arrived."""

    def detach(self, wake: WakeFn) -> None:
        """Forget a scheduler registered with :meth:`attach`."""

    def demand_changed(self) -> None:
        """A scheduler's demand grew (a message arrived)."""

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Background exchanges with the other instances, if any; runs until cancelled."""


class LocalTokens:
    """One token bucket per limit, in this process only; buckets start full."""

    def __init__(self) -> None:
        self._buckets: dict[str, TokenBucket] = {}

    def bucket(self, limit: Limit, now: float) -> TokenBucket:
        bucket = self._buckets.get(limit.key)
        if bucket is None:
            bucket = self._buckets[limit.key] = TokenBucket.full(limit.rate, limit.burst, now)
        elif bucket.rate != limit.rate or bucket.burst != limit.burst:
            bucket.set_rate(limit.rate, limit.burst, now)
        return bucket

    def wait_time(self, limit: Limit, cost: float, now: float) -> float:
        return self.bucket(limit, now).wait_time(cost, now)

    def consume(self, limit: Limit, cost: float, now: float) -> None:
        self.bucket(limit, now).consume(cost, now)

    def attach(self, demand: DemandFn, wake: WakeFn) -> None:
        return None

    def detach(self, wake: WakeFn) -> None:
        return None

    def demand_changed(self) -> None:
        return None

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
