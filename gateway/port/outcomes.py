"""What happened to a message: one typed vocabulary shared by the queue and every connector.

* :class:`MessageState` — where a message stands (the ``state`` column of
  ``gateway.outbox``, ``gateway.messages`` and ``gateway.events``);
* :class:`Outcome` and :class:`SendResult` — what one ``Connector.send`` came to;
* :class:`ReceiptState` and :class:`Receipt` — what a delivery report says;
* :class:`Fallback` — a replacement message a connector asks the queue to send
  when this one fails in a way that calls for it (Alimtalk -> SMS/LMS). The
  connector that owns the rule builds it; the queue only enqueues it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["Fallback", "MessageState", "Outcome", "Receipt", "ReceiptQuery", "ReceiptState", "SendResult"]


class MessageState(enum.StrEnum):
    """Where a message stands. The first three live in the outbox, the rest in the log."""

    QUEUED = "queued"  # waiting to be claimed
    DEFERRED = "deferred"  # waiting for due_at (retry, throttling, quiet hours, schedule)
    SENDING = "sending"  # claimed: leased by one instance
    SUBMITTED = "submitted"  # the carrier/provider accepted it; a receipt may follow
    DELIVERED = "delivered"
    UNDELIVERABLE = "undeliverable"
    FAILED = "failed"
    EXPIRED = "expired"
    SUPPRESSED = "suppressed"  # not sent by policy (opt-out, duplicate, fatigue, consent)
    UNKNOWN = "unknown"  # may have been delivered; a late receipt still upgrades it

    @property
    def is_live(self) -> bool:
        """Still in the outbox (the daemon will act on it)."""
        return self in _LIVE

    @property
    def is_final(self) -> bool:
        """Nothing more will be sent (a receipt may still upgrade ``unknown``)."""
        return not self.is_live and self is not MessageState.SUBMITTED


_LIVE = frozenset({MessageState.QUEUED, MessageState.DEFERRED, MessageState.SENDING})


class Outcome(enum.Enum):
    """What became of one ``send``."""

    SUBMITTED = "submitted"  # the carrier/provider accepted it; carrier_ids says under which ids
    RETRY = "retry"  # transient failure: back to the queue with backoff, counts as an attempt
    THROTTLED = "throttled"  # carrier said "slow down": back to the queue, not counted as a failure
    FAILED = "failed"  # permanent: the carrier refused it (code/reason say why)
    UNKNOWN = "unknown"  # sent, but no answer (timeout, lost bind): may be a duplicate if retried


@dataclass(frozen=True, slots=True)
class Fallback:
    """A replacement message for the same recipient, on another channel.

    Carried by a FAILED :class:`SendResult` (enqueued at once) or a SUBMITTED
    one (kept with the message, enqueued if a receipt asks for it)."""

    channel: str
    sender: str
    body: str
    extras: Mapping[str, Any] = field(default_factory=dict)
    # Set when the connector already knows this fallback cannot be sent (e.g. text the
    # SMS alphabet cannot carry): when it is due, the queue records a 'fallback_skipped'
    # event with this reason instead of enqueuing it.
    skip_reason: str | None = None

    def __post_init__(self) -> None:
        if not self.sender or not self.body:
            raise ValueError("a fallback needs a sender and a body")

    def as_json(self) -> dict[str, Any]:
        out = {"channel": self.channel, "sender": self.sender, "body": self.body, "extras": dict(self.extras)}
        if self.skip_reason is not None:
            out["skip_reason"] = self.skip_reason
        return out


@dataclass(frozen=True, slots=True)
class SendResult:
    message_id: int
    outcome: Outcome
    carrier_ids: tuple[str, ...] = ()  # one per segment for multipart SMS
    code: str | None = None  # the carrier's / provider's own code, as text
    reason: str | None = None  # a snake_case reason, never the body
    retry_after: float | None = None  # seconds, when the peer said so
    segments: int = 1
    detail: Mapping[str, Any] | None = None  # extra JSON for the event
    fallback: Fallback | None = None
    # Requeued (RETRY, THROTTLED, UNKNOWN) after part of the message reached the carrier: what
    # the next attempt needs to send only the rest (JSON; OutboundMessage.partial gives it back).
    resume: Mapping[str, Any] | None = None


class ReceiptState(enum.Enum):
    DELIVERED = "delivered"
    UNDELIVERABLE = "undeliverable"
    EXPIRED = "expired"
    FAILED = "failed"  # rejected / deleted at the SMSC
    UNKNOWN = "unknown"
    ACCEPTED = "accepted"  # intermediate: not final

    @property
    def message_state(self) -> MessageState | None:
        """The message state a receipt in this state settles on (None: intermediate)."""
        return None if self is ReceiptState.ACCEPTED else MessageState(self.value)


@dataclass(frozen=True, slots=True)
class Receipt:
    connector: str
    carrier_id: str  # normalised as the connector stores it in SendResult.carrier_ids
    state: ReceiptState
    code: str | None = None  # e.g. SMPP "err" / network_error_code, provider result code
    done_at: datetime | None = None
    detail: Mapping[str, Any] | None = None
    fallback: bool = False  # a failure that asks for the message's stored fallback
    # Set when the connector received a receipt it cannot use (a registered reason code, e.g.
    # receipt_malformed): the queue records it in gateway.receipts_dropped instead of applying it.
    dropped: str | None = None


@dataclass(frozen=True, slots=True)
class ReceiptQuery:
    """One carrier id to ask the carrier about (SMPP query_sm): its receipt is overdue."""

    message_id: int
    carrier_id: str
    sender: str  # the source address it was submitted with (SMSCs look messages up by both)
