"""The provider adapter interface: what the connector asks of an Alimtalk provider.

The connector owns batching, templates, retries, the circuit breaker and the
mapping to outcomes; an adapter only speaks one provider's API:

* ``send_batch(batch)`` posts one request for up to ``max_batch`` recipients of
  one sender profile and template, and returns the provider's answer per
  recipient (or raises one of :mod:`gateway.kakao.errors`);
* ``fetch_results(request_id)`` returns the delivery results known so far;
* ``parse_webhook(body)`` turns a result-webhook body into delivery reports
  (authentication is checked before, by the webhook handler).

Codes stay the provider's own strings; :mod:`gateway.kakao.codes` classifies them.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = [
    "BatchAnswer",
    "DeliveryReport",
    "ProviderAdapter",
    "RecipientAnswer",
    "RecipientRequest",
    "Resend",
    "SendBatch",
    "carrier_id",
]


def carrier_id(request_id: str, recipient_seq: int | str) -> str:
    """The carrier id convention of this connector: ``"{requestId}:{recipientSeq}"``."""
    return f"{request_id}:{recipient_seq}"


@dataclass(frozen=True, slots=True)
class Resend:
    """The provider's own SMS/LMS resend, used in ``fallback_mode = "provider"``."""

    type: str  # "SMS" | "LMS"
    content: str
    sender: str
    title: str | None = None


@dataclass(frozen=True, slots=True)
class RecipientRequest:
    message_id: int
    recipient_no: str
    content: str
    buttons: tuple[Mapping[str, Any], ...] = ()
    resend: Resend | None = None
    grouping_key: str | None = None


@dataclass(frozen=True, slots=True)
class SendBatch:
    sender_key: str
    template_code: str
    recipients: tuple[RecipientRequest, ...]
    idempotency_key: str  # the same for every HTTP try of this batch


@dataclass(frozen=True, slots=True)
class RecipientAnswer:
    """The provider's synchronous answer for one recipient of a batch."""

    index: int  # position in SendBatch.recipients
    code: str
    message: str
    carrier_id: str | None  # set when the recipient was accepted


@dataclass(frozen=True, slots=True)
class BatchAnswer:
    request_id: str | None
    code: str  # the request-level code ("0" when the request as a whole was taken)
    message: str
    recipients: tuple[RecipientAnswer, ...]


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """A delivery result for one accepted recipient."""

    carrier_id: str
    request_id: str
    recipient_seq: int
    code: str | None  # None while not final
    message: str
    final: bool
    done_at: datetime | None = None
    resend_status: str | None = None
    grouping_key: str | None = None


class ProviderAdapter(abc.ABC):
    """One provider account. Use as an async context manager (opens the HTTP session)."""

    max_batch: int = 1000

    async def __aenter__(self) -> ProviderAdapter:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        return None

    @abc.abstractmethod
    async def send_batch(self, batch: SendBatch) -> BatchAnswer:
        """One send request. Raises ProviderUnavailable / ProviderThrottled /
        ProviderRejected / ProviderProtocolError."""

    @abc.abstractmethod
    async def fetch_results(self, request_id: str) -> Sequence[DeliveryReport]:
        """Delivery results of one request known so far (final or not)."""

    @abc.abstractmethod
    def parse_webhook(self, body: bytes) -> Sequence[DeliveryReport]:
        """Reports carried by an (already authenticated) webhook body; raises
        ProviderProtocolError when the body is not what the provider sends."""
