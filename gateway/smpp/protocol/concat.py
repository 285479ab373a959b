"""Long messages: cutting text into submit_sm segments and putting inbound parts together.

Sans-I/O and standalone (it builds on ``text`` only). A connector sends a
message that does not fit one SMS in one of three ways (``ConcatMethod``):

``udh``
    Each part's ``short_message`` starts with a user data header holding a
    concatenation information element (3GPP 23.040 §9.2.3.24.1 / .8): IEI 0x00
    with an 8-bit reference or IEI 0x08 with a 16-bit one, and the submit_sm
    sets the UDHI bit (0x40) in ``esm_class``.
``sar``
    Each part goes bare; the ``sar_msg_ref_num`` / ``sar_total_segments`` /
    ``sar_segment_seqnum`` TLVs tell the SMSC, which builds the header itself.
    Parts are still sized as if the header were there.
``payload``
    One PDU: the whole encoded message in the ``message_payload`` TLV and an
    empty ``short_message``; the SMSC does the cutting.

A message that fits one SMS is always sent plain: no header, no SAR, no
payload TLV. The reference number is passed in; the caller owns the counter.

Inbound, ``parse_udh`` splits a ``short_message`` into its header and body,
and ``Reassembler`` gathers the parts of a concatenated MO message by
(source, reference, total) until all have arrived or they grow too old; the
clock is passed in as ``now`` (monotonic seconds).
"""

from __future__ import annotations

import enum
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

from gateway.smpp.protocol.text import (
    DEFAULT_ALLOWED,
    Encoding,
    EncodingPolicy,
    choose_encoding,
    decode,
    encoding_for_data_coding,
    fill_bits_for_udh,
    pack_septets,
    split,
    unpack_septets,
)

__all__ = [
    "ESM_CLASS_UDHI",
    "IEI_CONCAT_8BIT",
    "IEI_CONCAT_16BIT",
    "ConcatInfo",
    "ConcatMethod",
    "InformationElement",
    "MessageTooLongError",
    "PartialMessage",
    "ReassembledMessage",
    "Reassembler",
    "Segment",
    "Udh",
    "UdhParseError",
    "build_segments",
    "concat_udh",
    "parse_udh",
]

ESM_CLASS_UDHI = 0x40
IEI_CONCAT_8BIT = 0x00
IEI_CONCAT_16BIT = 0x08
_SHORT_MESSAGE_MAX = 254  # SMPP 3.4 §5.2.21
_PAYLOAD_MAX = 0xFFFF  # a TLV length is two octets


class MessageTooLongError(ValueError):
    """The message needs more parts than the connector (or the 8-bit part counter) allows."""


class UdhParseError(ValueError):
    """A ``short_message`` flagged UDHI does not start with a well-formed user data header."""


class ConcatMethod(enum.Enum):
    """How a connector sends a message longer than one SMS."""

    UDH = "udh"
    SAR = "sar"
    PAYLOAD = "payload"


@dataclass(frozen=True, slots=True)
class Segment:
    """One submit_sm's worth of a message: the body fields the PDU builder copies in.

    ``esm_class_flags`` is OR-ed into the PDU's esm_class; ``sar`` is
    (sar_msg_ref_num, sar_total_segments, sar_segment_seqnum); ``index`` is
    1-based.
    """

    short_message: bytes
    esm_class_flags: int
    data_coding: int
    sar: tuple[int, int, int] | None
    message_payload: bytes | None
    index: int
    total: int

    def __post_init__(self) -> None:
        if not 1 <= self.total <= 255:
            raise ValueError(f"total must be in 1..255, not {self.total}")
        if not 1 <= self.index <= self.total:
            raise ValueError(f"index must be in 1..{self.total}, not {self.index}")
        if self.esm_class_flags not in (0, ESM_CLASS_UDHI):
            raise ValueError(f"esm_class_flags must be 0 or 0x40, not {self.esm_class_flags:#x}")
        if not 0 <= self.data_coding <= 0xFF:
            raise ValueError(f"data_coding must be one octet, not {self.data_coding}")
        if len(self.short_message) > _SHORT_MESSAGE_MAX:
            raise ValueError(f"short_message is {len(self.short_message)} octets; at most 254")
        if self.message_payload is not None:
            if self.short_message or self.total != 1 or self.sar is not None:
                raise ValueError("message_payload goes alone: empty short_message, no SAR, one PDU")
            if len(self.message_payload) > _PAYLOAD_MAX:
                size = len(self.message_payload)
                raise ValueError(f"message_payload is {size} octets; at most 65535")
        if self.sar is not None:
            ref, total, seq = self.sar
            if not 0 <= ref <= 0xFFFF or (total, seq) != (self.total, self.index) or total < 2:
                raise ValueError(f"sar {self.sar} does not match part {self.index}/{self.total}")
        if self.esm_class_flags and (self.sar is not None or self.total < 2):
            raise ValueError("UDHI is set only on parts of a UDH-concatenated message")


