"""A connector as the daemon runs it: pausable by operators, measured, and its state readable.

:class:`Controlled` wraps any :class:`~gateway.port.Connector`. While paused it
says it is not ready (the engine stops claiming for it) and holds the one send
the rate-limit dispatcher has handed it (the message stays leased and goes out
on resume, or goes back to the queue when the daemon drains); what was already
handed to the carrier finishes, and receipts keep flowing. Its result sink is
tapped to time each accepted message from its INSERT (``created_at``) to the
carrier's acceptance: ``gateway_enqueue_to_submit_seconds``, one dict entry and
one cheap histogram observation per message.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import anyio
import structlog
from anyio.abc import TaskStatus

from gateway import metrics
from gateway.errors import ConnectorClosed
from gateway.port import (
    Connector,
    ConnectorHealth,
    InboundMessage,
    OutboundMessage,
    Outcome,
    Receipt,
    ReceiptQuery,
    ResultSink,
    SendResult,
)

__all__ = ["Controlled"]

log = structlog.get_logger("gateway.control")


class _Tap:
    """The sink the wrapped connector reports to: passes everything on, times what was accepted."""

    __slots__ = ("_owner", "_sink")

    def __init__(self, sink: ResultSink, owner: Controlled) -> None:
        self._sink = sink
        self._owner = owner

    def submit_result(self, result: SendResult) -> None:
        owner = self._owner
        created = owner._created.pop(result.message_id, None)
        if result.outcome is Outcome.SUBMITTED:
            owner.submitted += 1
            if created is not None:
                owner._latency.observe(time.time() - created)
        self._sink.submit_result(result)

    async def store_receipts(self, receipts: Sequence[Receipt]) -> None:
        await self._sink.store_receipts(receipts)

    async def store_inbound(self, messages: Sequence[InboundMessage]) -> None:
        await self._sink.store_inbound(messages)


class Controlled(Connector):
    def __init__(self, inner: Connector) -> None:
        self.inner = inner
        self.name = inner.name
        self.channel = inner.channel
        self.paused = False
        self.pause_reason: str | None = None
        self.submitted = 0  # accepted by the carrier since start (for the published rate)
        self.rebind_seq: int | None = None  # the last rebind request seen (None: not read yet)
        self._resumed = anyio.Event()
        self._closing = False
        self._created: dict[int, float] = {}  # message id -> created_at (Unix time), until its result
        self._latency = metrics.ENQUEUE_TO_SUBMIT.labels(inner.name)
        metrics.CONNECTOR_PAUSED.labels(inner.name).set(0)

    def __repr__(self) -> str:
        return f"Controlled({self.inner!r})"

    # ---------------------------------------------------------------- controls
    def pause(self, reason: str | None = None) -> None:
        if not self.paused:
            log.warning("control.connector.paused", connector=self.name, reason=reason)
        self.paused = True
        self.pause_reason = reason
        self._resumed = anyio.Event()
        metrics.CONNECTOR_PAUSED.labels(self.name).set(1)

    def resume(self) -> None:
        if self.paused:
            log.info("control.connector.resumed", connector=self.name)
        self.paused = False
        self.pause_reason = None
        self._resumed.set()
        metrics.CONNECTOR_PAUSED.labels(self.name).set(0)

    @property
    def state(self) -> str:
        """``paused``, ``ready`` or ``down``."""
        if self.paused:
            return "paused"
        return "ready" if self.inner.is_ready() else "down"

    # ---------------------------------------------------------------- the Connector API, passed through
    async def run(self, sink: ResultSink, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        await self.inner.run(_Tap(sink, self), task_status=task_status)

    async def send(self, message: OutboundMessage) -> None:
        while self.paused:
            if self._closing:
                raise ConnectorClosed(f"connector {self.name} is draining")
            await self._resumed.wait()
        if message.created_at is not None:
            self._created[message.id] = message.created_at.timestamp()
        try:
            await self.inner.send(message)
        except BaseException:
            self._created.pop(message.id, None)
            raise

    def cost(self, message: OutboundMessage) -> int:
        return self.inner.cost(message)

    def is_ready(self) -> bool:
        return not self.paused and self.inner.is_ready()

    @property
    def receipt_timeout(self) -> float | None:
        return self.inner.receipt_timeout

    def max_unrecorded(self) -> int | None:
        return self.inner.max_unrecorded()

    async def query_receipts(self, queries: Sequence[ReceiptQuery]) -> Sequence[Receipt] | None:
        return await self.inner.query_receipts(queries)

    async def drain(self) -> None:
        self._closing = True
        self._resumed.set()  # a send held by a pause gives its message back
        await self.inner.drain()

    def http_routes(self) -> Sequence[Any]:
        return self.inner.http_routes()

    def health(self) -> ConnectorHealth:
        return self.inner.health()

    async def rebind(self) -> None:
        await self.inner.rebind()

    def session_allowance(self) -> int | None:
        return self.inner.session_allowance()

    def sessions_wanted(self) -> int:
        return self.inner.sessions_wanted()

    async def set_session_budget(self, sessions: int) -> None:
        await self.inner.set_session_budget(sessions)

    def snapshot(self, rate: float) -> dict[str, Any]:
        """What this instance publishes about the connector (JSON)."""
        h = self.health()
        return {
            "type": getattr(getattr(self.inner, "config", None), "type", type(self.inner).__name__),
            "channel": self.channel,
            "state": self.state,
            "paused": self.paused,
            "pause_reason": self.pause_reason,
            "sessions_up": h.sessions_up,
            "sessions_allowed": h.sessions_allowed,
            "sessions_configured": h.sessions_configured,
            "in_flight": h.in_flight,
            "capacity": h.capacity,
            "last_error": h.last_error,
            "last_error_at": datetime.fromtimestamp(h.last_error_at, UTC).isoformat(timespec="seconds")
            if h.last_error_at
            else None,
            "submitted_per_s": round(rate, 1),
            "detail": dict(h.detail),
        }
