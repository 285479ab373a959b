"""SMPP 3.4 PDUs as frozen, slotted dataclasses that validate themselves (h11 ``_events.py`` style).

Each PDU class is its body's ordered field list (fiorix/go-smpp ``pdu/types.go``
style): every body field is declared with a wire kind (``c_octet``, ``u8``,
``smpp_time``, ``short_message``) in wire order, and the class decorator
collects them into ``_BODY``, the tuple of ``(name, kind)`` that drives
validation here and encoding/decoding in ``codec.py``. A trailing ``tlvs``
field (``Tlvs``) holds the optional parameters of every PDU that has a body.

Every PDU also carries the header's ``sequence_number`` and ``command_status``
(keyword-only, default 0); ``command_length`` is computed by the codec and
``command_id`` is a class constant. Building a PDU with a value the wire cannot
hold (a C-octet string longer than the spec allows or containing NUL, an
integer outside its octet, a short_message over 254 octets...) raises
``LocalProtocolError`` whose ``error_status`` is the status an SMSC would
answer (ESME_RINVDSTADR for destination_addr...). The decoder builds PDUs
through the same constructors, so a decoded PDU is valid by construction.

Strings are ``str`` (Latin-1 on the wire; the spec says ASCII, and SMSCs send
more); ``short_message`` is ``bytes`` (the text layer encodes);
``schedule_delivery_time`` / ``validity_period`` are SMPP time strings, built
with ``format_relative_time`` / ``format_absolute_time``.
"""

from __future__ import annotations

import dataclasses
import re
import struct
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from operator import attrgetter, lt
from typing import Any, ClassVar, Self, TypeVar

from gateway.smpp.protocol.errors import LocalProtocolError
from gateway.smpp.protocol.status import (
    ESME_RINVCMDLEN,
    ESME_RINVDCS,
    ESME_RINVDFTMSGID,
    ESME_RINVDSTADR,
    ESME_RINVDSTNPI,
    ESME_RINVDSTTON,
    ESME_RINVESMCLASS,
    ESME_RINVEXPIRY,
    ESME_RINVMSGID,
    ESME_RINVMSGLEN,
    ESME_RINVPASWD,
    ESME_RINVPRTFLG,
    ESME_RINVREGDLVFLG,
    ESME_RINVREPFLAG,
    ESME_RINVSCHED,
    ESME_RINVSERTYP,
    ESME_RINVSRCADR,
    ESME_RINVSRCNPI,
    ESME_RINVSRCTON,
    ESME_RINVSYSID,
    ESME_RINVSYSTYP,
    ESME_RSYSERR,
)
from gateway.smpp.protocol.tlv import EMPTY_TLVS, Tag, Tlvs

__all__ = [
    "PDU_CLASSES",
    "U8",
    "AlertNotification",
    "BindReceiver",
    "BindReceiverResp",
    "BindTransceiver",
    "BindTransceiverResp",
    "BindTransmitter",
    "BindTransmitterResp",
    "COctet",
    "DataSm",
    "DataSmResp",
    "DeliverSm",
    "DeliverSmResp",
    "EnquireLink",
    "EnquireLinkResp",
    "GenericNack",
    "Outbind",
    "Pdu",
    "QuerySm",
    "QuerySmResp",
    "ShortMessage",
    "SmppTime",
    "SubmitSm",
    "SubmitSmResp",
    "Unbind",
    "UnbindResp",
    "format_absolute_time",
    "format_relative_time",
    "parse_smpp_time",
]

SMPP_VERSION_34 = 0x34


# --- field kinds -------------------------------------------------------------


def _is_latin1(value: str) -> bool:
    if value.isascii():
        return True
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


class COctet:
    """A C-octet string of at most ``max_octets`` octets *including* its NUL (the spec's "Var. max")."""

    __slots__ = ("error_status", "max_octets")

    def __init__(self, max_octets: int, error_status: int) -> None:
        self.max_octets = max_octets
        self.error_status = error_status

    def check(self, name: str, value: object) -> None:
        if type(value) is not str:
            raise LocalProtocolError(
                f"{name} must be a str, not {type(value).__name__}", error_status=self.error_status
            )
        if len(value) >= self.max_octets or "\0" in value or not _is_latin1(value):
            raise LocalProtocolError(
                f"{name} must be at most {self.max_octets - 1} Latin-1 characters without NUL, not {value!r}",
                error_status=self.error_status,
            )


