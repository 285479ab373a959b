"""Bytes <-> PDUs: ``encode(pdu)``, ``decode(frame)`` and the streaming ``Decoder`` (sans-I/O).

Wire format (SMPP 3.4 section 3.2): a 16-octet header, four big-endian
unsigned 32-bit integers ``command_length | command_id | command_status |
sequence_number``, then ``command_length - 16`` octets of body: the mandatory
fields of the PDU's ``_BODY`` list in order, then optional TLVs.

The per-class encoders and decoders are compiled once from ``_BODY`` when this
module is imported: consecutive one-octet fields become one precompiled
``struct.Struct``, a C-octet string is one ``bytes.index`` for its NUL, so the
hot path does no per-field reflection.

The decoding rule: whatever the input bytes, decoding gives a PDU or raises
``RemoteProtocolError``, never anything else (proved by ``tests/unit/smpp/test_fuzz.py``).
The error carries the offending header's ``sequence_number`` and
``command_id`` when they could be read, the status to answer with, and
``fatal`` when the framing is lost. ``Decoder`` refuses a ``command_length``
below 16 or above ``max_pdu_size`` as soon as the 16 header octets are in,
before any of the announced body is buffered.

A response whose body is empty decodes to the class defaults: SMPP 3.4 lets an
SMSC omit the body of an error response (submit_sm_resp with a non-zero
command_status), and deliver_sm_resp's only field is unused anyway.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Callable
from typing import Any, Literal

from gateway.smpp.protocol.errors import ProtocolError, RemoteProtocolError
from gateway.smpp.protocol.pdu import (
    PDU_CLASSES,
    U8,
    COctet,
    DataSmResp,
    DeliverSm,
    DeliverSmResp,
    Pdu,
    ShortMessage,
    SubmitSm,
    SubmitSmResp,
)
from gateway.smpp.protocol.status import ESME_RINVCMDID, ESME_RINVCMDLEN, ESME_RINVMSGLEN
from gateway.smpp.protocol.tlv import EMPTY_TLVS, Tlvs

__all__ = ["DEFAULT_MAX_PDU_SIZE", "HEADER_SIZE", "NEED_DATA", "Decoder", "NeedData", "decode", "encode"]

HEADER_SIZE = 16
DEFAULT_MAX_PDU_SIZE = 64 * 1024
_HEADER = struct.Struct(">IIII")
_NUL = b"\0"


class NeedData(enum.Enum):
    """The sentinel ``next_pdu`` / ``next_event`` return when more bytes are needed (h11's NEED_DATA)."""

    NEED_DATA = "NEED_DATA"

    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA: Literal[NeedData.NEED_DATA] = NeedData.NEED_DATA

_BodyEncoder = Callable[[Any], bytes]
# (body, sequence_number, command_status) -> PDU; raises ProtocolError / ValueError / IndexError / struct.error.
_BodyDecoder = Callable[[bytes, int, int], Pdu]

_SM_MAX = ShortMessage.max_octets


def _steps(body: tuple[tuple[str, Any], ...]) -> list[tuple[str, Any]]:
    """Group a field list into codec steps: ("cstr", (index, kind)), ("u8", (start, stop, Struct)), ("sm", index)."""
    steps: list[tuple[str, Any]] = []
    for index, (_name, kind) in enumerate(body):
        if type(kind) is U8:
            if steps and steps[-1][0] == "u8":
                start, _stop, _st = steps[-1][1]
                steps[-1] = ("u8", (start, index + 1, struct.Struct(">" + "B" * (index + 1 - start))))
            else:
                steps.append(("u8", (index, index + 1, struct.Struct(">B"))))
        elif isinstance(kind, COctet):
            steps.append(("cstr", (index, kind)))
        elif type(kind) is ShortMessage:
            steps.append(("sm", index))
        else:  # pragma: no cover - a new field kind without codec support
            raise TypeError(f"no codec for field kind {kind!r}")
    return steps


def _compile_encoder(cls: type[Pdu]) -> _BodyEncoder:
    names = [name for name, _kind in cls._BODY]
    has_tlvs = cls._HAS_TLVS
    if not names and not has_tlvs:
        return lambda pdu: b""
    getter = _getter(names + (["tlvs"] if has_tlvs else []))
    ops: list[Callable[[tuple[Any, ...], list[bytes]], None]] = []
    for step, arg in _steps(cls._BODY):
        if step == "cstr":
            ops.append(_enc_cstr(arg[0]))
        elif step == "u8":
            ops.append(_enc_u8(*arg))
        else:
            ops.append(_enc_sm(arg))
    tlv_index = len(names)

    def encode_body(pdu: Any) -> bytes:
        values = getter(pdu)
        out: list[bytes] = []
        for op in ops:
            op(values, out)
        if has_tlvs:
            tlvs = values[tlv_index]
            if tlvs:
                out.append(tlvs.encode())
        return b"".join(out)

    return encode_body


def _getter(names: list[str]) -> Callable[[Any], tuple[Any, ...]]:
    if len(names) == 1:
        name = names[0]
        return lambda obj: (getattr(obj, name),)
    from operator import attrgetter

    return attrgetter(*names)


def _enc_cstr(i: int) -> Callable[[tuple[Any, ...], list[bytes]], None]:
    def op(values: tuple[Any, ...], out: list[bytes]) -> None:
        out.append(values[i].encode("latin-1"))
        out.append(_NUL)

    return op


def _enc_u8(start: int, stop: int, st: struct.Struct) -> Callable[[tuple[Any, ...], list[bytes]], None]:
    pack = st.pack

    def op(values: tuple[Any, ...], out: list[bytes]) -> None:
        out.append(pack(*values[start:stop]))

    return op


def _enc_sm(i: int) -> Callable[[tuple[Any, ...], list[bytes]], None]:
    def op(values: tuple[Any, ...], out: list[bytes]) -> None:
        sm = values[i]
        out.append(bytes((len(sm),)))
        out.append(sm)

    return op


def _compile_decoder(cls: type[Pdu]) -> _BodyDecoder:
    has_tlvs = cls._HAS_TLVS
    has_body = bool(cls._BODY) or has_tlvs
    empty_ok_on_success = cls is DeliverSmResp  # its message_id is unused: some ESMEs send no body
    ops: list[Callable[[bytes, int, list[Any]], int]] = []
    for step, arg in _steps(cls._BODY):
        if step == "cstr":
            ops.append(_dec_cstr(cls._BODY[arg[0]][0], arg[1]))
        elif step == "u8":
            ops.append(_dec_u8(arg[2]))
        else:
            ops.append(_dec_sm)

    def decode_body(body: bytes, seq: int, status: int) -> Pdu:
        if not body:
            if has_body and not (cls.command_id & 0x80000000 and (status or empty_ok_on_success)):
                raise RemoteProtocolError(f"{cls.command_name} without a body", error_status=ESME_RINVCMDLEN)
            return cls(sequence_number=seq, command_status=status)
        if not has_body:
            raise RemoteProtocolError(
                f"{cls.command_name} has no body, got {len(body)} octets", error_status=ESME_RINVCMDLEN
            )
        values: list[Any] = []
        offset = 0
        for op in ops:
            offset = op(body, offset, values)
        if has_tlvs:
            tlvs = Tlvs.decode(body, offset) if offset < len(body) else EMPTY_TLVS
            return cls(*values, tlvs, sequence_number=seq, command_status=status)  # type: ignore[arg-type,misc]
        return cls(*values, sequence_number=seq, command_status=status)  # pragma: no cover - all bodies have TLVs

    return decode_body


def _dec_cstr(name: str, kind: COctet) -> Callable[[bytes, int, list[Any]], int]:
    max_octets = kind.max_octets
    error_status = kind.error_status

    def op(body: bytes, offset: int, values: list[Any]) -> int:
        try:
            end = body.index(0, offset, offset + max_octets)
        except ValueError:
            raise RemoteProtocolError(
                f"{name}: no NUL within {max_octets} octets (or the body ends)", error_status=error_status
            ) from None
        values.append(body[offset:end].decode("latin-1"))
        return end + 1

    return op


def _dec_u8(st: struct.Struct) -> Callable[[bytes, int, list[Any]], int]:
    unpack_from = st.unpack_from
    size = st.size

    def op(body: bytes, offset: int, values: list[Any]) -> int:
        values.extend(unpack_from(body, offset))  # struct.error if the body is too short
        return offset + size

    return op


def _dec_sm(body: bytes, offset: int, values: list[Any]) -> int:
    length = body[offset]  # IndexError if the body is too short
    end = offset + 1 + length
    if end > len(body):
        raise RemoteProtocolError(f"sm_length {length} runs past the PDU end", error_status=ESME_RINVMSGLEN)
    values.append(body[offset + 1 : end])
    return end


# The reference codec: compiled from every class's ``_BODY``.
_GENERIC_ENCODERS: dict[type[Pdu], _BodyEncoder] = {cls: _compile_encoder(cls) for cls in PDU_CLASSES.values()}
_GENERIC_DECODERS: dict[int, _BodyDecoder] = {cid: _compile_decoder(cls) for cid, cls in PDU_CLASSES.items()}


# --- hand-written fast paths for the hot layouts -----------------------------
# submit_sm / deliver_sm share one layout, submit_sm_resp / deliver_sm_resp /
# data_sm_resp another. These functions spell the ``_BODY`` lists out; tests
# check them against the generic codec above on fuzzed input. On any parsing
# trouble the fast decoder hands over to the generic one, which raises the
# precise error.

_BB = struct.Struct(">BB")
_BBB = struct.Struct(">BBB")
_BBBBB = struct.Struct(">BBBBB")


def _encode_short_message_body(p: Any) -> bytes:
    sm = p.short_message
    body = b"".join(
        (
            (p.service_type + "\0").encode("latin-1"),
            _BB.pack(p.source_addr_ton, p.source_addr_npi),
            (p.source_addr + "\0").encode("latin-1"),
            _BB.pack(p.dest_addr_ton, p.dest_addr_npi),
            (p.destination_addr + "\0").encode("latin-1"),
            _BBB.pack(p.esm_class, p.protocol_id, p.priority_flag),
            (p.schedule_delivery_time + "\0" + p.validity_period + "\0").encode("latin-1"),
            _BBBBB.pack(p.registered_delivery, p.replace_if_present_flag, p.data_coding, p.sm_default_msg_id, len(sm)),
            sm,
        )
    )
    tlvs = p.tlvs
    return body + tlvs.encode() if tlvs else body


def _short_message_body_decoder(cls: type[Pdu]) -> _BodyDecoder:
    generic = _GENERIC_DECODERS[cls.command_id]

    def decode_body(b: bytes, seq: int, status: int) -> Pdu:
        try:
            i = b.index(0, 0, 6)
            service_type = b[:i].decode("latin-1")
            source_addr_ton, source_addr_npi = _BB.unpack_from(b, i + 1)
            o = i + 3
            i = b.index(0, o, o + 21)
            source_addr = b[o:i].decode("latin-1")
            dest_addr_ton, dest_addr_npi = _BB.unpack_from(b, i + 1)
            o = i + 3
            i = b.index(0, o, o + 21)
            destination_addr = b[o:i].decode("latin-1")
            esm_class, protocol_id, priority_flag = _BBB.unpack_from(b, i + 1)
            o = i + 4
            i = b.index(0, o, o + 17)
            schedule_delivery_time = b[o:i].decode("latin-1")
            o = i + 1
            i = b.index(0, o, o + 17)
            validity_period = b[o:i].decode("latin-1")
            registered_delivery, replace_if_present_flag, data_coding, sm_default_msg_id, n = _BBBBB.unpack_from(
                b, i + 1
            )
            o = i + 6
            short_message = b[o : o + n]
            o += n
        except (ValueError, struct.error):
            return generic(b, seq, status)
        if len(short_message) != n:
            return generic(b, seq, status)
        values = (
            service_type,
            source_addr_ton,
            source_addr_npi,
            source_addr,
            dest_addr_ton,
            dest_addr_npi,
            destination_addr,
            esm_class,
            protocol_id,
            priority_flag,
            schedule_delivery_time,
            validity_period,
            registered_delivery,
            replace_if_present_flag,
            data_coding,
            sm_default_msg_id,
            short_message,
            Tlvs.decode(b, o) if o < len(b) else EMPTY_TLVS,
        )
        if not (schedule_delivery_time or validity_period) and n <= _SM_MAX:
            # What the check would prove, the reads above did (each string found within its limit,
            # Latin-1, no NUL; one-octet fields; at most 254 octets of text): made without it.
            return cls._unchecked(values, seq, status)
        # A time field, or 255 octets of text: the check decides.
        return cls(*values, sequence_number=seq, command_status=status)  # type: ignore[call-arg,misc,arg-type]

    return decode_body


def _encode_message_id_body(p: Any) -> bytes:
    body = (p.message_id + "\0").encode("latin-1")
    tlvs = p.tlvs
    return body + tlvs.encode() if tlvs else body  # type: ignore[no-any-return]


def _message_id_body_decoder(cls: type[Pdu]) -> _BodyDecoder:
    generic = _GENERIC_DECODERS[cls.command_id]

    def decode_body(b: bytes, seq: int, status: int) -> Pdu:
        i = b.find(0, 0, 65)
        if i < 0:  # no body (allowed on errors) or no NUL: the generic decoder sorts it out
            return generic(b, seq, status)
        o = i + 1
        # A message_id of at most 64 Latin-1 characters without NUL, as the check would prove.
        return cls._unchecked((b[:i].decode("latin-1"), Tlvs.decode(b, o) if o < len(b) else EMPTY_TLVS), seq, status)

    return decode_body


_FAST_ENCODERS: dict[type[Pdu], _BodyEncoder] = {
    SubmitSm: _encode_short_message_body,
    DeliverSm: _encode_short_message_body,
    SubmitSmResp: _encode_message_id_body,
    DeliverSmResp: _encode_message_id_body,
    DataSmResp: _encode_message_id_body,
}
_FAST_DECODERS: dict[int, _BodyDecoder] = {
    SubmitSm.command_id: _short_message_body_decoder(SubmitSm),
    DeliverSm.command_id: _short_message_body_decoder(DeliverSm),
    SubmitSmResp.command_id: _message_id_body_decoder(SubmitSmResp),
    DeliverSmResp.command_id: _message_id_body_decoder(DeliverSmResp),
    DataSmResp.command_id: _message_id_body_decoder(DataSmResp),
}
_ENCODERS: dict[type[Pdu], tuple[int, _BodyEncoder]] = {
    cls: (cls.command_id, _FAST_ENCODERS.get(cls, encoder)) for cls, encoder in _GENERIC_ENCODERS.items()
}
_DECODERS: dict[int, _BodyDecoder] = {**_GENERIC_DECODERS, **_FAST_DECODERS}


def encode(pdu: Pdu) -> bytes:
    """The wire bytes of ``pdu`` (header with computed command_length, then body)."""
    command_id, encode_body = _ENCODERS[type(pdu)]
    body = encode_body(pdu)
    return _HEADER.pack(HEADER_SIZE + len(body), command_id, pdu.command_status, pdu.sequence_number) + body


def _decode_frame(
    command_id: int, status: int, seq: int, body: bytes, decoders: dict[int, _BodyDecoder] = _DECODERS
) -> Pdu:
    decode_body = decoders.get(command_id)
    if decode_body is None:
        raise RemoteProtocolError(
            f"unknown command_id 0x{command_id:08X}",
            error_status=ESME_RINVCMDID,
            sequence_number=seq,
            command_id=command_id,
        )
    try:
        return decode_body(body, seq, status)
    except ProtocolError as exc:
        raise RemoteProtocolError(
            exc.message, error_status=exc.error_status, sequence_number=seq, command_id=command_id
        ) from None
    except (ValueError, IndexError, struct.error):
        raise RemoteProtocolError(
            f"{PDU_CLASSES[command_id].command_name}: body shorter than its mandatory fields",
            error_status=ESME_RINVCMDLEN,
            sequence_number=seq,
            command_id=command_id,
        ) from None


def decode(frame: bytes) -> Pdu:
    """Decode exactly one whole PDU (header included); raises ``RemoteProtocolError`` only."""
    if len(frame) < HEADER_SIZE:
        raise RemoteProtocolError(f"{len(frame)} octets is shorter than a PDU header", error_status=ESME_RINVCMDLEN)
    length, command_id, status, seq = _HEADER.unpack_from(frame)
    if length != len(frame):
        raise RemoteProtocolError(
            f"command_length {length} but {len(frame)} octets given",
            error_status=ESME_RINVCMDLEN,
            sequence_number=seq,
            command_id=command_id,
            fatal=True,
        )
    return _decode_frame(command_id, status, seq, bytes(frame[HEADER_SIZE:]))


class Decoder:
    """Turns a byte stream into PDUs: ``receive_data(bytes)`` then ``next_pdu()`` until ``NEED_DATA``.

    A non-fatal ``RemoteProtocolError`` (unknown command_id, bad body) consumes
    the offending PDU, so the next call goes on with the following one. A fatal
    one (command_length below 16 or above ``max_pdu_size``) is raised again by
    every later call: the stream has no framing left.
    """

    __slots__ = ("_buf", "_error", "_pos", "max_pdu_size")

    def __init__(self, *, max_pdu_size: int = DEFAULT_MAX_PDU_SIZE) -> None:
        if max_pdu_size < HEADER_SIZE:
            raise ValueError(f"max_pdu_size must be at least {HEADER_SIZE}")
        self.max_pdu_size = max_pdu_size
        self._buf = bytearray()
        self._pos = 0
        self._error: RemoteProtocolError | None = None

    @property
    def buffered(self) -> int:
        """Octets received and not yet consumed by a PDU."""
        return len(self._buf) - self._pos

    def receive_data(self, data: bytes) -> None:
        self._buf += data

    def next_pdu(self) -> Pdu | Literal[NeedData.NEED_DATA]:
        if self._error is not None:
            raise self._error
        buf = self._buf
        pos = self._pos
        if len(buf) - pos < HEADER_SIZE:
            self._compact()
            return NEED_DATA
        length, command_id, status, seq = _HEADER.unpack_from(buf, pos)
        if length < HEADER_SIZE or length > self.max_pdu_size:
            self._error = RemoteProtocolError(
                f"command_length {length} outside {HEADER_SIZE}..{self.max_pdu_size}",
                error_status=ESME_RINVCMDLEN,
                sequence_number=seq,
                command_id=command_id,
                fatal=True,
            )
            raise self._error
        if len(buf) - pos < length:
            self._compact()
            return NEED_DATA
        body = bytes(buf[pos + HEADER_SIZE : pos + length])
        self._pos = pos + length
        return _decode_frame(command_id, status, seq, body)

    def _compact(self) -> None:
        if self._pos:
            del self._buf[: self._pos]
            self._pos = 0