def concat_udh(reference: int, total: int, seq: int, ref_bits: int = 8) -> bytes:
    """The UDH (length octet included) of part ``seq`` of ``total`` with ``reference``."""
    if not 1 <= total <= 255 or not 1 <= seq <= total:
        raise ValueError(f"part {seq}/{total} is out of range")
    if ref_bits == 8:
        if not 0 <= reference <= 0xFF:
            raise ValueError(f"reference {reference} does not fit 8 bits; pass reference % 256")
        return bytes((0x05, IEI_CONCAT_8BIT, 0x03, reference, total, seq))
    if ref_bits == 16:
        if not 0 <= reference <= 0xFFFF:
            raise ValueError(f"reference {reference} does not fit 16 bits")
        return bytes((0x06, IEI_CONCAT_16BIT, 0x04, reference >> 8, reference & 0xFF, total, seq))
    raise ValueError(f"ref_bits must be 8 or 16, not {ref_bits!r}")


def build_segments(
    content: str | bytes,
    *,
    reference: int,
    method: ConcatMethod | str = ConcatMethod.UDH,
    encoding: Encoding | None = None,
    policy: EncodingPolicy | str = EncodingPolicy.AUTO,
    allowed: Iterable[Encoding] = DEFAULT_ALLOWED,
    ref_bits: int = 8,
    gsm7_packed: bool = False,
    max_segments: int = 255,
) -> list[Segment]:
    """Cut ``content`` into the submit_sm segments a connector sends, in order.

    Text is sent in ``encoding`` when given, else in what ``choose_encoding``
    picks under ``policy`` and ``allowed``; bytes go as 8-bit binary. With
    ``gsm7_packed`` GSM text is packed 7-bit (after the UDH's fill bits).
    ``reference`` must fit the header: 0..255 for an 8-bit UDH, else 0..65535.
    Raises ``TextEncodingError`` for text the alphabet cannot hold and
    ``MessageTooLongError`` beyond ``max_segments`` parts.
    """
    method = ConcatMethod(method)
    if isinstance(content, (bytes, bytearray)):
        if encoding not in (None, Encoding.BINARY):
            raise ValueError(f"bytes are sent as binary, not {encoding.value}")
        enc = Encoding.BINARY
    elif encoding is None:
        enc = choose_encoding(content, policy=policy, allowed=allowed, udh_ref_bits=ref_bits)
    else:
        enc = Encoding(encoding)
    if not 1 <= max_segments <= 255:
        raise ValueError(f"max_segments must be in 1..255, not {max_segments}")
    limit = 0xFF if method is ConcatMethod.UDH and ref_bits == 8 else 0xFFFF
    if not 0 <= reference <= limit:
        raise ValueError(f"reference {reference} is out of 0..{limit} for {method.value} ({ref_bits}-bit)")

    parts = split(content, enc, udh_ref_bits=ref_bits)
    total = len(parts)
    if total > max_segments:
        raise MessageTooLongError(f"message needs {total} parts in {enc.value}; the connector allows {max_segments}")
    packed = gsm7_packed and enc is Encoding.GSM7
    dc = enc.data_coding

    def body(septets_or_octets: bytes, fill_bits: int = 0) -> bytes:
        return pack_septets(septets_or_octets, fill_bits) if packed else septets_or_octets

    if total == 1:
        return [Segment(body(parts[0]), 0, dc, None, None, 1, 1)]
    if method is ConcatMethod.PAYLOAD:
        return [Segment(b"", 0, dc, None, body(b"".join(parts)), 1, 1)]
    if method is ConcatMethod.SAR:
        return [
            Segment(body(part), 0, dc, (reference, total, seq), None, seq, total)
            for seq, part in enumerate(parts, start=1)
        ]
    segments = []
    for seq, part in enumerate(parts, start=1):
        udh = concat_udh(reference, total, seq, ref_bits)
        short_message = udh + body(part, fill_bits_for_udh(len(udh)))
        segments.append(Segment(short_message, ESM_CLASS_UDHI, dc, None, None, seq, total))
    return segments


