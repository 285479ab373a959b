"""The batched writer against PostgreSQL: receipts that overtake their submit, failures that retry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import anyio
import asyncpg
import pytest

from gateway.port import MessageState, Receipt, ReceiptState
from gateway.queue.store import PgStore
from gateway.queue.transitions import Settle, WriteBatch
from gateway.queue.writer import Writer
from tests.support.queue import copy_messages

pytestmark = pytest.mark.anyio


async def claim(db: asyncpg.Connection, owner: str, n: int) -> list[int]:
    rows = await db.fetch(
        "UPDATE gateway.outbox SET state = 'sending', lease_owner = $1,"
        " attempts = 1 WHERE id IN (SELECT id FROM gateway.outbox ORDER BY id LIMIT $2) RETURNING id",
        owner,
        n,
    )
    return sorted(r["id"] for r in rows)


async def test_receipt_before_its_submit_is_matched_later(pool: asyncpg.Pool, db: asyncpg.Connection) -> None:
    """A receipt stored before its submit is kept pending, acknowledged, and applied once the submit lands."""
    await copy_messages(db, [{"body": "a"}, {"body": "b"}])
    ids = await claim(db, "w", 2)
    writer = Writer(PgStore(pool, owner="w"), flush_interval=0.005)
    async with anyio.create_task_group() as tg:
        await tg.start(writer.run)
        with anyio.fail_after(5):
            await writer.store_receipts([Receipt("smsc", "c1", ReceiptState.DELIVERED, "000")])
        assert await db.fetchval("SELECT count(*) FROM gateway.receipts_pending") == 1
        writer.add(Settle(ids[0], MessageState.SUBMITTED, "sms", connector="smsc", carrier_ids=("c1",)))
        writer.add(Settle(ids[1], MessageState.SUBMITTED, "sms", connector="smsc", carrier_ids=("c2",)))
        with anyio.fail_after(5):
            while await db.fetchval("SELECT state FROM gateway.messages WHERE id = $1", ids[0]) != "delivered":
                await anyio.sleep(0.02)
        tg.cancel_scope.cancel()
    assert await db.fetchval("SELECT count(*) FROM gateway.receipts_pending") == 0
    assert await db.fetchval("SELECT state FROM gateway.messages WHERE id = $1", ids[1]) == "submitted"


async def test_duplicate_receipt_is_harmless(pool: asyncpg.Pool, db: asyncpg.Connection) -> None:
    """The same receipt twice changes nothing the second time and does not go pending."""
    await copy_messages(db, [{"body": "a"}])
    (mid,) = await claim(db, "w", 1)
    writer = Writer(PgStore(pool, owner="w"), flush_interval=0.005)
    async with anyio.create_task_group() as tg:
        await tg.start(writer.run)
        writer.add(Settle(mid, MessageState.SUBMITTED, "sms", connector="smsc", carrier_ids=("c9",)))
        await writer.flush()
        for _ in range(2):
            await writer.store_receipts([Receipt("smsc", "c9", ReceiptState.DELIVERED, "000")])
        tg.cancel_scope.cancel()
    assert await db.fetchval("SELECT count(*) FROM gateway.receipts_pending") == 0
    assert (
        await db.fetchval("SELECT count(*) FROM gateway.events WHERE message_id = $1 AND state = 'delivered'", mid) == 1
    )


async def test_multipart_is_final_when_every_segment_has_its_receipt(
    pool: asyncpg.Pool, db: asyncpg.Connection
) -> None:
    """A 3-part message is delivered only after all three receipts; one undeliverable part makes it undeliverable."""
    await copy_messages(db, [{"body": "long"}, {"body": "long2"}])
    a, b = await claim(db, "w", 2)
    writer = Writer(PgStore(pool, owner="w"), flush_interval=0.005)
    async with anyio.create_task_group() as tg:
        await tg.start(writer.run)
        writer.add(
            Settle(a, MessageState.SUBMITTED, "sms", connector="smsc", segments=3, carrier_ids=("a1", "a2", "a3"))
        )
        writer.add(Settle(b, MessageState.SUBMITTED, "sms", connector="smsc", segments=2, carrier_ids=("b1", "b2")))
        await writer.flush()
        await writer.store_receipts(
            [Receipt("smsc", "a1", ReceiptState.DELIVERED), Receipt("smsc", "a2", ReceiptState.DELIVERED)]
        )
        assert await db.fetchval("SELECT state FROM gateway.messages WHERE id = $1", a) == "submitted"
        await writer.store_receipts(
            [
                Receipt("smsc", "a3", ReceiptState.DELIVERED),
                Receipt("smsc", "b1", ReceiptState.DELIVERED),
                Receipt("smsc", "b2", ReceiptState.UNDELIVERABLE, "001"),
            ]
        )
        tg.cancel_scope.cancel()
    assert await db.fetchval("SELECT state FROM gateway.messages WHERE id = $1", a) == "delivered"
    assert await db.fetchval("SELECT state FROM gateway.messages WHERE id = $1", b) == "undeliverable"


async def test_flush_retries_after_the_connection_is_killed(pool: asyncpg.Pool, db: asyncpg.Connection) -> None:
    """Terminating the writer's PostgreSQL connections loses nothing: the batch is written on retry."""
    await copy_messages(db, [{"body": f"m{i}"} for i in range(50)])
    ids = await claim(db, "w", 50)
    writer = Writer(PgStore(pool, owner="w"), flush_interval=0.005)
    async with anyio.create_task_group() as tg:
        await tg.start(writer.run)
        await db.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )
        for mid in ids:
            writer.add(Settle(mid, MessageState.SUBMITTED, "sms", connector="smsc", carrier_ids=(f"k{mid}",)))
        with anyio.fail_after(10):
            while await db.fetchval("SELECT count(*) FROM gateway.messages") < 50:
                await anyio.sleep(0.05)
        tg.cancel_scope.cancel()
    assert await db.fetchval("SELECT count(*) FROM gateway.outbox") == 0


