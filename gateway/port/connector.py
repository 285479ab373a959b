"""The connector interface: what the queue engine hands to SMPP, Kakao and loopback.

The engine claims messages from PostgreSQL and calls :meth:`Connector.send` once
per message. ``send`` returns as soon as the connector has *taken* the message
(into its submit window, its HTTP batch, ...) and blocks while the connector is
full, which is how backpressure reaches the claimer. The outcome arrives later,
through the :class:`ResultSink` the engine passed to :meth:`Connector.run`:

* ``sink.submit_result(SendResult)`` for every message taken, exactly once;
* ``await sink.store_receipts([...])`` for delivery reports; it returns only when
  the receipts are committed to PostgreSQL, so an SMPP connector acknowledges a
  ``deliver_sm`` only after awaiting it;
* ``await sink.store_inbound([...])`` for mobile-originated messages.

Connectors never touch the database themselves.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Any, Protocol

import anyio
from anyio.abc import TaskStatus

from gateway.port.messages import InboundMessage, OutboundMessage
from gateway.port.outcomes import Receipt, SendResult

__all__ = ["Connector", "ResultSink"]


class ResultSink(Protocol):
    def submit_result(self, result: SendResult) -> None:
        """Report the outcome of one message taken by ``send`` (never blocks)."""

    async def store_receipts(self, receipts: Sequence[Receipt]) -> None:
        """Return once the receipts are durably stored."""

    async def store_inbound(self, messages: Sequence[InboundMessage]) -> None:
        """Return once the inbound messages are durably stored."""


class Connector(abc.ABC):
    """A route to carriers or a provider. One instance per configured connector."""

    name: str
    channel: str  # the channel it serves: "sms" or "alimtalk"

    @abc.abstractmethod
    async def run(self, sink: ResultSink, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Run until cancelled: connect, keep binds/sessions, report results.

        Call ``task_status.started()`` once the connector can take messages
        (or immediately, if it queues until it can).
        """

    @abc.abstractmethod
    async def send(self, message: OutboundMessage) -> None:
        """Take one message; block while full. The result goes to the sink."""

    def cost(self, message: OutboundMessage) -> int:
        """Units the message costs against rate limits (SMS: segments)."""
        return 1

    def is_ready(self) -> bool:
        """True when at least one bind/session can send now (for /readyz)."""
        return True

    @property
    def receipt_timeout(self) -> float | None:
        """Seconds after which a submitted message with no receipt becomes ``unknown``
        (0: never); None: the engine's default."""
        return None

    def max_unrecorded(self) -> int | None:
        """How many messages may have reached the peer without their outcome
        being committed yet (e.g. SMPP: window x binds). The engine holds back
        further sends beyond it, which bounds the duplicates a crash can cause.
        None: no bound."""
        return None

    async def drain(self) -> None:
        """Stop taking messages and wait for outstanding ones (the caller bounds the wait)."""
        return None

    def http_routes(self) -> Sequence[Any]:
        """aiohttp ``RouteDef``s for delivery-report webhooks, mounted by the daemon's
        HTTP server under ``/reports/{connector name}/``. Handlers store what they
        receive through the sink given to :meth:`run` *before* answering 2xx."""
        return ()