_TIME_RE = re.compile(r"\d{12}\d(?:[0-3]\d|4[0-8])[+\-R]\Z")


class SmppTime(COctet):
    """schedule_delivery_time / validity_period: empty, or ``YYMMDDhhmmsstnnp`` (16 characters)."""

    __slots__ = ()

    def __init__(self, error_status: int) -> None:
        super().__init__(17, error_status)

    def check(self, name: str, value: object) -> None:
        super().check(name, value)
        if value and not _TIME_RE.match(value):  # type: ignore[call-overload]
            raise LocalProtocolError(
                f"{name} must be empty or YYMMDDhhmmsstnn[+-R], not {value!r}", error_status=self.error_status
            )


class U8:
    """An unsigned one-octet integer."""

    __slots__ = ("error_status",)

    def __init__(self, error_status: int) -> None:
        self.error_status = error_status


class ShortMessage:
    """``sm_length`` (1 octet) followed by that many octets of ``short_message`` (at most 254)."""

    __slots__ = ()
    max_octets = 254
    error_status = ESME_RINVMSGLEN


FieldKind = COctet | U8 | ShortMessage
_KIND = "smpp.kind"


def c_octet(max_octets: int, error_status: int = ESME_RSYSERR, *, secret: bool = False) -> Any:
    return dataclasses.field(default="", repr=not secret, metadata={_KIND: COctet(max_octets, error_status)})


def smpp_time(error_status: int) -> Any:
    return dataclasses.field(default="", metadata={_KIND: SmppTime(error_status)})


def u8(default: int = 0, error_status: int = ESME_RSYSERR) -> Any:
    return dataclasses.field(default=default, metadata={_KIND: U8(error_status)})


def short_message() -> Any:
    return dataclasses.field(default=b"", metadata={_KIND: ShortMessage()})


# --- the PDU base ------------------------------------------------------------

_HEADER_VALUES = struct.Struct(">II")  # packing it range-checks sequence_number and command_status
_SET = object.__setattr__  # how a frozen dataclass sets its own fields


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Pdu:
    """One SMPP PDU. ``command_id`` identifies the class; body fields follow in wire order."""

    command_id: ClassVar[int]
    command_name: ClassVar[str]
    _BODY: ClassVar[tuple[tuple[str, FieldKind], ...]] = ()
    _HAS_TLVS: ClassVar[bool] = False
    _RESPONSE: ClassVar[type[Pdu] | None] = None
    _CHECK: ClassVar[Callable[[Any], None]]
    _FIELDS: ClassVar[tuple[str, ...]] = ("sequence_number", "command_status")
    _COPY: ClassVar[Callable[[Any, int], Any]]
    _MAKE: ClassVar[Callable[[tuple[Any, ...], int, int], Any]]

    sequence_number: int = 0
    command_status: int = 0

    def __post_init__(self) -> None:
        try:
            _HEADER_VALUES.pack(self.sequence_number, self.command_status)
        except struct.error:
            raise LocalProtocolError(
                f"sequence_number and command_status must be ints in 0..0xFFFFFFFF, "
                f"not {self.sequence_number!r} / {self.command_status!r}",
                error_status=ESME_RINVCMDLEN,
            ) from None
        type(self)._CHECK(self)

    def renumbered(self, sequence_number: int) -> Self:
        """A copy with ``sequence_number`` and command_status 0, not checked again: the body was checked
        when this PDU was made, and ``sequence_number`` comes from a session's counter."""
        return type(self)._COPY(self, sequence_number)  # type: ignore[no-any-return]

    @classmethod
    def _unchecked(cls, values: tuple[Any, ...], sequence_number: int, command_status: int) -> Self:
        """A PDU of the body ``values`` (in wire order, then ``tlvs``) that a decoder has already
        proved valid: made without running the check again (codec.py's fast decoders)."""
        return cls._MAKE(values, sequence_number, command_status)  # type: ignore[no-any-return]

    @property
    def is_response(self) -> bool:
        return bool(self.command_id & 0x80000000)

    def response(self, command_status: int = 0, **fields: Any) -> Pdu:
        """The response to this request, with the same sequence number (``LocalProtocolError`` if it has none)."""
        cls = self._RESPONSE
        if cls is None:
            raise LocalProtocolError(f"{self.command_name} has no response PDU")
        return cls(sequence_number=self.sequence_number, command_status=command_status, **fields)


