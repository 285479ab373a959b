"""Several rate-limited instances in one event loop, sending into a pluggable target.

Each instance has what a daemon has: its own asyncpg pool, a
:class:`ClusterTokens` named after it, and a :class:`Dispatcher` for one
connector. What the dispatcher's ``send`` reaches is a :class:`SendTarget`:
:class:`CountingTarget` (accepts everything and records when), or
:class:`ThrottlingTarget` (a carrier with a capacity of its own that answers
"throttled" above it). An SMPP-simulator target only has to implement
``submit`` (submit over a bind, return "submitted" or "throttled" from the
``submit_sm_resp``) and count at the simulator side.

Throttled messages go back to their instance's lane, as the engine requeues
them, so nothing is lost; instances stopped with :meth:`Fleet.stop` hand back
what they still held through ``drain_waiting``.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

import anyio
import asyncpg
from anyio.abc import ObjectReceiveStream, ObjectSendStream

from gateway.db.pool import create_pool
from gateway.ratelimit import ClusterConfig, ClusterTokens, ConnectorLimitsConfig, Dispatcher, PgRateStore, TokenBucket

Outcome = Literal["submitted", "throttled"]


@dataclass(frozen=True, slots=True)
class Msg:
    """A routable test message (the fields the dispatcher reads, plus an id)."""

    id: int
    sender: str = "1588-0000"
    kind: str = "informational"
    priority: int = 0
    campaign_id: str | None = None
    cost: int = 1


@dataclass(frozen=True, slots=True)
class Sent:
    at: float
    instance: int
    sender: str
    cost: float
    message_id: int


class SendTarget(Protocol):
    async def submit(self, instance: int, message: Msg) -> Outcome: ...


@dataclass
class CountingTarget:
    """Accepts every message and records when it arrived (anyio's clock)."""

    sent: list[Sent] = field(default_factory=list)

    async def submit(self, instance: int, message: Msg) -> Outcome:
        self.sent.append(Sent(anyio.current_time(), instance, message.sender, message.cost, message.id))
        return "submitted"


@dataclass
class ThrottlingTarget:
    """A carrier that accepts ``rate`` units/s (burst ``burst``) and throttles the rest."""

    rate: float
    burst: float
    sent: list[Sent] = field(default_factory=list)
    throttled: list[Sent] = field(default_factory=list)
    _bucket: TokenBucket | None = None

    async def submit(self, instance: int, message: Msg) -> Outcome:
        now = anyio.current_time()
        if self._bucket is None:
            self._bucket = TokenBucket.full(self.rate, self.burst, now)
        record = Sent(now, instance, message.sender, message.cost, message.id)
        ok, _ = self._bucket.try_acquire(message.cost, now)
        (self.sent if ok else self.throttled).append(record)
        return "submitted" if ok else "throttled"


@dataclass
class Instance:
    index: int
    pool: asyncpg.Pool
    tokens: ClusterTokens
    dispatcher: Dispatcher[Msg]
    requeue_in: ObjectSendStream[Msg]
    requeue_out: ObjectReceiveStream[Msg]
    scope: anyio.CancelScope = field(default_factory=anyio.CancelScope)
    done: anyio.Event = field(default_factory=anyio.Event)
    tg: anyio.abc.TaskGroup | None = None
    put: int = 0  # messages put by the feeder (first tries only)
    drained: list[Msg] = field(default_factory=list)  # handed back at stop: from lanes and from the requeue line


class Fleet:
    """``n`` instances sharing the limits of connector ``connector`` through ``db_url``."""

    def __init__(
        self,
        db_url: str,
        *,
        n: int,
        limits: ConnectorLimitsConfig,
        target: SendTarget,
        cluster: ClusterConfig = ClusterConfig(enabled=True),  # noqa: B008 - frozen config
        connector: str = "c1",
        max_waiting: int = 5_000,
    ) -> None:
        self.db_url = db_url
        self.n = n
        self.limits = limits
        self.target = target
        self.cluster = cluster
        self.connector = connector
        self.max_waiting = max_waiting
        self.instances: list[Instance] = []

    async def __aenter__(self) -> Fleet:
        self._tg = anyio.create_task_group()
        await self._tg.__aenter__()
        for i in range(self.n):
            pool = await create_pool(self.db_url, min_size=1, max_size=2)
            tokens = ClusterTokens(PgRateStore(pool), instance=f"instance-{i}", config=self.cluster)
            send_in, send_out = anyio.create_memory_object_stream[Msg](max_buffer_size=1_000_000)
            holder: list[Dispatcher[Msg]] = []

            async def send(
                message: Msg, i: int = i, holder: list = holder, requeue: ObjectSendStream = send_in
            ) -> None:
                outcome = await self.target.submit(i, message)
                if outcome == "throttled":
                    holder[0].throttled(message.sender)
                    requeue.send_nowait(message)  # the engine puts it back in the queue
                else:
                    holder[0].succeeded(message.sender)

            dispatcher: Dispatcher[Msg] = Dispatcher(
                connector=self.connector, limits=self.limits, send=send, tokens=tokens, max_waiting=self.max_waiting
            )
            holder.append(dispatcher)
            instance = Instance(i, pool, tokens, dispatcher, send_in, send_out)
            self.instances.append(instance)
            await self._tg.start(self._run, instance)
        return self

    async def _run(self, instance: Instance, *, task_status: anyio.abc.TaskStatus[None]) -> None:
        try:
            with instance.scope:
                async with anyio.create_task_group() as tg:
                    instance.tg = tg
                    await tg.start(instance.tokens.run)
                    await tg.start(instance.dispatcher.run)
                    tg.start_soon(self._requeue, instance)
                    task_status.started()
        finally:
            instance.drained = instance.dispatcher.drain_waiting()
            while True:
                try:
                    instance.drained.append(instance.requeue_out.receive_nowait())
                except (anyio.WouldBlock, anyio.EndOfStream, anyio.ClosedResourceError):
                    break
            with anyio.CancelScope(shield=True):
                await instance.pool.close()
            instance.done.set()

    async def _requeue(self, instance: Instance) -> None:
        async for message in instance.requeue_out:
            await instance.dispatcher.put(message, message.cost)

    def feed(self, index: int, messages: Sequence[Msg]) -> None:
        """Put ``messages`` into instance ``index`` (in the background; put blocks when its lanes are full)."""
        instance = self.instances[index]

        async def feed() -> None:
            for message in messages:
                await instance.dispatcher.put(message, message.cost)
                instance.put += 1

        assert instance.tg is not None
        instance.tg.start_soon(feed)

    async def stop(self, index: int) -> None:
        instance = self.instances[index]
        instance.scope.cancel()
        await instance.done.wait()

    async def __aexit__(self, *exc_info: object) -> None:
        for instance in self.instances:
            instance.scope.cancel()
        await self._tg.__aexit__(*exc_info)


def worst_window(sent: Sequence[Sent], window: float, *, start: float, end: float) -> float:
    """The most cost sent in any window of ``window`` seconds within [start, end]."""
    events = sorted((s.at, s.cost) for s in sent if start <= s.at <= end)
    times = [t for t, _ in events]
    prefix = [0.0]
    for _, cost in events:
        prefix.append(prefix[-1] + cost)
    worst = 0.0
    for i, t in enumerate(times):
        j = bisect.bisect_left(times, t + window)  # sends in [t, t + window)
        worst = max(worst, prefix[j] - prefix[i])
    return worst
