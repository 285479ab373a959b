"""The message type an upstream asks for, and the type a Korean message goes out as.

Upstream writes, on a channel ``sms`` row, ``extras.type`` (``auto``, the
default, ``sms``, ``lms`` or ``mms``), ``extras.title`` (LMS/MMS) and
``extras.attachments`` (ids in ``gateway.attachments``, MMS). The database
checks their shape (migration 0035); :func:`parse_request` reads them again,
so a row written around the checks still fails with a clear reason.

:func:`choose_type` decides, for one message and one route:

* not a Korean recipient, or a route without Korean types: ``auto``/``sms``
  stay an SMS cut into segments as the route always did; ``lms``/``mms`` and
  pictures are refused (``lms_abroad`` / ``type_unsupported``);
* a Korean recipient on a route with Korean types: text the route cannot carry
  is refused naming the characters (``unencodable``; a UCS-2 route may carry
  what CP949 cannot); then ``auto`` is an SMS up to 90 bytes, an LMS up to
  2,000, else ``too_long`` with the byte count; pictures make it an MMS;
  ``sms`` over 90 bytes and ``lms``/``mms`` over 2,000 are ``too_long``; LMS
  and MMS get a title (``extras.title``, else the route's default, else the
  body's first line), at most 40 bytes.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.korean.text import (
    LMS_MAX_BYTES,
    SMS_MAX_BYTES,
    TITLE_MAX_BYTES,
    describe_characters,
    korean_bytes,
    unencodable,
)

__all__ = ["Chosen", "MessageType", "Refused", "SpecError", "TypeRequest", "choose_type", "parse_request"]


class MessageType(enum.StrEnum):
    AUTO = "auto"
    SMS = "sms"
    LMS = "lms"
    MMS = "mms"


class SpecError(ValueError):
    """``extras.type`` / ``title`` / ``attachments`` are malformed; the message says which and why."""


@dataclass(frozen=True, slots=True)
class TypeRequest:
    """What the upstream asked for (``extras``), already validated for shape."""

    type: MessageType = MessageType.AUTO
    title: str | None = None
    attachments: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Chosen:
    """The type the message goes out as. ``bytes`` is its CP949 size (None off the Korean rules)."""

    type: MessageType
    bytes: int | None = None
    title: str | None = None


@dataclass(frozen=True, slots=True)
class Refused:
    """The message cannot go: ``slug`` is the event reason's first word, ``reason`` the whole reason."""

    slug: str
    reason: str
    detail: Mapping[str, Any] = field(default_factory=dict)


_DEFAULT = TypeRequest()


def parse_request(extras: Mapping[str, Any] | None) -> TypeRequest:
    """Read ``extras.type``, ``extras.title`` and ``extras.attachments``; raise SpecError when malformed."""
    if not extras or ("type" not in extras and "title" not in extras and "attachments" not in extras):
        return _DEFAULT
    raw_type = extras.get("type", "auto")
    if not isinstance(raw_type, str) or raw_type.lower() not in MessageType._value2member_map_:
        raise SpecError(f"extras.type must be one of auto, sms, lms, mms, not {raw_type!r}")
    title = extras.get("title")
    if title is not None and not isinstance(title, str):
        raise SpecError(f"extras.title must be text, not {type(title).__name__}")
    raw = extras.get("attachments", [])
    if raw is None:
        raw = []
    if not isinstance(raw, list) or not all(isinstance(a, int) and not isinstance(a, bool) and a > 0 for a in raw):
        raise SpecError("extras.attachments must be a list of attachment ids (positive integers)")
    if len(set(raw)) != len(raw):
        raise SpecError("extras.attachments names the same attachment twice")
    return TypeRequest(MessageType(raw_type.lower()), title, tuple(raw))