async def test_a_quick_receipt_rides_on_its_submit_write(pool: asyncpg.Pool, db: asyncpg.Connection) -> None:
    """A receipt that comes while its accepted submit lingers is written with it: the row goes in
    final, its carrier id carries the receipt, the events say submitted then delivered, nothing goes
    pending, submitted_at is the carrier's acceptance time, and the receipt returns after that commit."""
    await copy_messages(db, [{"body": "a"}, {"body": "b"}])
    a, b = await claim(db, "w", 2)
    accepted = datetime.now(UTC) - timedelta(seconds=3)
    writer = Writer(PgStore(pool, owner="w"), flush_interval=0.005, receipt_linger=30.0)
    async with anyio.create_task_group() as tg:
        await tg.start(writer.run)
        for mid, cid in ((a, "q1"), (b, "q2")):
            writer.add(
                Settle(
                    mid,
                    MessageState.SUBMITTED,
                    "sms",
                    connector="smsc",
                    carrier_ids=(cid,),
                    detail={"via": "bind1"},
                    submitted_at=accepted,
                )
            )
        await anyio.sleep(0.05)  # lingering: nothing written yet
        assert await db.fetchval("SELECT count(*) FROM gateway.messages WHERE id = ANY($1)", [a, b]) == 0
        with anyio.fail_after(5):
            await writer.store_receipts(
                [Receipt("smsc", "q1", ReceiptState.UNDELIVERABLE, "005", detail={"stat": "UNDELIV"})]
            )
        row = await db.fetchrow(
            "SELECT state, reason, code, submitted_at, final_at FROM gateway.messages WHERE id = $1", a
        )
        assert (row["state"], row["reason"], row["code"]) == ("undeliverable", "receipt", "005")
        assert row["submitted_at"] == accepted and row["final_at"] is not None
        events = await db.fetch(
            "SELECT at, state, reason, code, detail FROM gateway.events WHERE message_id = $1 ORDER BY id", a
        )
        assert [(e["state"], e["reason"], e["code"]) for e in events] == [
            ("submitted", None, None),
            ("undeliverable", "receipt", "005"),
        ]
        assert events[0]["detail"] == {"via": "bind1"} and events[1]["detail"] == {"stat": "UNDELIV"}
        assert events[0]["at"] == accepted  # the submitted event says when the carrier took it
        cid = await db.fetchrow(
            "SELECT state, code, receipt_at, submitted_at FROM gateway.carrier_ids WHERE carrier_id = 'q1'"
        )
        assert (cid["state"], cid["code"]) == ("undeliverable", "005") and cid["receipt_at"] is not None
        assert cid["submitted_at"] == accepted
        assert await db.fetchval("SELECT count(*) FROM gateway.receipts_pending") == 0
        # The other one still lingers; a shutdown flush writes it as submitted, and its receipt later applies.
        assert await db.fetchval("SELECT count(*) FROM gateway.messages WHERE id = $1", b) == 0
        await writer.flush()
        assert await db.fetchval("SELECT state FROM gateway.messages WHERE id = $1", b) == "submitted"
        with anyio.fail_after(5):
            await writer.store_receipts([Receipt("smsc", "q2", ReceiptState.DELIVERED, "000")])
        tg.cancel_scope.cancel()
    assert await db.fetchval("SELECT state FROM gateway.messages WHERE id = $1", b) == "delivered"
    assert writer.coalesced_receipts == 1


async def test_a_receipt_during_its_submit_write_waits_for_it_instead_of_going_pending(
    pool: asyncpg.Pool, db: asyncpg.Connection
) -> None:
    """A receipt for a submit whose write is in progress is matched after that commit, not stored pending."""
    await copy_messages(db, [{"body": "a"}])
    (mid,) = await claim(db, "w", 1)
    store = PgStore(pool, owner="w")
    entered, release = anyio.Event(), anyio.Event()
    real_write = store.write

    async def slow_write(batch: WriteBatch, *, lane: str | None = None) -> None:
        if batch.settles:
            entered.set()
            await release.wait()
        await real_write(batch, lane=lane)

    store.write = slow_write  # type: ignore[method-assign]
    writer = Writer(store, flush_interval=0.001)
    async with anyio.create_task_group() as tg:
        await tg.start(writer.run)
        writer.add(Settle(mid, MessageState.SUBMITTED, "sms", connector="smsc", carrier_ids=("w1",)))
        with anyio.fail_after(5):
            await entered.wait()
        done = anyio.Event()

        async def receipt() -> None:
            await writer.store_receipts([Receipt("smsc", "w1", ReceiptState.DELIVERED, "000")])
            done.set()

        tg.start_soon(receipt)
        await anyio.sleep(0.05)
        assert not done.is_set()
        assert await db.fetchval("SELECT count(*) FROM gateway.receipts_pending") == 0
        release.set()
        with anyio.fail_after(5):
            await done.wait()
        tg.cancel_scope.cancel()
    assert await db.fetchval("SELECT state FROM gateway.messages WHERE id = $1", mid) == "delivered"
    assert await db.fetchval("SELECT count(*) FROM gateway.receipts_pending") == 0