_P = TypeVar("_P", bound=type[Pdu])
PDU_CLASSES: dict[int, type[Pdu]] = {}


def _compile_check(cls: type[Pdu]) -> Callable[[Any], None]:
    """A validator for ``cls``'s body, built once from ``_BODY``.

    The fast path checks a valid PDU with a handful of C calls: one struct
    pack range-checks every one-octet field, one join/encode checks that every
    string is Latin-1 text without NUL, one ``map`` compares all lengths. Only
    when it fails does ``_explain`` walk the fields to name the culprit.
    """
    u8_names = tuple(name for name, kind in cls._BODY if type(kind) is U8)
    u8_pack = struct.Struct(">" + "B" * len(u8_names)).pack
    u8_get = _tuple_getter(u8_names)
    str_names = tuple(name for name, kind in cls._BODY if isinstance(kind, COctet))
    str_limits = tuple(kind.max_octets for name, kind in cls._BODY if isinstance(kind, COctet))
    str_get = _tuple_getter(str_names)
    time_names = tuple(name for name, kind in cls._BODY if type(kind) is SmppTime)
    sm_name = next((name for name, kind in cls._BODY if type(kind) is ShortMessage), None)
    has_tlvs = cls._HAS_TLVS

    def check(pdu: Any) -> None:
        try:
            if u8_names:
                u8_pack(*u8_get(pdu))
            if str_names:
                strings = str_get(pdu)
                joined = "".join(strings)
                if not joined.isascii():
                    joined.encode("latin-1")
                if "\0" in joined or not all(map(lt, map(len, strings), str_limits)):
                    raise ValueError
            for name in time_names:
                if getattr(pdu, name) and not _TIME_RE.match(getattr(pdu, name)):
                    raise ValueError
        except (struct.error, TypeError, ValueError):  # UnicodeEncodeError is a ValueError
            _explain(cls, pdu)
            raise  # pragma: no cover - _explain always raises here
        if sm_name is not None:
            sm = getattr(pdu, sm_name)
            if type(sm) is not bytes or len(sm) > ShortMessage.max_octets:
                raise LocalProtocolError(
                    f"{sm_name} must be bytes of at most 254 octets (use message_payload beyond)",
                    error_status=ESME_RINVMSGLEN,
                )
            if sm and pdu.tlvs and Tag.MESSAGE_PAYLOAD in pdu.tlvs:
                raise LocalProtocolError(
                    "short_message and message_payload cannot both be used", error_status=ESME_RINVMSGLEN
                )
        if has_tlvs and type(pdu.tlvs) is not Tlvs:
            raise LocalProtocolError(f"tlvs must be a Tlvs, not {type(pdu.tlvs).__name__}")

    return check


