"""From an ``OutboundMessage`` to the submit_sm PDUs that carry it (sans-I/O).

``prepare`` applies one connector's rules to one message: the sender
allow-list, the message type (``extras.type``, ``extras.attachments``; with
``message_types = "korean"`` the Korean carriers' byte rules, see
:mod:`gateway.korean`), the alphabet policy, the long-message method and
segment limit, addressing (TON/NPI), registered_delivery and the validity
period, which never reaches past the message's deadline. It returns either the
PDUs, in segment order, or the ``SendResult`` that refuses the message (FAILED
with reason ``unknown_sender``, ``unencodable``, ``too_long``,
``lms_unsupported``, ``type_unsupported``, ``lms_abroad``,
``deadline_passed``, ``invalid_recipient`` or ``invalid_pdu``). A refusal's
detail never holds the text or the addresses.

The destination is written from the recipient as the queue read it at claim
(``OutboundMessage.number``, :mod:`gateway.numbers`) in the connector's
``destination_format`` (:func:`dest_address`), so that ``010-2345-6789`` and
``+82 10-2345-6789`` reach the carrier as one and the same address.
"""

from __future__ import annotations

import re
from datetime import datetime

from gateway.korean import (
    Chosen,
    KoreanReason,
    MessageType,
    Refused,
    SpecError,
    choose_type,
    is_korean_number,
    parse_request,
)
from gateway.numbers import BadNumber, Number, canonical, country_code_of
from gateway.port import OutboundMessage, Outcome, SendResult, split_reason, with_text
from gateway.smpp.config import SmppConnectorConfig
from gateway.smpp.protocol.concat import ConcatMethod, MessageTooLongError, Segment, build_segments
from gateway.smpp.protocol.errors import LocalProtocolError
from gateway.smpp.protocol.pdu import SubmitSm, format_relative_time
from gateway.smpp.protocol.status import status_name
from gateway.smpp.protocol.text import Encoding, EncodingPolicy, TextEncodingError, is_gsm7
from gateway.smpp.protocol.text import encode as encode_text
from gateway.smpp.protocol.tlv import EMPTY_TLVS as _NO_TLVS
from gateway.smpp.protocol.tlv import Tlvs
from gateway.smpp.reasons import SmppReason

__all__ = ["Preparer", "dest_address", "source_ton_npi"]

_MAX_RELATIVE = 99 * 86_400


def _gsm_basic_tables() -> tuple[bytes, bytes]:
    """Latin-1 -> GSM basic-table translation, and the Latin-1 octets that have a basic-table septet."""
    table = bytearray(range(256))
    basic = bytearray()
    for code in range(256):
        try:
            septets = encode_text(chr(code), Encoding.GSM7)
        except TextEncodingError:
            continue
        if len(septets) == 1:
            table[code] = septets[0]
            basic.append(code)
    return bytes(table), bytes(basic)


_LATIN1_TO_GSM, _GSM_BASIC_LATIN1 = _gsm_basic_tables()
_POSITION = re.compile(r"at position (\d+) cannot be encoded in (\w+)")


def source_ton_npi(sender: str) -> tuple[str, int, int]:
    """The address to send and its automatic TON/NPI: ``+digits`` international, digits unknown/ISDN,
    anything else alphanumeric (5/0)."""
    if sender.startswith("+") and sender[1:].isdigit():
        return sender[1:], 1, 1
    if sender.isdigit():
        return sender, 0, 1
    return sender, 5, 0


def dest_address(number: Number, destination_format: str, home_country_code: int = 0) -> tuple[str, int, int]:
    """The destination_addr, dest_addr_ton and dest_addr_npi for ``number`` (SMPP 3.4 section 5.2.5/5.2.6).

    * ``international``: the E.164 digits without "+", TON 1 (international), NPI 1 (ISDN/E.164);
    * ``national``: the national significant number, no trunk prefix, TON 2 (national), NPI 1;
    * ``domestic``: the number as dialled in its country, trunk prefix included ("01023456789"),
      TON 0 (unknown: the SMSC analyses it, as it does a subscriber's dialled digits), NPI 1.

    The national forms are for numbers of the carrier's own country (``home_country_code``);
    any other number is sent in international form, which every SMSC can route.
    """
    if destination_format == "international" or number.country_code != home_country_code:
        return number.international, 1, 1
    if destination_format == "national":
        return number.national, 2, 1
    return number.domestic, 0, 1