# --- inbound: user data headers ------------------------------------------------


@dataclass(frozen=True, slots=True)
class InformationElement:
    """One IE of a user data header: its identifier and raw data."""

    iei: int
    data: bytes

    def __post_init__(self) -> None:
        if not 0 <= self.iei <= 0xFF or len(self.data) > 0xFF:
            raise ValueError(f"IE {self.iei:#x} with {len(self.data)} octets does not fit a UDH")


@dataclass(frozen=True, slots=True)
class ConcatInfo:
    """What a concatenation IE says: which message, how many parts, which part this is."""

    reference: int
    total: int
    seq: int
    ref_bits: int

    def __post_init__(self) -> None:
        if self.ref_bits not in (8, 16) or not 0 <= self.reference < 1 << self.ref_bits:
            raise ValueError(f"reference {self.reference} does not fit {self.ref_bits} bits")
        if not 1 <= self.total <= 255 or not 1 <= self.seq <= self.total:
            raise ValueError(f"part {self.seq}/{self.total} is out of range")


@dataclass(frozen=True, slots=True)
class Udh:
    """A parsed user data header; ``octets`` counts the length octet too."""

    elements: tuple[InformationElement, ...]

    @property
    def octets(self) -> int:
        return 1 + sum(2 + len(ie.data) for ie in self.elements)

    @property
    def concat(self) -> ConcatInfo | None:
        """The last well-formed concatenation IE (23.040: a repeated IE's last copy counts).

        An IE whose part number is 0 or above the total is ignored, as 23.040 asks.
        """
        found = None
        for ie in self.elements:
            if ie.iei == IEI_CONCAT_8BIT and len(ie.data) == 3:
                ref, total, seq = ie.data[0], ie.data[1], ie.data[2]
                bits = 8
            elif ie.iei == IEI_CONCAT_16BIT and len(ie.data) == 4:
                ref, total, seq = (ie.data[0] << 8) | ie.data[1], ie.data[2], ie.data[3]
                bits = 16
            else:
                continue
            if 1 <= seq <= total:
                found = ConcatInfo(ref, total, seq, bits)
        return found

    def to_bytes(self) -> bytes:
        body = b"".join(bytes((ie.iei, len(ie.data))) + ie.data for ie in self.elements)
        return bytes((len(body),)) + body


def parse_udh(short_message: bytes) -> tuple[Udh, bytes]:
    """Split a UDHI-flagged ``short_message`` into its header and the (still encoded) body.

    For packed GSM the body starts with ``fill_bits_for_udh(udh.octets)`` fill
    bits. Any input gives a result or ``UdhParseError``.
    """
    if not short_message:
        raise UdhParseError("short_message is empty; no UDH length octet")
    udhl = short_message[0]
    if udhl + 1 > len(short_message):
        raise UdhParseError(f"UDH length {udhl} overruns the {len(short_message)}-octet message")
    elements = []
    pos = 1
    end = 1 + udhl
    while pos < end:
        if pos + 2 > end:
            raise UdhParseError(f"IE header at offset {pos} overruns the UDH")
        iei, iedl = short_message[pos], short_message[pos + 1]
        if pos + 2 + iedl > end:
            raise UdhParseError(f"IE {iei:#04x} at offset {pos} ({iedl} octets) overruns the UDH")
        elements.append(InformationElement(iei, bytes(short_message[pos + 2 : pos + 2 + iedl])))
        pos += 2 + iedl
    return Udh(tuple(elements)), bytes(short_message[end:])


# --- inbound: reassembly ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReassembledMessage:
    """A complete inbound message: each part's encoded body, in order."""

    source: Hashable
    reference: int
    parts: tuple[bytes, ...]
    encodings: tuple[Encoding, ...]

    def __post_init__(self) -> None:
        if not self.parts or len(self.parts) != len(self.encodings):
            raise ValueError("every part needs its encoding")

    @property
    def total(self) -> int:
        return len(self.parts)

    @property
    def payload(self) -> bytes:
        return b"".join(self.parts)

    @property
    def text(self) -> str:
        """The decoded text; raises ``TextEncodingError`` for binary or undecodable data.

        Parts in one alphabet are joined before decoding, so a character a
        sender split across parts still comes out whole.
        """
        if len(set(self.encodings)) == 1:
            return decode(self.payload, self.encodings[0])
        return "".join(decode(p, e) for p, e in zip(self.parts, self.encodings, strict=True))


