"""The queue engine against a real PostgreSQL with the loopback connector."""

from __future__ import annotations

from collections.abc import Callable

import anyio
import asyncpg
import pytest

from gateway.connectors.config import LoopbackConnectorConfig
from gateway.connectors.loopback import LoopbackConnector
from gateway.port import Connector, OutboundMessage, Outcome, SendResult
from gateway.queue.config import EngineConfig, RetryConfig
from gateway.queue.engine import Engine
from tests.support.queue import copy_messages, pg_engine, states

pytestmark = pytest.mark.anyio

FAST = EngineConfig(flush_interval_ms=5, idle_poll_ms=50, heartbeat_seconds=0.2, lease_seconds=2.0, drain_seconds=3)


async def wait_until(predicate: Callable[[], object], timeout: float = 15.0) -> None:
    with anyio.fail_after(timeout):
        while not await predicate():
            await anyio.sleep(0.05)


def make_engine(pool: asyncpg.Pool, db_url: str, connector: Connector, config: EngineConfig = FAST, **kw) -> Engine:
    return pg_engine(pool, db_url, {connector.name: connector}, config=config, **kw)


async def test_messages_flow_to_delivered(pool: asyncpg.Pool, db_url: str, db: asyncpg.Connection) -> None:
    """Queued messages are claimed, submitted, and end delivered through the receipt path."""
    await copy_messages(db, [{"body": f"m{i}"} for i in range(300)])
    engine = make_engine(pool, db_url, LoopbackConnector(LoopbackConnectorConfig(name="lb")))
    async with anyio.create_task_group() as tg:
        await tg.start(engine.run)
        await wait_until(lambda: _count(db, "delivered", 300))
        engine.stop()
    assert await states(db) == {"delivered": 300}
    assert await db.fetchval("SELECT count(*) FROM gateway.outbox") == 0
    events = await db.fetch("SELECT state, count(*) AS n FROM gateway.events GROUP BY state")
    assert {r["state"]: r["n"] for r in events} == {"submitted": 300, "delivered": 300}  # a claim writes no event


async def _count(db: asyncpg.Connection, state: str, n: int) -> bool:
    return await db.fetchval("SELECT count(*) FROM gateway.message_status WHERE state = $1", state) >= n


async def test_two_engines_never_double_claim(pool: asyncpg.Pool, db_url: str, db: asyncpg.Connection) -> None:
    """Two engines sharing one queue each message exactly once."""
    await copy_messages(db, [{"body": f"m{i}"} for i in range(2000)])
    seen: list[int] = []
    # Each engine holds at most 200 in flight and answers slowly, so both must take part.
    cfg = FAST.model_copy(update={"claim_batch": 100, "max_in_flight": 200})
    slow = LoopbackConnectorConfig(name="lb", receipts=False, delay_ms=5, window=200)
    a = make_engine(
        pool, db_url, LoopbackConnector(slow), config=cfg, instance_name="a", on_result=lambda m, r: seen.append(m.id)
    )
    b = make_engine(
        pool, db_url, LoopbackConnector(slow), config=cfg, instance_name="b", on_result=lambda m, r: seen.append(m.id)
    )
    async with anyio.create_task_group() as tg:
        await tg.start(a.run)
        await tg.start(b.run)
        await wait_until(lambda: _count(db, "submitted", 2000))
        a.stop()
        b.stop()
    assert len(seen) == 2000 and len(set(seen)) == 2000
    assert a.claimed_total > 0 and b.claimed_total > 0
    assert await db.fetchval("SELECT count(*) FROM gateway.messages WHERE attempts = 1") == 2000


