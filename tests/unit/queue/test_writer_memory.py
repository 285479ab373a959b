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


async def test_only_plain_final_receipts_ride_on_a_lingering_submit() -> None:
    """Receipts that ask for a fallback, say nothing final or were dropped by the connector go the
    usual way (their own batch); a plain final one rides on its submit's write."""
    store = InMemoryStore()
    ids = await leased(store, 4)
    writer = Writer(store, flush_interval=0.001, receipt_linger=30.0)
    async with anyio.create_task_group() as tg:
        await tg.start(writer.run)
        for mid in ids:
            writer.add(Settle(mid, MessageState.SUBMITTED, "sms", connector="smsc", carrier_ids=(f"c{mid}",)))
        a, b, c, d = ids
        with anyio.fail_after(5):
            await writer.store_receipts(
                [
                    Receipt("smsc", f"c{a}", ReceiptState.FAILED, "1", fallback=True),
                    Receipt("smsc", f"c{b}", ReceiptState.ACCEPTED),
                    Receipt("smsc", f"c{c}", ReceiptState.DELIVERED, dropped="receipt_malformed"),
                ]
            )
        assert writer.coalesced_receipts == 0
        with anyio.fail_after(5):
            await writer.store_receipts([Receipt("smsc", f"c{d}", ReceiptState.DELIVERED, "0")])
        assert writer.coalesced_receipts == 1
        assert store.log[d].state is MessageState.DELIVERED
        assert all(mid not in store.log for mid in (a, b, c))  # still lingering, without their receipts
        await writer.flush()
        tg.cancel_scope.cancel()
    assert {mid: store.log[mid].state for mid in (a, b, c)} == dict.fromkeys((a, b, c), MessageState.SUBMITTED)


async def test_a_riding_receipt_whose_submit_cannot_be_written_raises_to_its_sender() -> None:
    """A data error isolates the submit with its receipt: the receipt's sender gets the error (the
    carrier sends it again), the others land."""
    store = InMemoryStore()
    ids = await leased(store, 2)
    writer = Writer(store, flush_interval=0.001, receipt_linger=30.0)
    async with anyio.create_task_group() as tg:
        await tg.start(writer.run)
        for mid in ids:
            writer.add(Settle(mid, MessageState.SUBMITTED, "sms", connector="smsc", carrier_ids=(f"c{mid}",)))
        store.fail_next_writes(2, ValueError("bad row"))  # the batch, then the riding one's part alone
        with pytest.raises(ValueError, match="bad row"), anyio.fail_after(5):
            await writer.store_receipts([Receipt("smsc", f"c{ids[0]}", ReceiptState.DELIVERED, "0")])
        await writer.flush()
        tg.cancel_scope.cancel()
    assert ids[0] not in store.log and store.log[ids[1]].state is MessageState.SUBMITTED
