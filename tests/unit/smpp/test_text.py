"""Text encodings: GSM 03.38 tables, 7-bit packing, segment sizing, alphabet choice."""

from __future__ import annotations

import ast
import inspect

import gsm0338
import pytest
from gsm0338.charset import BASIC_CHARACTER_SET_EXTENSION
from hypothesis import example, given
from hypothesis import strategies as st

from gateway.smpp.protocol import text as text_module
from gateway.smpp.protocol.text import (
    Encoding,
    EncodingPolicy,
    TextEncodingError,
    choose_encoding,
    count_segments,
    decode,
    encode,
    encoding_for_data_coding,
    fill_bits_for_udh,
    gsm7_septet_count,
    is_gsm7,
    pack_septets,
    part_capacity,
    split,
    unpack_septets,
)

REFERENCE = gsm0338.Codec()
ESC = 0x1B

GSM_BASIC_CHARS = [bytes((c,)).decode("gsm03.38") for c in range(128) if c != ESC]
GSM_EXT_CHARS = [bytes((ESC, c)).decode("gsm03.38") for c in BASIC_CHARACTER_SET_EXTENSION]
GSM_CHARS = GSM_BASIC_CHARS + GSM_EXT_CHARS
KSX1001_CHARS = [
    chr(cp)
    for cp in list(range(0x20, 0x7F)) + list(range(0xAC00, 0xD7A4)) + list(range(0x3131, 0x318F))
    if len(chr(cp).encode("euc_kr", "ignore")) in (1, 2) and cp != 0x3164  # filler: see text.py
]

WITH_LATIN1 = (Encoding.GSM7, Encoding.LATIN1, Encoding.UCS2)

gsm_text = st.text(alphabet=st.sampled_from(GSM_CHARS), max_size=400)
latin1_text = st.text(alphabet=st.characters(max_codepoint=0xFF), max_size=400)
any_text = st.text(max_size=300)  # every code point but lone surrogates
euckr_text = st.text(alphabet=st.sampled_from(KSX1001_CHARS), max_size=300)


def bit_reference_pack(septets: bytes, fill_bits: int) -> bytes:
    """A second, deliberately naive packer: one bit string, least significant bit first."""
    if not septets:
        return b""  # no text, no octet (not even for fill bits)
    bits = "0" * fill_bits + "".join(format(s, "07b")[::-1] for s in septets)
    bits += "0" * (-len(bits) % 8)
    return bytes(int(bits[i : i + 8][::-1], 2) for i in range(0, len(bits), 8))


# --- the GSM 03.38 table, checked against the gsm0338 package ----------------------------


@pytest.mark.parametrize("code", [c for c in range(128) if c != ESC])
def test_basic_table_matches_gsm0338(code: int) -> None:
    """Every basic-table code decodes and re-encodes exactly as the gsm0338 package has it."""
    expected = REFERENCE.decode(bytes((code,)))[0]
    assert decode(bytes((code,)), Encoding.GSM7) == expected
    assert encode(expected, Encoding.GSM7) == bytes((code,))


def test_extension_table_matches_gsm0338() -> None:
    """The escape table has gsm0338's codes, and each maps to the same character both ways."""
    ours = {
        c
        for c in range(128)
        if c != ESC and decode(bytes((ESC, c)), Encoding.GSM7) != decode(bytes((c,)), Encoding.GSM7)
    }
    assert ours == set(BASIC_CHARACTER_SET_EXTENSION)
    for code in BASIC_CHARACTER_SET_EXTENSION:
        expected = REFERENCE.decode(bytes((ESC, code)))[0]
        assert decode(bytes((ESC, code)), Encoding.GSM7) == expected
        assert encode(expected, Encoding.GSM7) == bytes((ESC, code))


def test_every_bmp_character_encodes_as_gsm0338_does() -> None:
    """Over the whole BMP a character is GSM-encodable exactly when gsm0338 says so, same octets."""
    mismatches = []
    for cp in range(0x10000):
        if 0xD800 <= cp <= 0xDFFF or cp == ESC:  # gsm0338 sends U+001B as a bare escape
            continue
        ch = chr(cp)
        try:
            expected = REFERENCE.encode(ch)[0]
        except UnicodeEncodeError:
            expected = None
        try:
            got = encode(ch, Encoding.GSM7)
        except TextEncodingError:
            got = None
        if got != expected:
            mismatches.append((hex(cp), got, expected))
    assert mismatches == []
    assert not is_gsm7("\x1b")


