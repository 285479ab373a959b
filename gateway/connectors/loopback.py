"""The built-in ``loopback`` connector: accepts everything, optionally slowly or badly.

It lets the queue engine be tested, benchmarked and demonstrated alone: an
optional delay per message (with a window of outstanding messages), a failure
rate, a throttling rate, and delivery receipts after an optional delay, fed
back through the same receipt path as a real carrier's.
"""

from __future__ import annotations

import collections
import random
import time
from collections.abc import Callable

import anyio
from anyio.abc import TaskStatus

from gateway.connectors.config import LoopbackConnectorConfig
from gateway.errors import ConnectorClosed
from gateway.port import (
    Connector,
    OutboundMessage,
    Outcome,
    Receipt,
    ReceiptState,
    ResultSink,
    SendResult,
    register_reasons,
)

register_reasons("loopback", ["loopback_throttled", "loopback_failure"])


class LoopbackConnector(Connector):
    def __init__(self, config: LoopbackConnectorConfig, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.name = config.name
        self.channel = config.channel
        self._clock = clock
        self._rng = random.Random(config.seed)
        self._sink: ResultSink | None = None
        self._pending: collections.deque[tuple[float, OutboundMessage]] = collections.deque()
        self._receipts: collections.deque[tuple[float, Receipt]] = collections.deque()
        self._outstanding = 0
        self._space = anyio.Event()
        self._idle = anyio.Event()  # set when nothing is outstanding (drain waits for it)
        self._work = anyio.Event()
        self._receipt_work = anyio.Event()
        self._closed = False
        self.sent = 0

    async def run(self, sink: ResultSink, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        self._sink = sink
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._complete_loop)
            tg.start_soon(self._receipt_loop)
            task_status.started()

    @property
    def receipt_timeout(self) -> float | None:
        return self.config.receipt_timeout_seconds

    async def send(self, message: OutboundMessage) -> None:
        if self._closed:
            raise ConnectorClosed(f"connector {self.name} is closed")
        while self._outstanding >= self.config.window:
            self._space = anyio.Event()
            await self._space.wait()
        self._outstanding += 1
        if self.config.delay_ms <= 0:
            self._complete(message)
        else:
            self._pending.append((self._clock() + self.config.delay_ms / 1000, message))
            self._work.set()

    def _complete(self, message: OutboundMessage) -> None:
        assert self._sink is not None
        self._outstanding -= 1
        self._space.set()
        if not self._outstanding:
            self._idle.set()
        roll = self._rng.random()
        cfg = self.config
        if roll < cfg.throttle_rate:
            self._sink.submit_result(
                SendResult(message.id, Outcome.THROTTLED, code="0x58", reason="loopback_throttled")
            )
            return
        if roll < cfg.throttle_rate + cfg.failure_rate:
            self._sink.submit_result(SendResult(message.id, Outcome.FAILED, code="loopback", reason="loopback_failure"))
            return
        self.sent += 1
        carrier_id = f"lb{message.id}a{message.attempts}"
        self._sink.submit_result(SendResult(message.id, Outcome.SUBMITTED, carrier_ids=(carrier_id,)))
        if cfg.receipts:
            state = (
                ReceiptState.UNDELIVERABLE if self._rng.random() < cfg.undeliverable_rate else ReceiptState.DELIVERED
            )
            code = "000" if state is ReceiptState.DELIVERED else "001"
            self._receipts.append(
                (self._clock() + cfg.receipt_delay_ms / 1000, Receipt(self.name, carrier_id, state, code))
            )
            self._receipt_work.set()

    async def _complete_loop(self) -> None:
        while True:
            if not self._pending:
                self._work = anyio.Event()
                await self._work.wait()
                continue
            due, message = self._pending[0]
            wait = due - self._clock()
            if wait > 0:
                await anyio.sleep(wait)
                continue
            self._pending.popleft()
            self._complete(message)

    async def _receipt_loop(self) -> None:
        assert self._sink is not None
        while True:
            if not self._receipts:
                self._receipt_work = anyio.Event()
                await self._receipt_work.wait()
                # Let a few more arrive: receipts are stored in batches.
                await anyio.sleep(0.005)
                continue
            wait = self._receipts[0][0] - self._clock()
            if wait > 0:
                await anyio.sleep(wait)
                continue
            now = self._clock()
            batch: list[Receipt] = []
            while self._receipts and self._receipts[0][0] <= now and len(batch) < 2000:
                batch.append(self._receipts.popleft()[1])
            await self._sink.store_receipts(batch)

    def is_ready(self) -> bool:
        return not self._closed

    async def drain(self) -> None:
        self._closed = True
        while self._outstanding:
            self._idle = anyio.Event()
            await self._idle.wait()
