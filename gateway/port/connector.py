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

Operators act on a connector through a few controls with harmless defaults:
:meth:`Connector.health` (what ``gateway status``, ``/readyz`` and the status
page show), :meth:`Connector.rebind` (drop and re-establish its sessions) and
:meth:`Connector.set_session_budget` (how many sessions this instance may open
of an account shared by several instances). Pausing needs nothing from the
connector: the daemon stops handing it messages.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import anyio
from anyio.abc import TaskStatus

from gateway.port.messages import InboundMessage, OutboundMessage
from gateway.port.outcomes import Receipt, ReceiptQuery, SendResult

__all__ = ["Connector", "ConnectorHealth", "ResultSink"]


@dataclass(frozen=True, slots=True)
class ConnectorHealth:
    """A connector's state as an operator reads it (no I/O to build; cheap enough for every scrape)."""

    ready: bool  # can send now
    sessions_up: int | None = None  # SMPP binds bound; None where the idea does not apply
    sessions_allowed: int | None = None  # binds this instance may open now (its share of the account)
    sessions_configured: int | None = None  # binds configured
    in_flight: int = 0  # taken and not answered yet
    capacity: int | None = None  # how many may be in flight at once now (window x bound binds)
    last_error: str | None = None  # the most recent problem, in a few words (never a secret)
    last_error_at: float | None = None  # when (Unix time)
    detail: Mapping[str, Any] = field(default_factory=dict)  # e.g. each bind's state


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

    async def query_receipts(self, queries: Sequence[ReceiptQuery]) -> Sequence[Receipt] | None:
        """Ask the carrier what became of messages whose receipt is overdue (SMPP ``query_sm``).

        The engine calls it at the receipt deadline, before settling them
        ``unknown``: the final receipts it returns are applied as if received.
        None: this connector cannot ask (the default)."""
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

    def health(self) -> ConnectorHealth:
        """What an operator needs to know now (``gateway status``, ``/readyz``, ``/status``)."""
        return ConnectorHealth(ready=self.is_ready())

    async def rebind(self) -> None:
        """Drop every session and establish it again (an operator's ``rebind``). Default: nothing to do."""
        return None

    def session_allowance(self) -> int | None:
        """How many sessions the account allows across every instance; None: not limited."""
        return None

    def sessions_wanted(self) -> int:
        """How many sessions this instance would open with no account limit."""
        return 1

    async def set_session_budget(self, sessions: int) -> None:
        """Open at most ``sessions`` sessions from now on (closing the others first)."""
        return None

    def http_routes(self) -> Sequence[Any]:
        """aiohttp ``RouteDef``s for delivery-report webhooks, mounted by the daemon's
        HTTP server under ``/reports/{connector name}/``. Handlers store what they
        receive through the sink given to :meth:`run` *before* answering 2xx."""
        return ()
