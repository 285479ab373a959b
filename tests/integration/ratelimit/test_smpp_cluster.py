"""Cluster-wide rate limits end to end: engines, SMPP connectors, the SMSC simulator and PostgreSQL.

Each "instance" here is what a daemon runs: an :class:`Engine` with its own
asyncpg pool, its own :class:`ClusterTokens` (named after it) and its own
:class:`SmppConnector`, all bound to one :class:`SmscSimulator`. Every
instance binds with a system_id of its own, so the simulator's log of accepted
submits tells who sent what and when. Rates are counted there, at the peer,
in sliding windows over its accept times (the event loop's clock).
"""

from __future__ import annotations

import bisect
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field

import anyio
import asyncpg
import pytest
from anyio.abc import TaskStatus
from prometheus_client import REGISTRY

from gateway.db.pool import create_pool
from gateway.port import OutboundMessage, Outcome, SendResult
from gateway.queue.config import EngineConfig, RetryConfig
from gateway.queue.engine import Engine
from gateway.ratelimit import (
    ClusterConfig,
    ClusterTokens,
    ConnectorLimitsConfig,
    PgRateStore,
    RateLimitConfig,
    RateSpec,
)
from gateway.simulators.smsc import SimulatorConfig, SmscSimulator
from gateway.smpp.config import SmppConnectorConfig
from gateway.smpp.connector import SmppConnector
from tests.support.queue import copy_messages, pg_engine, states

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

CLUSTER = ClusterConfig(enabled=True)  # the defaults: 0.1 s lookahead, so a chunk is min(burst, rate / 10)
# Small claims and a small in-flight cap, so that every instance holds messages of both senders at once.
ENGINE = EngineConfig(
    flush_interval_ms=5,
    idle_poll_ms=50,
    heartbeat_seconds=0.5,
    lease_seconds=5,
    claim_batch=50,
    max_in_flight=150,
    drain_seconds=5,
)

BIG, SMALL = "15880001", "15880002"  # two senders (source_addr) of one carrier account
LIMITS = {BIG: RateSpec(rate=100, burst=10), SMALL: RateSpec(rate=50, burst=5)}


# ---------------------------------------------------------------- instances


@dataclass
class Instance:
    """One daemon's worth: pool, cluster tokens, connector, engine; ``done`` once its engine has returned."""

    system_id: str
    pool: asyncpg.Pool
    engine: Engine
    done: anyio.Event = field(default_factory=anyio.Event)
    stopped_at: float | None = None

    async def run(self, *, task_status: TaskStatus[None]) -> None:
        try:
            await self.engine.run(task_status=task_status)
        finally:
            self.stopped_at = anyio.current_time()
            with anyio.CancelScope(shield=True):
                await self.pool.close()
            self.done.set()

    async def stop(self) -> None:
        """A graceful stop (what SIGTERM does): give back what is not taken, finish the rest."""
        self.engine.stop()
        with anyio.fail_after(10):
            await self.done.wait()


def connector_config(name: str, port: int, system_id: str) -> SmppConnectorConfig:
    return SmppConnectorConfig.model_validate(
        {
            "name": name,
            "host": "127.0.0.1",
            "port": port,
            "system_id": system_id,
            "password": "secret",
            "binds": 1,
            "window": 32,
            "registered_delivery": 0,  # no receipts: "submitted" is final
            "response_timeout_seconds": 5.0,
            "reconnect_initial_seconds": 0.05,
            "reconnect_max_seconds": 0.2,
            "throttle_pause_ms": 50,
        }
    )


@contextlib.asynccontextmanager
async def instances(
    db_url: str,
    port: int,
    *,
    n: int,
    connector: str,
    limits: ConnectorLimitsConfig,
    engine: EngineConfig = ENGINE,
    on_result: Callable[[OutboundMessage, SendResult], None] | None = None,
) -> AsyncIterator[list[Instance]]:
    """Run ``n`` instances sharing ``limits`` of ``connector``; stop them all gracefully on exit."""
    ratelimit = RateLimitConfig(connectors={connector: limits}, cluster=CLUSTER)
    running: list[Instance] = []
    async with anyio.create_task_group() as tg:
        try:
            for i in range(n):
                name = f"gw-{i}"
                pool = await create_pool(db_url, min_size=1, max_size=8)
                smpp = SmppConnector(connector_config(connector, port, name))
                tokens = ClusterTokens(PgRateStore(pool), instance=name, config=CLUSTER)
                eng = pg_engine(
                    pool,
                    db_url,
                    {connector: smpp},
                    config=engine,
                    instance_name=name,
                    ratelimit=ratelimit,
                    tokens=tokens,
                    on_result=on_result,
                )
                instance = Instance(name, pool, eng)
                running.append(instance)
                await tg.start(instance.run)
            yield running
        finally:
            for instance in running:
                instance.engine.stop()