def test_undefined_escape_shows_the_basic_character() -> None:
    """23.038: ESC + an undefined code reads as the basic-table character; ESC ESC as a space."""
    assert decode(b"\x1b\x41", Encoding.GSM7) == "A"
    assert decode(b"\x1b\x1b", Encoding.GSM7) == " "


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"ab\x80", "0x80 at offset 2"),
        (b"ab\x1b", "escape 0x1B at offset 2"),
        (b"\x1b\xff", "0xFF at offset 1"),
    ],
)
def test_bad_gsm_octets_raise(data: bytes, message: str) -> None:
    """Octets that are not unpacked GSM septets raise TextEncodingError saying where."""
    with pytest.raises(TextEncodingError, match=message):
        decode(data, Encoding.GSM7)


def test_escape_characters_count_two_septets() -> None:
    """Extension-table characters cost two septets each, basic ones one."""
    assert gsm7_septet_count("{}[]~\\|^€\f") == 20
    assert gsm7_septet_count("Hello @£$") == 9


# --- round trips -----------------------------------------------------------------------------


@given(gsm_text)
def test_gsm7_round_trip(text: str) -> None:
    """Any GSM-alphabet text survives encode then decode."""
    assert decode(encode(text, Encoding.GSM7), Encoding.GSM7) == text


@given(latin1_text)
def test_latin1_round_trip(text: str) -> None:
    """Any Latin-1 text survives encode then decode, one octet per character."""
    data = encode(text, Encoding.LATIN1)
    assert len(data) == len(text)
    assert decode(data, Encoding.LATIN1) == text


@given(any_text)
@example("😀")
def test_ucs2_round_trip(text: str) -> None:
    """Any text survives UCS-2; characters beyond the BMP take a surrogate pair (4 octets)."""
    data = encode(text, Encoding.UCS2)
    assert len(data) == 2 * sum(2 if ord(c) > 0xFFFF else 1 for c in text)
    assert decode(data, Encoding.UCS2) == text


@given(euckr_text)
def test_euckr_round_trip(text: str) -> None:
    """Any KS X 1001 text survives EUC-KR encode then decode."""
    assert decode(encode(text, Encoding.EUCKR), Encoding.EUCKR) == text


def test_ucs2_surrogate_pair_golden() -> None:
    """U+1F600 is sent as the UTF-16BE surrogate pair D83D DE00."""
    assert encode("a😀", Encoding.UCS2) == bytes.fromhex("0061 D83D DE00")  # 'a', high, low


@pytest.mark.parametrize(
    ("data", "encoding"),
    [(b"\x00", Encoding.UCS2), (b"\xd8\x00", Encoding.UCS2), (b"\xff\xff", Encoding.EUCKR)],
)
def test_undecodable_octets_raise(data: bytes, encoding: Encoding) -> None:
    """Odd-length or lone-surrogate UCS-2 and invalid EUC-KR raise TextEncodingError."""
    with pytest.raises(TextEncodingError, match="offset 0"):
        decode(data, encoding)


def test_binary_has_no_text() -> None:
    """Decoding binary data as text is refused rather than guessed."""
    with pytest.raises(TextEncodingError, match="binary"):
        decode(b"\x01\x02", Encoding.BINARY)


# --- never replace a character --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "policy", "fragment"),
    [
        ("Привет", EncodingPolicy.GSM7, "'П' (U+041F) at position 0"),
        ("Ça ç", "gsm7", "'ç' (U+00E7) at position 3"),  # only capital Ç is in GSM
        ("price €5", EncodingPolicy.LATIN1, "'€' (U+20AC) at position 6"),
        ("안녕 똠", EncodingPolicy.EUCKR, "'똠' (U+B620) at position 3"),
        ("x\ud800", EncodingPolicy.UCS2, "U+D800) at position 1"),
    ],
)
def test_forced_policy_names_the_first_unencodable_character(
    text: str, policy: EncodingPolicy | str, fragment: str
) -> None:
    """A forced alphabet that cannot hold the text raises, naming the character and position."""
    with pytest.raises(TextEncodingError) as info:
        choose_encoding(text, policy=policy)
    assert fragment in str(info.value)


def test_auto_without_a_fitting_alphabet_raises() -> None:
    """auto with only GSM allowed refuses Korean, naming what stopped GSM."""
    with pytest.raises(TextEncodingError, match=r"'한' .* position 2"):
        choose_encoding("hi한", allowed=(Encoding.GSM7,))


