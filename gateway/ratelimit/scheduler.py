"""The admission decision for one connector, pure and clock-injected.

One lane per sender (see :mod:`gateway.ratelimit.lanes`). :meth:`Scheduler.poll`
admits at most one message: among the lanes whose *sender* limit has room for
their next message, it takes the best class (informational first, then higher
priority) and, between equals, the lane served longest ago (round robin
across senders). That message must then also pass the *connector* limit; if
the connector has no room yet, the scheduler waits for it rather than letting
another lane jump ahead, so a message costing more than others is not
starved. A lane whose sender limit has no room is simply skipped: one slow
sender never holds up another.

Tokens are spent from every limit at once and only when all have room.
"""

from __future__ import annotations

import math
from typing import Generic, TypeVar

from gateway.ratelimit.lanes import Lane, Waiting, class_of
from gateway.ratelimit.limits import Limit, LimitTable
from gateway.ratelimit.tokens import LaneDemand, TokenSource

__all__ = ["Scheduler"]

T = TypeVar("T")


class Scheduler(Generic[T]):
    def __init__(self, table: LimitTable, tokens: TokenSource, *, quantum: float = 1.0) -> None:
        self.table = table
        self.tokens = tokens
        self.quantum = quantum
        self._lanes: dict[str, Lane[T]] = {}
        self._sender_limits: dict[str, Limit | None] = {}
        self._serial = 0
        self.count = 0

    @property
    def connector(self) -> str:
        return self.table.connector

    def push(
        self,
        item: T,
        cost: float,
        *,
        sender: str,
        kind: str,
        priority: int,
        campaign: str | None,
        now: float,
    ) -> None:
        if not cost > 0:
            raise ValueError(f"cost must be positive, not {cost!r}")
        lane = self._lanes.get(sender)
        if lane is None:
            # A new lane joins the round behind every lane already waiting.
            lane = self._lanes[sender] = Lane(quantum=self.quantum, served_at=self._serial)
            self._sender_limits[sender] = self.table.sender_limit(sender)
        lane.push(Waiting(item, cost, now, class_of(kind, priority), campaign))
        self.count += 1

    def poll(self, now: float) -> tuple[Waiting[T] | None, float]:
        """Admit one message if the limits allow it now.

        Returns ``(admitted, wake_at)``: the admitted message (its tokens already
        spent) or None, and when to poll again at the latest (``math.inf``: not
        before something else happens - a push, tokens granted).
        """
        wake_at = math.inf
        best: tuple[tuple[tuple[int, int], int], str, Lane[T], Waiting[T]] | None = None
        for sender, lane in self._lanes.items():
            head = lane.peek()
            limit = self._sender_limits[sender]
            if limit is not None:
                wait = self.tokens.wait_time(limit, head.cost, now)
                if wait > 0.0:
                    wake_at = min(wake_at, now + wait)
                    continue
            rank = (head.klass, lane.served_at)
            if best is None or rank < best[0]:
                best = (rank, sender, lane, head)
        if best is None:
            return None, wake_at
        _, sender, lane, head = best
        connector_limit = self.table.connector_limit
        if connector_limit is not None:
            wait = self.tokens.wait_time(connector_limit, head.cost, now)
            if wait > 0.0:
                return None, min(wake_at, now + wait)
            self.tokens.consume(connector_limit, head.cost, now)
        sender_limit = self._sender_limits[sender]
        if sender_limit is not None:
            self.tokens.consume(sender_limit, head.cost, now)
        lane.pop()
        self.count -= 1
        self._serial += 1
        lane.served_at = self._serial
        if not lane.count:
            del self._lanes[sender], self._sender_limits[sender]
        return head, now

    def demand(self) -> list[LaneDemand]:
        """What each lane waits for (read by the cluster token source)."""
        connector_limit = self.table.connector_limit
        return [
            LaneDemand(self._sender_limits[sender], connector_limit, lane.cost, lane.max_cost)
            for sender, lane in self._lanes.items()
        ]

    def drain(self) -> list[T]:
        """Remove and return every waiting message."""
        items: list[T] = []
        for lane in self._lanes.values():
            items.extend(lane.drain())
        self._lanes.clear()
        self._sender_limits.clear()
        self.count = 0
        return items