def messages(counts: dict[str, int]) -> list[dict[str, str]]:
    """Rows for ``counts[sender]`` messages per sender, interleaved in proportion (the queue is claimed by id)."""
    total = sum(counts.values())
    rows: list[tuple[float, dict[str, str]]] = []
    for sender, n in counts.items():
        rows += [((k + 0.5) / n * total, {"sender": sender, "body": f"{sender}-{k}"}) for k in range(n)]
    return [row for _, row in sorted(rows, key=lambda r: r[0])]


async def wait_submitted(db: asyncpg.Connection, n: int, timeout: float) -> None:
    with anyio.fail_after(timeout):
        while (await states(db)).get("submitted", 0) < n:
            await anyio.sleep(0.1)


# ---------------------------------------------------------------- counting at the simulator


def accepted(sim: SmscSimulator, sender: str, system_id: str | None = None) -> list[float]:
    """Accept times (loop clock) of ``sender``'s submits, of one instance or of all."""
    return [
        e.at
        for e in sim.stats.accepted_log
        if e.source_addr == sender and (system_id is None or e.system_id == system_id)
    ]


def worst_window(times: Sequence[float], width: float) -> int:
    """The most submits accepted within any ``width`` seconds."""
    ordered = sorted(times)
    return max((bisect.bisect_left(ordered, t + width) - i for i, t in enumerate(ordered)), default=0)


def rate_between(times: Sequence[float], start: float, end: float) -> float:
    """Accepted submits per second in [start, end]."""
    assert end - start >= 1.0, f"window too short to measure a rate: {end - start:.2f} s"
    return sum(start <= t <= end for t in times) / (end - start)


def bound(spec: RateSpec, width: float, n: int) -> float:
    """The most ``n`` instances may send in ``width`` seconds: one bucket, each holding at most one chunk."""
    chunk = min(spec.burst, spec.rate * CLUSTER.lookahead_seconds)
    return spec.rate * width + 1.5 * spec.burst + n * chunk


def per_second(sim: SmscSimulator, sender: str) -> list[int]:
    counts = sim.stats.per_second(sender)
    return [counts.get(s, 0) for s in range(max(counts, default=-1) + 1)]


# ---------------------------------------------------------------- tests


async def test_three_instances_keep_each_sender_at_its_own_limit(db_url: str, db: asyncpg.Connection) -> None:
    """Three engines on one SMSC send each sender at about its own limit (100/s, 50/s), not three times it."""
    counts = {BIG: 450, SMALL: 225}  # about 4.5 s of sending for each sender
    await copy_messages(db, messages(counts))
    limits = ConnectorLimitsConfig(senders=LIMITS)
    async with SmscSimulator(SimulatorConfig()) as sim:
        async with instances(db_url, sim.port, n=3, connector="smsc-shared", limits=limits):
            await wait_submitted(db, sum(counts.values()), timeout=20)
    assert await states(db) == {"submitted": sum(counts.values())}
    for sender, n in counts.items():
        spec, times = LIMITS[sender], accepted(sim, sender)
        seen = f"{sender}: {per_second(sim, sender)} per second"
        # Every message reached the simulator, once.
        assert sorted(e.text for e in sim.stats.accepted_log if e.source_addr == sender) == sorted(
            f"{sender}-{k}" for k in range(n)
        )
        # Every instance sent a real part of it: three senders shared one limit.
        assert all(len(accepted(sim, sender, f"gw-{i}")) >= 0.1 * n for i in range(3)), seen
        # Never above the limit (three uncoordinated instances would send about three times it) ...
        assert worst_window(times, 2.0) <= bound(spec, 2.0, n=3), seen
        # ... and the limit is used: after the first second, at least 70 % of it up to the last message.
        assert rate_between(times, times[0] + 1.0, times[-1]) >= 0.7 * spec.rate, seen