def _default_title(body: str, limit: int) -> str:
    """The body's first non-empty line, cut to whole characters within ``limit`` bytes."""
    line = body.lstrip().partition("\n")[0].strip()
    if line.isascii():
        return line[:limit]
    try:
        if len(line.encode("cp949")) <= limit:
            return line
    except UnicodeEncodeError:
        pass
    out, used = [], 0
    for ch in line:
        n = korean_bytes(ch, ucs2_fallback=True)
        if used + n > limit:
            break
        out.append(ch)
        used += n
    return "".join(out)


@functools.lru_cache(maxsize=2048)  # campaign traffic asks about the same text again and again
def choose_type(
    body: str,
    request: TypeRequest,
    *,
    korean_recipient: bool,
    korean_route: bool,
    ucs2: bool = False,
    default_title: str | None = None,
    title_max_bytes: int = TITLE_MAX_BYTES,
) -> Chosen | Refused:
    """The type ``body`` goes out as on this route, or why it cannot (see the module docstring)."""
    wants = request.type
    if not (korean_recipient and korean_route):
        if wants in (MessageType.LMS, MessageType.MMS) or request.attachments:
            asked = wants.upper() if wants in (MessageType.LMS, MessageType.MMS) else "pictures"
            if not korean_recipient:
                return Refused(
                    "lms_abroad",
                    f"lms_abroad: {asked} cannot be sent to a number outside Korea (LMS/MMS are Korean message types)",
                    {"message_type": str(wants)},
                )
            return Refused(
                "type_unsupported",
                f"type_unsupported: this route sends SMS only, not {asked}",
                {"message_type": str(wants)},
            )
        return Chosen(MessageType.SMS)
    try:
        size = len(body.encode("cp949"))
    except UnicodeEncodeError:
        bad = unencodable(body)
        if not ucs2:
            return Refused(
                "unencodable",
                f"unencodable: EUC-KR (CP949) cannot carry {describe_characters(bad)}",
                {
                    "characters": [f"U+{ord(ch):04X}" for ch in dict.fromkeys(ch for _, ch in bad)],
                    "positions": [p for p, _ in bad][:20],
                    "message_type": str(wants),
                },
            )
        size = korean_bytes(body, ucs2_fallback=True)
    if request.attachments:
        if wants in (MessageType.SMS, MessageType.LMS):
            return Refused(
                "attachments_need_mms",
                f"attachments_need_mms: extras.type is {wants} but the message has pictures (use mms or auto)",
                {"message_type": str(wants)},
            )
        wants = MessageType.MMS
    elif wants is MessageType.MMS:
        return Refused(
            "mms_without_pictures", "mms_without_pictures: extras.type is mms but extras.attachments is empty"
        )
    if wants is MessageType.AUTO:
        wants = MessageType.SMS if size <= SMS_MAX_BYTES else MessageType.LMS
    limit = SMS_MAX_BYTES if wants is MessageType.SMS else LMS_MAX_BYTES
    if size > limit:
        what = "an SMS" if wants is MessageType.SMS else f"an {wants.upper()}"
        return Refused(
            "too_long",
            f"too_long: {size:,} bytes in EUC-KR (CP949); {what} holds {limit:,}",
            {"bytes": size, "limit": limit, "message_type": str(wants)},
        )
    if wants is MessageType.SMS:
        return Chosen(MessageType.SMS, size)
    title = (request.title or "").strip() or (default_title or "").strip() or _default_title(body, title_max_bytes)
    if not title:
        return Refused("title_missing", "title_missing: an LMS/MMS needs a title and the body has no text line to use")
    bad_title = unencodable(title)
    if bad_title:
        return Refused(
            "unencodable",
            f"unencodable: the title: EUC-KR (CP949) cannot carry {describe_characters(bad_title)}",
            {"characters": [f"U+{ord(ch):04X}" for ch in dict.fromkeys(ch for _, ch in bad_title)], "in": "title"},
        )
    title_size = korean_bytes(title)
    if title_size > title_max_bytes:
        return Refused(
            "title_too_long",
            f"title_too_long: the title has {title_size} bytes in EUC-KR (CP949); the limit is {title_max_bytes}",
            {"bytes": title_size, "limit": title_max_bytes},
        )
    return Chosen(wants, size, title)