# --- 7-bit packing --------------------------------------------------------------------------


def test_pack_golden_hellohello() -> None:
    """'hellohello' packs to the textbook E8329BFD4697D9EC37."""
    assert pack_septets(encode("hellohello", Encoding.GSM7)).hex().upper() == "E8329BFD4697D9EC37"
    assert unpack_septets(bytes.fromhex("E8329BFD4697D9EC37")) == b"hellohello"


def test_pack_pads_seven_spare_bits_with_cr() -> None:
    """Seven septets would leave 7 spare bits, so a <CR> fills them (23.038 §6.1.2.3.1)."""
    packed = pack_septets(b"1234567")
    # septets '1'..'7' fill 49 bits; last octet 0x1A = <CR> (0x0D) << 1 | top bit of '7' (0)
    assert packed.hex().upper() == "31D98C56B3DD1A"
    assert unpack_septets(packed) == b"1234567"  # the padding <CR> is dropped
    assert unpack_septets(packed, septets=7) == b"1234567"


def test_pack_doubles_a_final_cr_on_an_octet_boundary() -> None:
    """A text ending in <CR> exactly on an octet boundary gets a second <CR>, not a lost one."""
    packed = pack_septets(b"1234567\r")
    assert packed == bytes.fromhex("31D98C56B3DD1A 0D")  # 8 septets, then the extra <CR>
    assert unpack_septets(packed, septets=8) == b"1234567\r"
    assert unpack_septets(packed) == b"1234567\r\r"


def test_pack_after_udh_fill_bit_golden() -> None:
    """Behind a 6-octet UDH one fill bit precedes the first septet: 'hi' -> D0 69."""
    assert pack_septets(b"hi", fill_bits=1) == bytes.fromhex("D0 69")  # 'h'<<1 | fill 0, then 'i'


@pytest.mark.parametrize(("udh_octets", "fill"), [(0, 0), (6, 1), (7, 0), (5, 2), (12, 2)])
def test_fill_bits_for_udh(udh_octets: int, fill: int) -> None:
    """Fill bits align the first septet to a septet boundary counted from the UDH start."""
    assert fill_bits_for_udh(udh_octets) == fill


@given(st.binary(max_size=300).map(lambda b: bytes(x & 0x7F for x in b)), st.integers(0, 6))
def test_pack_matches_reference_and_round_trips(septets: bytes, fill: int) -> None:
    """Packing agrees with a naive bit-string packer and unpacks to the same septets."""
    packed = pack_septets(septets, fill)
    spare = (-(fill + 7 * len(septets))) % 8
    needs_cr = spare == 7 or (spare == 0 and septets.endswith(b"\r"))
    padded = septets + b"\r" if septets and needs_cr else septets
    assert packed == bit_reference_pack(padded, fill)
    assert unpack_septets(packed, fill, septets=len(septets)) == septets
    if not (septets.endswith(b"\r") and (fill + 7 * len(septets)) % 8 == 0):
        assert unpack_septets(packed, fill) == septets


def test_unpack_refuses_more_septets_than_octets_hold() -> None:
    """Announcing more septets than the data holds raises instead of inventing '@'s."""
    with pytest.raises(TextEncodingError, match="9 septets announced"):
        unpack_septets(bytes(7), septets=9)


