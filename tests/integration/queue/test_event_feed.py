"""The upstream event feed: commit-ordered, nothing lost, nothing repeated, always announced."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import anyio
import anyio.abc
import asyncpg
import pytest

from gateway.connectors.config import LoopbackConnectorConfig
from gateway.connectors.loopback import LoopbackConnector
from gateway.db.pool import create_pool
from gateway.queue.config import EngineConfig
from tests.support.queue import copy_messages, pg_engine

pytestmark = pytest.mark.anyio

FAST = EngineConfig(
    flush_interval_ms=3,
    idle_poll_ms=20,
    heartbeat_seconds=0.2,
    lease_seconds=2.0,
    drain_seconds=2,
    claim_batch=50,
    max_in_flight=200,
)


async def until(predicate: Callable[[], object], timeout: float = 60.0) -> None:
    with anyio.fail_after(timeout):
        while not await predicate():  # type: ignore[misc]
            await anyio.sleep(0.05)


class Follower:
    """Follows gateway.events_since every 20 ms, as docs/upstream.md tells upstream services to."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.cursor: str | None = None
        self.seen: list[int] = []

    async def run(self) -> None:
        conn = await asyncpg.connect(self.url)
        try:
            while True:
                rows = await conn.fetch("SELECT cursor, id FROM gateway.events_since($1, 500)", self.cursor)
                if rows:
                    self.seen.extend(r["id"] for r in rows)
                    self.cursor = rows[-1]["cursor"]
                else:
                    await anyio.sleep(0.02)
        finally:
            await conn.close()


async def test_three_instances_and_a_crash_lose_and_repeat_no_event(db_url: str, db: asyncpg.Connection) -> None:
    """Three engines (one killed mid-run) with receipts: the feed yields every committed event exactly once."""
    n = 3000
    await copy_messages(db, [{"body": f"m{i}"} for i in range(n)])
    loop_cfg = LoopbackConnectorConfig(name="lb", delay_ms=1, window=40, receipt_delay_ms=30)
    follower = Follower(db_url)
    pools = [await create_pool(db_url, min_size=1, max_size=4) for _ in range(3)]
    try:
        engines = [
            pg_engine(p, db_url, {"lb": LoopbackConnector(loop_cfg)}, config=FAST, instance_name=f"gw{i}")
            for i, p in enumerate(pools)
        ]
        async with anyio.create_task_group() as tg:
            tg.start_soon(follower.run)
            victim = anyio.CancelScope()  # killed without a drain: its leases must be recovered

            async def run_victim(*, task_status: anyio.abc.TaskStatus[None]) -> None:
                with victim:
                    await engines[0].run(task_status=task_status)

            await tg.start(run_victim)
            for engine in engines[1:]:
                await tg.start(engine.run)

            async def delivered_some() -> bool:  # ... and the victim holds leases, so that its crash leaves some
                return (
                    await db.fetchval("SELECT count(*) FROM gateway.messages WHERE state = 'delivered'") > n // 3
                    and await db.fetchval(
                        "SELECT count(*) FROM gateway.outbox WHERE lease_owner = $1", engines[0].owner
                    )
                    > 0
                )

            await until(delivered_some)
            pools[0].terminate()  # dies: no cleanup of its own reaches the database
            victim.cancel()

            async def all_sent() -> bool:  # the killed run's pending receipts died with its (loopback) carrier
                return await db.fetchval("SELECT count(*) FROM gateway.messages") == n

            await until(all_sent)
            await anyio.sleep(0.5)  # the survivors' last receipts
            for engine in engines[1:]:
                engine.stop()
            committed = {r["id"] for r in await db.fetch("SELECT id FROM gateway.events WHERE txid IS NOT NULL")}
            await until(lambda: asyncio.sleep(0, len(follower.seen) >= len(committed)), timeout=10)
            tg.cancel_scope.cancel()
    finally:
        for p in pools:
            await p.close()
    assert len(follower.seen) == len(set(follower.seen)), "an event was delivered twice"
    assert set(follower.seen) == committed, f"{len(committed - set(follower.seen))} committed events never followed"
    # The crash really left leases behind for the others: requeued (lease_expired), or settled from
    # the dead run's send journal (accepted submits: detail.recovered_from).
    recovered = await db.fetchval(
        "SELECT count(*) FROM gateway.events WHERE reason = 'lease_expired' OR detail ? 'recovered_from'"
    )
    assert recovered > 0


