"""docs/upstream.md: every example runs as written, the SQL as gateway_upstream, the Python loop against an engine."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import anyio
import asyncpg
import pytest

from gateway.connectors.config import LoopbackConnectorConfig
from gateway.connectors.loopback import LoopbackConnector
from gateway.policy import Allow, Defer, Expire, PolicyConfig, evaluate
from gateway.policy.rules import OptOutSet
from gateway.port import OutboundMessage
from gateway.queue.config import EngineConfig
from tests.support.docs import SqlRun, blocks, examples, load_python, run_sql
from tests.support.policy import login_role
from tests.support.queue import pg_engine

pytestmark = pytest.mark.anyio

PAGE = "upstream.md"
SEOUL = ZoneInfo("Asia/Seoul")
FAST = EngineConfig(flush_interval_ms=3, idle_poll_ms=20, heartbeat_seconds=0.2, drain_seconds=2)


def test_every_block_of_the_page_is_one_these_tests_run() -> None:
    """The page holds SQL blocks (all run below) and the named Python examples run below, nothing else."""
    page = blocks(PAGE)
    assert {b.lang for b in page} == {"sql", "python"}
    assert [b.name for b in page if b.lang == "python"] == ["follow"]
    assert all(b.name for b in page), [b.where() for b in page if not b.name]


async def test_every_sql_example_runs_as_written_with_the_documented_roles(db: asyncpg.Connection) -> None:
    """Each SQL block runs in page order as its role (gateway_upstream members unless marked), with the effects
    the page describes; what the page says fails, fails."""

    async def check(conn: asyncpg.Connection, run: SqlRun) -> None:
        rows = {
            r["idempotency_key"]: r
            for r in await conn.fetch("SELECT idempotency_key, state, recipient, priority FROM gateway.outbox")
        }
        assert rows["otp:user-42:2026-11-21T10:00"]["state"] == "queued"
        ad = rows["winter-sale:contact-981"]
        assert (ad["priority"], ad["recipient"]) == (5, "010-9876-5432")  # plain integer; recipient kept as written
        reused = run.errors["key-reused"]
        assert "'otp:user-42:2026-11-21T10:00'" in str(reused) and "different payload" in str(reused)
        # gateway_upstream may do what the page shows and nothing else
        for forbidden in (
            "SELECT * FROM gateway.outbox",
            "UPDATE gateway.outbox SET state = 'deferred'",
            "SELECT * FROM gateway.idempotency",
            "SELECT * FROM gateway.opt_outs",
            "SELECT * FROM gateway.inbound",
            "SELECT gateway.drop_partitions(0)",
            "INSERT INTO gateway.outbox (channel, sender, recipient, body, attempts) VALUES ('sms', '1', '+821012345678', 'x', 9)",
        ):
            await conn.execute('SET ROLE "shop_app"')
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                async with conn.transaction():
                    await conn.execute(forbidden)
            await conn.execute("RESET ROLE")

    run = await run_sql(db, blocks(PAGE, "sql"), default_role="shop_app", check=check)
    assert [b.name for b in run.ran] == [b.name for b in blocks(PAGE, "sql")]
    assert not await db.fetchval("SELECT count(*) FROM gateway.outbox")  # all rolled back


async def test_the_advertising_example_expires_at_night_in_korea_as_the_page_says(
    db: asyncpg.Connection, db_url: str
) -> None:
    """The page's advertising message, enqueued at 22:00 or 01:00 in Seoul, expires at once (expires_in_quiet_hours);
    at 03:00 it waits for 08:00; at 14:00 it goes out."""
    async with login_role(db, db_url, "gw_up") as (role, url):
        await db.execute(f"GRANT gateway_upstream TO {role}")
        upstream = await asyncpg.connect(url)
        try:
            message_id = await upstream.fetchval(examples(PAGE)["enqueue-advertising"].text)
        finally:
            await upstream.close()
    row = await db.fetchrow("SELECT * FROM gateway.outbox WHERE id = $1", message_id)
    lifetime = row["expires_at"] - row["created_at"]
    assert lifetime == timedelta(hours=6)

    def decide(local: str) -> Any:
        created = datetime.fromisoformat(f"2026-11-20T{local}").replace(tzinfo=SEOUL).astimezone(UTC)
        message = OutboundMessage(
            message_id, row["channel"], row["sender"], row["recipient"], row["body"], kind=row["kind"],
            campaign_id=row["campaign_id"], extras=row["extras"], created_at=created, expires_at=created + lifetime,
        )  # fmt: skip
        return evaluate(message, consent=row["consent"], now=created, config=PolicyConfig(), opt_outs=OptOutSet())

    for night in ("22:00", "01:00"):
        assert decide(night) == Expire("expires_in_quiet_hours"), night
    morning = decide("03:00")
    assert isinstance(morning, Defer) and morning.until.astimezone(SEOUL).strftime("%H") == "08"
    assert isinstance(decide("14:00"), Allow)


async def test_the_feed_loop_follows_a_running_engine_as_gateway_upstream(
    db: asyncpg.Connection, db_url: str, pool: asyncpg.Pool
) -> None:
    """The page's Python follow() loop, logged in as a gateway_upstream member, sees every event of a running
    engine exactly once: each message's submit and its delivery receipt."""
    follow = load_python(examples(PAGE)["follow"])["follow"]
    n = 200
    seen: list[asyncpg.Record] = []

    async def handle(row: asyncpg.Record) -> None:
        seen.append(row)

    connector = LoopbackConnector(LoopbackConnectorConfig(name="lb", receipt_delay_ms=20))
    engine = pg_engine(pool, db_url, {"lb": connector}, config=FAST)
    async with login_role(db, db_url, "gw_up") as (role, url):
        await db.execute(f"GRANT gateway_upstream TO {role}")
        async with anyio.create_task_group() as tg:
            tg.start_soon(follow, url, None, handle)
            await tg.start(engine.run)
            upstream = await asyncpg.connect(url)
            try:
                for i in range(n):  # enqueued as the page shows, by the upstream role
                    await upstream.fetchval(
                        "SELECT gateway.enqueue(p_channel => 'sms', p_sender => '15880000', "
                        "p_recipient => $1, p_body => 'hi')",
                        f"010-2345-{i:04d}",
                    )
            finally:
                await upstream.close()
            with anyio.fail_after(60):
                while Counter(r["state"] for r in seen)["delivered"] < n:
                    await anyio.sleep(0.05)
            engine.stop()
            await engine.wait_stopped()
            tg.cancel_scope.cancel()
    ids = [r["id"] for r in seen]
    assert len(ids) == len(set(ids)), "an event came twice"
    per_message = Counter((r["message_id"], r["state"]) for r in seen)
    assert len({m for m, _ in per_message}) == n and set(per_message.values()) == {1}
    assert {s for _, s in per_message} == {"submitted", "delivered"}
    e164 = {r["recipient_e164"] for r in await db.fetch("SELECT recipient_e164 FROM gateway.message_status")}
    assert e164 == {f"+82102345{i:04d}" for i in range(n)}  # national spellings stored canonically beside them
