"""What arrives in a deliver_sm / data_sm: delivery receipts and mobile-originated messages (sans-I/O).

``is_receipt`` reads the message-type bits of ``esm_class`` (SMPP 3.4
§5.2.12, bits 5-2): 0x04 SMSC delivery receipt, 0x08 SME delivery
acknowledgement, 0x10 SME manual/user acknowledgement, 0x20 intermediate
delivery notification; with ``detection="auto"`` (the connector's
``receipt_detection``) also the content: the ``receipted_message_id`` /
``message_state`` TLVs, or an Appendix B text, which SMSCs that send receipts
with esm_class 0 still write. All of them become ``Receipt`` objects through
``ReceiptReader``; interim states (enroute, accepted) become
``ReceiptState.ACCEPTED``, which is not final.

Anything else is a mobile-originated message. ``MoAssembler`` decodes its
text (data_coding, GSM packing) and joins the parts of a long one, whether
they carry a UDH or SAR TLVs, with ``concat.Reassembler``. Each part comes with
an opaque ``token`` (the transport's handle to acknowledge it): the tokens of
all parts come back with the whole message, so that no part is acknowledged
before the message holding it is stored. Parts still missing after
``max_age`` seconds are given up: ``expire`` returns what arrived, as a
message flagged ``partial`` in its detail, with its tokens.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Hashable
from datetime import datetime
from typing import Any

from gateway.port import InboundMessage, Receipt, ReceiptState
from gateway.smpp.protocol.concat import ESM_CLASS_UDHI, ReassembledMessage, Reassembler, UdhParseError, parse_udh
from gateway.smpp.protocol.pdu import DataSm, DeliverSm, QuerySmResp, parse_smpp_time
from gateway.smpp.protocol.receipts import (
    DeliveryState,
    IdFormat,
    IdSide,
    message_state_name,
    normalise_message_id,
    parse_receipt,
    state_from_message_state,
    state_from_stat,
)
from gateway.smpp.protocol.text import (
    Encoding,
    TextEncodingError,
    decode,
    encoding_for_data_coding,
    fill_bits_for_udh,
    unpack_septets,
)
from gateway.smpp.protocol.tlv import Tag

__all__ = ["RECEIPT_ESM_BITS", "MoAssembler", "ReceiptReader", "is_receipt", "receipt_from_query"]

RECEIPT_ESM_BITS = 0x3C  # esm_class bits 5-2: the message type of a deliver_sm

_STATES = {
    DeliveryState.DELIVERED: ReceiptState.DELIVERED,
    DeliveryState.EXPIRED: ReceiptState.EXPIRED,
    DeliveryState.FAILED: ReceiptState.FAILED,
    DeliveryState.UNDELIVERABLE: ReceiptState.UNDELIVERABLE,
    DeliveryState.UNKNOWN: ReceiptState.UNKNOWN,
    DeliveryState.ACCEPTED: ReceiptState.ACCEPTED,
    DeliveryState.ENROUTE: ReceiptState.ACCEPTED,
}


def is_receipt(pdu: DeliverSm | DataSm, detection: str = "esm_class") -> bool:
    """True when the PDU reports on a message we sent.

    ``esm_class``: its message-type bits say so. ``auto`` also takes a PDU
    whose esm_class says nothing but that carries ``receipted_message_id`` or
    ``message_state`` (only receipts do), or whose text starts like an
    Appendix B receipt (``id:... stat:...``), as many SMSCs send them with
    esm_class 0. Cheap for MO messages: two dict look-ups and, only when the
    text starts with ``id:``, one anchored regex match.
    """
    if pdu.esm_class & RECEIPT_ESM_BITS:
        return True
    if detection != "auto":
        return False
    tlvs = pdu.tlvs
    if Tag.RECEIPTED_MESSAGE_ID in tlvs or Tag.MESSAGE_STATE in tlvs:
        return True
    raw = _payload(pdu)
    if not raw:
        return False
    if pdu.data_coding == 0x08:  # the odd SMSC writes receipts in UCS-2
        try:
            raw = raw.decode("utf-16-be").encode("latin-1")
        except (UnicodeDecodeError, UnicodeEncodeError):
            return False
    return raw.lstrip()[:3].lower() == b"id:" and _RECEIPT_TEXT.match(raw) is not None


# The shape of an Appendix B receipt text: it starts with id:, and a stat: word follows.
_RECEIPT_TEXT = re.compile(rb"\s*id:\s*[^\s]+\s.*?\bstat:\s*[A-Za-z_]{3,}", re.ASCII | re.IGNORECASE | re.DOTALL)


def _payload(pdu: DeliverSm | DataSm) -> bytes:
    sm = getattr(pdu, "short_message", b"")
    if sm:
        return sm
    payload = pdu.tlvs.get(Tag.MESSAGE_PAYLOAD)
    return payload if isinstance(payload, bytes) else b""


# The exact Appendix B layout most SMSCs write, read without the general parser
# (which is several times slower), with or without the receipt TLVs beside it
# (benchmarks/receipts.py); anything else takes the general path.
_APPENDIX_B = re.compile(
    r"id:([0-9A-Za-z]{1,64}) sub:([0-9]{1,10}) dlvrd:([0-9]{1,10}) submit date:(?:[0-9]{10}|[0-9]{12}) "
    r"done date:([0-9]{10}|[0-9]{12}) stat:([A-Z]{1,12}) err:([0-9]{1,10})(?: text:|\Z)",
    re.ASCII,
)


def _two_digit_year(yy: int) -> int:
    return 2000 + yy if yy < 69 else 1900 + yy  # as strptime's %y, which the general parser uses


def _done_date(raw: str) -> datetime | None:
    try:
        return datetime(
            _two_digit_year(int(raw[0:2])),
            int(raw[2:4]),
            int(raw[4:6]),
            int(raw[6:8]),
            int(raw[8:10]),
            int(raw[10:12]) if len(raw) == 12 else 0,
        )
    except ValueError:
        return None


class ReceiptReader:
    """Turns receipt PDUs into ``Receipt`` objects for one connector."""

    def __init__(self, connector: str, *, id_format: str = "as_is", timezone: str = "UTC", fast: bool = True) -> None:
        self.connector = connector
        self.id_format = IdFormat(id_format)
        self.zone = zoneinfo.ZoneInfo(timezone)
        self.fast = fast

    def read(self, pdu: DeliverSm | DataSm) -> Receipt:
        """The receipt ``pdu`` carries; ``ReceiptParseError`` when it has no id or no state."""
        raw = _payload(pdu)
        text = raw.decode("latin-1") if raw else None
        if raw and pdu.data_coding == 0x08:  # the odd SMSC writes receipts in UCS-2
            try:
                text = raw.decode("utf-16-be")
            except UnicodeDecodeError:
                pass
        tlvs = pdu.tlvs
        if self.fast and text:
            match = _APPENDIX_B.match(text)
            if match is not None:
                return self._appendix_b(pdu, match)
        network = tlvs.get(Tag.NETWORK_ERROR_CODE)
        network_bytes = None
        if network is not None and not isinstance(network, (int, str, bytes)):
            network_bytes = bytes([network.network_type]) + network.error_code.to_bytes(2, "big")
        state = tlvs.get(Tag.MESSAGE_STATE)
        receipted = tlvs.get(Tag.RECEIPTED_MESSAGE_ID)
        parsed = parse_receipt(
            text,
            receipted_message_id=receipted if isinstance(receipted, str) else None,
            message_state=state if isinstance(state, int) else None,
            network_error_code=network_bytes,
            id_format=self.id_format,
        )
        detail: dict[str, Any] = {"esm_class": pdu.esm_class}
        if parsed.stat is not None:
            detail["stat"] = parsed.stat[:16]
        if parsed.network_error is not None:
            detail["network_error"] = list(parsed.network_error)
        if parsed.sub is not None:
            detail["sub"] = parsed.sub
        if parsed.dlvrd is not None:
            detail["dlvrd"] = parsed.dlvrd
        done_at = parsed.done_date.replace(tzinfo=self.zone) if parsed.done_date is not None else None
        return Receipt(
            connector=self.connector,
            carrier_id=parsed.carrier_id,
            state=_STATES[parsed.state],
            code=None if parsed.err_code is None else f"{parsed.err_code:03d}",
            done_at=done_at,
            detail=detail,
        )

    def _appendix_b(self, pdu: DeliverSm | DataSm, match: re.Match[str]) -> Receipt:
        """The Appendix B text read by the precompiled regex, the TLVs winning where they speak (as in
        ``parse_receipt``: receipted_message_id, message_state, network_error_code)."""
        raw_id, sub, dlvrd, done, stat, err = match.groups()
        tlvs = pdu.tlvs
        receipted = tlvs.get(Tag.RECEIPTED_MESSAGE_ID)
        if isinstance(receipted, str) and receipted.strip(" \t\r\n\x00"):
            raw_id = receipted
        named = message_state_name(tlvs.get(Tag.MESSAGE_STATE))
        if named is not None:
            stat, state = named
        else:
            state = state_from_stat(stat)
        code = int(err)
        detail: dict[str, Any] = {"esm_class": pdu.esm_class, "stat": stat, "sub": int(sub), "dlvrd": int(dlvrd)}
        network = tlvs.get(Tag.NETWORK_ERROR_CODE)
        if network is not None and not isinstance(network, (int, str, bytes)):
            code = network.error_code
            detail["network_error"] = [network.network_type, network.error_code]
        done_date = _done_date(done)
        return Receipt(
            connector=self.connector,
            carrier_id=normalise_message_id(raw_id, self.id_format, side=IdSide.RECEIPT),
            state=_STATES[state],
            code=f"{code:03d}",
            done_at=done_date.replace(tzinfo=self.zone) if done_date is not None else None,
            detail=detail,
        )


def receipt_from_query(connector: str, carrier_id: str, response: QuerySmResp, zone: zoneinfo.ZoneInfo) -> Receipt:
    """What a query_sm_resp says of ``carrier_id``, as a receipt (``ReceiptParseError`` for a state
    outside SMPP's). Interim states (enroute, accepted, scheduled) become ``ACCEPTED``: not final."""
    state = _STATES[state_from_message_state(response.message_state)]
    done = parse_smpp_time(response.final_date) if response.final_date else None
    done_at = None
    if isinstance(done, datetime):
        done_at = done if done.tzinfo is not None else done.replace(tzinfo=zone)
    return Receipt(
        connector=connector,
        carrier_id=carrier_id,
        state=state,
        code=f"{response.error_code:03d}",
        done_at=done_at,
        detail={"query_sm": True, "message_state": response.message_state},
    )


def _address(addr: str, ton: int) -> str:
    return "+" + addr if ton == 1 and addr.isdigit() else addr


class MoAssembler:
    """Decodes MO messages and joins their parts (see the module docstring)."""

    def __init__(self, connector: str, *, max_age: float = 30.0, gsm7_packed: bool = False) -> None:
        self.connector = connector
        self.gsm7_packed = gsm7_packed
        self._reassembler = Reassembler(max_age=max_age)
        # (source key, reference, total) -> (tokens, {seq: (payload, encoding)}, first pdu)
        self._held: dict[tuple[Hashable, int, int], tuple[list[Any], dict[int, tuple[bytes, Encoding]], Any]] = {}

    def __len__(self) -> int:
        return len(self._held)

    def add(
        self, pdu: DeliverSm | DataSm, token: Any, *, now: float, received_at: datetime
    ) -> tuple[InboundMessage, list[Any]] | None:
        """The whole message and the tokens of all its parts once complete; None while parts are missing."""
        key = (pdu.source_addr, pdu.destination_addr)
        payload = _payload(pdu)
        tlvs = pdu.tlvs
        try:
            ref = tlvs.get(Tag.SAR_MSG_REF_NUM)
            total = tlvs.get(Tag.SAR_TOTAL_SEGMENTS)
            seq = tlvs.get(Tag.SAR_SEGMENT_SEQNUM)
            if isinstance(ref, int) and isinstance(total, int) and isinstance(seq, int) and 1 <= seq <= total:
                encoding = encoding_for_data_coding(pdu.data_coding)
                self._hold(key, ref, total, seq, payload, encoding, token, pdu)
                whole = self._reassembler.add(
                    source=key, reference=ref, total=total, seq=seq, payload=payload, encoding=encoding, now=now
                )
            else:
                whole = self._reassembler.add_short_message(
                    source=key,
                    short_message=payload,
                    data_coding=pdu.data_coding,
                    udhi=bool(pdu.esm_class & ESM_CLASS_UDHI),
                    now=now,
                    gsm7_packed=self.gsm7_packed,
                )
                if whole is None:  # a part is waiting: find which, to hold its token
                    self._hold_udh_part(key, pdu, payload, token)
        except (UdhParseError, TextEncodingError, ValueError):
            return self._message(pdu, payload.hex(), received_at, {"undecodable": True}), [token]
        if whole is None:
            return None
        tokens = [token]
        if whole.total > 1:
            held = self._held.pop((key, whole.reference, whole.total), None)
            if held is not None:
                tokens = held[0] + ([token] if token not in held[0] else [])
        body, extra = self._text(whole)
        extra["parts"] = whole.total
        return self._message(pdu, body, received_at, extra), tokens

    def _hold(
        self, key: Hashable, ref: int, total: int, seq: int, payload: bytes, enc: Encoding, token: Any, pdu: Any
    ) -> None:
        if total <= 1:
            return
        tokens, parts, _ = self._held.setdefault((key, ref, total), ([], {}, pdu))
        tokens.append(token)
        parts.setdefault(seq, (payload, enc))

    def _hold_udh_part(self, key: Hashable, pdu: DeliverSm | DataSm, payload: bytes, token: Any) -> None:
        udh, body = parse_udh(payload)
        info = udh.concat
        if info is None:
            return
        encoding = encoding_for_data_coding(pdu.data_coding)
        if self.gsm7_packed and encoding is Encoding.GSM7:
            body = unpack_septets(body, fill_bits_for_udh(udh.octets))
        self._hold(key, info.reference, info.total, info.seq, body, encoding, token, pdu)

    @staticmethod
    def _text(whole: ReassembledMessage) -> tuple[str, dict[str, Any]]:
        try:
            return whole.text, {}
        except TextEncodingError:  # 8-bit data, or octets that are not valid in their alphabet
            binary = all(e is Encoding.BINARY for e in whole.encodings)
            return whole.payload.hex(), {"binary" if binary else "undecodable": True}

    def _message(
        self, pdu: DeliverSm | DataSm, body: str, received_at: datetime, extra: dict[str, Any]
    ) -> InboundMessage:
        detail = {"data_coding": pdu.data_coding, "esm_class": pdu.esm_class, **extra}
        return InboundMessage(
            connector=self.connector,
            sender=_address(pdu.source_addr, pdu.source_addr_ton),
            recipient=_address(pdu.destination_addr, pdu.dest_addr_ton),
            body=body,
            received_at=received_at,
            detail=detail,
        )

    def expire(self, now: float, received_at: datetime) -> list[tuple[InboundMessage, list[Any]]]:
        """Give up on messages whose parts stopped coming: what arrived, flagged partial, with its tokens."""
        out = []
        for partial in self._reassembler.expire(now):
            held = self._held.pop((partial.source, partial.reference, partial.total), None)
            if held is None:
                continue
            tokens, parts, pdu = held
            pieces = []
            for seq in sorted(parts):
                payload, enc = parts[seq]
                try:
                    pieces.append(decode(payload, enc))
                except TextEncodingError:
                    pieces.append(payload.hex())
            extra = {"partial": True, "parts": partial.total, "parts_received": sorted(parts)}
            out.append((self._message(pdu, "".join(pieces), received_at, extra), tokens))
        return out