async def test_the_others_take_over_a_stopped_instances_share(db_url: str, db: asyncpg.Connection) -> None:
    """When one of three engines stops, the other two send at the full limit and every message still goes once."""
    counts = {BIG: 500, SMALL: 250}  # about 5 s of sending
    limits = ConnectorLimitsConfig(senders=LIMITS)
    await copy_messages(db, messages(counts))
    async with SmscSimulator(SimulatorConfig()) as sim:
        async with instances(db_url, sim.port, n=3, connector="smsc-takeover", limits=limits) as running:
            await anyio.sleep(1.5)
            await running[2].stop()
            stopped = running[2].stopped_at
            assert stopped is not None
            # Every message it had claimed was written back, sent or given back: none is left to lease expiry.
            left = running[2].engine.in_flight
            assert left == 0, f"a graceful stop left {left} claimed messages neither sent nor given back"
            await wait_submitted(db, sum(counts.values()), timeout=20)
    assert await states(db) == {"submitted": sum(counts.values())}
    assert await db.fetchval("SELECT count(*) FROM gateway.events WHERE reason = 'lease_expired'") == 0
    sent_by_stopped = [e for e in sim.stats.accepted_log if e.system_id == "gw-2"]
    assert all(e.at <= stopped for e in sent_by_stopped)
    # It had claimed more than it sent: the rest went back to the queue (and, below, out through the others).
    assert running[2].engine.claimed_total > len(sent_by_stopped)
    for sender, n in counts.items():
        spec, times = LIMITS[sender], accepted(sim, sender)
        survivors = accepted(sim, sender, "gw-0") + accepted(sim, sender, "gw-1")
        seen = f"{sender}: {per_second(sim, sender)} per second, stopped {stopped - times[0]:.2f} s in"
        assert sorted(e.text for e in sim.stats.accepted_log if e.source_addr == sender) == sorted(
            f"{sender}-{k}" for k in range(n)
        )  # nothing lost, nothing twice
        assert accepted(sim, sender, "gw-2"), seen  # it did take part before it stopped
        assert worst_window(times, 2.0) <= bound(spec, 2.0, n=3), seen
        # A share fixed per instance (2/3 of the limit for two survivors) would stay below this.
        assert rate_between(survivors, stopped + 1.0, times[-1]) >= 0.7 * spec.rate, seen


LATE = (3.0, 5.0)  # seconds after the first answer: after AIMD has reacted, while messages still wait


async def test_a_throttling_smsc_loses_nothing_and_the_rate_converges_below_its_limit(
    db_url: str, db: asyncpg.Connection
) -> None:
    """Configured 300/s against an SMSC taking 150/s: nothing lost or failed, and the offered rate drops below 150/s."""
    sender, configured, smsc_limit = "15889999", 300.0, 150
    n = 900  # at least 6 s at the SMSC's limit: messages wait all through LATE
    limits = ConnectorLimitsConfig(senders={sender: RateSpec(rate=configured, burst=30)})
    # Throttled messages come back after 0.2 s instead of 1 s, to keep the run short.
    engine = ENGINE.model_copy(update={"retry": RetryConfig(throttled_seconds=0.2)})
    answers: list[tuple[float, Outcome]] = []
    await copy_messages(db, [{"sender": sender, "body": f"{sender}-{k}"} for k in range(n)])
    async with SmscSimulator(SimulatorConfig(max_rate=smsc_limit)) as sim:
        async with instances(
            db_url,
            sim.port,
            n=1,
            connector="smsc-throttling",
            limits=limits,
            engine=engine,
            on_result=lambda m, r: answers.append((anyio.current_time(), r.outcome)),
        ):
            with anyio.fail_after(5):
                while not answers:
                    await anyio.sleep(0.01)
            t0 = answers[0][0]
            await anyio.sleep(max(0.0, t0 + LATE[1] - anyio.current_time()))
            effective = REGISTRY.get_sample_value(
                "gateway_ratelimit_effective_rate", {"connector": "smsc-throttling", "limit": f"sender:{sender}"}
            )
            await wait_submitted(db, n, timeout=30)
    # Nothing lost, nothing failed: every throttled message was tried again until accepted, once.
    assert await states(db) == {"submitted": n}
    assert sorted(e.text for e in sim.stats.accepted_log) == sorted(f"{sender}-{k}" for k in range(n))
    assert sim.stats.throttled > 0

    def window(start: float, end: float) -> tuple[int, int]:
        """(answers, throttled answers) between ``start`` and ``end`` seconds after the first answer."""
        inside = [o for at, o in answers if t0 + start <= at < t0 + end]
        return len(inside), sum(o is Outcome.THROTTLED for o in inside)

    seen = f"accepted per second {per_second(sim, sender)}, (answers, throttled) per second " + str(
        [window(s, s + 1) for s in range(int(answers[-1][0] - t0) + 1)]
    )
    first, first_throttled = window(0.0, 1.0)
    late, late_throttled = window(*LATE)
    assert max(at for at, o in answers if o is Outcome.SUBMITTED) > t0 + LATE[1], seen  # still sending after LATE
    # At 300/s against 150/s the SMSC pushes back at first ...
    assert first_throttled >= 0.2 * first, seen
    # ... then the gateway offers less than the SMSC takes, so it hardly throttles any more
    # (without AIMD it would keep offering 300/s and half of it would come back throttled).
    assert late / (LATE[1] - LATE[0]) <= 1.1 * smsc_limit, seen
    assert late_throttled <= 0.1 * late, seen
    assert late / (LATE[1] - LATE[0]) >= smsc_limit / 3, seen  # lowered, not collapsed to the floor (15/s)
    assert effective is not None and effective <= 1.2 * smsc_limit, f"effective rate {effective}; {seen}"
