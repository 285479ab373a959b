"""MMS pictures: the limits NHN Cloud documents, and the JPEG size reader.

Limits (api-guide § 장문 MMS 발송(첨부 파일 포함) > Description; console-guide
§ SMS 발송): JPEG (``.jpg``/``.jpeg``) only, at most 3 pictures, each at most
300 KB and 1000×1000 pixels, at most 800 KB together. The documents do not say
whether a KB is 1,000 or 1,024 bytes; this module takes 1,024 (NHN's own
refusal text reads "less than 300KB"). A file name is at most 45 characters
with its extension (§ 첨부 파일 업로드).

:func:`jpeg_size` reads the frame header (SOFn) of a JPEG; the database runs the
same walk in ``gateway.jpeg_size()`` (migration 0035), so a picture is checked
when upstream inserts it, and again here before any request. It is written out
rather than taken from an imaging library: the database needs it in PL/pgSQL
anyway, both are tested against the same files, and reading four numbers from
a header does not justify a binary imaging dependency.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "MAX_FILE_NAME_CHARS",
    "MAX_PICTURES",
    "MAX_PICTURES_TOTAL_BYTES",
    "MAX_PICTURE_BYTES",
    "MAX_PICTURE_PIXELS",
    "Picture",
    "jpeg_size",
    "picture_problem",
    "pictures_problem",
]

MAX_PICTURES = 3
MAX_PICTURE_BYTES = 300 * 1024
MAX_PICTURES_TOTAL_BYTES = 800 * 1024
MAX_PICTURE_PIXELS = 1000  # width and height
MAX_FILE_NAME_CHARS = 45

# Start-of-frame markers carry the size; DHT (C4), JPG (C8) and DAC (CC) share the range but do not.
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM, RST0-7: no length field


def jpeg_size(data: bytes) -> tuple[int, int] | None:
    """``(width, height)`` from the first frame header, or None when ``data`` is not a readable JPEG."""
    n = len(data)
    if n < 4 or data[0] != 0xFF or data[1] != 0xD8:
        return None
    i = 2
    while i + 3 < n:
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in _STANDALONE or marker == 0xD8:
            i += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image / start of scan before any frame header
            return None
        length = (data[i + 2] << 8) | data[i + 3]
        if length < 2:
            return None
        if marker in _SOF:
            if i + 8 >= n or length < 7:
                return None
            height = (data[i + 5] << 8) | data[i + 6]
            width = (data[i + 7] << 8) | data[i + 8]
            return (width, height) if width and height else None
        i += 2 + length
    return None


@dataclass(frozen=True, slots=True)
class Picture:
    """One picture of ``gateway.attachments``."""

    id: int
    file_name: str
    data: bytes
    sha256: str = ""

    @property
    def size(self) -> int:
        return len(self.data)


def picture_problem(picture: Picture) -> str | None:
    """Why this picture cannot be sent by MMS, or None."""
    name = picture.file_name
    if not name.lower().endswith((".jpg", ".jpeg")) or len(name) > MAX_FILE_NAME_CHARS:
        return f"picture {picture.id}: the file name must end in .jpg or .jpeg and have at most 45 characters"
    if not 0 < picture.size <= MAX_PICTURE_BYTES:
        return f"picture {picture.id} has {picture.size:,} bytes; the limit is {MAX_PICTURE_BYTES:,} (300 KB)"
    dims = jpeg_size(picture.data)
    if dims is None:
        return f"picture {picture.id} is not a JPEG (only JPEG pictures can be sent)"
    width, height = dims
    if width > MAX_PICTURE_PIXELS or height > MAX_PICTURE_PIXELS:
        return f"picture {picture.id} is {width}×{height} px; the limit is 1000×1000"
    return None


def pictures_problem(pictures: Sequence[Picture]) -> str | None:
    """Why these pictures cannot go together in one MMS, or None."""
    if len(pictures) > MAX_PICTURES:
        return f"{len(pictures)} pictures; an MMS holds at most {MAX_PICTURES}"
    for picture in pictures:
        problem = picture_problem(picture)
        if problem is not None:
            return problem
    total = sum(p.size for p in pictures)
    if total > MAX_PICTURES_TOTAL_BYTES:
        return f"the pictures have {total:,} bytes together; the limit is {MAX_PICTURES_TOTAL_BYTES:,} (800 KB)"
    return None
