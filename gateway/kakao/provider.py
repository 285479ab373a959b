"""The provider adapter interface: what the connector asks of an Alimtalk provider.

The connector owns batching, templates, retries, the circuit breaker, the send
journal and the mapping to outcomes; an adapter only speaks one provider's API:

* ``send_batch(batch)`` posts one request for up to ``max_batch`` recipients of
  one sender profile and template, and returns the provider's answer per
  recipient (or raises one of :mod:`gateway.httpclient.errors`);
* ``find_sent(key, since, until)`` lists what the provider accepted under one
  sender grouping key (the provider key of a request) in a time window: how an
  unknown outcome is resolved before anything is sent again;
* ``fetch_updates(since, until)`` returns every result that changed in a time
  window (the gap-filler behind the webhook), ``fetch_one`` one recipient's
  whole record (with the provider's SMS resend status);
* ``parse_webhook(body)`` turns a webhook body into result reports and template
  status updates (authentication is checked before, by the webhook handler);
* ``list_templates(sender_key)`` / ``get_template`` return a sender profile's templates.

Codes stay the provider's own strings; :mod:`gateway.kakao.codes` classifies them.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = [
    "BatchAnswer",
    "DeliveryReport",
    "Found",
    "Hooks",
    "ProviderAdapter",
    "RecipientAnswer",
    "RecipientRequest",
    "Resend",
    "SendBatch",
    "TemplateUpdate",
    "carrier_id",
    "split_carrier_id",
]


def carrier_id(request_id: str, recipient_seq: int | str) -> str:
    """The carrier id convention of this connector: ``"{requestId}:{recipientSeq}"``."""
    return f"{request_id}:{recipient_seq}"


def split_carrier_id(cid: str) -> tuple[str, int] | None:
    """``(requestId, recipientSeq)`` of a carrier id, or None when it is not one of ours."""
    request_id, _, seq = cid.rpartition(":")
    if not request_id or not seq.isdigit():
        return None
    return request_id, int(seq)


@dataclass(frozen=True, slots=True)
class Resend:
    """The provider's own SMS/LMS resend, used in ``fallback_mode = "provider"``."""

    type: str  # "SMS" | "LMS"
    content: str
    sender: str
    title: str | None = None


@dataclass(frozen=True, slots=True)
class RecipientRequest:
    """One recipient of a raw send: every text already substituted."""

    message_id: int
    recipient_no: str
    content: str
    buttons: tuple[Mapping[str, Any], ...] = ()
    resend: Resend | None = None
    grouping_key: str | None = None
    title: str | None = None
    header: str | None = None
    item: Mapping[str, Any] | None = None
    highlight: Mapping[str, Any] | None = None
    represent_link: Mapping[str, Any] | None = None
    quick_replies: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class SendBatch:
    sender_key: str
    template_code: str
    recipients: tuple[RecipientRequest, ...]
    # The provider key of these messages: X-NC-API-IDEMPOTENCY-KEY and senderGroupingKey,
    # the same on every try of every attempt (see gateway.kakao.journal).
    idempotency_key: str
    auth: bool = False  # the authentication-message endpoint (OTP)
    resend_off: bool = False  # isResend false for every recipient without a Resend (gateway fallback mode)


@dataclass(frozen=True, slots=True)
class RecipientAnswer:
    """The provider's synchronous answer for one recipient of a batch."""

    index: int  # position in SendBatch.recipients
    code: str
    message: str
    carrier_id: str | None  # set when the recipient was accepted (or taken for the provider's resend)


@dataclass(frozen=True, slots=True)
class BatchAnswer:
    request_id: str | None
    code: str  # the request-level code ("0" when the request as a whole was taken)
    message: str
    recipients: tuple[RecipientAnswer, ...]
    missing: tuple[int, ...] = ()  # indexes of recipients the answer does not mention


@dataclass(frozen=True, slots=True)
class Found:
    """A recipient the provider holds (list query): it was accepted."""

    grouping_key: str
    request_id: str
    recipient_seq: int
    code: str | None
    status: str | None

    @property
    def carrier_id(self) -> str:
        return carrier_id(self.request_id, self.recipient_seq)


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """A delivery result (or the state so far) of one accepted recipient."""

    carrier_id: str
    request_id: str
    recipient_seq: int
    code: str | None  # None while there is no result
    message: str
    final: bool
    done_at: datetime | None = None
    resend_status: str | None = None  # RSC01..RSC05 (queries only)
    resend_code: str | None = None
    resend_request_id: str | None = None
    grouping_key: str | None = None
    hook_id: str | None = None
    auth: bool = False


@dataclass(frozen=True, slots=True)
class TemplateUpdate:
    """A template status change (template hook, or the template API)."""

    sender_key: str
    template_code: str
    status: str  # TSC01..TSC04 as NHN sends it
    comments: tuple[str, ...] = ()
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Hooks:
    """What one webhook body carried."""

    reports: tuple[DeliveryReport, ...] = ()
    templates: tuple[TemplateUpdate, ...] = ()
    ignored: int = 0  # hooks of other products or other app keys
    event: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict)


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
    async def find_sent(self, key: str, *, since: datetime, until: datetime, auth: bool = False) -> Sequence[Found]:
        """What the provider accepted under sender grouping key ``key`` between the two moments."""

    @abc.abstractmethod
    async def fetch_updates(self, since: datetime, until: datetime, *, auth: bool = False) -> Sequence[DeliveryReport]:
        """Every result updated between the two moments (final or not)."""

    @abc.abstractmethod
    async def fetch_one(self, request_id: str, recipient_seq: int, *, auth: bool = False) -> DeliveryReport | None:
        """One recipient's record, with the resend status; None when the provider does not know it."""

    @abc.abstractmethod
    def parse_webhook(self, body: bytes) -> Hooks:
        """What an (already authenticated) webhook body carries; raises ProviderProtocolError
        when the body is not what the provider sends."""

    async def list_templates(self, sender_key: str) -> Sequence[Mapping[str, Any]]:
        """Every template of a sender profile, in the provider's shape."""
        raise NotImplementedError

    async def get_template(self, sender_key: str, template_code: str) -> Mapping[str, Any] | None:
        """One template with its block / dormant flags, in the provider's shape."""
        raise NotImplementedError
