"""Long messages: UDH / SAR / message_payload segmentation, UDH parsing, MO reassembly."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.smpp.protocol import concat as concat_module
from gateway.smpp.protocol.concat import (
    ConcatInfo,
    ConcatMethod,
    InformationElement,
    MessageTooLongError,
    PartialMessage,
    Reassembler,
    Segment,
    Udh,
    UdhParseError,
    build_segments,
    concat_udh,
    parse_udh,
)
from gateway.smpp.protocol.text import Encoding, TextEncodingError, encode, pack_septets

LONG_GSM = "a" * 153 + "b" * 8  # 161 septets: two parts of 153 + 8


# --- single part -----------------------------------------------------------------------------


@pytest.mark.parametrize("method", list(ConcatMethod))
def test_single_part_is_plain(method: ConcatMethod) -> None:
    """A message that fits one SMS has no UDH, UDHI, SAR or payload TLV, whatever the method."""
    assert build_segments("hello", reference=7, method=method) == [Segment(b"hello", 0, 0x00, None, None, 1, 1)]


def test_single_part_packed() -> None:
    """A packed single GSM part is the packed septets alone."""
    [segment] = build_segments("hellohello", reference=0, gsm7_packed=True)
    assert segment.short_message.hex().upper() == "E8329BFD4697D9EC37"


# --- UDH -------------------------------------------------------------------------------------


def test_udh_8bit_golden() -> None:
    """Parts carry a 6-octet UDH (IEI 0x00, 8-bit ref) and UDHI; 153 septets then 8."""
    first, second = build_segments(LONG_GSM, reference=0x2A, method="udh")
    assert first.short_message[:6].hex().upper() == (
        "05"  # UDHL: 5 octets follow
        "00"  # IEI: concatenated short messages, 8-bit reference
        "03"  # IEDL: 3 octets
        "2A"  # reference number
        "02"  # total parts
        "01"  # this part
    )
    assert second.short_message[:6].hex().upper() == "0500032A0202"  # same, part 2 of 2
    assert first.short_message[6:] == b"a" * 153
    assert second.short_message[6:] == b"b" * 8
    assert (first.esm_class_flags, second.esm_class_flags) == (0x40, 0x40)
    assert (first.index, first.total, second.index, second.total) == (1, 2, 2, 2)
    assert first.sar is None and first.message_payload is None


def test_udh_16bit_golden() -> None:
    """A 16-bit reference gives a 7-octet UDH (IEI 0x08) and 152 septets per part."""
    parts = build_segments("a" * 305, reference=0x1234, method="udh", ref_bits=16)
    assert len(parts) == 3
    assert parts[0].short_message[:7].hex().upper() == (
        "06"  # UDHL: 6 octets follow
        "08"  # IEI: concatenated short messages, 16-bit reference
        "04"  # IEDL: 4 octets
        "1234"  # reference number, big-endian
        "03"  # total parts
        "01"  # this part
    )
    assert [len(p.short_message) - 7 for p in parts] == [152, 152, 1]


def test_udh_packed_fills_exactly_140_octets() -> None:
    """Packed behind the 8-bit UDH, 153 septets plus one fill bit fill the 140-octet TP-UD."""
    first, _ = build_segments(LONG_GSM, reference=1, gsm7_packed=True)
    assert len(first.short_message) == 140
    assert first.short_message[6:9].hex().upper() == "C2E170"  # fill bit 0, then 'a' septets
    assert first.short_message[6:] == pack_septets(b"a" * 153, fill_bits=1)


def test_udh_ucs2_parts() -> None:
    """UCS-2 parts hold 67 characters behind the UDH and announce data_coding 0x08."""
    parts = build_segments("ж" * 71, reference=3)
    assert [p.data_coding for p in parts] == [0x08, 0x08]
    assert [len(p.short_message) for p in parts] == [6 + 134, 6 + 8]


def test_binary_content_goes_as_8bit_data() -> None:
    """Bytes are sent as data_coding 0x04, cut at 134 octets behind the UDH."""
    parts = build_segments(bytes(range(200)), reference=9)
    assert [p.data_coding for p in parts] == [0x04, 0x04]
    assert b"".join(p.short_message[6:] for p in parts) == bytes(range(200))


def test_bytes_with_a_text_encoding_are_refused() -> None:
    """Asking for bytes to be sent as UCS-2 is an error, not a reinterpretation."""
    with pytest.raises(ValueError, match="binary"):
        build_segments(b"abc", reference=0, encoding=Encoding.UCS2)


# --- SAR and payload --------------------------------------------------------------------------


def test_sar_parts_carry_tlv_values_and_no_udh() -> None:
    """SAR parts are bare text with (ref, total, seq) for the TLVs and no UDHI."""
    parts = build_segments(LONG_GSM, reference=0xBEEF, method=ConcatMethod.SAR)
    assert [p.sar for p in parts] == [(0xBEEF, 2, 1), (0xBEEF, 2, 2)]
    assert [p.short_message for p in parts] == [b"a" * 153, b"b" * 8]
    assert [p.esm_class_flags for p in parts] == [0, 0]


def test_payload_is_one_pdu_with_everything() -> None:
    """The payload method sends one PDU: empty short_message, whole text in message_payload."""
    [segment] = build_segments(LONG_GSM + "€", reference=5, method="payload")
    assert segment.short_message == b""
    assert segment.message_payload == encode(LONG_GSM + "€", Encoding.GSM7)
    assert (segment.index, segment.total, segment.sar, segment.esm_class_flags) == (1, 1, None, 0)


# --- limits and validation -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "ref_bits", "reference"),
    [("udh", 8, 256), ("udh", 16, 65536), ("sar", 8, 65536), ("udh", 8, -1)],
)
def test_reference_must_fit_the_header(method: str, ref_bits: int, reference: int) -> None:
    """A reference number too big for its header field is refused, not truncated."""
    with pytest.raises(ValueError, match=f"reference {reference}"):
        build_segments(LONG_GSM, reference=reference, method=method, ref_bits=ref_bits)


def test_sar_takes_a_16bit_reference() -> None:
    """SAR's reference TLV is two octets wide, whatever UDH the SMSC builds."""
    assert build_segments(LONG_GSM, reference=65535, method="sar")[0].sar == (65535, 2, 1)


