"""Exactly what the carrier saw (issue 12, points 2, 5 and 7): the engine on PostgreSQL, the real SMPP
connector and the SMSC simulator over loopback.

* a multipart message requeued after some segments were accepted sends only the missing
  ones again, with the same concatenation reference, and ends delivered from the receipts
  of all its segments;
* an SMSC that never answers gets each message at most 1 + max_unknown_resends times;
* a throttling SMSC is backed off with no [ratelimit] configured.
"""

from __future__ import annotations

from collections.abc import Callable

import anyio
import asyncpg
import pytest

from gateway.queue.config import EngineConfig, RetryConfig
from gateway.simulators.smsc import SimulatorConfig, SmscSimulator
from gateway.smpp.connector import SmppConnector
from gateway.smpp.protocol.concat import parse_udh
from tests.support.queue import copy_messages, pg_engine, states
from tests.support.smpp_connector import config

pytestmark = pytest.mark.anyio

FAST = EngineConfig(
    flush_interval_ms=5,
    idle_poll_ms=50,
    heartbeat_seconds=0.2,
    lease_seconds=2.0,
    drain_seconds=3,
    retry=RetryConfig(base_seconds=0.1, max_seconds=0.3, throttled_seconds=0.2),
)
LONG_TEXT = "".join(f"Part of a long message, sentence {i}. " for i in range(12))  # 3 GSM parts


async def _until(predicate: Callable[[], object], timeout: float = 20.0) -> None:
    with anyio.fail_after(timeout):
        while not await predicate():  # type: ignore[misc]
            await anyio.sleep(0.05)


async def test_a_requeued_multipart_message_resends_only_its_missing_segment_with_the_same_reference(
    pool: asyncpg.Pool, db_url: str, db: asyncpg.Connection
) -> None:
    """Segment 1 of a 3-part message is throttled past partial_retry_attempts, so the message is requeued
    with segments 2 and 3 accepted: the next attempt sends segment 1 alone, with the same UDH reference.
    The carrier accepted each segment exactly once, nothing is flagged, and the message ends delivered
    from the receipts of all three (those of 2 and 3 arrived while it waited in the outbox)."""
    sim_cfg = SimulatorConfig(seed=4, receipt_delay=0.05, throttle_segment=1, throttle_segment_times=2)
    async with SmscSimulator(sim_cfg) as sim:
        connector = SmppConnector(config(sim.port, name="smsc", partial_retry_attempts=1))
        await copy_messages(db, [{"body": LONG_TEXT}])
        engine = pg_engine(pool, db_url, {"smsc": connector}, config=FAST)
        async with anyio.create_task_group() as tg:
            await tg.start(engine.run)
            await _until(lambda: _states_are(db, {"delivered": 1}))
            engine.stop()
        accepted = [parse_udh(e.pdu.short_message)[0].concat for e in sim.stats.accepted_log]
    assert sorted(c.seq for c in accepted) == [1, 2, 3]  # each segment accepted once: no duplicate
    assert len({c.reference for c in accepted}) == 1  # the handset joins them: one reference
    assert sim.stats.throttled == 2
    assert await db.fetchval("SELECT segments FROM gateway.messages") == 3
    assert await db.fetchval("SELECT count(*) FROM gateway.events WHERE state = 'deferred'") == 1  # requeued once
    flagged = await db.fetchval("SELECT count(*) FROM gateway.events WHERE (detail->>'may_be_duplicate')::bool")
    assert flagged == 0
    ids = await db.fetch("SELECT carrier_id, segment, state FROM gateway.carrier_ids ORDER BY segment")
    assert [(r["segment"], r["state"]) for r in ids] == [(1, "delivered"), (2, "delivered"), (3, "delivered")]
    assert {r["carrier_id"] for r in ids} == {e.message_id for e in sim.stats.accepted_log}
    assert await db.fetchval("SELECT count(*) FROM gateway.receipts_pending") == 0


async def test_a_silent_smsc_gets_each_message_at_most_twice(
    pool: asyncpg.Pool, db_url: str, db: asyncpg.Connection
) -> None:
    """An SMSC that never answers a submit: with the default max_unknown_resends (1), each of 6 messages is
    sent twice at most (not max_attempts = 5 times) and ends unknown, reason max_unknown_resends."""
    async with SmscSimulator(SimulatorConfig(silent_every=1, seed=5)) as sim:
        connector = SmppConnector(
            config(sim.port, name="smsc", response_timeout_seconds=0.3, breaker_pause_seconds=0.2)
        )
        await copy_messages(db, [{"body": f"silent {i}"} for i in range(6)])
        engine = pg_engine(pool, db_url, {"smsc": connector}, config=FAST)
        async with anyio.create_task_group() as tg:
            await tg.start(engine.run)
            await _until(lambda: _states_are(db, {"unknown": 6}), timeout=30)
            engine.stop()
        received = sim.stats.submits_received
    assert sim.stats.submits_accepted == 0
    assert received <= 12, f"{received} submits for 6 messages"
    reasons = {r["reason"] for r in await db.fetch("SELECT reason FROM gateway.messages")}
    assert reasons == {"max_unknown_resends"}
    resends = await db.fetch(
        "SELECT message_id, count(*) AS n FROM gateway.events WHERE state = 'deferred' GROUP BY message_id"
    )
    assert all(r["n"] <= 1 for r in resends)


async def test_a_throttling_smsc_is_backed_off_with_no_ratelimit_configured(
    pool: asyncpg.Pool, db_url: str, db: asyncpg.Connection
) -> None:
    """An SMSC that accepts 30 submits/s and throttles the rest: with no [ratelimit] at all, the adaptive
    rate engages at the first throttle, so 150 messages draw few throttles (not one per extra submit)."""
    async with SmscSimulator(SimulatorConfig(max_rate=30.0, seed=6)) as sim:
        connector = SmppConnector(config(sim.port, name="smsc"))
        await copy_messages(db, [{"body": f"burst {i}", "sender": "1588"} for i in range(150)])
        engine = pg_engine(pool, db_url, {"smsc": connector}, config=FAST)
        async with anyio.create_task_group() as tg:
            await tg.start(engine.run)
            await _until(lambda: _states_are(db, {"delivered": 150}), timeout=40)
            engine.stop()
        throttled = sim.stats.throttled
    assert throttled <= 75, f"{throttled} throttles for 150 messages"  # 698 without it


async def _states_are(db: asyncpg.Connection, expected: dict[str, int]) -> bool:
    return await states(db) == expected
