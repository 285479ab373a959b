"""Checking one message before it may join a batch (pure: no I/O).

Every refusal here is final and no request is made; ``reason`` starts with the
slug (``unregistered_sender``, ``too_long``, ``unencodable``, ``lms_abroad``,
``bad_pictures``, ``ad_optout_missing``, ...), and the detail never holds the text.

:func:`plan` decides what needs no state: the type (SMS, LMS, MMS; see
:func:`gateway.korean.choose_type`), the endpoint, the title, the cost for
rate limits. :func:`prepare` adds what needs the connector's state: the
sender number registered with NHN, the advertising wording and its 080
number, the pictures.

International (non-+82) recipients get SMS only: NHN cuts them into GSM-7 or
UCS-2 parts (at most 765 / 335 characters) and bills each part, so ``cost``
counts parts; their text must fit UCS-2 (no emoji). LMS/MMS cannot go abroad
(NHN ``-2024``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gateway.korean import (
    Chosen,
    MessageType,
    Picture,
    Refused,
    SpecError,
    choose_type,
    describe_characters,
    is_korean_number,
    parse_request,
    pictures_problem,
)
from gateway.nhn_sms.api import SendRecipient, digits, national, recipient_fields
from gateway.nhn_sms.config import NhnSmsConnectorConfig
from gateway.nhn_sms.numbers import NumberBook
from gateway.nhn_sms.reasons import NhnReason
from gateway.port import OutboundMessage, Outcome, SendResult, split_reason, with_text

__all__ = ["Plan", "Prepared", "grouping_key", "plan", "prepare", "send_no"]

_GSM_EXTENSION = frozenset("^{}\\[~]|€\f")
_INTERNATIONAL_GSM_MAX = 765  # 5 parts of 153 septets (international-sending-policy § 과금 정책)
_INTERNATIONAL_UCS2_MAX = 335  # 5 parts of 67
# "(광고)" first; "무료수신거부"/"무료거부" and an 080 number last; spaces, brackets and "-" allowed.
_AD_PREFIX = re.compile(r"^\s*\(광고\)")
_AD_OPTOUT = re.compile(r"무\s*료\s*(?:수\s*신\s*)?거\s*부\s*[\]\)]?\s*[:：]?\s*(080[\d\s-]{6,12}\d)\s*\W*$")


@dataclass(frozen=True, slots=True)
class Plan:
    """What a message goes out as, decided without state (``cost`` is what rate limits charge)."""

    type: MessageType
    endpoint: str  # sms | mms | ad-sms | ad-mms
    title: str | None
    bytes: int | None
    cost: int
    recipient: SendRecipient
    attachments: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Prepared:
    message: OutboundMessage
    plan: Plan
    send_no: str
    pictures: tuple[Picture, ...] = ()

    @property
    def batch_key(self) -> tuple[Any, ...]:
        """Messages with the same key may share one request (one body, title, sender and pictures)."""
        p = self.plan
        return (p.endpoint, self.send_no, p.title, self.message.body, p.attachments)


def grouping_key(config: NhnSmsConnectorConfig, message: OutboundMessage) -> str:
    """The message's ``recipientGroupingKey``, the same for every attempt: also its carrier id."""
    return f"{config.key_prefix}-{message.id}"


def send_no(sender: str) -> str:
    """NHN's ``sendNo``: digits only, in national form (``+82 1544-6859`` → ``15446859``, ``+82 2-...`` → ``02...``)."""
    return national(sender)


def _refuse(message: OutboundMessage, slug: str, text: str, detail: Mapping[str, Any] | None = None) -> SendResult:
    """FAILED with reason ``slug``; ``text`` (after the slug, if it repeats it) goes into the detail."""
    return SendResult(message.id, Outcome.FAILED, reason=slug, detail=with_text(detail, split_reason(text)[1] or None))