async def test_the_feed_never_passes_a_transaction_still_in_flight(db: asyncpg.Connection, db_url: str) -> None:
    """An event written by an older transaction that commits late still comes before the cursor moves past it."""
    late = await asyncpg.connect(db_url)
    try:
        tx = late.transaction()
        await tx.start()
        await late.execute("INSERT INTO gateway.events (message_id, state) VALUES (1, 'queued')")  # older txid
        await db.execute("INSERT INTO gateway.events (message_id, state) VALUES (2, 'queued')")  # newer, committed
        assert await db.fetch("SELECT * FROM gateway.events_since(NULL)") == []  # held back by the open one
        await tx.commit()
        rows = await db.fetch("SELECT message_id FROM gateway.events_since(NULL)")
        assert [r["message_id"] for r in rows] == [1, 2]
    finally:
        await late.close()


async def test_cursors_resume_exactly_after_the_last_row(db: asyncpg.Connection) -> None:
    """Paging with each row's cursor returns every event once, in feed order; a bad cursor is a clear error."""
    await db.execute("INSERT INTO gateway.events (message_id, state) SELECT i, 'queued' FROM generate_series(1, 25) i")
    got, cursor = [], None
    while rows := await db.fetch("SELECT cursor, message_id FROM gateway.events_since($1, 10)", cursor):
        got += [r["message_id"] for r in rows]
        cursor = rows[-1]["cursor"]
    assert got == list(range(1, 26))
    with pytest.raises(asyncpg.InvalidParameterValueError, match="not a cursor"):
        await db.fetch("SELECT * FROM gateway.events_since('yesterday')")
    now = await db.fetchval("SELECT gateway.events_cursor_now()")
    assert await db.fetch("SELECT * FROM gateway.events_since($1)", now) == []


async def test_the_last_write_of_a_burst_is_always_announced(
    db_url: str, db: asyncpg.Connection, pool: asyncpg.Pool
) -> None:
    """LISTEN gateway_events: the notification after the final write carries a txid at or past every event."""
    payloads: list[int] = []
    listener = await asyncpg.connect(db_url)
    await listener.add_listener("gateway_events", lambda *args: payloads.append(int(args[3])))
    try:
        await copy_messages(db, [{"body": f"m{i}"} for i in range(500)])
        engine = pg_engine(pool, db_url, {"lb": LoopbackConnector(LoopbackConnectorConfig(name="lb"))}, config=FAST)
        async with anyio.create_task_group() as tg:
            await tg.start(engine.run)

            async def done() -> bool:
                return await db.fetchval("SELECT count(*) FROM gateway.messages WHERE state = 'delivered'") == 500

            await until(done)
            engine.stop()
        await anyio.sleep(0.3)
        newest = await db.fetchval("SELECT max(txid) FROM gateway.events")
        assert payloads and max(payloads) >= newest
    finally:
        await listener.close()


async def test_housekeeping_events_notify_too(db_url: str, db: asyncpg.Connection) -> None:
    """A deferred message made due again (a housekeeping write) is announced like any other event."""
    payloads: list[str] = []
    listener = await asyncpg.connect(db_url)
    await listener.add_listener("gateway_events", lambda *args: payloads.append(args[3]))
    try:
        await db.execute(
            "INSERT INTO gateway.outbox (channel, sender, recipient, body, state, due_at) "
            "VALUES ('sms', '1', '+821012345678', 'x', 'deferred', now() - interval '1 second')"
        )
        await db.fetchval("SELECT count(*) FROM gateway.outbox")  # nothing announced for the insert itself
        assert payloads == []
        from gateway.queue.store import Q

        await db.fetchval(Q["promote_due"], 10, "test")
        await anyio.sleep(0.2)
        assert len(payloads) == 1
    finally:
        await listener.close()


async def test_a_long_transaction_in_another_database_does_not_hold_the_feed(
    db: asyncpg.Connection, empty_db_url: str
) -> None:
    """Another application's open transaction on the same server does not stop the feed (superuser owner here)."""
    other = await asyncpg.connect(empty_db_url)
    try:
        tx = other.transaction()
        await tx.start()
        await other.execute("CREATE TABLE hold (x int); INSERT INTO hold VALUES (1)")  # it has an xid now
        await db.execute("INSERT INTO gateway.events (message_id, state) VALUES (7, 'queued')")
        rows = await db.fetch("SELECT message_id FROM gateway.events_since(NULL)")
        assert [r["message_id"] for r in rows] == [7]
        await tx.rollback()
    finally:
        await other.close()
