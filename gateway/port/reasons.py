"""Reasons: the fixed set of codes the gateway writes in ``reason`` (events, message status).

Every room that can give a reason registers the complete set it can give, at
import time, with :func:`register_reasons` (or :func:`register_reason_pattern`
for a family such as ``<cc>_ad_prefix_missing``); ``docs/upstream.md`` lists
every registered reason with its meaning, and a test fails when the two
differ, or when a test run stores a reason nobody registered. The rule for
every connector and rule module:

* ``reason`` is a registered code: ``[A-Za-z][A-Za-z0-9_]*`` (snake_case,
  or a protocol's own status name such as ``ESME_RTHROTTLED``), fit to be a
  metric label and to be switched on by upstream code;
* human text, provider messages, numbers, names and positions go into the
  event's ``detail`` (``SendResult.detail``, a policy ``Fail.detail``), never
  into ``reason``; the provider's own code goes into ``code``.

:class:`QueueReason` holds the reasons the queue itself gives when it
retries, gives up, recovers or settles a message on its own authority.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping

__all__ = [
    "QueueReason",
    "ReasonRegistry",
    "is_reason_code",
    "reason_registry",
    "register_reason_pattern",
    "register_reasons",
]


class QueueReason(enum.StrEnum):
    DUE = "due"  # a deferred message's time came: queued again
    RELEASED = "released"  # claimed but never handed to a connector (shutdown): queued again
    LEASE_EXPIRED = "lease_expired"  # its instance died or stalled: queued again, flagged
    ORPHANED = "orphaned"  # held by a live run that lost track of it (a claim's answer lost): queued again
    SHUTDOWN_UNANSWERED = "shutdown_unanswered"  # sent, unanswered at shutdown: deferred, flagged
    THROTTLED = "throttled"  # the carrier said slow down
    TRANSIENT_ERROR = "transient_error"  # a connector's RETRY without a reason of its own
    OUTCOME_UNKNOWN = "outcome_unknown"  # a connector's UNKNOWN without a reason of its own
    CONNECTOR_ERROR = "connector_error"  # the connector raised instead of answering
    REJECTED = "rejected"  # a connector's FAILED without a reason of its own
    MAX_ATTEMPTS = "max_attempts"  # retries exhausted
    MAX_UNKNOWN_RESENDS = "max_unknown_resends"  # outcome unknown again after engine.retry.max_unknown_resends resends
    EXPIRED_BEFORE_RETRY = "expired_before_retry"  # the next attempt would come after expires_at
    NO_ROUTE = "no_route"  # no connector serves the message
    INVALID_ROW = "invalid_row"  # the outbox row cannot be read as a message
    POLICY_ERROR = "policy_error"  # the policy check raised for this message
    NO_RECEIPT = "no_receipt"  # submitted, no receipt within the connector's receipt timeout
    RECEIPT = "receipt"  # a delivery receipt settled it
    FALLBACK_ENQUEUED = "fallback_enqueued"  # its fallback message was enqueued
    FALLBACK_SKIPPED = "fallback_skipped"  # its fallback was due but not sent (expired, not encodable)
    SUBMITTED_UNCONFIRMED = "submitted_unconfirmed"  # accepted without a message_id: no receipt can match
    RECEIPT_DROPPED = "receipt_dropped"  # a receipt for it was received and not applied (detail.why says why)
    RECEIPT_MALFORMED = "receipt_malformed"  # dropped: a receipt with no readable id or state
    RECEIPT_UNMATCHED = "receipt_unmatched"  # dropped: no message ever carried its carrier id
    RECEIPT_TOO_LATE = "receipt_too_late"  # dropped: its message already had a final receipt saying otherwise


_CODE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}\Z")
_PLACEHOLDER = re.compile(r"<([a-z]+)>")
#: What a placeholder of a pattern stands for.
PLACEHOLDERS: Mapping[str, str] = {
    "cc": "[a-z]{2}",  # an ISO 3166-1 alpha-2 region, lower case
}


def split_reason(text: str) -> tuple[str, str | None]:
    """``"too_long: 2,001 bytes"`` -> ``("too_long", "2,001 bytes")``: the code for ``reason``, the rest for
    ``detail["detail"]`` (for code that words its refusals as one line)."""
    code, sep, rest = text.partition(":")
    return code.strip(), (rest.strip() or None) if sep else None


def with_text(detail: Mapping[str, object] | None, text: str | None) -> dict[str, object] | None:
    """``detail`` with ``text`` under ``"detail"`` (None when both are empty)."""
    out = dict(detail or {})
    if text:
        out["detail"] = text
    return out or None


def is_reason_code(text: str) -> bool:
    """True when ``text`` has the shape of a reason (no spaces, colons, numbers first or free text)."""
    return bool(_CODE.match(text))


class ReasonRegistry:
    """Which reasons exist, and which rooms give them."""

    def __init__(self) -> None:
        self._codes: dict[str, set[str]] = {}
        self._patterns: dict[str, tuple[re.Pattern[str], set[str]]] = {}

    def register(self, room: str, codes: Iterable[str]) -> None:
        """``room`` can give each of ``codes`` as a reason (registering twice is harmless)."""
        for code in codes:
            code = str(code)
            if not is_reason_code(code):
                raise ValueError(f"{room}: {code!r} is not a reason code ([A-Za-z][A-Za-z0-9_]*, text goes in detail)")
            self._codes.setdefault(code, set()).add(room)

    def register_pattern(self, room: str, pattern: str) -> None:
        """A family of reasons, e.g. ``<cc>_ad_prefix_missing`` (placeholders: :data:`PLACEHOLDERS`)."""
        names = _PLACEHOLDER.findall(pattern)
        if not names or any(n not in PLACEHOLDERS for n in names):
            raise ValueError(f"{room}: {pattern!r} needs placeholders among {sorted(PLACEHOLDERS)}")
        parts = _PLACEHOLDER.split(pattern)
        regex = "".join(re.escape(p) if i % 2 == 0 else PLACEHOLDERS[p] for i, p in enumerate(parts))
        if not is_reason_code(_PLACEHOLDER.sub("x", pattern)):
            raise ValueError(f"{room}: {pattern!r} does not make reason codes")
        entry = self._patterns.setdefault(pattern, (re.compile(regex + r"\Z"), set()))
        entry[1].add(room)

    def known(self, reason: str) -> bool:
        """``reason`` is registered, or belongs to a registered family."""
        if reason in self._codes:
            return True
        return any(regex.match(reason) for regex, _ in self._patterns.values())

    def codes(self) -> dict[str, frozenset[str]]:
        """Every registered code and pattern, with the rooms that give it."""
        out = {code: frozenset(rooms) for code, rooms in self._codes.items()}
        out.update({pattern: frozenset(rooms) for pattern, (_, rooms) in self._patterns.items()})
        return out


#: The one registry of the process.
reason_registry = ReasonRegistry()
register_reasons = reason_registry.register
register_reason_pattern = reason_registry.register_pattern

register_reasons("queue", QueueReason)