def _international_parts(text: str) -> tuple[int, int, str] | None:
    """(parts, units, alphabet) for an international SMS, or None when it exceeds NHN's limits."""
    if text.isascii() and "`" not in text:
        units = len(text) + sum(1 for ch in text if ch in _GSM_EXTENSION)
        if units > _INTERNATIONAL_GSM_MAX:
            return None
        return (1 if units <= 160 else -(-units // 153)), units, "gsm7"
    units = len(text.encode("utf-16-be")) // 2
    if units > _INTERNATIONAL_UCS2_MAX:
        return None
    return (1 if units <= 70 else -(-units // 67)), units, "ucs2"


def plan(message: OutboundMessage, config: NhnSmsConnectorConfig) -> Plan | SendResult:
    """The type, endpoint and cost of ``message``, or the FAILED result that refuses it."""
    if message.channel != "sms":
        return _refuse(
            message, "wrong_channel", f"wrong_channel: NHN Cloud SMS sends channel sms, not {message.channel!r}"
        )
    try:
        request = parse_request(message.extras)
    except SpecError as exc:
        return _refuse(message, "bad_extras", f"bad_extras: {exc}")
    korean = is_korean_number(message.recipient)
    choice = choose_type(
        message.body,
        request,
        korean_recipient=korean,
        korean_route=True,
        default_title=config.lms_default_title or None,
        title_max_bytes=config.title_max_bytes,
    )
    if isinstance(choice, Refused):
        return _refuse(message, choice.slug, choice.reason, choice.detail)
    assert isinstance(choice, Chosen)
    number, international = recipient_fields(message.recipient)
    recipient = SendRecipient(grouping_key(config, message), number, international)
    ad = message.kind == "advertising"
    cost = 1
    if not korean:
        astral = [(pos, ch) for pos, ch in enumerate(message.body) if ord(ch) > 0xFFFF]
        if astral:
            return _refuse(
                message,
                "unencodable",
                f"unencodable: an international SMS is sent in UCS-2, which cannot carry {describe_characters(astral)}",
            )
        parts = _international_parts(message.body)
        if parts is None:
            return _refuse(
                message,
                "too_long",
                f"too_long: an international SMS holds {_INTERNATIONAL_GSM_MAX} GSM-7 or "
                f"{_INTERNATIONAL_UCS2_MAX} UCS-2 characters (NHN -2048)",
            )
        cost = parts[0]
    endpoint = ("ad-" if ad else "") + ("sms" if choice.type is MessageType.SMS else "mms")
    return Plan(choice.type, endpoint, choice.title, choice.bytes, cost, recipient, request.attachments)


def prepare(
    message: OutboundMessage,
    planned: Plan,
    *,
    numbers: NumberBook,
    pictures: Mapping[int, Picture],
) -> Prepared | SendResult:
    """A batch-ready message, or the result that refuses it (FAILED) or holds it back (RETRY)."""
    number = send_no(message.sender)
    if not numbers.loaded:
        return SendResult(
            message.id,
            Outcome.RETRY,
            reason=NhnReason.NUMBERS_UNAVAILABLE,
            detail={"detail": "the registered sender numbers could not be loaded from NHN yet"},
            retry_after=30.0,
        )
    if not numbers.sender_usable(number):
        return _refuse(
            message,
            "unregistered_sender",
            f"unregistered_sender: {number} is not a registered, unblocked sender number of this NHN project"
            " (register it in NHN's console)",
        )
    if message.kind == "advertising":
        if not _AD_PREFIX.search(message.body):
            return _refuse(message, "ad_prefix_missing", "ad_prefix_missing: advertising must start with (광고)")
        match = _AD_OPTOUT.search(message.body)
        if match is None:
            return _refuse(
                message,
                "ad_optout_missing",
                "ad_optout_missing: advertising must end with 무료수신거부 (or 무료거부) and an 080 number (NHN -6003)",
            )
        optout = digits(match.group(1))
        if not numbers.optout_usable(optout):
            return _refuse(
                message,
                "ad_optout_number_unknown",
                f"ad_optout_number_unknown: {optout} is not an 080 number of this project's NHN opt-out service"
                " in use (NHN -6004)",
            )
    chosen: Sequence[Picture] = ()
    if planned.attachments:
        missing = [i for i in planned.attachments if i not in pictures]
        if missing:
            return _refuse(message, "bad_pictures", f"bad_pictures: attachment(s) {missing} do not exist")
        chosen = [pictures[i] for i in planned.attachments]
        problem = pictures_problem(chosen)
        if problem is not None:
            return _refuse(message, "bad_pictures", f"bad_pictures: {problem}")
    return Prepared(message, planned, number, tuple(chosen))
