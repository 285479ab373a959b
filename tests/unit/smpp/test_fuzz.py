"""Hypothesis: any bytes decode to PDUs or RemoteProtocolError only; valid PDUs round-trip; fast path == generic."""

from __future__ import annotations

import dataclasses
import struct
from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.smpp.protocol import codec, tlv
from gateway.smpp.protocol.codec import NEED_DATA, Decoder, decode, encode
from gateway.smpp.protocol.errors import RemoteProtocolError
from gateway.smpp.protocol.events import Event
from gateway.smpp.protocol.pdu import (
    PDU_CLASSES,
    U8,
    BindTransceiver,
    BindTransceiverResp,
    COctet,
    Pdu,
    ShortMessage,
    SmppTime,
    format_absolute_time,
    format_relative_time,
)
from gateway.smpp.protocol.session import EsmeSession
from gateway.smpp.protocol.tlv import NetworkErrorCode, Tag, Tlvs

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ROUND_TRIP = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- strategies for valid PDUs, driven by each class's _BODY --------------------------------

latin1 = st.characters(min_codepoint=1, max_codepoint=255)
smpp_times = st.one_of(
    st.just(""),
    st.integers(0, 99 * 86400).map(format_relative_time),
    st.builds(
        lambda when, quarters: format_absolute_time(when.replace(tzinfo=timezone(timedelta(minutes=15 * quarters)))),
        st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)),
        st.integers(-48, 48),
    ),
)


def _tlv_value(kind: Any) -> st.SearchStrategy[Any]:
    name = type(kind).__name__
    if name == "_Int":
        return st.integers(0, kind.max)
    if name == "_COctet":
        return st.text(latin1, max_size=kind.max_octets - 1)
    if name == "_Octets":
        return st.binary(min_size=kind.min_len, max_size=min(kind.max_len, 300))
    assert name == "_NetworkError"
    return st.builds(NetworkErrorCode, st.integers(0, 255), st.integers(0, 0xFFFF))


KNOWN_TLVS = {tag: _tlv_value(kind) for tag, kind in tlv._KINDS.items()}


@st.composite
def tlv_maps(draw: st.DrawFn, *, allow_payload: bool = True) -> Tlvs:
    known = [t for t in KNOWN_TLVS if allow_payload or t != Tag.MESSAGE_PAYLOAD]
    tags = draw(st.lists(st.sampled_from(known), unique=True, max_size=4))
    vendor = draw(st.lists(st.integers(0x1400, 0xFFFF), unique=True, max_size=2))
    items = [(t, draw(KNOWN_TLVS[t])) for t in tags] + [(t, draw(st.binary(max_size=20))) for t in vendor]
    order = draw(st.permutations(range(len(items))))
    return Tlvs([items[i] for i in order])


def _field(kind: Any) -> st.SearchStrategy[Any]:
    if type(kind) is SmppTime:
        return smpp_times
    if isinstance(kind, COctet):
        return st.text(latin1, max_size=kind.max_octets - 1)
    if type(kind) is U8:
        return st.integers(0, 255)
    assert type(kind) is ShortMessage
    return st.binary(max_size=254)


@st.composite
def pdus(draw: st.DrawFn, classes: tuple[type[Pdu], ...] = tuple(PDU_CLASSES.values())) -> Pdu:
    cls = draw(st.sampled_from(classes))
    fields = {name: draw(_field(kind)) for name, kind in cls._BODY}
    if cls._HAS_TLVS:
        fields["tlvs"] = draw(tlv_maps(allow_payload=not fields.get("short_message")))
    return cls(
        sequence_number=draw(st.integers(0, 0xFFFFFFFF)),
        command_status=draw(st.integers(0, 0xFFFFFFFF)),
        **fields,
    )


COMMAND_IDS = [*sorted(PDU_CLASSES), 3, 33, 2147483681, 305419896]


@st.composite
def framed(draw: st.DrawFn) -> bytes:
    """A header with a consistent command_length and a known (mostly) command_id, then random body octets."""
    body = draw(st.binary(max_size=300))
    command_id = draw(st.sampled_from(COMMAND_IDS))
    status = draw(st.sampled_from([0, 0x58, draw(st.integers(0, 0xFFFFFFFF))]))
    return struct.pack(">IIII", 16 + len(body), command_id, status, draw(st.integers(0, 0xFFFFFFFF))) + body


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A valid PDU's bytes with octets flipped, cut or inserted; command_length refitted or not."""
    wire = bytearray(encode(draw(pdus())))
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["flip", "cut", "insert"]))
        pos = draw(st.integers(0, len(wire)))
        if action == "flip" and pos < len(wire):
            wire[pos] = draw(st.integers(0, 255))
        elif action == "cut":
            del wire[pos : pos + draw(st.integers(1, 8))]
        else:
            wire[pos:pos] = draw(st.binary(min_size=1, max_size=8))
    if len(wire) >= 4 and draw(st.booleans()):
        wire[0:4] = len(wire).to_bytes(4, "big")
    return bytes(wire)


