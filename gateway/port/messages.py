"""The messages that cross the port: one claimed outbound message, one inbound (MO) message."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gateway.numbers import BadNumber, Number

__all__ = ["InboundMessage", "OutboundMessage"]


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """One claimed message, as a connector sees it (immutable)."""

    id: int
    channel: str  # "sms" | "alimtalk"
    sender: str  # SMS source address, or the Kakao sender profile key
    recipient: str  # E.164 where it could be read as a number (``number``), else as given
    body: str
    kind: str = "informational"  # "informational" | "advertising"
    priority: int = 0
    campaign_id: str | None = None
    expires_at: datetime | None = None
    extras: Mapping[str, Any] = field(default_factory=dict)
    attempts: int = 1  # 1 on the first try
    created_at: datetime | None = None
    idempotency_key: str | None = None
    send_at: datetime | None = None  # upstream's "not before" (None: as soon as enqueued)
    # The last moment the message is worth delivering: min(expires_at, first
    # sendable moment + max age), set by the policy layer. SMPP caps validity_period by it.
    deadline: datetime | None = None
    # Set by the policy layer when it allows the message: it may be handed to a
    # connector only before this moment (its deadline, or the end of the quiet-hours
    # window it was allowed in); the last check before sending defers it after that.
    allowed_until: datetime | None = None
    # The recipient as the queue read it at claim, once (gateway.numbers): a Number (E.164 and
    # the carriers' forms) or a BadNumber (not a possible number); None when nobody read it
    # (a message built by hand). The policy and the connectors use it instead of parsing again.
    number: Number | BadNumber | None = None
    # An earlier attempt may have reached the peer (its outcome was unknown: a timeout,
    # a crash, a shutdown). A connector that can look a message up does so before resending.
    may_be_duplicate: bool = False
    # What an earlier attempt left for the connector to resume (``SendResult.resume`` as the
    # queue stored it, with ``"connector"``: the connector that wrote it): SMPP keeps the
    # concatenation reference and the carrier id of each accepted segment, so that only
    # the missing segments go again, with the same reference. None: nothing to resume.
    partial: Mapping[str, Any] | None = None
    # Resends so far after an attempt whose outcome was unknown (engine.retry.max_unknown_resends).
    unknown_resends: int = 0


@dataclass(frozen=True, slots=True)
class InboundMessage:
    connector: str
    sender: str  # the mobile user
    recipient: str  # our short code / source address
    body: str
    received_at: datetime | None = None
    detail: Mapping[str, Any] | None = None