def _refuse(
    message: OutboundMessage, reason: str, *, code: str | None = None, detail: dict | None = None
) -> SendResult:
    return SendResult(message.id, Outcome.FAILED, code=code, reason=reason, detail=detail)


class Preparer:
    """One connector's message-to-PDU rules; ``reference`` is the concatenation counter it owns."""

    def __init__(self, config: SmppConnectorConfig, *, reference: int = 0) -> None:
        self.config = cfg = config
        self.reference = reference
        self.last_reference = reference  # the reference of the latest long message cut
        self._method = ConcatMethod(cfg.long_message)
        self._policy = EncodingPolicy(cfg.data_coding)
        self._allowed = tuple(Encoding(a) for a in cfg.allowed_encodings)
        self._senders = frozenset(cfg.senders) if cfg.senders is not None else None
        self._home_region = cfg.home_region
        self._home_cc = country_code_of(cfg.home_region) if cfg.home_region else 0
        self._korean = cfg.message_types == "korean"
        self._ucs2 = self._policy is EncodingPolicy.UCS2 or (
            self._policy is EncodingPolicy.AUTO and Encoding.UCS2 in self._allowed
        )
        auto = self._policy is EncodingPolicy.AUTO
        self._fast_gsm = not cfg.gsm7_packed and (
            self._policy is EncodingPolicy.GSM7 or (auto and Encoding.GSM7 in self._allowed)
        )
        self._fast_ucs2 = self._policy is EncodingPolicy.UCS2 or (auto and Encoding.UCS2 in self._allowed)
        self._gsm_allowed = auto and Encoding.GSM7 in self._allowed
        seconds = cfg.validity_period_seconds
        self._default_validity = format_relative_time(seconds) if seconds else ""
        # An 8-bit UDH reference wraps at 256; SAR and 16-bit UDH at 65536.
        self._ref_mod = 256 if self._method is ConcatMethod.UDH and cfg.udh_ref_bits == 8 else 65536

    def segment(self, message: OutboundMessage, *, reference: int | None = None) -> list[Segment] | SendResult:
        """Cut ``message`` into segments (what ``cost`` counts), or the FAILED result that refuses it.

        A long message takes the next concatenation reference (``last_reference``), or
        ``reference`` when given: the one its first segments went out with (a resumed message)."""
        cfg = self.config
        if self._senders is not None and message.sender not in self._senders:
            return _refuse(message, SmppReason.UNKNOWN_SENDER)
        extras = message.extras
        if self._korean or (extras and ("type" in extras or "attachments" in extras)):
            refused = self._message_type(message)
            if refused is not None:
                return refused
        single = self._single(message.body)
        if single is not None:
            return [single]
        if reference is None:
            self.reference = (self.reference + 1) % self._ref_mod
            reference = self.reference
        self.last_reference = reference
        try:
            return build_segments(
                message.body,
                reference=reference,
                method=self._method,
                policy=self._policy,
                allowed=self._allowed,
                ref_bits=cfg.udh_ref_bits,
                gsm7_packed=cfg.gsm7_packed,
                max_segments=cfg.max_segments,
            )
        except TextEncodingError as exc:
            positions = {enc: int(pos) for pos, enc in _POSITION.findall(str(exc))}
            return _refuse(message, SmppReason.UNENCODABLE, detail={"positions": positions, "policy": cfg.data_coding})
        except MessageTooLongError:
            return _refuse(message, SmppReason.TOO_LONG, detail={"max_segments": cfg.max_segments})

    def _message_type(self, message: OutboundMessage) -> SendResult | None:
        """The refusal of a message this connector cannot send as the type it needs, or None to segment it."""
        try:
            request = parse_request(message.extras)
        except SpecError as exc:
            return _refuse(message, SmppReason.BAD_EXTRAS, detail={"detail": str(exc)})
        korean = self._korean and is_korean_number(message.recipient)
        choice = choose_type(
            message.body,
            request,
            korean_recipient=korean or is_korean_number(message.recipient),
            korean_route=korean,
            ucs2=self._ucs2,
        )
        if isinstance(choice, Refused):
            return _refuse(message, choice.slug, detail=with_text(choice.detail, split_reason(choice.reason)[1]))
        assert isinstance(choice, Chosen)
        if choice.type is MessageType.MMS:
            return _refuse(
                message,
                KoreanReason.TYPE_UNSUPPORTED,
                detail={
                    "detail": "SMPP carries no pictures (MMS); route it to an MMS-capable connector",
                    "message_type": "mms",
                },
            )
        if choice.type is MessageType.LMS and self.config.lms == "refuse":
            return _refuse(
                message,
                SmppReason.LMS_UNSUPPORTED,
                detail={
                    "detail": f"{choice.bytes:,} bytes in EUC-KR (CP949) need an LMS; this SMPP connector"
                    ' sends SMS of at most 90 bytes to Korean numbers (lms = "refuse")',
                    "bytes": choice.bytes,
                    "message_type": "lms",
                },
            )
        return None

    def _single(self, body: str) -> Segment | None:
        """The common case without walking the text character by character: it fits one SMS,
        in GSM 7-bit (basic table, unpacked) or else UCS-2. What ``build_segments`` would
        give (pinned by a property test); None when the general path must decide."""
        if self._fast_gsm and len(body) <= 160:
            try:
                raw = body.encode("latin-1")
            except UnicodeEncodeError:
                raw = None
            if raw is not None and not raw.translate(None, _GSM_BASIC_LATIN1):
                return Segment(raw.translate(_LATIN1_TO_GSM), 0, 0x00, None, None, 1, 1)
        if self._fast_ucs2 and len(body) <= 140 and (not self._gsm_allowed or not is_gsm7(body)):
            try:
                raw = body.encode("utf-16-be")
            except UnicodeEncodeError:
                return None
            if len(raw) <= 140:
                return Segment(raw, 0, 0x08, None, None, 1, 1)
        return None

    def build(
        self, message: OutboundMessage, segments: list[Segment], now: datetime
    ) -> tuple[SubmitSm, ...] | SendResult:
        """The submit_sm PDUs for ``segments`` in order, or the FAILED result that refuses the message.

        ``now`` is the wall clock (aware): the validity period is computed here, at
        send time, so it never reaches past the message's deadline.
        """
        cfg = self.config
        validity = self._validity(message, now)
        if validity is None:
            return _refuse(message, SmppReason.DEADLINE_PASSED)
        number = message.number
        if number is None:  # not read at claim (a message built by hand): read it now
            number = canonical(message.recipient, self._home_region)
        if isinstance(number, BadNumber):
            return _refuse(message, SmppReason.INVALID_RECIPIENT, detail={"detail": number.why})
        source, ston, snpi = source_ton_npi(message.sender)
        dest, dton, dnpi = dest_address(number, cfg.destination_format, self._home_cc)
        if cfg.source_ton is not None:
            ston = cfg.source_ton
        if cfg.source_npi is not None:
            snpi = cfg.source_npi
        if cfg.dest_ton is not None:
            dton = cfg.dest_ton
        if cfg.dest_npi is not None:
            dnpi = cfg.dest_npi
        pdus = []
        try:
            for seg in segments:
                tlvs = _NO_TLVS
                if seg.sar is not None:
                    ref, total, seq = seg.sar
                    tlvs = Tlvs(sar_msg_ref_num=ref, sar_total_segments=total, sar_segment_seqnum=seq)
                elif seg.message_payload is not None:
                    tlvs = Tlvs(message_payload=seg.message_payload)
                pdus.append(
                    SubmitSm(
                        service_type=cfg.service_type,
                        source_addr_ton=ston,
                        source_addr_npi=snpi,
                        source_addr=source,
                        dest_addr_ton=dton,
                        dest_addr_npi=dnpi,
                        destination_addr=dest,
                        esm_class=seg.esm_class_flags,
                        validity_period=validity,
                        registered_delivery=cfg.registered_delivery,
                        data_coding=seg.data_coding,
                        short_message=seg.short_message,
                        tlvs=tlvs,
                    )
                )
        except LocalProtocolError as exc:
            code = f"0x{exc.error_status:08x}"
            return _refuse(message, SmppReason.INVALID_PDU, code=code, detail={"status": status_name(exc.error_status)})
        return tuple(pdus)

    def prepare(self, message: OutboundMessage, now: datetime) -> tuple[SubmitSm, ...] | SendResult:
        """``segment`` then ``build``."""
        segments = self.segment(message)
        if isinstance(segments, SendResult):
            return segments
        return self.build(message, segments, now)

    def _validity(self, message: OutboundMessage, now: datetime) -> str | None:
        """The relative validity_period ("" for the SMSC default), or None if the deadline has passed."""
        if message.deadline is None:
            return self._default_validity
        remaining = int((message.deadline - now).total_seconds())  # floor: never past the deadline
        if remaining < 1:
            return None
        seconds = self.config.validity_period_seconds
        return format_relative_time(min(seconds, remaining) if seconds else min(remaining, _MAX_RELATIVE))