def drain(data: bytes, *, chunk: int | None = None) -> list[Pdu | RemoteProtocolError]:
    """Everything a Decoder makes of ``data``; any exception but RemoteProtocolError escapes (and fails)."""
    decoder = Decoder(max_pdu_size=4096)
    out: list[Pdu | RemoteProtocolError] = []
    pieces = [data] if chunk is None else [data[i : i + chunk] for i in range(0, len(data), chunk)]
    for piece in pieces:
        decoder.receive_data(piece)
        while True:
            try:
                pdu = decoder.next_pdu()
            except RemoteProtocolError as exc:
                out.append(exc)
                if exc.fatal:
                    return out
                continue
            if pdu is NEED_DATA:
                break
            assert isinstance(pdu, Pdu)
            out.append(pdu)
    return out


# --- the decoding rule ----------------------------------------------------------------


@FUZZ
@given(st.binary(max_size=600))
def test_arbitrary_bytes_give_pdus_or_remote_protocol_error(data: bytes) -> None:
    """Random bytes never make the decoder raise anything but RemoteProtocolError."""
    drain(data)


@FUZZ
@given(st.lists(framed(), min_size=1, max_size=4), st.integers(1, 64))
def test_framed_random_bodies_give_pdus_or_remote_protocol_error(frames: list[bytes], chunk: int) -> None:
    """Well-framed PDUs with random bodies decode or fail per PDU, never crash, never lose framing."""
    results = drain(b"".join(frames), chunk=chunk)
    assert len(results) == len(frames)  # one outcome per frame: framing survives bad bodies
    for result in results:
        assert isinstance(result, Pdu) or not result.fatal


@FUZZ
@given(mutated())
def test_mutated_valid_pdus_give_pdus_or_remote_protocol_error(data: bytes) -> None:
    """Valid PDUs with octets flipped, cut or inserted decode or raise RemoteProtocolError only."""
    drain(data)
    try:
        decode(data)
    except RemoteProtocolError:
        pass


# --- round trips and the fast path ---------------------------------------------------------


@ROUND_TRIP
@given(pdus())
def test_valid_pdus_round_trip(pdu: Pdu) -> None:
    """decode(encode(pdu)) == pdu for every valid PDU of every class."""
    assert decode(encode(pdu)) == pdu


FAST = tuple(codec._FAST_ENCODERS)


@ROUND_TRIP
@given(pdus(FAST))
def test_fast_encoders_match_the_field_list_encoder(pdu: Pdu) -> None:
    """The hand-written encoders produce the same bytes as the encoder compiled from _BODY."""
    assert codec._FAST_ENCODERS[type(pdu)](pdu) == codec._GENERIC_ENCODERS[type(pdu)](pdu)


def _outcome(decoders: dict[int, Any], cls: type[Pdu], body: bytes, status: int) -> Any:
    try:
        return codec._decode_frame(cls.command_id, status, 1, body, decoders)
    except RemoteProtocolError as exc:
        return ("error", exc.error_status)


@FUZZ
@given(
    st.sampled_from(FAST),
    st.one_of(st.binary(max_size=120), pdus(FAST).map(lambda p: encode(p)[16:])),
    st.sampled_from([0, 0x58]),
)
def test_fast_decoders_match_the_field_list_decoder(cls: type[Pdu], body: bytes, status: int) -> None:
    """On valid and random bodies alike, the fast decoders agree with the generic one (value or error status)."""
    fast = _outcome(codec._DECODERS, cls, body, status)
    assert fast == _outcome(codec._GENERIC_DECODERS, cls, body, status)


# --- the session survives anything -----------------------------------------------------------


@FUZZ
@given(st.lists(st.one_of(framed(), mutated(), st.binary(max_size=40)), max_size=4))
def test_bound_session_turns_any_bytes_into_events(chunks: list[bytes]) -> None:
    """A bound ESME session fed arbitrary bytes only ever returns events (and queues answers)."""
    session = EsmeSession(max_pdu_size=4096)
    session.send(BindTransceiver(), 0.0)
    session.receive_data(encode(BindTransceiverResp(sequence_number=1)), 0.0)
    for i, chunk in enumerate(chunks):
        session.receive_data(chunk, float(i))
        while (event := session.next_event()) is not NEED_DATA:
            assert isinstance(event, Event)
        session.data_to_send()
        session.on_timer(float(i))


@ROUND_TRIP
@given(pdus(FAST), st.integers(1, 0x7FFFFFFF))
def test_renumbered_is_the_checked_copy_with_the_new_sequence_number(pdu: Pdu, seq: int) -> None:
    """What the session sends: the same PDU as the checked constructor would make with that sequence
    number and status 0, made without checking the body again."""
    assert pdu.renumbered(seq) == dataclasses.replace(pdu, sequence_number=seq, command_status=0)