# --- segment sizes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "encoding", "ref_bits", "segments"),
    [
        ("", Encoding.GSM7, 8, 1),
        ("a" * 160, Encoding.GSM7, 8, 1),
        ("a" * 161, Encoding.GSM7, 8, 2),
        ("a" * 306, Encoding.GSM7, 8, 2),  # 2 x 153
        ("a" * 307, Encoding.GSM7, 8, 3),
        ("a" * 304, Encoding.GSM7, 16, 2),  # 2 x 152
        ("a" * 305, Encoding.GSM7, 16, 3),
        ("€" * 80, Encoding.GSM7, 8, 1),  # 160 septets
        ("€" * 81, Encoding.GSM7, 8, 2),  # 162 septets
        ("€" * 153, Encoding.GSM7, 8, 3),  # 306 septets, but 76 escapes (152) per part
        ("a" * 70, Encoding.UCS2, 8, 1),
        ("a" * 71, Encoding.UCS2, 8, 2),
        ("a" * 134, Encoding.UCS2, 8, 2),  # 2 x 67
        ("a" * 135, Encoding.UCS2, 8, 3),
        ("a" * 132, Encoding.UCS2, 16, 2),  # 2 x 66
        ("a" * 133, Encoding.UCS2, 16, 3),
        ("😀" * 35, Encoding.UCS2, 8, 1),  # 70 code units
        ("😀" * 36, Encoding.UCS2, 8, 2),  # 72 units
        ("😀" * 67, Encoding.UCS2, 8, 3),  # 134 units, but 33 pairs (66 units) per part
        ("é" * 140, Encoding.LATIN1, 8, 1),
        ("é" * 141, Encoding.LATIN1, 8, 2),
        ("é" * 268, Encoding.LATIN1, 8, 2),  # 2 x 134
        ("é" * 267, Encoding.LATIN1, 16, 3),  # 133 per part
        ("가" * 70, Encoding.EUCKR, 8, 1),  # 140 octets
        ("가" * 71, Encoding.EUCKR, 8, 2),  # 142 octets
        ("가" * 134, Encoding.EUCKR, 8, 2),  # 2 x 67 syllables
        ("a" + "가" * 133 + "a", Encoding.EUCKR, 8, 3),  # 268 octets, but part 1 stops at 133
    ],
)
def test_segment_counts_at_boundaries(text: str, encoding: Encoding, ref_bits: int, segments: int) -> None:
    """Part counts flip exactly at the single-SMS and per-part capacities."""
    assert count_segments(text, encoding, udh_ref_bits=ref_bits) == segments


def test_escape_pair_is_not_split_at_the_153_boundary() -> None:
    """A '€' that would straddle septets 153/154 moves whole to the next part."""
    parts = split("a" * 152 + "€" + "b" * 10, Encoding.GSM7)
    assert [len(p) for p in parts] == [152, 12]
    assert parts[1].startswith(b"\x1b\x65")


def test_surrogate_pair_is_not_split_at_the_67_boundary() -> None:
    """An emoji whose pair would straddle UCS-2 units 67/68 moves whole to the next part."""
    parts = split("a" * 66 + "😀" + "b" * 10, Encoding.UCS2)
    assert [len(p) for p in parts] == [132, 24]
    assert parts[1][:4] == bytes.fromhex("D83D DE00")  # high, low surrogate


def test_euckr_double_byte_is_not_split() -> None:
    """A Hangul syllable that would straddle octets 134/135 moves whole to the next part."""
    parts = split("a" + "가" * 70, Encoding.EUCKR)
    assert [len(p) for p in parts] == [133, 8]
    assert all(decode(p, Encoding.EUCKR) for p in parts)


def test_binary_is_cut_in_octets() -> None:
    """Binary data fills 140 octets alone and 134 per part after that."""
    assert split(bytes(140), Encoding.BINARY) == [bytes(140)]
    assert [len(p) for p in split(bytes(141), Encoding.BINARY)] == [134, 7]


@pytest.mark.parametrize(
    ("encoding", "udh_octets", "capacity"),
    [
        (Encoding.GSM7, 6, 153),
        (Encoding.GSM7, 7, 152),
        (Encoding.GSM7, 12, 146),  # e.g. concat + port addressing: 14 septets of header
        (Encoding.UCS2, 6, 134),
        (Encoding.UCS2, 7, 132),
        (Encoding.LATIN1, 7, 133),
    ],
)
def test_part_capacity_follows_udh_length(encoding: Encoding, udh_octets: int, capacity: int) -> None:
    """Per-part room is computed from the UDH length, fill bits included for GSM."""
    assert part_capacity(encoding, udh_octets) == capacity


@given(
    st.one_of(
        gsm_text.map(lambda t: (t, Encoding.GSM7)),
        any_text.map(lambda t: (t, Encoding.UCS2)),
        euckr_text.map(lambda t: (t, Encoding.EUCKR)),
    ),
    st.sampled_from([8, 16]),
)
def test_parts_decode_alone_and_rejoin_to_the_text(case: tuple[str, Encoding], ref_bits: int) -> None:
    """Every part fits its capacity, decodes on its own, and the parts rejoin to the text."""
    text, encoding = case
    parts = split(text, encoding, udh_ref_bits=ref_bits)
    assert len(parts) == count_segments(text, encoding, udh_ref_bits=ref_bits)
    if len(parts) > 1:
        cap = part_capacity(encoding, 6 if ref_bits == 8 else 7)
        assert all(len(p) <= cap for p in parts)
    assert "".join(decode(p, encoding) for p in parts) == text