def test_max_segments_is_enforced() -> None:
    """A connector's part limit raises MessageTooLongError naming the count."""
    with pytest.raises(MessageTooLongError, match="needs 3 parts"):
        build_segments("a" * 307, reference=0, max_segments=2)


def test_more_than_255_parts_is_too_long() -> None:
    """The part counter is one octet, so 256 parts never go out."""
    with pytest.raises(MessageTooLongError, match="needs 256 parts"):
        build_segments("a" * (153 * 255 + 1), reference=0)


def test_unencodable_forced_text_raises() -> None:
    """A forced GSM connector refuses Cyrillic instead of sending question marks."""
    with pytest.raises(TextEncodingError, match="position 0"):
        build_segments("Привет", reference=0, policy="gsm7")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"index": 0},
        {"index": 3},
        {"total": 256, "index": 1},
        {"esm_class_flags": 0x80},
        {"data_coding": 256},
        {"short_message": bytes(255)},
        {"message_payload": b"x"},
        {"sar": (1, 3, 1)},
        {"sar": (70000, 2, 1)},
        {"total": 1, "index": 1},  # UDHI on a single part
    ],
)
def test_segment_validates_itself(kwargs: dict) -> None:
    """A Segment that could not be a valid submit_sm body refuses to be built."""
    fields = {
        "short_message": b"\x05\x00\x03\x01\x02\x01abc",
        "esm_class_flags": 0x40,
        "data_coding": 0,
        "sar": None,
        "message_payload": None,
        "index": 1,
        "total": 2,
    } | kwargs
    with pytest.raises(ValueError):
        Segment(**fields)


