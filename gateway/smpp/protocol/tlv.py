"""SMPP 3.4 optional parameters (TLVs, section 5.3): typed values, raw wire form, and the ``Tlvs`` map.

On the wire a TLV is ``tag (2) | length (2) | value (length)``, big-endian, and
a PDU ends with zero or more of them. ``Tlvs`` is the immutable mapping a PDU
carries in its ``tlvs`` field:

* keys are tags: a ``Tag`` member for the parameters this module knows, a plain
  ``int`` for the others (vendor-specific 0x1400-0x3FFF, SMPP 5.0 ones...);
* a known tag holds a typed value (``int`` for integers, ``str`` for C-octet
  strings, ``bytes`` for octet strings, ``NetworkErrorCode`` for
  network_error_code); an unknown tag holds its raw ``bytes``, preserved as
  received and sent back unchanged;
* iteration follows wire order, so decoding then encoding gives the same bytes
  (except that a C-octet string received without its NUL gets one back).

Building a ``Tlvs`` validates every value (``LocalProtocolError``, status
ESME_RINVOPTPARAMVAL) and refuses a repeated tag (SMPP 3.4 5.3.1). Decoding
raises ``RemoteProtocolError`` only when the TLV stream itself is broken; a
known parameter received with a value of the wrong shape, or repeated, is kept
raw in ``malformed`` instead of failing the PDU (a receipt must not be refused
for a bad optional parameter).

    Tlvs(message_payload=b"...", sar_msg_ref_num=7)
    Tlvs({Tag.SOURCE_PORT: 9200, 0x1501: b"\\x01"})
    pdu.tlvs.get(Tag.RECEIPTED_MESSAGE_ID)
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from gateway.smpp.protocol.errors import LocalProtocolError, RemoteProtocolError
from gateway.smpp.protocol.status import ESME_RINVOPTPARAMVAL, ESME_RINVOPTPARSTREAM, ESME_RINVPARLEN

__all__ = ["EMPTY_TLVS", "MessageState", "NetworkErrorCode", "Tag", "TlvValue", "Tlvs"]


class Tag(enum.IntEnum):
    """The SMPP 3.4 optional parameter tags (table 5-2)."""

    DEST_ADDR_SUBUNIT = 0x0005
    DEST_NETWORK_TYPE = 0x0006
    DEST_BEARER_TYPE = 0x0007
    DEST_TELEMATICS_ID = 0x0008
    SOURCE_ADDR_SUBUNIT = 0x000D
    SOURCE_NETWORK_TYPE = 0x000E
    SOURCE_BEARER_TYPE = 0x000F
    SOURCE_TELEMATICS_ID = 0x0010
    QOS_TIME_TO_LIVE = 0x0017
    PAYLOAD_TYPE = 0x0019
    ADDITIONAL_STATUS_INFO_TEXT = 0x001D
    RECEIPTED_MESSAGE_ID = 0x001E
    MS_MSG_WAIT_FACILITIES = 0x0030
    PRIVACY_INDICATOR = 0x0201
    SOURCE_SUBADDRESS = 0x0202
    DEST_SUBADDRESS = 0x0203
    USER_MESSAGE_REFERENCE = 0x0204
    USER_RESPONSE_CODE = 0x0205
    SOURCE_PORT = 0x020A
    DESTINATION_PORT = 0x020B
    SAR_MSG_REF_NUM = 0x020C
    LANGUAGE_INDICATOR = 0x020D
    SAR_TOTAL_SEGMENTS = 0x020E
    SAR_SEGMENT_SEQNUM = 0x020F
    SC_INTERFACE_VERSION = 0x0210
    CALLBACK_NUM_PRES_IND = 0x0302
    CALLBACK_NUM_ATAG = 0x0303
    NUMBER_OF_MESSAGES = 0x0304
    CALLBACK_NUM = 0x0381
    DPF_RESULT = 0x0420
    SET_DPF = 0x0421
    MS_AVAILABILITY_STATUS = 0x0422
    NETWORK_ERROR_CODE = 0x0423
    MESSAGE_PAYLOAD = 0x0424
    DELIVERY_FAILURE_REASON = 0x0425
    MORE_MESSAGES_TO_SEND = 0x0426
    MESSAGE_STATE = 0x0427
    USSD_SERVICE_OP = 0x0501
    DISPLAY_TIME = 0x1201
    SMS_SIGNAL = 0x1203
    MS_VALIDITY = 0x1204
    ALERT_ON_MESSAGE_DELIVERY = 0x130C
    ITS_REPLY_TYPE = 0x1380
    ITS_SESSION_INFO = 0x1383


class MessageState(enum.IntEnum):
    """Values of the message_state TLV (SMPP 3.4 5.2.28)."""

    ENROUTE = 1
    DELIVERED = 2
    EXPIRED = 3
    DELETED = 4
    UNDELIVERABLE = 5
    ACCEPTED = 6
    UNKNOWN = 7
    REJECTED = 8


@dataclass(frozen=True, slots=True)
class NetworkErrorCode:
    """The network_error_code TLV: network type (1 = ANSI-136, 2 = IS-95, 3 = GSM...) and its error code."""

    network_type: int
    error_code: int

    def __post_init__(self) -> None:
        if not (isinstance(self.network_type, int) and 0 <= self.network_type <= 0xFF):
            raise LocalProtocolError("network_type must be an int in 0..255", error_status=ESME_RINVOPTPARAMVAL)
        if not (isinstance(self.error_code, int) and 0 <= self.error_code <= 0xFFFF):
            raise LocalProtocolError("error_code must be an int in 0..65535", error_status=ESME_RINVOPTPARAMVAL)


TlvValue = int | str | bytes | NetworkErrorCode


def _bad(message: str) -> LocalProtocolError:
    return LocalProtocolError(message, error_status=ESME_RINVOPTPARAMVAL)


class _Int:
    """An unsigned big-endian integer of 1, 2 or 4 octets."""

    __slots__ = ("_struct", "max", "size")

    def __init__(self, size: int) -> None:
        self._struct = struct.Struct({1: ">B", 2: ">H", 4: ">I"}[size])
        self.size = size
        self.max = (1 << (8 * size)) - 1

    def check(self, name: str, value: object) -> None:
        if type(value) is bool or not isinstance(value, int) or not 0 <= value <= self.max:
            raise _bad(f"{name} must be an int in 0..{self.max}, not {value!r}")

    def to_wire(self, value: int) -> bytes:
        return self._struct.pack(value)

    def from_wire(self, name: str, raw: bytes) -> int:
        if len(raw) != self.size:
            raise RemoteProtocolError(
                f"{name} must be {self.size} octet(s), got {len(raw)}", error_status=ESME_RINVPARLEN
            )
        return int(self._struct.unpack(raw)[0])


def _is_latin1(value: str) -> bool:
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


class _COctet:
    """A NUL-terminated string of at most ``max_octets`` octets, NUL included.

    ASCII in the spec; any Latin-1 octet but NUL is accepted."""

    __slots__ = ("max_octets",)

    def __init__(self, max_octets: int) -> None:
        self.max_octets = max_octets

    def check(self, name: str, value: object) -> None:
        if not isinstance(value, str):
            raise _bad(f"{name} must be a str, not {type(value).__name__}")
        if len(value) >= self.max_octets or "\0" in value or not _is_latin1(value):
            raise _bad(f"{name} must be Latin-1 without NUL, at most {self.max_octets - 1} characters")

    def to_wire(self, value: str) -> bytes:
        return value.encode("latin-1") + b"\0"

    def from_wire(self, name: str, raw: bytes) -> str:
        # Lenient on one point seen in the field: some SMSCs omit the final NUL.
        if raw.endswith(b"\0"):
            raw = raw[:-1]
        if len(raw) >= self.max_octets or b"\0" in raw:
            raise RemoteProtocolError(f"{name} is not a valid C-octet string", error_status=ESME_RINVOPTPARAMVAL)
        return raw.decode("latin-1")


class _Octets:
    """An octet string of ``min_len``..``max_len`` octets."""

    __slots__ = ("max_len", "min_len")

    def __init__(self, min_len: int, max_len: int) -> None:
        self.min_len = min_len
        self.max_len = max_len

    def check(self, name: str, value: object) -> None:
        if not isinstance(value, bytes):
            raise _bad(f"{name} must be bytes, not {type(value).__name__}")
        if not self.min_len <= len(value) <= self.max_len:
            raise _bad(f"{name} must hold {self.min_len}..{self.max_len} octets, not {len(value)}")

    def to_wire(self, value: bytes) -> bytes:
        return value

    def from_wire(self, name: str, raw: bytes) -> bytes:
        if not self.min_len <= len(raw) <= self.max_len:
            raise RemoteProtocolError(
                f"{name} must hold {self.min_len}..{self.max_len} octets, got {len(raw)}", error_status=ESME_RINVPARLEN
            )
        return raw


class _NetworkError:
    """network_error_code: 1 octet network type + 2 octets error code."""

    __slots__ = ()
    _struct = struct.Struct(">BH")

    def check(self, name: str, value: object) -> None:
        if not isinstance(value, NetworkErrorCode):
            raise _bad(f"{name} must be a NetworkErrorCode, not {type(value).__name__}")

    def to_wire(self, value: NetworkErrorCode) -> bytes:
        return self._struct.pack(value.network_type, value.error_code)

    def from_wire(self, name: str, raw: bytes) -> NetworkErrorCode:
        if len(raw) != 3:
            raise RemoteProtocolError(f"{name} must be 3 octets, got {len(raw)}", error_status=ESME_RINVPARLEN)
        return NetworkErrorCode(*self._struct.unpack(raw))


_U8, _U16, _U32 = _Int(1), _Int(2), _Int(4)
_Kind = _Int | _COctet | _Octets | _NetworkError

# The value type of every known tag (SMPP 3.4 section 5.3.2).
_KINDS: dict[int, _Kind] = {
    Tag.DEST_ADDR_SUBUNIT: _U8,
    Tag.DEST_NETWORK_TYPE: _U8,
    Tag.DEST_BEARER_TYPE: _U8,
    Tag.DEST_TELEMATICS_ID: _U16,
    Tag.SOURCE_ADDR_SUBUNIT: _U8,
    Tag.SOURCE_NETWORK_TYPE: _U8,
    Tag.SOURCE_BEARER_TYPE: _U8,
    Tag.SOURCE_TELEMATICS_ID: _U8,
    Tag.QOS_TIME_TO_LIVE: _U32,
    Tag.PAYLOAD_TYPE: _U8,
    Tag.ADDITIONAL_STATUS_INFO_TEXT: _COctet(256),
    Tag.RECEIPTED_MESSAGE_ID: _COctet(65),
    Tag.MS_MSG_WAIT_FACILITIES: _U8,
    Tag.PRIVACY_INDICATOR: _U8,
    Tag.SOURCE_SUBADDRESS: _Octets(2, 23),
    Tag.DEST_SUBADDRESS: _Octets(2, 23),
    Tag.USER_MESSAGE_REFERENCE: _U16,
    Tag.USER_RESPONSE_CODE: _U8,
    Tag.SOURCE_PORT: _U16,
    Tag.DESTINATION_PORT: _U16,
    Tag.SAR_MSG_REF_NUM: _U16,
    Tag.LANGUAGE_INDICATOR: _U8,
    Tag.SAR_TOTAL_SEGMENTS: _U8,
    Tag.SAR_SEGMENT_SEQNUM: _U8,
    Tag.SC_INTERFACE_VERSION: _U8,
    Tag.CALLBACK_NUM_PRES_IND: _U8,
    Tag.CALLBACK_NUM_ATAG: _Octets(0, 65),
    Tag.NUMBER_OF_MESSAGES: _U8,
    Tag.CALLBACK_NUM: _Octets(4, 19),
    Tag.DPF_RESULT: _U8,
    Tag.SET_DPF: _U8,
    Tag.MS_AVAILABILITY_STATUS: _U8,
    Tag.NETWORK_ERROR_CODE: _NetworkError(),
    Tag.MESSAGE_PAYLOAD: _Octets(0, 0xFFFF),
    Tag.DELIVERY_FAILURE_REASON: _U8,
    Tag.MORE_MESSAGES_TO_SEND: _U8,
    Tag.MESSAGE_STATE: _U8,
    Tag.USSD_SERVICE_OP: _U8,
    Tag.DISPLAY_TIME: _U8,
    Tag.SMS_SIGNAL: _U16,
    Tag.MS_VALIDITY: _U8,
    Tag.ALERT_ON_MESSAGE_DELIVERY: _Octets(0, 0),
    Tag.ITS_REPLY_TYPE: _U8,
    Tag.ITS_SESSION_INFO: _Octets(2, 2),
}
_UNKNOWN = _Octets(0, 0xFFFF)
_TL = struct.Struct(">HH")
_TAGS: dict[int, Tag] = {int(tag): tag for tag in Tag}


def _name(tag: int) -> str:
    return Tag(tag).name.lower() if tag in _KINDS else f"TLV 0x{tag:04X}"


class Tlvs(Mapping[int, TlvValue]):
    """An immutable, validated, wire-ordered map of a PDU's optional parameters (see module docstring)."""

    __slots__ = ("_malformed", "_map")
    _map: dict[int, TlvValue]
    _malformed: tuple[tuple[int, bytes], ...]

    def __init__(self, items: Mapping[int, TlvValue] | Iterable[tuple[int, TlvValue]] = (), /, **named: TlvValue):
        pairs: list[tuple[int, TlvValue]] = list(items.items() if isinstance(items, Mapping) else items)
        for key, value in named.items():
            try:
                pairs.append((Tag[key.upper()], value))
            except KeyError:
                raise TypeError(f"Tlvs() got an unknown parameter name {key!r}") from None
        built: dict[int, TlvValue] = {}
        for tag, value in pairs:
            if type(tag) is bool or not isinstance(tag, int) or not 0 <= tag <= 0xFFFF:
                raise _bad(f"TLV tag must be an int in 0..0xFFFF, not {tag!r}")
            kind = _KINDS.get(tag)
            tag = _TAGS[tag] if kind is not None else int(tag)
            if tag in built:
                raise _bad(f"{_name(tag)} given twice")
            (kind or _UNKNOWN).check(_name(tag), value)
            built[tag] = value
        object.__setattr__(self, "_map", built)
        object.__setattr__(self, "_malformed", ())

    @classmethod
    def _trusted(cls, built: dict[int, TlvValue], malformed: tuple[tuple[int, bytes], ...] = ()) -> Tlvs:
        self = object.__new__(cls)
        object.__setattr__(self, "_map", built)
        object.__setattr__(self, "_malformed", malformed)
        return self

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Tlvs is immutable")

    def __getitem__(self, tag: int) -> TlvValue:
        return self._map[tag]

    def __iter__(self) -> Iterator[int]:
        return iter(self._map)

    def __len__(self) -> int:
        return len(self._map)

    def __bool__(self) -> bool:
        return bool(self._map) or bool(self._malformed)

    def __contains__(self, tag: object) -> bool:
        return tag in self._map

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Tlvs):
            return NotImplemented
        return self._map == other._map and self._malformed == other._malformed

    def __hash__(self) -> int:
        return hash((frozenset(self._map.items()), self._malformed))

    def __repr__(self) -> str:
        inner = [f"{_TAGS[t].name.lower()}={v!r}" if t in _KINDS else f"0x{t:04X}: {v!r}" for t, v in self._map.items()]
        if self._malformed:
            inner.append(f"malformed={self._malformed!r}")
        return f"Tlvs({', '.join(inner)})"

    @property
    def unknown(self) -> tuple[tuple[int, bytes], ...]:
        """The parameters this module has no type for, as raw (tag, value) pairs in wire order."""
        return tuple((t, v) for t, v in self._map.items() if t not in _KINDS)  # type: ignore[misc]

    @property
    def malformed(self) -> tuple[tuple[int, bytes], ...]:
        """Known parameters received with a value of the wrong shape (or repeated), kept raw.

        They are not in the mapping (``get`` answers None, as if absent), and
        ``encode`` sends them back unchanged, after the others. Only decoding
        produces them: refusing a whole deliver_sm for a bad optional
        parameter would make the SMSC redeliver the receipt forever.
        """
        return self._malformed

    def encode(self) -> bytes:
        """The wire form: every parameter in order, ``tag | length | value``, then the malformed ones."""
        if not self:
            return b""
        out = []
        for tag, value in self._map.items():
            raw = _KINDS.get(tag, _UNKNOWN).to_wire(value)  # type: ignore[arg-type]
            out.append(_TL.pack(tag, len(raw)))
            out.append(raw)
        for tag, raw in self._malformed:
            out.append(_TL.pack(tag, len(raw)))
            out.append(raw)
        return b"".join(out)

    @classmethod
    def decode(cls, data: bytes, offset: int = 0) -> Tlvs:
        """Parse ``data[offset:]`` entirely as TLVs; raises ``RemoteProtocolError`` only.

        Only a broken TLV stream (a header cut short, a length running past the
        end) is an error; a known parameter whose value has the wrong shape
        lands in ``malformed``.
        """
        end = len(data)
        if offset >= end:
            return EMPTY_TLVS
        built: dict[int, TlvValue] = {}
        malformed: list[tuple[int, bytes]] = []
        while offset < end:
            if end - offset < 4:
                raise RemoteProtocolError("truncated TLV header", error_status=ESME_RINVOPTPARSTREAM)
            tag, length = _TL.unpack_from(data, offset)
            offset += 4
            if end - offset < length:
                raise RemoteProtocolError(f"{_name(tag)} runs past the PDU end", error_status=ESME_RINVPARLEN)
            raw = data[offset : offset + length]
            offset += length
            kind = _KINDS.get(tag)
            if kind is None:
                if tag in built:
                    malformed.append((tag, raw))
                else:
                    built[tag] = raw
                continue
            known = _TAGS[tag]
            try:
                value = kind.from_wire(known.name.lower(), raw)
            except RemoteProtocolError:
                malformed.append((tag, raw))
                continue
            if known in built:
                malformed.append((tag, raw))
            else:
                built[known] = value
        return cls._trusted(built, tuple(malformed))


EMPTY_TLVS = Tlvs()
