"""The last check before the connector takes a message: engine, PostgreSQL, the policy gate, a rate limit."""

from __future__ import annotations

from datetime import datetime, timedelta

import anyio
import asyncpg
import pytest

from gateway.connectors.config import LoopbackConnectorConfig
from gateway.connectors.loopback import LoopbackConnector
from gateway.policy import FixedClock, PolicyConfig
from gateway.policy.gate import PolicyDbGate
from gateway.queue.config import EngineConfig
from gateway.queue.listener import Listener
from gateway.ratelimit import RateLimitConfig
from tests.support.policy import SEOUL, at, enqueue
from tests.support.queue import pg_engine

pytestmark = pytest.mark.anyio

FAST = EngineConfig(flush_interval_ms=5, idle_poll_ms=20, heartbeat_seconds=0.2, drain_seconds=1)
ONE_PER_SECOND = RateLimitConfig.model_validate({"connectors": {"lb": {"rate": 1, "burst": 1}}})
NUMBERS = ["+821011110001", "+821011110002", "+821011110003"]


async def outcome(db: asyncpg.Connection) -> dict[str, list[str]]:
    rows = await db.fetch("SELECT recipient, state, reason FROM gateway.message_status ORDER BY recipient")
    return {r["recipient"]: [r["state"], r["reason"]] for r in rows}


async def run(pool, db_url, db, clock: FixedClock, *, when_first_sent, until, gate_listens: bool = False) -> None:
    """Run an engine on a rate-limited loopback connector; call ``when_first_sent`` at the first result."""
    listen = Listener(db_url, "gateway_policy").run if gate_listens else None
    gate = PolicyDbGate(PolicyConfig.model_validate({"quiet_hours": {"ramp_seconds": 0}}), pool, listen=listen)
    first: list[int] = []

    def on_result(message, result) -> None:
        if not first:
            first.append(message.id)
            when_first_sent()

    lb = LoopbackConnector(LoopbackConnectorConfig(name="lb", receipts=False))
    engine = pg_engine(pool, db_url, {"lb": lb}, config=FAST, gate=gate, ratelimit=ONE_PER_SECOND, wall_clock=clock,
                       on_result=on_result)  # fmt: skip
    async with anyio.create_task_group() as tg:
        await tg.start(engine.run)
        with anyio.fail_after(15):
            while not await until():
                await anyio.sleep(0.05)
        engine.stop()


async def test_ads_waiting_behind_the_rate_limit_do_not_go_out_after_21_00(pool, db_url, db) -> None:
    """Claimed at 20:59:59 in Seoul, one ad a second: the one sent before 21:00 goes, the others wait for 08:00."""
    await enqueue(db, *({"recipient": n} for n in NUMBERS))
    clock = FixedClock(at(SEOUL, 2026, 7, 14, 20, 59, 59))

    async def done() -> bool:
        return sorted(s for s, _ in (await outcome(db)).values()) == ["deferred", "deferred", "submitted"]

    await run(pool, db_url, db, clock, when_first_sent=lambda: clock.set(at(SEOUL, 2026, 7, 14, 21, 0, 1)), until=done)
    deferred = await db.fetch("SELECT due_at, last_reason FROM gateway.outbox")
    assert {r["last_reason"] for r in deferred} == {"quiet_hours"}
    events = await db.fetch("SELECT detail->>'until' AS until FROM gateway.events WHERE reason = 'quiet_hours'")
    assert {datetime.fromisoformat(e["until"]) for e in events} == {at(SEOUL, 2026, 7, 15, 8, 0)}


async def test_messages_that_waited_past_their_deadline_expire_instead_of_going_out(pool, db_url, db) -> None:
    """Informational messages with ten seconds to live: after a 20-second jump the waiting ones expire."""
    clock = FixedClock(at(SEOUL, 2026, 7, 14, 12, 0))
    await enqueue(db, *({"recipient": n, "kind": "informational", "body": "code 1234",
                         "expires_at": clock() + timedelta(seconds=10)} for n in NUMBERS))  # fmt: skip

    async def done() -> bool:
        return sorted(s for s, _ in (await outcome(db)).values()) == ["expired", "expired", "submitted"]

    await run(pool, db_url, db, clock, when_first_sent=lambda: clock.advance(20), until=done)
    assert {tuple(v) for v in (await outcome(db)).values()} == {("submitted", None), ("expired", "expired")}


async def test_a_hold_stops_messages_already_claimed(pool, db_url, db) -> None:
    """A campaign held while its claimed messages wait for the rate limit: they are held, not sent."""
    await enqueue(db, *({"recipient": n, "campaign_id": "spring"} for n in NUMBERS))
    clock = FixedClock(at(SEOUL, 2026, 7, 14, 12, 0))
    held = anyio.Event()

    async def hold() -> None:
        conn = await asyncpg.connect(db_url)
        try:
            await conn.execute("SELECT gateway.campaign_hold('spring', 'ops')")
        finally:
            await conn.close()
        held.set()

    async with anyio.create_task_group() as tg:

        def first_sent() -> None:
            tg.start_soon(hold)

        async def done() -> bool:
            return sorted(s for s, _ in (await outcome(db)).values()) == ["deferred", "deferred", "submitted"]

        await run(pool, db_url, db, clock, when_first_sent=first_sent, until=done, gate_listens=True)
    assert held.is_set()
    assert {r["last_reason"] for r in await db.fetch("SELECT last_reason FROM gateway.outbox")} == {"held_campaign"}
