"""The Alimtalk -> SMS/LMS fallback rule, owned here and handed to the queue as a typed value.

A message asks for a fallback with ``extras.fallback = {"text", "sender",
"type": "SMS"|"LMS", "title"}``. The fallback is an SMS when its text fits 90
bytes in EUC-KR (CP949, as Korean carriers count) and ``type`` is not
``LMS``, else an LMS (up to 2,000 bytes) with ``title`` (at most 40 bytes; the
text's first line when absent); it carries ``extras.type`` and
``extras.title`` so that whichever connector routes Korean SMS/LMS sends it as
such (:mod:`gateway.korean`).

:func:`fallback_problem` says what is wrong with a malformed
``extras.fallback``; the connector refuses such a message in every fallback
mode. Text that EUC-KR cannot carry (emoji, ...) is known up front: in
``fallback_mode = "gateway"`` the fallback is then built with a
``skip_reason`` and the queue records a ``fallback_skipped`` event instead of
sending it (as it does for a fallback whose message expired); in provider
mode (NHN's own resend) it is a problem, since NHN would fail the resend.

In ``fallback_mode = "gateway"`` the connector attaches :func:`fallback_for`
to its result: to a FAILED result whose code calls for it (the queue enqueues
it at once), and to a SUBMITTED one (the queue keeps it with the message and
enqueues it when a receipt asks for it, ``Receipt.fallback``). The queue never
looks inside.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.korean import (
    LMS_MAX_BYTES,
    SMS_MAX_BYTES,
    TITLE_MAX_BYTES,
    MessageType,
    TypeRequest,
    choose_type,
    describe_characters,
    korean_bytes,
    unencodable,
)
from gateway.korean.types import Chosen
from gateway.port import Fallback, OutboundMessage

__all__ = ["fallback_for", "fallback_problem", "parse_fallback"]


def fallback_problem(raw: Any, *, encodable: bool = False) -> str | None:
    """What is wrong with ``extras.fallback`` (None: usable).

    ``encodable``: text EUC-KR cannot carry is a problem too (provider mode)."""
    if not isinstance(raw, Mapping):
        return f"extras.fallback must be an object with text, sender, type and title, not {type(raw).__name__}"
    text, sender, kind, title = raw.get("text"), raw.get("sender"), raw.get("type", "SMS"), raw.get("title")
    if not isinstance(text, str) or not text.strip():
        return "extras.fallback.text is missing or empty"
    if not isinstance(sender, str) or not sender.strip():
        return "extras.fallback.sender is missing or empty"
    if not isinstance(kind, str) or kind.upper() not in ("SMS", "LMS"):
        return f"extras.fallback.type must be SMS or LMS, not {kind!r}"
    if title is not None and not isinstance(title, str):
        return "extras.fallback.title must be text"
    if isinstance(title, str) and title.strip():
        bad = unencodable(title)
        if bad:
            return f"extras.fallback.title: EUC-KR (CP949) cannot carry {describe_characters(bad)}"
        if korean_bytes(title) > TITLE_MAX_BYTES:
            return f"extras.fallback.title has {korean_bytes(title)} bytes in EUC-KR; the limit is {TITLE_MAX_BYTES}"
    bad = unencodable(text)
    if bad:
        return f"extras.fallback.text: EUC-KR (CP949) cannot carry {describe_characters(bad)}" if encodable else None
    size = korean_bytes(text)
    if size > LMS_MAX_BYTES:
        return f"extras.fallback.text has {size:,} bytes in EUC-KR; an LMS holds {LMS_MAX_BYTES:,}"
    return None


def parse_fallback(raw: Any) -> tuple[str, str, str, str | None] | None:
    """``(type, text, sender, title)`` from ``extras.fallback``, the type chosen by EUC-KR bytes;
    None when unusable (see :func:`fallback_problem`) or not encodable."""
    if fallback_problem(raw, encodable=True) is not None:
        return None
    text, sender = raw["text"], raw["sender"]
    wants = MessageType.LMS if str(raw.get("type", "SMS")).upper() == "LMS" else MessageType.AUTO
    title = raw.get("title") if isinstance(raw.get("title"), str) and raw["title"].strip() else None
    choice = choose_type(text, TypeRequest(wants, title), korean_recipient=True, korean_route=True)
    if not isinstance(choice, Chosen):
        return None
    if choice.type is MessageType.SMS:
        return "SMS", text, sender, None
    return "LMS", text, sender, choice.title


def fallback_for(message: OutboundMessage) -> Fallback | None:
    """The SMS/LMS message that replaces ``message`` if it fails, when it asked for a usable one."""
    raw = (message.extras or {}).get("fallback")
    if raw is None or fallback_problem(raw) is not None:
        return None
    bad = unencodable(raw["text"])
    if bad:  # known now; the queue records the skip when the fallback would be sent
        skip = f"not_encodable: EUC-KR (CP949) cannot carry {describe_characters(bad)}"
        return Fallback(channel="sms", sender=raw["sender"], body=raw["text"], skip_reason=skip)
    parsed = parse_fallback(raw)
    if parsed is None:  # pragma: no cover - fallback_problem covers every refusal of parse_fallback
        return None
    kind, text, sender, title = parsed
    extras: dict[str, Any] = {"type": kind.lower()}
    if title is not None:
        extras["title"] = title
    if kind == "SMS" and korean_bytes(text) > SMS_MAX_BYTES:  # pragma: no cover - choose_type guarantees it
        extras["type"] = "lms"
    return Fallback(channel="sms", sender=sender, body=text, extras=extras)
