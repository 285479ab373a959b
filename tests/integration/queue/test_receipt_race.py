"""A receipt racing its own submit between the writer's two lanes is applied, never taken for a duplicate.

Found by the end-to-end fault tests: a receipt written while the main lane
commits its submit (read committed: each statement sees a new snapshot) was
missed by ``receipt_segments``, then seen by ``carrier_ids_known`` and dropped
as a duplicate, acknowledged and lost. The interleaving is forced here.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from gateway.port import Receipt, ReceiptState
from gateway.queue.store import PgStore, Q

pytestmark = pytest.mark.anyio


class CommitsAfterLookup:
    """A connection on which ``other`` commits right after ``receipt_segments`` has looked."""

    def __init__(self, conn: asyncpg.Connection, other: Any) -> None:
        self._conn = conn
        self._other = other

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        rows = await self._conn.fetch(query, *args)
        if query == Q["receipt_segments"] and self._other is not None:
            await self._other.commit()
            self._other = None
        return rows

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


async def test_receipt_committed_between_lookups_goes_pending_and_is_applied(db_url: str, pool: asyncpg.Pool) -> None:
    """A submit committed between the receipt's two lookups: the receipt goes pending, then is applied."""
    main, receipts = await asyncpg.connect(db_url), await asyncpg.connect(db_url)
    try:
        submit = main.transaction()
        await submit.start()
        await main.execute(
            "INSERT INTO gateway.messages (id, created_at, channel, sender, recipient, body, kind, priority, extras,"
            " state, connector, attempts) VALUES (1, now(), 'sms', '1588', '+821012345678', 'hi', 'informational',"
            " 0, '{}', 'submitted', 'smsc', 1)"
        )
        await main.execute(
            "INSERT INTO gateway.carrier_ids (connector, carrier_id, message_id, message_created_at)"
            " SELECT 'smsc', 'C1', id, created_at FROM gateway.messages"
        )
        store = PgStore(pool, owner="race")
        async with receipts.transaction():
            receipt = Receipt("smsc", "C1", ReceiptState.DELIVERED, code="000")
            await store.reconciler.apply(CommitsAfterLookup(receipts, submit), [receipt])  # type: ignore[arg-type]
        assert await receipts.fetchval("SELECT count(*) FROM gateway.receipts_pending") == 1
        await store.match_pending_receipts()
        assert await receipts.fetchval("SELECT state FROM gateway.messages") == "delivered"
        assert await receipts.fetchval("SELECT count(*) FROM gateway.receipts_pending") == 0
    finally:
        await main.close()
        await receipts.close()