def test_segment_is_frozen_and_slotted() -> None:
    """Segments are immutable value objects without a __dict__."""
    segment = build_segments("x", reference=0)[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        segment.index = 2  # type: ignore[misc]
    assert not hasattr(segment, "__dict__")


# --- parsing UDHs ----------------------------------------------------------------------------


def test_parse_udh_with_port_addressing_and_concat() -> None:
    """A UDH with a 16-bit port IE and an 8-bit concat IE yields both and the body."""
    header = bytes.fromhex(
        "0B"  # UDHL: 11 octets follow
        "0504"  # IEI 0x05 application port addressing, 16-bit; IEDL 4
        "0B84 23F0"  # destination port 2948, source port 9200
        "0003"  # IEI 0x00 concatenation, 8-bit reference; IEDL 3
        "7F0302"  # reference 0x7F, 3 parts, this is part 2
    )
    udh, body = parse_udh(header + b"body")
    assert udh.elements == (
        InformationElement(0x05, bytes.fromhex("0B8423F0")),
        InformationElement(0x00, bytes.fromhex("7F0302")),
    )
    assert udh.concat == ConcatInfo(reference=0x7F, total=3, seq=2, ref_bits=8)
    assert udh.octets == 12
    assert body == b"body"


@pytest.mark.parametrize(
    ("hex_udh", "concat"),
    [
        # UDHL, then IEI IEDL data...
        ("05 0003 7F0300", None),  # part 0: ignored per 23.040
        ("05 0003 7F0304", None),  # part 4 of 3: ignored
        ("04 0002 0102", None),  # IE 0x00 with a wrong length (2) is not a concat IE
        ("0A 0003 010201 0003 020202", ConcatInfo(2, 2, 2, 8)),  # repeated: last counts
        ("06 0804 0100 0201", ConcatInfo(0x0100, 2, 1, 16)),  # 16-bit ref 0x0100, 1 of 2
    ],
)
def test_concat_ie_rules(hex_udh: str, concat: ConcatInfo | None) -> None:
    """Concat IEs with impossible part numbers or lengths are ignored; a repeat overrides."""
    udh, _ = parse_udh(bytes.fromhex(hex_udh))
    assert udh.concat == concat


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (bytes.fromhex("05000301"), "overruns the 4-octet"),
        (bytes.fromhex("0300"), "overruns"),  # UDHL says 3, only 1 octet follows
        (bytes.fromhex("01 00"), "IE header at offset 1"),
        (bytes.fromhex("03 0005 00"), "IE 0x00 at offset 1"),
    ],
)
def test_malformed_udh_raises(data: bytes, message: str) -> None:
    """A UDH whose lengths overrun raises UdhParseError saying where."""
    with pytest.raises(UdhParseError, match=message):
        parse_udh(data)


@given(st.binary(max_size=160))
def test_parse_udh_never_raises_anything_else(data: bytes) -> None:
    """Any octets give a UDH and body that rebuild the input, or UdhParseError."""
    try:
        udh, body = parse_udh(data)
    except UdhParseError:
        return
    assert udh.to_bytes() + body == data


@given(st.sampled_from([8, 16]), st.integers(0, 65535), st.integers(1, 255), st.data())
def test_concat_udh_parses_back(ref_bits: int, reference: int, total: int, data: st.DataObject) -> None:
    """Every concat UDH we build parses back to the same reference, total and part."""
    reference %= 1 << ref_bits
    seq = data.draw(st.integers(1, total))
    udh, body = parse_udh(concat_udh(reference, total, seq, ref_bits) + b"x")
    assert udh.concat == ConcatInfo(reference, total, seq, ref_bits)
    assert body == b"x"


# --- reassembly ------------------------------------------------------------------------------


@given(
    # <CR> is left out: packed text ending in <CR> on an octet boundary comes back with a
    # second <CR> (23.038 §6.1.2.3.1), which test_text covers.
    st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\r"), min_size=1, max_size=600),
    st.sampled_from([8, 16]),
    st.booleans(),
    st.randoms(use_true_random=False),
)
def test_segments_reassemble_in_any_order(text: str, ref_bits: int, packed: bool, rng: random.Random) -> None:
    """Our own UDH segments, fed to the reassembler in any order, give back the text."""
    segments = build_segments(text, reference=200, ref_bits=ref_bits, gsm7_packed=packed)
    rng.shuffle(segments)
    reassembler = Reassembler(max_age=60)
    results = [
        reassembler.add_short_message(
            source="+821012345678",
            short_message=s.short_message,
            data_coding=s.data_coding,
            udhi=bool(s.esm_class_flags & 0x40),
            now=1.0,
            gsm7_packed=packed,
        )
        for s in segments
    ]
    assert all(r is None for r in results[:-1])
    assert results[-1] is not None and results[-1].text == text
    assert len(reassembler) == 0


def test_sar_parts_reassemble_with_add() -> None:
    """SAR parts go through add() with the TLV values and come out whole."""
    reassembler = Reassembler()
    parts = build_segments(LONG_GSM, reference=513, method="sar")
    got = [
        reassembler.add(
            source="src",
            reference=p.sar[0],
            total=p.sar[1],
            seq=p.sar[2],
            payload=p.short_message,
            encoding=Encoding.GSM7,
            now=0.0,
        )
        for p in reversed(parts)
    ]
    assert got[0] is None and got[1] is not None
    assert got[1].text == LONG_GSM and got[1].reference == 513


def test_surrogate_pair_split_by_the_sender_comes_out_whole() -> None:
    """A sender that cut an emoji between parts still gets it joined before decoding."""
    reassembler = Reassembler()
    common = {"source": "s", "reference": 1, "total": 2, "encoding": Encoding.UCS2, "now": 0.0}
    assert reassembler.add(seq=1, payload=bytes.fromhex("0061D83D"), **common) is None  # 'a', high
    message = reassembler.add(seq=2, payload=bytes.fromhex("DE00"), **common)  # low surrogate
    assert message is not None and message.text == "a😀"


