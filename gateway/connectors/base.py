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
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import anyio
from anyio.abc import TaskStatus

__all__ = [
    "Connector",
    "InboundMessage",
    "Outcome",
    "OutboundMessage",
    "Receipt",
    "ReceiptState",
    "ResultSink",
    "SendResult",
]


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """One claimed message, as a connector sees it (immutable)."""

    id: int
    channel: str  # "sms" | "alimtalk"
    sender: str  # SMS source address, or the Kakao sender profile key
    recipient: str  # E.164 where it could be normalised, else as given
    body: str
    kind: str = "informational"  # "informational" | "advertising"
    priority: int = 0
    campaign_id: str | None = None
    expires_at: datetime | None = None
    extras: Mapping[str, Any] = field(default_factory=dict)
    attempts: int = 1  # 1 on the first try
    created_at: datetime | None = None
    idempotency_key: str | None = None
    # The last moment the message is worth delivering: min(expires_at, created_at
    # + max age), set by the policy layer. SMPP caps validity_period by it.
    deadline: datetime | None = None


class Outcome(enum.Enum):
    """What became of one ``send``."""

    SUBMITTED = "submitted"  # the carrier/provider accepted it; carrier_ids says under which ids
    RETRY = "retry"  # transient failure: back to the queue with backoff, counts as an attempt
    THROTTLED = "throttled"  # carrier said "slow down": back to the queue, not counted as a failure
    FAILED = "failed"  # permanent: the carrier refused it (code/reason say why)
    UNKNOWN = "unknown"  # sent, but no answer (timeout, lost bind): may be a duplicate if retried
    FALLBACK = "fallback"  # channel-level failure that asks for the message's fallback (Alimtalk -> SMS)


@dataclass(frozen=True, slots=True)
class SendResult:
    message_id: int
    outcome: Outcome
    carrier_ids: tuple[str, ...] = ()  # one per segment for multipart SMS
    code: str | None = None  # the carrier's / provider's own code, as text
    reason: str | None = None  # human-readable, never the body
    retry_after: float | None = None  # seconds, when the peer said so
    segments: int = 1
    detail: Mapping[str, Any] | None = None  # extra JSON for the event


class ReceiptState(enum.Enum):
    DELIVERED = "delivered"
    UNDELIVERABLE = "undeliverable"
    EXPIRED = "expired"
    FAILED = "failed"  # rejected / deleted at the SMSC
    UNKNOWN = "unknown"
    ACCEPTED = "accepted"  # intermediate: not final


@dataclass(frozen=True, slots=True)
class Receipt:
    connector: str
    carrier_id: str  # normalised as the connector stores it in SendResult.carrier_ids
    state: ReceiptState
    code: str | None = None  # e.g. SMPP "err" / network_error_code, provider result code
    done_at: datetime | None = None
    detail: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class InboundMessage:
    connector: str
    sender: str  # the mobile user
    recipient: str  # our short code / source address
    body: str
    received_at: datetime | None = None
    detail: Mapping[str, Any] | None = None


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
