"""Issue 12, point 3: a later final receipt always upgrades ``unknown``; a receipt not applied is recorded.

On PostgreSQL, through the store's write-back (the path the writer takes).
"""

from __future__ import annotations

import asyncpg
import pytest

from gateway.port import QueueReason, Receipt, ReceiptState
from gateway.queue.store import PgStore
from gateway.queue.transitions import WriteBatch

pytestmark = pytest.mark.anyio


async def submitted(db: asyncpg.Connection, carrier_ids: list[str], *, age_seconds: float = 0.0, mid: int = 1) -> None:
    """A message submitted ``age_seconds`` ago under ``carrier_ids`` (one per segment)."""
    await db.execute(
        "INSERT INTO gateway.messages (id, created_at, channel, sender, recipient, body, kind, priority, extras,"
        " state, connector, attempts, segments, submitted_at) VALUES ($1, now(), 'sms', '1588', '+821012345678',"
        " 'hi', 'informational', 0, '{}', 'submitted', 'smsc', 1, $2, now() - make_interval(secs => $3))",
        mid,
        len(carrier_ids),
        age_seconds,
    )
    for i, cid in enumerate(carrier_ids, start=1):
        await db.execute(
            "INSERT INTO gateway.carrier_ids (connector, carrier_id, message_id, message_created_at, segment, segments)"
            " SELECT 'smsc', $1, id, created_at, $2, $3 FROM gateway.messages WHERE id = $4",
            cid,
            i,
            len(carrier_ids),
            mid,
        )


async def receipt(store: PgStore, carrier_id: str, state: ReceiptState, code: str = "000") -> None:
    await store.write(WriteBatch(receipts=[Receipt("smsc", carrier_id, state, code=code)]))


async def status(db: asyncpg.Connection, mid: int = 1) -> tuple[str, str, str | None]:
    row = await db.fetchrow("SELECT state, reason, code FROM gateway.message_status WHERE id = $1", mid)
    return row["state"], row["reason"], row["code"]


async def test_final_receipt_after_the_carriers_unknown_receipt_upgrades_the_message(
    pool: asyncpg.Pool, db: asyncpg.Connection
) -> None:
    """A carrier UNKNOWN receipt settles unknown; a later DELIVRD for the same id upgrades it to delivered."""
    store = PgStore(pool, owner="t")
    await submitted(db, ["c1"])
    await receipt(store, "c1", ReceiptState.UNKNOWN)
    assert await status(db) == ("unknown", "receipt", "000")
    await receipt(store, "c1", ReceiptState.DELIVERED)
    assert await status(db) == ("delivered", "receipt", "000")
    assert await db.fetchval("SELECT state FROM gateway.carrier_ids") == "delivered"
    assert await db.fetchval("SELECT count(*) FROM gateway.receipts_dropped") == 0


async def test_multipart_segment_unknown_then_delivered_completes_the_message(
    pool: asyncpg.Pool, db: asyncpg.Connection
) -> None:
    """A two-part message whose first segment's receipt said UNKNOWN ends delivered once that segment's
    later DELIVRD comes (the message's reason is receipt)."""
    store = PgStore(pool, owner="t")
    await submitted(db, ["p1", "p2"])
    await receipt(store, "p1", ReceiptState.UNKNOWN)
    await receipt(store, "p2", ReceiptState.DELIVERED)
    assert (await status(db))[:2] == ("unknown", "receipt")
    await receipt(store, "p1", ReceiptState.DELIVERED)
    assert (await status(db))[:2] == ("delivered", "receipt")


async def test_late_receipt_after_the_receipt_timeout_resets_the_reason(
    pool: asyncpg.Pool, db: asyncpg.Connection
) -> None:
    """After the receipt timeout (unknown, no_receipt) a late DELIVRD makes it delivered with reason receipt."""
    store = PgStore(pool, owner="t")
    await submitted(db, ["c9"], age_seconds=7200)
    assert await store.receipt_timeouts("smsc", 3600, 100) == 1
    assert await status(db) == ("unknown", "no_receipt", None)
    await receipt(store, "c9", ReceiptState.DELIVERED)
    assert await status(db) == ("delivered", "receipt", "000")


async def test_receipt_contradicting_a_final_one_is_dropped_and_recorded(
    pool: asyncpg.Pool, db: asyncpg.Connection
) -> None:
    """A receipt saying undeliverable after one said delivered changes nothing, but is recorded as
    receipt_too_late with an event on its message; an identical duplicate is not a drop."""
    store = PgStore(pool, owner="t")
    await submitted(db, ["c2"])
    await receipt(store, "c2", ReceiptState.DELIVERED)
    await receipt(store, "c2", ReceiptState.DELIVERED)  # a duplicate: harmless, not recorded
    await receipt(store, "c2", ReceiptState.UNDELIVERABLE, code="001")
    assert await status(db) == ("delivered", "receipt", "000")
    dropped = await db.fetch("SELECT carrier_id, reason, state, code, message_id, detail FROM gateway.receipts_dropped")
    assert [(r["carrier_id"], r["reason"], r["state"], r["code"], r["message_id"]) for r in dropped] == [
        ("c2", "receipt_too_late", "undeliverable", "001", 1)
    ]
    event = await db.fetchrow("SELECT state, reason, detail FROM gateway.events WHERE reason = 'receipt_dropped'")
    assert (event["state"], event["reason"]) == ("delivered", "receipt_dropped")
    assert event["detail"]["why"] == "receipt_too_late" and event["detail"]["receipt_state"] == "undeliverable"


async def test_malformed_receipt_from_the_connector_is_recorded(pool: asyncpg.Pool, db: asyncpg.Connection) -> None:
    """A receipt the connector could not read (Receipt.dropped) is stored in gateway.receipts_dropped, not applied."""
    store = PgStore(pool, owner="t")
    bad = Receipt(
        "smsc", "", ReceiptState.UNKNOWN, detail={"esm_class": 4, "length": 16}, dropped=QueueReason.RECEIPT_MALFORMED
    )
    await store.write(WriteBatch(receipts=[bad]))
    row = await db.fetchrow("SELECT connector, carrier_id, reason, detail FROM gateway.receipts_dropped")
    assert (row["connector"], row["carrier_id"], row["reason"]) == ("smsc", None, "receipt_malformed")
    assert row["detail"] == {"esm_class": 4, "length": 16}
    assert await db.fetchval("SELECT count(*) FROM gateway.receipts_pending") == 0


async def test_pending_receipt_never_matched_is_dropped_as_unmatched(
    pool: asyncpg.Pool, db: asyncpg.Connection
) -> None:
    """A receipt pending for a carrier id no message carried is given up after a day, as receipt_unmatched."""
    store = PgStore(pool, owner="t")
    await receipt(store, "nobody", ReceiptState.DELIVERED)
    assert await db.fetchval("SELECT count(*) FROM gateway.receipts_pending") == 1
    await store.maintain_partitions()
    assert await db.fetchval("SELECT count(*) FROM gateway.receipts_pending") == 1  # still young: kept
    await db.execute("UPDATE gateway.receipts_pending SET received_at = now() - interval '25 hours'")
    await store.maintain_partitions()
    assert await db.fetchval("SELECT count(*) FROM gateway.receipts_pending") == 0
    row = await db.fetchrow("SELECT carrier_id, reason, state FROM gateway.receipts_dropped")
    assert (row["carrier_id"], row["reason"], row["state"]) == ("nobody", "receipt_unmatched", "delivered")
