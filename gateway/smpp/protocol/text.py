"""Text encodings for SMPP short messages: alphabets, 7-bit packing, segment sizing.

Sans-I/O and standalone: this module turns text into the octets that go in
``short_message`` / ``message_payload`` and back, and says how many SMS parts a
text needs. It imports neither the PDU codec nor anything that does I/O.

Alphabets (``Encoding``) and the SMPP 3.4 ``data_coding`` they are sent with:

- ``gsm7`` (0x00): the GSM 03.38 / 3GPP 23.038 default alphabet and its basic
  extension table (escape 0x1B). One septet per octet ("unpacked"), which is
  what SMPP carries by default; ``pack_septets`` gives the packed form some
  carriers want.
- ``latin1`` (0x03): ISO-8859-1, one octet per character.
- ``ucs2`` (0x08): UTF-16BE; characters outside the BMP become surrogate pairs.
- ``euckr`` (0x0E): KS C 5601 (KS X 1001) in EUC-KR form, one or two octets
  per character. The 8-octet "composed hangul" sequences Python's ``euc_kr``
  codec can emit (and the filler U+3164 that opens them) are refused: many handsets
  show them as loose jamo, so such text goes out as UCS-2 instead.
- ``binary`` (0x04): 8-bit data, passed through untouched (bytes in, bytes out).

Nothing here ever substitutes a character: text that an alphabet cannot hold
raises ``TextEncodingError`` naming the first offending character and its
position.

Segment sizes, in the unpacked encoded form (one octet per septet for GSM):
a single part holds 160 septets / 140 octets (70 UCS-2 code units); a part of a
concatenated message loses room to the user data header (UDH): 6 octets for an
8-bit reference (153 septets, 134 octets, 67 UCS-2 units), 7 octets for a
16-bit reference (152 / 133 / 66). A character is never split across parts:
not an escape pair, not a surrogate pair, not an EUC-KR double-byte character.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence

__all__ = [
    "DEFAULT_ALLOWED",
    "Encoding",
    "EncodingPolicy",
    "TextEncodingError",
    "choose_encoding",
    "concat_udh_octets",
    "count_segments",
    "decode",
    "encode",
    "encoding_for_data_coding",
    "fill_bits_for_udh",
    "gsm7_septet_count",
    "is_gsm7",
    "pack_septets",
    "part_capacity",
    "single_capacity",
    "split",
    "unpack_septets",
]


class TextEncodingError(ValueError):
    """Text cannot be held by the requested alphabet, or octets do not decode."""


class Encoding(enum.Enum):
    """An alphabet a short message is sent in; ``data_coding`` is its SMPP code."""

    GSM7 = "gsm7"
    LATIN1 = "latin1"
    UCS2 = "ucs2"
    EUCKR = "euckr"
    BINARY = "binary"

    @property
    def data_coding(self) -> int:
        """The SMPP 3.4 ``data_coding`` value this alphabet is announced with."""
        return _DATA_CODING[self]


_DATA_CODING = {
    Encoding.GSM7: 0x00,
    Encoding.LATIN1: 0x03,
    Encoding.BINARY: 0x04,
    Encoding.UCS2: 0x08,
    Encoding.EUCKR: 0x0E,
}


class EncodingPolicy(enum.Enum):
    """Per-connector choice: ``auto`` picks the cheapest allowed alphabet, the rest force one."""

    AUTO = "auto"
    GSM7 = "gsm7"
    LATIN1 = "latin1"
    UCS2 = "ucs2"
    EUCKR = "euckr"


#: Alphabets ``auto`` may pick unless the connector says otherwise: the two
#: every SMSC and handset understands. Latin-1 and EUC-KR are opt-in per carrier.
DEFAULT_ALLOWED: tuple[Encoding, ...] = (Encoding.GSM7, Encoding.UCS2)

# --- GSM 03.38 tables (3GPP TS 23.038 §6.2.1 and §6.2.1.1) -------------------

_ESC = 0x1B
_CR = 0x0D

# Row by row, 16 code points each; 0x1B is the escape to the extension table
# and is never a character of its own (it stands here as a placeholder).
_GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅå"  # 0x00-0x0F
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"  # 0x10-0x1F
    " !\"#¤%&'()*+,-./"  # 0x20-0x2F
    "0123456789:;<=>?"  # 0x30-0x3F
    "¡ABCDEFGHIJKLMNO"  # 0x40-0x4F
    "PQRSTUVWXYZÄÖÑÜ§"  # 0x50-0x5F
    "¿abcdefghijklmno"  # 0x60-0x6F
    "pqrstuvwxyzäöñüà"  # 0x70-0x7F
)
assert len(_GSM_BASIC) == 128

# Basic character set extension table: reached with 0x1B followed by the key.
_GSM_EXTENSION = {
    0x0A: "\f",  # form feed (page break)
    0x14: "^",
    0x28: "{",
    0x29: "}",
    0x2F: "\\",
    0x3C: "[",
    0x3D: "~",
    0x3E: "]",
    0x40: "|",
    0x65: "€",
}

_GSM_ENCODE: dict[str, bytes] = {ch: bytes((code,)) for code, ch in enumerate(_GSM_BASIC) if code != _ESC}
_GSM_ENCODE.update({ch: bytes((_ESC, code)) for code, ch in _GSM_EXTENSION.items()})

# --- segment geometry ---------------------------------------------------------

_SM_OCTETS = 140  # TP-UD of one SMS
_SM_SEPTETS = 160
_UDH_OCTETS_BY_REF_BITS = {8: 6, 16: 7}  # UDHL + IEI + IEDL + ref + total + seq


def concat_udh_octets(ref_bits: int) -> int:
    """Octets of a concatenation-only UDH (length octet included) for an 8- or 16-bit reference."""
    try:
        return _UDH_OCTETS_BY_REF_BITS[ref_bits]
    except KeyError:
        raise ValueError(f"udh_ref_bits must be 8 or 16, not {ref_bits!r}") from None


def fill_bits_for_udh(udh_octets: int) -> int:
    """Zero bits between a UDH of ``udh_octets`` octets and the first septet (23.040 §9.2.3.24)."""
    if udh_octets < 0:
        raise ValueError(f"udh_octets must not be negative, not {udh_octets}")
    return (7 - (udh_octets * 8) % 7) % 7


def single_capacity(encoding: Encoding) -> int:
    """Encoded octets (septets for GSM) one unconcatenated SMS holds."""
    return _SM_SEPTETS if encoding is Encoding.GSM7 else _SM_OCTETS


def part_capacity(encoding: Encoding, udh_octets: int) -> int:
    """Encoded octets (septets for GSM) one part holds behind a UDH of ``udh_octets`` octets."""
    if not 0 <= udh_octets < _SM_OCTETS:
        raise ValueError(f"udh_octets must be in 0..139, not {udh_octets}")
    if encoding is Encoding.GSM7:
        udh_septets = -(-udh_octets * 8 // 7)  # the UDH plus its fill bits, in septets
        return _SM_SEPTETS - udh_septets
    room = _SM_OCTETS - udh_octets
    if encoding is Encoding.UCS2:
        room -= room % 2  # whole UTF-16 code units only
    return room


# --- character-level encoding -------------------------------------------------


def _cannot(text: str, pos: int, encoding: Encoding, why: str = "") -> TextEncodingError:
    ch = text[pos]
    return TextEncodingError(
        f"character {ch!r} (U+{ord(ch):04X}) at position {pos} cannot be encoded in {encoding.value}{why}"
    )


# A4D4 (U+3164) opens the 8-octet composed sequences, so alone it does not decode.
_HANGUL_FILLER = b"\xa4\xd4"


def _char_units(text: str, encoding: Encoding) -> list[bytes]:
    """The encoded octets of each character: the indivisible units parts are cut between."""
    if encoding is Encoding.GSM7:
        table = _GSM_ENCODE
        units = []
        for pos, ch in enumerate(text):
            unit = table.get(ch)
            if unit is None:
                raise _cannot(text, pos, encoding)
            units.append(unit)
        return units
    codec = {Encoding.LATIN1: "latin-1", Encoding.UCS2: "utf-16-be", Encoding.EUCKR: "euc_kr"}
    if encoding not in codec:
        raise TypeError(f"{encoding.value} carries bytes, not text")
    name = codec[encoding]
    units = []
    for pos, ch in enumerate(text):
        try:
            unit = ch.encode(name)
        except UnicodeEncodeError:
            raise _cannot(text, pos, encoding) from None
        if encoding is Encoding.EUCKR and (len(unit) > 2 or unit == _HANGUL_FILLER):
            raise _cannot(text, pos, encoding, " (outside KS X 1001's precomposed set)")
        units.append(unit)
    return units


def _first_failure(text: str, encoding: Encoding) -> TextEncodingError | None:
    try:
        _char_units(text, encoding)
    except TextEncodingError as exc:
        return exc
    return None


def encode(text: str, encoding: Encoding) -> bytes:
    """Encode ``text`` (GSM as unpacked septets); raises ``TextEncodingError``, never replaces."""
    return b"".join(_char_units(text, encoding))


def is_gsm7(text: str) -> bool:
    """True when every character is in the GSM default alphabet or its extension table."""
    return all(ch in _GSM_ENCODE for ch in text)


def gsm7_septet_count(text: str) -> int:
    """Septets ``text`` takes in GSM 7-bit: extension characters count two."""
    return len(encode(text, Encoding.GSM7))


def _decode_gsm7(data: bytes) -> str:
    out = []
    i = 0
    n = len(data)
    while i < n:
        code = data[i]
        if code > 0x7F:
            raise TextEncodingError(f"octet 0x{code:02X} at offset {i} is not a GSM septet")
        if code != _ESC:
            out.append(_GSM_BASIC[code])
            i += 1
            continue
        if i + 1 >= n:
            raise TextEncodingError(f"escape 0x1B at offset {i} ends the data")
        nxt = data[i + 1]
        if nxt > 0x7F:
            raise TextEncodingError(f"octet 0x{nxt:02X} at offset {i + 1} is not a GSM septet")
        if nxt == _ESC:
            out.append(" ")  # 23.038: reserved double escape, shown as a space
        else:
            # 23.038: an undefined extension code shows the basic-table character.
            out.append(_GSM_EXTENSION.get(nxt, _GSM_BASIC[nxt]))
        i += 2
    return "".join(out)


def decode(data: bytes, encoding: Encoding) -> str:
    """Decode octets (GSM as unpacked septets); raises ``TextEncodingError`` on bad input."""
    if encoding is Encoding.GSM7:
        return _decode_gsm7(data)
    if encoding is Encoding.LATIN1:
        return data.decode("latin-1")
    if encoding is Encoding.BINARY:
        raise TextEncodingError("binary (data_coding 0x04) payload carries no text")
    name = "utf-16-be" if encoding is Encoding.UCS2 else "euc_kr"
    try:
        return data.decode(name)
    except UnicodeDecodeError as exc:
        raise TextEncodingError(
            f"octets {data[exc.start : exc.end].hex()} at offset {exc.start} "
            f"are not valid {encoding.value}: {exc.reason}"
        ) from None


def encoding_for_data_coding(data_coding: int) -> Encoding:
    """The alphabet an inbound ``data_coding`` names (GSM data assumed unpacked)."""
    if data_coding == 0x00:
        return Encoding.GSM7
    if data_coding == 0x01:  # IA5 (ASCII), a subset of Latin-1
        return Encoding.LATIN1
    if data_coding in (0x02, 0x04):
        return Encoding.BINARY
    if data_coding == 0x03:
        return Encoding.LATIN1
    if data_coding == 0x08:
        return Encoding.UCS2
    if data_coding == 0x0E:
        return Encoding.EUCKR
    if 0xF0 <= data_coding <= 0xFF:  # 23.038 coding group 1111: bit 2 picks 8-bit data
        return Encoding.BINARY if data_coding & 0x04 else Encoding.GSM7
    if 0x10 <= data_coding <= 0x1F:  # 23.038 group 00xx with a message class: bits 3-2
        alphabet = (data_coding >> 2) & 0x03
        if alphabet != 0x03:
            return (Encoding.GSM7, Encoding.BINARY, Encoding.UCS2)[alphabet]
    raise TextEncodingError(f"data_coding 0x{data_coding:02X} is not supported")


# --- 7-bit packing (23.038 §6.1.2.1) -----------------------------------------


def pack_septets(septets: bytes, fill_bits: int = 0) -> bytes:
    """Pack septets LSB-first after ``fill_bits`` zero bits, with 23.038 §6.1.2.3.1 <CR> padding.

    When the last octet would end in 7 spare bits a <CR> fills them (so a
    receiver does not read '@'); when the data ends on an octet boundary with
    a <CR>, a second <CR> is added so the first is not taken for padding.
    """
    if not 0 <= fill_bits <= 6:
        raise ValueError(f"fill_bits must be in 0..6, not {fill_bits}")
    for pos, septet in enumerate(septets):
        if septet > 0x7F:
            raise TextEncodingError(f"octet 0x{septet:02X} at offset {pos} is not a septet")
    if not septets:
        return b""
    bits = fill_bits + 7 * len(septets)
    seven_spare = bits % 8 == 1
    cr_on_boundary = bits % 8 == 0 and septets[-1] == _CR
    if seven_spare or cr_on_boundary:
        septets = septets + bytes((_CR,))
    acc = 0
    nbits = fill_bits
    out = bytearray()
    for septet in septets:
        acc |= septet << nbits
        nbits += 7
        while nbits >= 8:
            out.append(acc & 0xFF)
            acc >>= 8
            nbits -= 8
    if nbits:
        out.append(acc & 0xFF)
    return bytes(out)


def unpack_septets(data: bytes, fill_bits: int = 0, septets: int | None = None) -> bytes:
    """Unpack LSB-first septets after ``fill_bits``; one septet per output octet.

    With ``septets`` (the TP-UDL the sender announced) exactly that many come
    back. Without it, every whole septet in ``data`` is returned, less a final
    <CR> that sits in what would be 7 spare bits (the padding ``pack_septets``
    adds), so ``unpack_septets(pack_septets(s)) == s`` except when ``s`` ends
    in <CR> on an octet boundary, which comes back with a harmless second <CR>.
    """
    if not 0 <= fill_bits <= 6:
        raise ValueError(f"fill_bits must be in 0..6, not {fill_bits}")
    available = (len(data) * 8 - fill_bits) // 7 if data else 0
    if septets is None:
        count = available
    else:
        if septets < 0 or septets > available:
            raise TextEncodingError(f"{septets} septets announced but {len(data)} octets hold {available}")
        count = septets
    out = bytearray()
    if count:
        acc = data[0] >> fill_bits
        nbits = 8 - fill_bits
        index = 1
        while len(out) < count:
            while nbits < 7:
                acc |= data[index] << nbits
                index += 1
                nbits += 8
            out.append(acc & 0x7F)
            acc >>= 7
            nbits -= 7
    # The last septet ends exactly on the octet boundary: without it 7 bits
    # would have been spare, so a <CR> there is 23.038 padding.
    if septets is None and out and out[-1] == _CR and fill_bits + 7 * count == 8 * len(data):
        del out[-1]
    return bytes(out)


# --- segmenting ----------------------------------------------------------------


def _units(content: str | bytes, encoding: Encoding) -> list[bytes]:
    if encoding is Encoding.BINARY:
        if not isinstance(content, (bytes, bytearray, memoryview)):
            raise TypeError("binary encoding takes bytes, not text")
        return [bytes((b,)) for b in bytes(content)]
    if not isinstance(content, str):
        raise TypeError(f"{encoding.value} encodes text, not {type(content).__name__}")
    return _char_units(content, encoding)


def _cut(units: Sequence[bytes], single: int, per_part: int) -> list[bytes]:
    total = sum(len(u) for u in units)
    if total <= single:
        return [b"".join(units)]
    parts: list[bytes] = []
    current: list[bytes] = []
    size = 0
    for unit in units:
        if size + len(unit) > per_part:
            parts.append(b"".join(current))
            current, size = [], 0
        current.append(unit)
        size += len(unit)
    parts.append(b"".join(current))
    return parts


def split(content: str | bytes, encoding: Encoding, *, udh_ref_bits: int = 8) -> list[bytes]:
    """The encoded payload of each part (GSM unpacked, no UDH); one item when it fits one SMS."""
    udh = concat_udh_octets(udh_ref_bits)
    units = _units(content, encoding)
    return _cut(units, single_capacity(encoding), part_capacity(encoding, udh))


def count_segments(content: str | bytes, encoding: Encoding, udh_ref_bits: int = 8) -> int:
    """How many SMS parts ``content`` needs in ``encoding`` (1 for empty text)."""
    return len(split(content, encoding, udh_ref_bits=udh_ref_bits))


# --- choosing an alphabet --------------------------------------------------------

# On equal cost the more widely supported alphabet wins.
_SUPPORT_ORDER = (Encoding.GSM7, Encoding.UCS2, Encoding.LATIN1, Encoding.EUCKR)


def choose_encoding(
    text: str,
    *,
    policy: EncodingPolicy | str = EncodingPolicy.AUTO,
    allowed: Iterable[Encoding] = DEFAULT_ALLOWED,
    udh_ref_bits: int = 8,
) -> Encoding:
    """The alphabet to send ``text`` in under a connector's ``policy``.

    A forced policy returns its alphabet or raises ``TextEncodingError`` naming
    the first character it cannot hold. ``auto`` takes, among the ``allowed``
    alphabets that hold the text, the one needing fewest parts, ties going to
    the better supported (GSM7, then UCS-2, Latin-1, EUC-KR): so GSM7 whenever
    it holds the text, unless an allowed alternative is strictly cheaper (an
    escape-heavy text can be cheaper in Latin-1), and Latin-1 or EUC-KR only
    when they beat UCS-2.
    """
    policy = EncodingPolicy(policy)
    if policy is not EncodingPolicy.AUTO:
        forced = Encoding(policy.value)
        encode(text, forced)
        return forced
    allowed_set = {Encoding(a) for a in allowed}
    if Encoding.BINARY in allowed_set:
        raise ValueError("binary is not a text alphabet; pass bytes to the segmenter instead")
    best: tuple[int, int, Encoding] | None = None
    failures = []
    for rank, enc in enumerate(_SUPPORT_ORDER):
        if enc not in allowed_set:
            continue
        try:
            cost = count_segments(text, enc, udh_ref_bits)
        except TextEncodingError as exc:
            failures.append(str(exc))
            continue
        if best is None or (cost, rank) < best[:2]:
            best = (cost, rank, enc)
    if best is None:
        if not failures:
            raise ValueError("allowed names no text alphabet")
        raise TextEncodingError("no allowed alphabet holds the text: " + "; ".join(failures))
    return best[2]
