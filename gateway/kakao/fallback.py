"""The Alimtalk -> SMS/LMS fallback rule, owned here and handed to the queue as a typed value.

A message asks for a fallback with ``extras.fallback = {"text", "sender",
"type": "SMS"|"LMS", "title"}``. In ``fallback_mode = "gateway"`` the
connector attaches :func:`fallback_for` to its result: to a FAILED result whose
code calls for it (the queue enqueues it at once), and to a SUBMITTED one (the
queue keeps it with the message and enqueues it when a receipt asks for it,
``Receipt.fallback``). The queue never looks inside.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.port import Fallback, OutboundMessage

__all__ = ["fallback_for", "parse_fallback"]


def parse_fallback(raw: Any) -> tuple[str, str, str, str | None] | None:
    """``(type, text, sender, title)`` from ``extras.fallback``, or None when unusable."""
    if not isinstance(raw, Mapping):
        return None
    text, sender = raw.get("text"), raw.get("sender")
    kind = raw.get("type", "SMS")
    title = raw.get("title")
    if not isinstance(text, str) or not text or not isinstance(sender, str) or not sender or kind not in ("SMS", "LMS"):
        return None
    if title is not None and not isinstance(title, str):
        return None
    return kind, text, sender, title


def fallback_for(message: OutboundMessage) -> Fallback | None:
    """The SMS/LMS message that replaces ``message`` if it fails, when it asked for one."""
    parsed = parse_fallback((message.extras or {}).get("fallback"))
    if parsed is None:
        return None
    kind, text, sender, title = parsed
    extras: dict[str, Any] = {"fallback_type": kind}
    if title is not None:
        extras["title"] = title
    return Fallback(channel="sms", sender=sender, body=text, extras=extras)
