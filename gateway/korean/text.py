"""Counting bytes as Korean carriers do, and naming what cannot be sent.

NHN Cloud: "인코딩은 EUC-KR 기준으로 발송되며 지원하지 않는 이모티콘은 발송에
실패합니다" (api-guide § [주의 사항]) and, since 2021-04-27, "MS949 발송 지원"
(release notes): the domestic character set is CP949 (MS949), a superset of
EUC-KR. Python's ``euc_kr`` codec writes the 8,822 Hangul syllables outside KS X
1001 (``똠``, ``쀍``) as 8-byte composed sequences; ``cp949`` gives the 2 bytes a
carrier counts. So bytes are counted with ``cp949``, and a character ``cp949``
cannot encode (emoji, ``₩`` U+20A9, ``—`` U+2014, a no-break space) cannot be
sent to a Korean handset as SMS/LMS/MMS.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

__all__ = [
    "LMS_MAX_BYTES",
    "SMS_MAX_BYTES",
    "TITLE_MAX_BYTES",
    "describe_characters",
    "is_korean_number",
    "korean_bytes",
    "unencodable",
]

SMS_MAX_BYTES = 90  # NHN: "표준 90 bytes (한글 45, 영문 90)"
LMS_MAX_BYTES = 2000  # NHN: LMS/MMS body "표준 2,000 bytes"
TITLE_MAX_BYTES = 40  # NHN: title "표준 40 bytes (한글 20)"; the console enforces it


def _char_bytes(ch: str) -> int | None:
    if ch < "\x80":
        return 1
    try:
        return len(ch.encode("cp949"))
    except UnicodeEncodeError:
        return None


def korean_bytes(text: str, *, ucs2_fallback: bool = False) -> int:
    """The bytes ``text`` takes in CP949 (ASCII 1, Hangul and symbols 2).

    A character CP949 cannot hold raises ``ValueError``, unless
    ``ucs2_fallback`` (a route that can carry UCS-2), which counts it as its
    UTF-16 code units, two bytes each."""
    try:
        return len(text.encode("cp949"))
    except UnicodeEncodeError:
        if not ucs2_fallback:
            raise ValueError(describe_characters(unencodable(text))) from None
    total = 0
    for ch in text:
        n = _char_bytes(ch)
        total += n if n is not None else len(ch.encode("utf-16-be"))
    return total


def unencodable(text: str) -> list[tuple[int, str]]:
    """``(position, character)`` of every character CP949 cannot carry, in order."""
    try:
        text.encode("cp949")
        return []
    except UnicodeEncodeError:
        pass
    return [(pos, ch) for pos, ch in enumerate(text) if _char_bytes(ch) is None]


def describe_characters(found: Iterable[tuple[int, str]], *, limit: int = 5, positions: bool = False) -> str:
    """``U+1F600 GRINNING FACE '😀'; ...``: each distinct character once, by its Unicode name
    (``positions``: and where it is; reasons leave that to the detail, so that they group)."""
    first: dict[str, list[int]] = {}
    for pos, ch in found:
        first.setdefault(ch, []).append(pos)
    parts = []
    for ch, at in list(first.items())[:limit]:
        name = unicodedata.name(ch, "") or f"control character {unicodedata.category(ch)}"
        where = ", ".join(str(p) for p in at[:3]) + (", ..." if len(at) > 3 else "")
        parts.append(f"U+{ord(ch):04X} {name} {ch!r}" + (f" at {where}" if positions else ""))
    more = len(first) - limit
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)


def is_korean_number(recipient: str) -> bool:
    """A Korean number: ``+82...`` (E.164) or a national number starting with ``0`` (digits only)."""
    if recipient.startswith("+82"):
        return True
    digits = recipient.replace("-", "").replace(" ", "")
    return digits.startswith("0") and digits.isdigit() and 9 <= len(digits) <= 11