def test_duplicate_part_keeps_the_first_copy() -> None:
    """A repeated part does not complete the message or replace the first copy."""
    reassembler = Reassembler()
    common = {"source": "s", "reference": 1, "total": 2, "encoding": Encoding.GSM7, "now": 0.0}
    assert reassembler.add(seq=1, payload=b"AB", **common) is None
    assert reassembler.add(seq=1, payload=b"XY", **common) is None
    assert reassembler.add(seq=2, payload=b"C", **common).text == "ABC"


def test_groups_are_keyed_by_source_reference_and_total() -> None:
    """Parts from another source, or with another total, never join a message."""
    reassembler = Reassembler()
    base = {"reference": 9, "encoding": Encoding.GSM7, "now": 0.0}
    assert reassembler.add(source="a", total=2, seq=1, payload=b"a1", **base) is None
    assert reassembler.add(source="b", total=2, seq=2, payload=b"b2", **base) is None
    assert reassembler.add(source="a", total=3, seq=2, payload=b"x2", **base) is None
    assert len(reassembler) == 3
    assert reassembler.add(source="a", total=2, seq=2, payload=b"a2", **base).text == "a1a2"


def test_old_groups_expire() -> None:
    """A group older than max_age is dropped and reported once by expire()."""
    reassembler = Reassembler(max_age=10)
    common = {"source": "s", "reference": 4, "total": 2, "encoding": Encoding.GSM7}
    reassembler.add(seq=1, payload=b"x", now=100.0, **common)
    assert reassembler.expire(109.9) == []
    assert reassembler.expire(110.0) == [PartialMessage("s", 4, 2, (1,), 100.0)]
    assert reassembler.expire(111.0) == []
    assert reassembler.add(seq=2, payload=b"y", now=111.0, **common) is None  # no stale part 1


def test_stale_group_restarts_on_a_late_part() -> None:
    """A part arriving after its group aged out starts afresh; the old group is reported."""
    reassembler = Reassembler(max_age=10)
    common = {"source": "s", "reference": 4, "total": 2, "encoding": Encoding.GSM7}
    reassembler.add(seq=1, payload=b"old", now=0.0, **common)
    assert reassembler.add(seq=2, payload=b"new2", now=50.0, **common) is None
    assert reassembler.expire(50.0) == [PartialMessage("s", 4, 2, (1,), 0.0)]
    assert reassembler.add(seq=1, payload=b"new1", now=51.0, **common).text == "new1new2"


def test_max_pending_drops_the_oldest_group() -> None:
    """Beyond max_pending groups the oldest goes, so a flood cannot grow memory."""
    reassembler = Reassembler(max_pending=2)
    for ref, now in ((1, 0.0), (2, 1.0), (3, 2.0)):
        reassembler.add(source="s", reference=ref, total=2, seq=1, payload=b"x", encoding=Encoding.GSM7, now=now)
    assert len(reassembler) == 2
    assert [p.reference for p in reassembler.expire(3.0)] == [1]


def test_message_without_concat_ie_is_complete_at_once() -> None:
    """A deliver_sm without UDHI, or with a UDH lacking a concat IE, is one whole message."""
    reassembler = Reassembler()
    plain = reassembler.add_short_message(source="s", short_message=b"hi", data_coding=0, udhi=False, now=0.0)
    assert plain is not None and plain.text == "hi"
    ported = reassembler.add_short_message(
        source="s",
        short_message=bytes.fromhex("06 0504 0B84 23F0") + b"ok",  # port IE only
        data_coding=4,
        udhi=True,
        now=0.0,
    )
    assert ported is not None and ported.payload == b"ok"
    assert len(reassembler) == 0


def test_part_numbers_out_of_range_are_refused() -> None:
    """add() refuses part 0 or a part above the total rather than storing it."""
    with pytest.raises(ValueError, match="3/2"):
        Reassembler().add(source="s", reference=1, total=2, seq=3, payload=b"", encoding=Encoding.GSM7, now=0.0)


def test_module_is_sans_io_and_standalone() -> None:
    """concat.py imports no I/O and, from the SMPP package, only the text layer."""
    tree = ast.parse(inspect.getsource(concat_module))
    imported = {
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
    assert imported <= {"__future__", "enum", "collections.abc", "dataclasses", "gateway.smpp.protocol.text"}


def test_udh_round_trips_through_to_bytes() -> None:
    """A Udh rebuilds the exact header octets it was parsed from."""
    raw = concat_udh(0xAB, 4, 3, 8)
    assert Udh((InformationElement(0x00, bytes.fromhex("AB0403")),)).to_bytes() == raw
