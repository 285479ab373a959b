"""The writer says how far behind it is: rows waiting to be committed and the oldest one's age."""

from __future__ import annotations

import anyio
import pytest

from gateway.port import MessageState
from gateway.queue.memory import InMemoryStore
from gateway.queue.transitions import Settle, WriteBatch
from gateway.queue.writer import Writer

pytestmark = pytest.mark.anyio


class SlowStore(InMemoryStore):
    """Writes wait until released (a database that stopped answering)."""

    def __init__(self) -> None:
        super().__init__()
        self.release = anyio.Event()

    async def write(self, batch: WriteBatch, *, lane: str | None = None) -> None:
        await self.release.wait()
        await super().write(batch, lane=lane)


async def test_lag_counts_rows_buffered_and_being_written() -> None:
    """While a write hangs, the lag counts its rows and those buffered after it, and their age grows; once
    written it is zero."""
    now = [100.0]
    store = SlowStore()
    ids = [store.enqueue(body=f"m{i}") for i in range(5)]
    await store.claim(5, ["sms"])
    writer = Writer(store, flush_interval=0.01, clock=lambda: now[0])
    assert writer.lag() == {"outcomes": (0, 0.0), "receipts": (0, 0.0)}
    async with anyio.create_task_group() as tg:
        await tg.start(writer.run)
        for mid in ids[:3]:
            writer.add(Settle(mid, MessageState.SUBMITTED, "sms"))
        now[0] += 1.0
        await anyio.sleep(0.05)  # the loop takes the three into a write that hangs
        for mid in ids[3:]:
            writer.add(Settle(mid, MessageState.SUBMITTED, "sms"))
        now[0] += 4.0
        assert writer.lag()["outcomes"] == (5, 5.0)
        store.release.set()
        await writer.flush()
        tg.cancel_scope.cancel()
    assert writer.lag()["outcomes"] == (0, 0.0)