class BlackHole(Connector):
    """Takes messages and never answers (a crashed or hung process)."""

    def __init__(self, name: str = "lb") -> None:
        self.name = name
        self.channel = "sms"
        self.taken: list[int] = []

    async def run(self, sink, *, task_status=anyio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        await anyio.sleep_forever()

    async def send(self, message: OutboundMessage) -> None:
        self.taken.append(message.id)


async def test_killed_engine_leases_are_recovered(pool: asyncpg.Pool, db_url: str, db: asyncpg.Connection) -> None:
    """Messages leased by an instance that died are recovered by another and flagged as possible duplicates."""
    await copy_messages(db, [{"body": f"m{i}"} for i in range(50)])
    hole = BlackHole()
    dead = make_engine(
        pool,
        db_url,
        hole,
        instance_name="dead",
        config=FAST.model_copy(update={"lease_seconds": 2.0, "heartbeat_seconds": 100}),
    )
    with anyio.CancelScope() as scope:  # a hard kill: no drain, no release
        async with anyio.create_task_group() as tg:
            await tg.start(dead.run)
            await wait_until(lambda: _taken(hole, 50))
            scope.cancel()
    assert await db.fetchval("SELECT count(*) FROM gateway.outbox WHERE state = 'sending'") == 50
    survivor = make_engine(
        pool, db_url, LoopbackConnector(LoopbackConnectorConfig(name="lb", receipts=False)), instance_name="survivor"
    )
    async with anyio.create_task_group() as tg:
        await tg.start(survivor.run)
        await wait_until(lambda: _count(db, "submitted", 50))
        survivor.stop()
    recovered = await db.fetchval(
        "SELECT count(*) FROM gateway.events WHERE reason = 'lease_expired' AND (detail->>'previous_owner') LIKE 'dead#%'"
    )
    flagged = await db.fetchval(
        "SELECT count(*) FROM gateway.events WHERE state = 'submitted' AND (detail->>'may_be_duplicate')::bool"
    )
    assert recovered == 50
    assert flagged == 50


async def _taken(hole: BlackHole, n: int) -> bool:
    return len(hole.taken) >= n


class StuckWindow(BlackHole):
    """Takes ``window`` messages, never answers, then blocks: an SMSC that stopped answering."""

    def __init__(self, window: int) -> None:
        super().__init__()
        self.window = window

    def max_unrecorded(self) -> int:
        return self.window

    async def send(self, message: OutboundMessage) -> None:
        if len(self.taken) >= self.window:
            await anyio.sleep_forever()
        self.taken.append(message.id)


async def test_after_a_crash_only_what_may_have_gone_out_is_flagged(
    pool: asyncpg.Pool, db_url: str, db: asyncpg.Connection
) -> None:
    """Of 300 claimed rows, only the journaled ones (handed over, or about to be) come back flagged; the rest unflagged."""
    await copy_messages(db, [{"body": f"m{i}"} for i in range(300)])
    stuck = StuckWindow(10)
    dead = make_engine(
        pool,
        db_url,
        stuck,
        instance_name="dead",
        config=FAST.model_copy(update={"claim_batch": 300, "heartbeat_seconds": 100}),
    )
    with anyio.CancelScope() as scope:
        async with anyio.create_task_group() as tg:
            await tg.start(dead.run)
            await wait_until(lambda: _taken(stuck, 10))
            await anyio.sleep(0.3)  # the journal runs as far ahead as it may
            scope.cancel()
    survivor = make_engine(
        pool, db_url, LoopbackConnector(LoopbackConnectorConfig(name="lb", receipts=False)), instance_name="survivor"
    )
    async with anyio.create_task_group() as tg:
        await tg.start(survivor.run)
        await wait_until(lambda: _count(db, "submitted", 300))
        survivor.stop()
    flagged = {
        r["message_id"]
        for r in await db.fetch(
            "SELECT message_id FROM gateway.events WHERE reason = 'lease_expired' AND (detail->>'may_be_duplicate')::bool"
        )
    }
    assert set(stuck.taken) <= flagged  # everything that reached the "carrier" is flagged
    # handed over (10), the one waiting inside send() for window room, and the journal's lead (max(32, bound // 2))
    assert len(flagged) <= 10 + 1 + 32
    unflagged_attempts = await db.fetch(
        "SELECT attempts FROM gateway.messages WHERE NOT (id = ANY($1::bigint[]))", list(flagged)
    )
    assert len(unflagged_attempts) == 300 - len(flagged)
    assert {r["attempts"] for r in unflagged_attempts} == {1}  # the crashed claim did not count
    assert await db.fetchval("SELECT count(*) FROM gateway.send_journal") == 0  # forgotten once recovered


class ScriptedConnector(Connector):
    """Answers each send with a fixed outcome."""

    def __init__(self, outcome: Outcome, name: str = "lb", retry_after: float | None = None) -> None:
        self.name = name
        self.channel = "sms"
        self.outcome = outcome
        self.retry_after = retry_after
        self.sent = 0

    async def run(self, sink, *, task_status=anyio.TASK_STATUS_IGNORED) -> None:
        self.sink = sink
        task_status.started()
        await anyio.sleep_forever()

    async def send(self, message: OutboundMessage) -> None:
        self.sent += 1
        self.sink.submit_result(
            SendResult(message.id, self.outcome, reason="ESME_RSYSERR", code="X", retry_after=self.retry_after)
        )


async def test_expiry_wins_over_retry(pool: asyncpg.Pool, db_url: str, db: asyncpg.Connection) -> None:
    """A transient failure whose back-off would pass expires_at ends expired, not deferred."""
    await db.execute(
        "INSERT INTO gateway.outbox (channel, sender, recipient, body, expires_at) "
        "VALUES ('sms', '1234', '+821012345678', 'soon', now() + interval '3 seconds')"
    )
    conn = ScriptedConnector(Outcome.RETRY, retry_after=10)
    engine = make_engine(pool, db_url, conn)
    async with anyio.create_task_group() as tg:
        await tg.start(engine.run)
        await wait_until(lambda: _count(db, "expired", 1))
        engine.stop()
    row = await db.fetchrow("SELECT state, reason FROM gateway.message_status")
    assert (row["state"], row["reason"]) == ("expired", "expired_before_retry")


async def test_retries_until_max_attempts_then_fails(pool: asyncpg.Pool, db_url: str, db: asyncpg.Connection) -> None:
    """Transient failures are retried with back-off up to max_attempts, then the message fails."""
    await db.execute(
        "INSERT INTO gateway.outbox (channel, sender, recipient, body) VALUES ('sms', '1', '+821012345678', 'x')"
    )
    conn = ScriptedConnector(Outcome.RETRY)
    cfg = FAST.model_copy(update={"retry": RetryConfig(max_attempts=3, base_seconds=0.05, max_seconds=0.1)})
    engine = make_engine(pool, db_url, conn, config=cfg)
    async with anyio.create_task_group() as tg:
        await tg.start(engine.run)
        await wait_until(lambda: _count(db, "failed", 1))
        engine.stop()
    assert conn.sent == 3
    row = await db.fetchrow("SELECT state, reason, attempts FROM gateway.message_status")
    assert (row["state"], row["reason"], row["attempts"]) == ("failed", "max_attempts", 3)
    deferred = await db.fetchval("SELECT count(*) FROM gateway.events WHERE state = 'deferred'")
    assert deferred == 2


async def test_throttling_does_not_count_as_an_attempt(pool: asyncpg.Pool, db_url: str, db: asyncpg.Connection) -> None:
    """A throttled message goes back to the queue without using up its attempts."""
    await db.execute(
        "INSERT INTO gateway.outbox (channel, sender, recipient, body) VALUES ('sms', '1', '+821012345678', 'x')"
    )
    conn = ScriptedConnector(Outcome.THROTTLED, retry_after=0.05)
    engine = make_engine(pool, db_url, conn)
    async with anyio.create_task_group() as tg:
        await tg.start(engine.run)
        await wait_until(lambda: _sent(conn, 8))
        engine.stop()
    row = await db.fetchrow("SELECT state, attempts FROM gateway.outbox")
    assert row["state"] in ("deferred", "queued")
    assert row["attempts"] == 0


async def _sent(conn: ScriptedConnector, n: int) -> bool:
    return conn.sent >= n


async def test_bad_rows_fail_alone(pool: asyncpg.Pool, db_url: str, db: asyncpg.Connection) -> None:
    """A row the engine cannot route fails with a reason while the others are sent."""
    await copy_messages(db, [{"body": "ok"}] * 20 + [{"channel": "alimtalk", "body": "no route"}])
    engine = make_engine(pool, db_url, LoopbackConnector(LoopbackConnectorConfig(name="lb", receipts=False)))
    # The claimer only claims channels with a connector; force the alimtalk row through by a rule-less route.
    engine._claimable_channels = lambda: ["sms", "alimtalk"]  # type: ignore[method-assign]
    async with anyio.create_task_group() as tg:
        await tg.start(engine.run)
        await wait_until(lambda: _count(db, "submitted", 20))
        await wait_until(lambda: _count(db, "failed", 1))
        engine.stop()
    row = await db.fetchrow("SELECT state, reason FROM gateway.message_status WHERE channel = 'alimtalk'")
    assert (row["state"], row["reason"]) == ("failed", "no_route")


async def test_graceful_stop_releases_untaken_messages(pool: asyncpg.Pool, db_url: str, db: asyncpg.Connection) -> None:
    """On stop, messages no connector took go back to queued with their attempt uncounted."""
    await copy_messages(db, [{"body": f"m{i}"} for i in range(200)])
    slow = LoopbackConnector(LoopbackConnectorConfig(name="lb", delay_ms=200, window=5, receipts=False))
    engine = make_engine(pool, db_url, slow, config=FAST.model_copy(update={"claim_batch": 200}))
    async with anyio.create_task_group() as tg:
        await tg.start(engine.run)
        await wait_until(lambda: _count(db, "submitted", 5))
        engine.stop()
    left = await db.fetch("SELECT state, attempts, lease_owner FROM gateway.outbox")
    submitted = await db.fetchval("SELECT count(*) FROM gateway.messages WHERE state = 'submitted'")
    assert submitted + len(left) == 200
    assert all(r["state"] == "queued" and r["attempts"] == 0 and r["lease_owner"] is None for r in left), [
        dict(r) for r in left if r["state"] != "queued" or r["attempts"]
    ]


async def test_submitted_without_receipt_becomes_unknown_after_the_connectors_timeout(
    pool: asyncpg.Pool, db_url: str, db: asyncpg.Connection
) -> None:
    """A connector's own receipt timeout turns 'submitted' into 'unknown' (reason no_receipt); others keep theirs."""
    await copy_messages(db, [{"body": "a"}, {"body": "b"}])
    lb = LoopbackConnector(LoopbackConnectorConfig(name="lb", receipts=False))
    engine = make_engine(pool, db_url, lb)
    async with anyio.create_task_group() as tg:
        await tg.start(engine.run)
        await wait_until(lambda: _count(db, "submitted", 2))
        engine.stop()
    await db.execute("UPDATE gateway.messages SET submitted_at = now() - interval '2 hours'")
    assert engine.receipt_timeout("lb") == FAST.receipt_timeout_seconds  # 72 h: nothing times out yet
    await engine._receipt_timeouts()
    assert await _count(db, "submitted", 2)
    lb.config = lb.config.model_copy(update={"receipt_timeout_seconds": 3600.0})  # the connector's own setting wins
    await engine._receipt_timeouts()
    rows = await db.fetch("SELECT state, reason FROM gateway.messages")
    assert {(r["state"], r["reason"]) for r in rows} == {("unknown", "no_receipt")}