def _tuple_getter(names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    if not names:
        return lambda obj: ()
    if len(names) == 1:
        return lambda obj: (getattr(obj, names[0]),)
    return attrgetter(*names)


def _explain(cls: type[Pdu], pdu: Any) -> None:
    """Raise the ``LocalProtocolError`` naming the first invalid field (the slow path of the check)."""
    for name, kind in cls._BODY:
        value = getattr(pdu, name)
        if type(kind) is U8:
            if not isinstance(value, int) or not 0 <= value <= 0xFF:
                raise LocalProtocolError(
                    f"{name} must be an int in 0..255, not {value!r}", error_status=kind.error_status
                )
        elif isinstance(kind, COctet):
            kind.check(name, value)


def _compile_makers(cls: type[Pdu]) -> tuple[Callable[[Any, int], Any], Callable[[tuple[Any, ...], int, int], Any]]:
    """``renumbered`` and ``_unchecked`` for ``cls``, unrolled over its fields once (as dataclasses
    writes ``__init__``): a loop over twenty-odd fields per PDU costs more than the fields."""
    body = cls._FIELDS[2:]
    lines = ["def copy(pdu, seq):", "    new = new_of(cls)", "    set_(new, 'sequence_number', seq)"]
    lines += ["    set_(new, 'command_status', 0)"]
    lines += [f"    set_(new, {name!r}, pdu.{name})" for name in body]
    lines += ["    return new", "def make(values, seq, status):", "    new = new_of(cls)"]
    lines += ["    set_(new, 'sequence_number', seq)", "    set_(new, 'command_status', status)"]
    if body:
        lines += [f"    ({', '.join(body)},) = values"]
        lines += [f"    set_(new, {name!r}, {name})" for name in body]
    lines += ["    return new"]
    namespace: dict[str, Any] = {"cls": cls, "new_of": object.__new__, "set_": _SET}
    exec("\n".join(lines), namespace)  # code made of the class's own field names only
    return namespace["copy"], namespace["make"]


def _pdu(command_id: int, name: str) -> Callable[[_P], _P]:
    """Make ``cls`` a frozen slotted dataclass, collect its field list, register its command_id."""

    def wrap(cls: _P) -> _P:
        cls = dataclasses.dataclass(frozen=True, slots=True)(cls)  # type: ignore[assignment]
        fields = dataclasses.fields(cls)
        cls._BODY = tuple((f.name, f.metadata[_KIND]) for f in fields if _KIND in f.metadata)
        cls._HAS_TLVS = any(f.name == "tlvs" for f in fields)
        cls._FIELDS = tuple(f.name for f in fields)
        cls._COPY, cls._MAKE = _compile_makers(cls)
        cls.command_id = command_id
        cls.command_name = name
        cls._CHECK = _compile_check(cls)
        assert command_id not in PDU_CLASSES
        PDU_CLASSES[command_id] = cls
        return cls

    return wrap


# --- header-only PDUs ----------------------------------------------------------


@_pdu(0x80000000, "generic_nack")
class GenericNack(Pdu):
    """generic_nack (4.3): the answer to a PDU with a bad header or command_id."""


@_pdu(0x80000006, "unbind_resp")
class UnbindResp(Pdu):
    """unbind_resp (4.2.2)."""


@_pdu(0x00000006, "unbind")
class Unbind(Pdu):
    """unbind (4.2.1): either side ends the session."""

    _RESPONSE = UnbindResp


@_pdu(0x80000015, "enquire_link_resp")
class EnquireLinkResp(Pdu):
    """enquire_link_resp (4.11.2)."""


@_pdu(0x00000015, "enquire_link")
class EnquireLink(Pdu):
    """enquire_link (4.11.1): link confidence check, either side, any time."""

    _RESPONSE = EnquireLinkResp


# --- bind --------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class _BindRespBody(Pdu):
    system_id: str = c_octet(16, ESME_RINVSYSID)  # the SMSC's id
    tlvs: Tlvs = EMPTY_TLVS  # sc_interface_version


@_pdu(0x80000002, "bind_transmitter_resp")
class BindTransmitterResp(_BindRespBody):
    """bind_transmitter_resp (4.1.2)."""


@_pdu(0x80000001, "bind_receiver_resp")
class BindReceiverResp(_BindRespBody):
    """bind_receiver_resp (4.1.4)."""


@_pdu(0x80000009, "bind_transceiver_resp")
class BindTransceiverResp(_BindRespBody):
    """bind_transceiver_resp (4.1.6)."""


@dataclasses.dataclass(frozen=True, slots=True)
class _BindBody(Pdu):
    system_id: str = c_octet(16, ESME_RINVSYSID)
    password: str = c_octet(9, ESME_RINVPASWD, secret=True)  # never in repr
    system_type: str = c_octet(13, ESME_RINVSYSTYP)
    interface_version: int = u8(SMPP_VERSION_34)
    addr_ton: int = u8()
    addr_npi: int = u8()
    address_range: str = c_octet(41)
    tlvs: Tlvs = EMPTY_TLVS


@_pdu(0x00000002, "bind_transmitter")
class BindTransmitter(_BindBody):
    """bind_transmitter (4.1.1): submit only."""

    _RESPONSE = BindTransmitterResp


@_pdu(0x00000001, "bind_receiver")
class BindReceiver(_BindBody):
    """bind_receiver (4.1.3): deliver only."""

    _RESPONSE = BindReceiverResp


@_pdu(0x00000009, "bind_transceiver")
class BindTransceiver(_BindBody):
    """bind_transceiver (4.1.5): both directions."""

    _RESPONSE = BindTransceiverResp


@_pdu(0x0000000B, "outbind")
class Outbind(Pdu):
    """outbind (4.1.7): the SMSC asks the ESME to bind_receiver. No response PDU."""

    system_id: str = c_octet(16, ESME_RINVSYSID)
    password: str = c_octet(9, ESME_RINVPASWD, secret=True)  # never in repr
    tlvs: Tlvs = EMPTY_TLVS


# --- short messages ----------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class _MessageIdBody(Pdu):
    message_id: str = c_octet(65, ESME_RINVMSGID)
    tlvs: Tlvs = EMPTY_TLVS


@_pdu(0x80000004, "submit_sm_resp")
class SubmitSmResp(_MessageIdBody):
    """submit_sm_resp (4.4.2): message_id is the SMSC's id for the message. Empty body on error."""


@_pdu(0x80000005, "deliver_sm_resp")
class DeliverSmResp(_MessageIdBody):
    """deliver_sm_resp (4.6.2): message_id unused (empty)."""


@_pdu(0x80000103, "data_sm_resp")
class DataSmResp(_MessageIdBody):
    """data_sm_resp (4.7.2)."""


@dataclasses.dataclass(frozen=True, slots=True)
class _QuerySmRespBody(Pdu):
    message_id: str = c_octet(65, ESME_RINVMSGID)
    final_date: str = smpp_time(ESME_RINVEXPIRY)
    message_state: int = u8()
    error_code: int = u8()


@_pdu(0x80000003, "query_sm_resp")
class QuerySmResp(_QuerySmRespBody):
    """query_sm_resp (4.8.2): what the SMSC knows of one message: its state, when it became final, its error.

    ``final_date`` is an absolute SMPP time, or empty while the message is not
    final; ``message_state`` is the SMPP message state (5.2.28); ``error_code``
    the network error code (0: none). Empty body on error.
    """


@dataclasses.dataclass(frozen=True, slots=True)
class _QuerySmBody(Pdu):
    message_id: str = c_octet(65, ESME_RINVMSGID)
    source_addr_ton: int = u8(0, ESME_RINVSRCTON)
    source_addr_npi: int = u8(0, ESME_RINVSRCNPI)
    source_addr: str = c_octet(21, ESME_RINVSRCADR)


@_pdu(0x00000003, "query_sm")
class QuerySm(_QuerySmBody):
    """query_sm (4.8.1): ESME -> SMSC, ask the state of a message submitted earlier (by its message_id).

    ``source_addr`` must be the one the message was submitted with (SMSCs look
    the message up by both).
    """

    _RESPONSE = QuerySmResp


@dataclasses.dataclass(frozen=True, slots=True)
class _ShortMessageBody(Pdu):
    service_type: str = c_octet(6, ESME_RINVSERTYP)
    source_addr_ton: int = u8(0, ESME_RINVSRCTON)
    source_addr_npi: int = u8(0, ESME_RINVSRCNPI)
    source_addr: str = c_octet(21, ESME_RINVSRCADR)
    dest_addr_ton: int = u8(0, ESME_RINVDSTTON)
    dest_addr_npi: int = u8(0, ESME_RINVDSTNPI)
    destination_addr: str = c_octet(21, ESME_RINVDSTADR)
    esm_class: int = u8(0, ESME_RINVESMCLASS)
    protocol_id: int = u8()
    priority_flag: int = u8(0, ESME_RINVPRTFLG)
    schedule_delivery_time: str = smpp_time(ESME_RINVSCHED)
    validity_period: str = smpp_time(ESME_RINVEXPIRY)
    registered_delivery: int = u8(0, ESME_RINVREGDLVFLG)
    replace_if_present_flag: int = u8(0, ESME_RINVREPFLAG)
    data_coding: int = u8(0, ESME_RINVDCS)
    sm_default_msg_id: int = u8(0, ESME_RINVDFTMSGID)
    short_message: bytes = short_message()  # preceded on the wire by sm_length
    tlvs: Tlvs = EMPTY_TLVS


@_pdu(0x00000004, "submit_sm")
class SubmitSm(_ShortMessageBody):
    """submit_sm (4.4.1): ESME -> SMSC, one short message (or one part of a long one)."""

    _RESPONSE = SubmitSmResp


@_pdu(0x00000005, "deliver_sm")
class DeliverSm(_ShortMessageBody):
    """deliver_sm (4.6.1): SMSC -> ESME, a mobile-originated message or a delivery receipt.

    schedule_delivery_time, validity_period and replace_if_present_flag are
    unused (empty / 0) in a deliver_sm.
    """

    _RESPONSE = DeliverSmResp


@_pdu(0x00000103, "data_sm")
class DataSm(Pdu):
    """data_sm (4.7.1): either direction; the payload is in the message_payload TLV."""

    service_type: str = c_octet(6, ESME_RINVSERTYP)
    source_addr_ton: int = u8(0, ESME_RINVSRCTON)
    source_addr_npi: int = u8(0, ESME_RINVSRCNPI)
    source_addr: str = c_octet(65, ESME_RINVSRCADR)
    dest_addr_ton: int = u8(0, ESME_RINVDSTTON)
    dest_addr_npi: int = u8(0, ESME_RINVDSTNPI)
    destination_addr: str = c_octet(65, ESME_RINVDSTADR)
    esm_class: int = u8(0, ESME_RINVESMCLASS)
    registered_delivery: int = u8(0, ESME_RINVREGDLVFLG)
    data_coding: int = u8(0, ESME_RINVDCS)
    tlvs: Tlvs = EMPTY_TLVS

    _RESPONSE = DataSmResp


@_pdu(0x00000102, "alert_notification")
class AlertNotification(Pdu):
    """alert_notification (4.12.1): SMSC -> ESME, a mobile became available. No response PDU."""

    source_addr_ton: int = u8(0, ESME_RINVSRCTON)
    source_addr_npi: int = u8(0, ESME_RINVSRCNPI)
    source_addr: str = c_octet(65, ESME_RINVSRCADR)
    esme_addr_ton: int = u8()
    esme_addr_npi: int = u8()
    esme_addr: str = c_octet(65, ESME_RINVDSTADR)
    tlvs: Tlvs = EMPTY_TLVS  # ms_availability_status


# --- SMPP time strings (7.1.1) -------------------------------------------------


def format_relative_time(seconds: int) -> str:
    """``seconds`` from now as a relative SMPP time, ``YYMMDDhhmmss000R`` (days up to 99, no months)."""
    if type(seconds) is not int or seconds < 0:
        raise ValueError(f"seconds must be a non-negative int, not {seconds!r}")
    days, rest = divmod(seconds, 86400)
    if days > 99:
        raise ValueError(f"a relative SMPP time holds at most 99 days, not {days}")
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return f"0000{days:02d}{hours:02d}{minutes:02d}{secs:02d}000R"


def format_absolute_time(when: datetime) -> str:
    """An aware datetime as an absolute SMPP time, ``YYMMDDhhmmsstnn±``, in the datetime's own UTC offset."""
    offset = when.utcoffset()
    if offset is None:
        raise ValueError("an absolute SMPP time needs an aware datetime")
    quarters, remainder = divmod(int(offset.total_seconds()), 900)
    if remainder or not -48 <= quarters <= 48:
        raise ValueError(f"UTC offset {offset} is not a multiple of 15 minutes within 12 hours")
    if not 2000 <= when.year <= 2099:
        raise ValueError(f"year {when.year} is outside the two-digit SMPP range 2000-2099")
    sign = "-" if quarters < 0 else "+"
    return f"{when:%y%m%d%H%M%S}{when.microsecond // 100000}{abs(quarters):02d}{sign}"


def parse_smpp_time(value: str) -> datetime | timedelta | None:
    """``None`` for "", an aware datetime for an absolute time, a timedelta for a relative one.

    Relative years and months count as 365 and 30 days (the spec leaves them to the SMSC).
    Raises ``ValueError`` for anything else.
    """
    if value == "":
        return None
    if not _TIME_RE.match(value):
        raise ValueError(f"not an SMPP time: {value!r}")
    yy, mo, dd, hh, mi, ss = (int(value[i : i + 2]) for i in range(0, 12, 2))
    if value[15] == "R":
        return timedelta(days=yy * 365 + mo * 30 + dd, hours=hh, minutes=mi, seconds=ss)
    quarters = int(value[13:15]) * (-1 if value[15] == "-" else 1)
    tz = timezone(timedelta(minutes=15 * quarters))
    return datetime(2000 + yy, mo, dd, hh, mi, ss, int(value[12]) * 100000, tzinfo=tz)
