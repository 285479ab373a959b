"""The async shell around :class:`~gateway.ratelimit.scheduler.Scheduler`: one per connector.

One dispatcher per connector, because ``connector.send`` blocks while that
connector is full and must not hold up any other connector; within a
connector, messages wait per sender lane, so a sender without room never
holds up another. The engine feeds it with :meth:`Dispatcher.put`, runs
:meth:`Dispatcher.run` in its task group, reports results with
:meth:`Dispatcher.throttled` / :meth:`Dispatcher.succeeded`, and after
cancelling it takes back what never went with :meth:`Dispatcher.drain_waiting`.

The pump admits one message at a time and awaits ``send`` before asking for
the next, so tokens are spent when a message really goes: if the connector
blocks, tokens pile up in the bucket only up to its burst.

Shutdown and cancel safety: a message is in exactly one of three places - in
a lane, in ``send`` (the one in flight), or handed over (``send`` returned).
:meth:`Dispatcher.drain_waiting` closes the dispatcher and returns what is in
the lanes; a ``send`` in progress is left to finish (its outcome reaches the
result sink as usual) and the pump then stops. If ``send`` is cancelled or
raises, its message counts as not taken (connectors cancel cleanly: a
cancelled ``send`` took nothing) and the next :meth:`drain_waiting` returns it.
``ConnectorClosed`` from ``send`` stops the pump quietly (the message stays
for :meth:`drain_waiting`); any other error propagates to the task group.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from typing import Generic, Protocol, TypeVar

import anyio
import structlog
from anyio.abc import TaskStatus

from gateway.errors import ConnectorClosed
from gateway.ratelimit import metrics
from gateway.ratelimit.config import ConnectorLimitsConfig
from gateway.ratelimit.limits import LimitTable
from gateway.ratelimit.scheduler import Scheduler
from gateway.ratelimit.tokens import LocalTokens, TokenSource

__all__ = ["Dispatcher", "Routable"]

log = structlog.get_logger("gateway.ratelimit")


class Routable(Protocol):
    """What the dispatcher reads from a message (``OutboundMessage`` has all of it)."""

    @property
    def sender(self) -> str: ...

    @property
    def kind(self) -> str: ...

    @property
    def priority(self) -> int: ...

    @property
    def campaign_id(self) -> str | None: ...


M = TypeVar("M", bound=Routable)


class Dispatcher(Generic[M]):
    """Holds one connector's messages until their limits allow them, then sends them.

    ``send`` is the connector's ``send``; ``tokens`` is shared by every
    dispatcher of the process (a :class:`~gateway.ratelimit.cluster.ClusterTokens`
    to share limits with other instances; a private :class:`LocalTokens` when
    omitted). ``clock`` must count seconds at the pace of the event loop
    (it is compared with AnyIO timeouts; asyncio's and uvloop's loops count
    ``time.monotonic``, read here without asking AnyIO which loop runs, once
    per message); it is injectable for tests.
    """

    def __init__(
        self,
        *,
        connector: str,
        limits: ConnectorLimitsConfig,
        send: Callable[[M], Awaitable[None]],
        tokens: TokenSource | None = None,
        max_waiting: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
        quantum: float = 1.0,
    ) -> None:
        if max_waiting < 1:
            raise ValueError("max_waiting must be at least 1")
        self.connector = connector
        self.table = LimitTable(connector, limits)
        self.tokens: TokenSource = tokens if tokens is not None else LocalTokens()
        self._scheduler: Scheduler[M] = Scheduler(self.table, self.tokens, quantum=quantum)
        self._send = send
        self._max_waiting = max_waiting
        self._clock = clock
        self._wakeup = anyio.Event()
        self._space = anyio.Event()
        self._in_flight: list[M] = []
        self._sending = False
        self._closed = False
        self._admitted = metrics.ADMITTED_COST.labels(connector)
        self._wait_seconds = metrics.WAIT_SECONDS.labels(connector)
        metrics.WAITING_MESSAGES.labels(connector).set_function(lambda: self.waiting)

    @property
    def waiting(self) -> int:
        """Messages not yet handed to ``send`` (in lanes, or in a ``send`` that has not returned)."""
        return self._scheduler.count + len(self._in_flight)

    async def put(self, message: M, cost: float) -> None:
        """Queue ``message`` (costing ``cost`` units) in its lane.

        Blocks while ``max_waiting`` messages are already waiting. Cancelled
        while blocked, it has queued nothing. Raises :class:`ConnectorClosed`
        after :meth:`drain_waiting`.
        """
        while self.waiting >= self._max_waiting and not self._closed:
            if self._space.is_set():
                self._space = anyio.Event()
            await self._space.wait()
        if self._closed:
            raise ConnectorClosed(f"rate limiter of connector {self.connector!r} is closed")
        self._scheduler.push(
            message,
            cost,
            sender=message.sender,
            kind=message.kind,
            priority=message.priority,
            campaign=message.campaign_id,
            now=self._clock(),
        )
        self.tokens.demand_changed()
        self._wakeup.set()

    def throttled(self, sender: str) -> None:
        """The peer answered "slow down" (SMPP 0x58/0x14, HTTP 429) to a message from ``sender``."""
        if self.table.throttled(sender, self._clock()):
            self._wakeup.set()

    def succeeded(self, sender: str) -> None:
        """The peer accepted a message from ``sender``."""
        if self.table.succeeded(sender, self._clock()):
            self._wakeup.set()

    def drain_waiting(self) -> list[M]:
        """Close, and return every message that was not and will not be handed to ``send``.

        That is everything in the lanes, plus the message whose ``send`` was
        interrupted if :meth:`run` has ended that way (it comes first). A
        ``send`` still in progress is not interrupted and its message is not
        returned; the pump stops after it. May be called again (returns what
        is left); ``put`` raises :class:`ConnectorClosed` from now on.
        """
        self._closed = True
        self._space.set()
        self._wakeup.set()
        items: list[M] = [] if self._sending else list(self._in_flight)
        if not self._sending:
            self._in_flight.clear()
        items.extend(self._scheduler.drain())
        return items

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Pump until cancelled or closed: admit what the limits allow, await ``send`` for each."""
        self.tokens.attach(self._scheduler.demand, self._wake)
        task_status.started()
        try:
            while not self._closed:
                # An unset event before polling: whatever happens from here on
                # (all of it during the awaits below) wakes the wait.
                if self._wakeup.is_set():
                    self._wakeup = anyio.Event()
                now = self._clock()
                waiting, wake_at = self._scheduler.poll(now)
                if waiting is None:
                    await self._sleep_until(wake_at)
                    continue
                self._in_flight.append(waiting.item)
                self._admitted.inc(waiting.cost)
                self._wait_seconds.observe(max(0.0, now - waiting.enqueued_at))
                self._sending = True
                try:
                    await self._send(waiting.item)
                except ConnectorClosed:
                    log.info("ratelimit.pump.closed", connector=self.connector)
                    return
                finally:
                    self._sending = False
                self._in_flight.clear()
                self._space.set()
        finally:
            self.tokens.detach(self._wake)

    def _wake(self) -> None:
        self._wakeup.set()

    async def _sleep_until(self, wake_at: float) -> None:
        delay = None if math.isinf(wake_at) else max(0.0, wake_at - self._clock())
        with anyio.move_on_after(delay):
            await self._wakeup.wait()
