"""Shared pieces of the connector tests: an in-memory sink, a config builder, a running connector."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import anyio

from gateway.port import InboundMessage, OutboundMessage, Receipt, SendResult
from gateway.smpp.config import SmppConnectorConfig
from gateway.smpp.connector import SmppConnector

_ids = itertools.count(1)


class FakeSink:
    """Records what the connector reports; ``store_*`` can be made to block (``gate``) or to fail."""

    def __init__(self) -> None:
        self.results: list[SendResult] = []
        self.receipts: list[Receipt] = []
        self.inbound: list[InboundMessage] = []
        self.receipt_calls = 0
        self.fail_receipts = 0  # fail this many store_receipts calls, then succeed
        self.fail_inbound = 0
        self.gate: anyio.Event | None = None  # store_* wait for it while set

    def submit_result(self, result: SendResult) -> None:
        self.results.append(result)

    async def store_receipts(self, receipts: Sequence[Receipt]) -> None:
        self.receipt_calls += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.fail_receipts:
            self.fail_receipts -= 1
            raise ConnectionError("database unavailable")
        self.receipts.extend(receipts)

    async def store_inbound(self, messages: Sequence[InboundMessage]) -> None:
        if self.gate is not None:
            await self.gate.wait()
        if self.fail_inbound:
            self.fail_inbound -= 1
            raise ConnectionError("database unavailable")
        self.inbound.extend(messages)

    def result(self, message_id: int) -> SendResult:
        (found,) = [r for r in self.results if r.message_id == message_id]
        return found


def config(port: int, **overrides: Any) -> SmppConnectorConfig:
    """A connector config for loopback tests: short timeouts and backoff."""
    values: dict[str, Any] = {
        "name": "smsc-test",
        "host": "127.0.0.1",
        "port": port,
        "system_id": "gateway",
        "password": "secret",
        "binds": 1,
        "window": 16,
        "response_timeout_seconds": 2.0,
        "reconnect_initial_seconds": 0.05,
        "reconnect_max_seconds": 0.2,
        "throttle_pause_ms": 50,
        "partial_retry_delay_ms": 20,
        "receipt_batch_max_wait_ms": 2,
    }
    values.update(overrides)
    return SmppConnectorConfig(**values)


def message(body: str = "Hello from the gateway", **fields: Any) -> OutboundMessage:
    values: dict[str, Any] = {
        "id": next(_ids),
        "channel": "sms",
        "sender": "ACME",
        "recipient": "+821012345678",
        "body": body,
    }
    values.update(fields)
    return OutboundMessage(**values)


async def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll ``predicate`` until true; fail the test after ``timeout`` seconds."""
    with anyio.fail_after(timeout):
        while not predicate():
            await anyio.sleep(0.005)


@contextlib.asynccontextmanager
async def running(
    connector: SmppConnector, sink: FakeSink, *, bound: bool = True, drain: bool = False
) -> AsyncIterator[SmppConnector]:
    """Run ``connector`` against ``sink``; wait until every bind is up (``bound``); cancel on exit."""
    async with anyio.create_task_group() as tg:
        await tg.start(connector.run, sink)
        if bound:
            await wait_for(lambda: all(b.state == "bound" for b in connector.binds))
        yield connector
        if drain:
            await connector.drain()
        tg.cancel_scope.cancel()