def test_unknown_udh_ref_bits_is_refused() -> None:
    """Only 8- and 16-bit concatenation references exist."""
    with pytest.raises(ValueError, match="8 or 16"):
        count_segments("a", Encoding.GSM7, udh_ref_bits=12)


# --- choosing an alphabet --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "allowed", "expected"),
    [
        ("Hello, world!", None, Encoding.GSM7),
        ("Café à 5€ {ok}", None, Encoding.GSM7),
        ("ê", None, Encoding.UCS2),
        ("ê", WITH_LATIN1, Encoding.UCS2),  # tie: UCS-2 is better supported
        ("ê" * 100, WITH_LATIN1, Encoding.LATIN1),
        ("{" * 100, WITH_LATIN1, Encoding.LATIN1),  # 200 septets in GSM
        ("{" * 100, None, Encoding.GSM7),
        ("안녕하세요", (Encoding.GSM7, Encoding.EUCKR, Encoding.UCS2), Encoding.UCS2),  # tie
        ("안녕하세요 " + "a" * 70, (Encoding.GSM7, Encoding.EUCKR, Encoding.UCS2), Encoding.EUCKR),
        ("안녕하세요 " + "a" * 70, None, Encoding.UCS2),
        ("똠 " + "a" * 70, ("gsm7", "euckr", "ucs2"), Encoding.UCS2),  # 똠 is not in KS X 1001
        ("Привет", None, Encoding.UCS2),
    ],
)
def test_auto_picks_the_cheapest_allowed_alphabet(
    text: str, allowed: tuple[Encoding, ...] | None, expected: Encoding
) -> None:
    """auto takes the fewest parts among allowed alphabets, ties to the better supported one."""
    kwargs = {} if allowed is None else {"allowed": allowed}
    assert choose_encoding(text, **kwargs) is expected


def test_forced_policy_returns_its_alphabet() -> None:
    """A forced policy returns its alphabet even when another would be cheaper."""
    assert choose_encoding("hello", policy="ucs2") is Encoding.UCS2
    assert choose_encoding("hello", policy=EncodingPolicy.LATIN1) is Encoding.LATIN1


@given(any_text)
def test_auto_choice_always_encodes(text: str) -> None:
    """Whatever auto picks (GSM or UCS-2 by default) holds the text without loss."""
    encoding = choose_encoding(text)
    assert decode(encode(text, encoding), encoding) == text


# --- data_coding ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "data_coding"),
    [
        (Encoding.GSM7, 0x00),
        (Encoding.LATIN1, 0x03),
        (Encoding.BINARY, 0x04),
        (Encoding.UCS2, 0x08),
        (Encoding.EUCKR, 0x0E),
    ],
)
def test_data_coding_round_trip(encoding: Encoding, data_coding: int) -> None:
    """Each alphabet's SMPP data_coding maps back to the same alphabet."""
    assert encoding.data_coding == data_coding
    assert encoding_for_data_coding(data_coding) is encoding


@pytest.mark.parametrize(
    ("data_coding", "encoding"),
    [
        (0x01, Encoding.LATIN1),  # IA5
        (0x02, Encoding.BINARY),  # octet unspecified
        (0xF0, Encoding.GSM7),  # group 1111, default alphabet, class 0
        (0xF5, Encoding.BINARY),  # group 1111, 8-bit data, class 1
        (0x18, Encoding.UCS2),  # group 0001, UCS-2, class 0
        (0x11, Encoding.GSM7),  # group 0001, default alphabet, class 1
    ],
)
def test_inbound_data_coding_variants(data_coding: int, encoding: Encoding) -> None:
    """IA5, octet-unspecified and 23.038 class-coded values map to the alphabet they name."""
    assert encoding_for_data_coding(data_coding) is encoding


@pytest.mark.parametrize("data_coding", [0x05, 0x06, 0x09, 0x1C, 0x40])
def test_unsupported_data_coding_raises(data_coding: int) -> None:
    """Alphabets we do not speak (JIS, Cyrillic, pictogram...) raise rather than decode wrongly."""
    with pytest.raises(TextEncodingError, match=f"0x{data_coding:02X}"):
        encoding_for_data_coding(data_coding)


def test_module_is_sans_io_and_standalone() -> None:
    """text.py imports nothing that does I/O and nothing from the rest of the SMPP package."""
    tree = ast.parse(inspect.getsource(text_module))
    imported = {
        (node.module if isinstance(node, ast.ImportFrom) else alias.name).split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
    assert imported <= {"__future__", "enum", "collections"}
