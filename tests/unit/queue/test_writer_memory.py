"""The writer on the in-memory store: batching, retries of transient failures, isolation of bad rows."""

from __future__ import annotations

import anyio
import pytest

from gateway.backoff import Backoff
from gateway.port import MessageState, Receipt, ReceiptState
from gateway.queue.memory import InMemoryStore
from gateway.queue.transitions import Settle
from gateway.queue.writer import Writer

pytestmark = pytest.mark.anyio


async def leased(store: InMemoryStore, n: int) -> list[int]:
    ids = [store.enqueue(body=f"m{i}") for i in range(n)]
    await store.claim(n, ["sms"])
    return ids


async def test_many_transitions_one_write() -> None:
    """Transitions added within one flush interval are written in one batch."""
    store = InMemoryStore()
    ids = await leased(store, 20)
    written: list[int] = []
    writer = Writer(store, flush_interval=0.05, on_written=written.extend)
    async with anyio.create_task_group() as tg:
        await tg.start(writer.run)
        for mid in ids:
            writer.add(Settle(mid, MessageState.SUBMITTED, "sms"))
        await writer.flush()
        tg.cancel_scope.cancel()
    assert store.writes == 1 and sorted(written) == ids


async def test_a_transient_failure_is_retried_until_it_succeeds() -> None:
    """Connection failures keep the batch and retry it with back-off: nothing is lost."""
    store = InMemoryStore()
    ids = await leased(store, 3)
    store.fail_next_writes(2, ConnectionError("server closed the connection"))
    writer = Writer(store, flush_interval=0.001, retry=Backoff(0.001, 0.002))
    async with anyio.create_task_group() as tg:
        await tg.start(writer.run)
        for mid in ids:
            writer.add(Settle(mid, MessageState.SUBMITTED, "sms"))
        with anyio.fail_after(5):
            while store.states() != {"submitted": 3}:
                await anyio.sleep(0.005)
        tg.cancel_scope.cancel()
    assert store.writes == 3


async def test_a_bad_row_is_isolated_and_the_others_land() -> None:
    """A data error splits the batch: each part is written alone, only the failing one is dropped."""
    store = InMemoryStore()
    ids = await leased(store, 3)
    store.fail_next_writes(2, ValueError("bad row"))  # the whole batch, then the first part alone
    written: list[int] = []
    writer = Writer(store, flush_interval=0.001, on_written=written.extend)
    async with anyio.create_task_group() as tg:
        await tg.start(writer.run)
        for mid in ids:
            writer.add(Settle(mid, MessageState.SUBMITTED, "sms"))
        await writer.flush()
        tg.cancel_scope.cancel()
    assert store.states() == {"submitted": 2, "sending": 1}
    assert sorted(written) == ids  # the dropped one too: its lease will expire and another claim retries it


async def test_receipts_are_awaited_until_committed_and_errors_reach_the_sender() -> None:
    """store_receipts returns after the commit; a receipt that cannot be stored raises to its sender."""
    store = InMemoryStore()
    writer = Writer(store, flush_interval=0.001)
    async with anyio.create_task_group() as tg:
        await tg.start(writer.run)
        await writer.store_receipts([Receipt("smsc", "x", ReceiptState.DELIVERED)])
        assert store.writes == 1
        store.fail_next_writes(2, ValueError("bad receipt"))
        with pytest.raises(ValueError, match="bad receipt"):
            await writer.store_receipts([Receipt("smsc", "y", ReceiptState.DELIVERED)])
        tg.cancel_scope.cancel()