@dataclass(frozen=True, slots=True)
class PartialMessage:
    """A message dropped before all its parts arrived (too old, displaced or restarted)."""

    source: Hashable
    reference: int
    total: int
    received: tuple[int, ...]
    first_seen: float


@dataclass(slots=True)
class _Pending:
    first_seen: float
    parts: dict[int, tuple[bytes, Encoding]] = field(default_factory=dict)


class Reassembler:
    """Collects the parts of concatenated MO messages keyed by (source, reference, total).

    A group older than ``max_age`` seconds is dropped; at most ``max_pending``
    groups are held (the oldest goes first). Dropped groups are returned by
    the next ``expire`` call, for logging. A repeated part keeps its first copy.
    """

    def __init__(self, *, max_age: float = 600.0, max_pending: int = 10_000) -> None:
        if max_age <= 0 or max_pending < 1:
            raise ValueError("max_age must be positive and max_pending at least 1")
        self._max_age = max_age
        self._max_pending = max_pending
        self._pending: dict[tuple[Hashable, int, int], _Pending] = {}
        self._dropped: list[PartialMessage] = []

    def __len__(self) -> int:
        return len(self._pending)

    def add(
        self,
        *,
        source: Hashable,
        reference: int,
        total: int,
        seq: int,
        payload: bytes,
        encoding: Encoding,
        now: float,
    ) -> ReassembledMessage | None:
        """Take one part; return the whole message once its last part is in, else None."""
        if not 1 <= total <= 255 or not 1 <= seq <= total:
            raise ValueError(f"part {seq}/{total} is out of range")
        if total == 1:
            return ReassembledMessage(source, reference, (bytes(payload),), (encoding,))
        key = (source, reference, total)
        group = self._pending.get(key)
        if group is not None and now - group.first_seen >= self._max_age:
            self._drop(key)
            group = None
        if group is None:
            while len(self._pending) >= self._max_pending:
                self._drop(next(iter(self._pending)))
            group = self._pending[key] = _Pending(first_seen=now)
        group.parts.setdefault(seq, (bytes(payload), encoding))
        if len(group.parts) < total:
            return None
        del self._pending[key]
        ordered = [group.parts[i] for i in range(1, total + 1)]
        return ReassembledMessage(source, reference, tuple(p for p, _ in ordered), tuple(e for _, e in ordered))

    def add_short_message(
        self,
        *,
        source: Hashable,
        short_message: bytes,
        data_coding: int,
        udhi: bool,
        now: float,
        gsm7_packed: bool = False,
    ) -> ReassembledMessage | None:
        """Take a deliver_sm's ``short_message``: strip its UDH, unpack GSM if packed, and ``add``.

        A message without a concatenation IE comes back at once as one part.
        Raises ``UdhParseError`` or ``TextEncodingError`` on malformed input.
        """
        encoding = encoding_for_data_coding(data_coding)
        concat = None
        body = bytes(short_message)
        fill = 0
        if udhi:
            udh, body = parse_udh(short_message)
            concat = udh.concat
            fill = fill_bits_for_udh(udh.octets)
        if gsm7_packed and encoding is Encoding.GSM7:
            body = unpack_septets(body, fill)
        if concat is None:
            return ReassembledMessage(source, 0, (body,), (encoding,))
        return self.add(
            source=source,
            reference=concat.reference,
            total=concat.total,
            seq=concat.seq,
            payload=body,
            encoding=encoding,
            now=now,
        )

    def expire(self, now: float) -> list[PartialMessage]:
        """Drop groups older than ``max_age``; return them with any dropped since the last call."""
        for key, group in list(self._pending.items()):  # insertion order is age order
            if now - group.first_seen < self._max_age:
                break
            self._drop(key)
        dropped, self._dropped = self._dropped, []
        return dropped

    def _drop(self, key: tuple[Hashable, int, int]) -> None:
        group = self._pending.pop(key)
        source, reference, total = key
        self._dropped.append(PartialMessage(source, reference, total, tuple(sorted(group.parts)), group.first_seen))
