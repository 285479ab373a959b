"""The pure policy rules other than quiet hours: recipients, expiry, content, consent and opt-outs.

Each rule is a small function of the message (and the config, and ``now`` where
time matters); :func:`gateway.policy.decision.evaluate` strings them together.
Nothing here touches the database: the engine loads opt-outs from PostgreSQL
into an :class:`OptOutSet` and swaps in a fresh one when it refreshes.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

from gateway.numbers import BadNumber, Number, canonical
from gateway.policy.config import DEFAULT_STOP_KEYWORDS, AdContentRule, ExpiryConfig
from gateway.port import OutboundMessage

__all__ = [
    "ALL_SENDERS",
    "InvalidExtras",
    "InvalidRecipient",
    "OptOutLookup",
    "OptOutSet",
    "Recipient",
    "ad_content_violation",
    "deadline",
    "expiry_reason",
    "explicit_timezone",
    "fallback_of",
    "first_sendable",
    "is_stop_keyword",
    "max_age_seconds",
    "names_sender",
    "night_consent",
    "normalise_number",
    "normalise_sender",
    "parse_recipient",
    "validity_seconds",
]

#: The opt-out scope that covers every sender and brand ("never message me again").
ALL_SENDERS = "*"


class InvalidRecipient(ValueError):
    """The recipient is not a phone number we can route (the message is the FAIL detail)."""


class InvalidExtras(ValueError):
    """A policy key in ``message.extras`` has an unusable value (the message is the FAIL detail)."""


# --- recipients ----------------------------------------------------------------------------------


#: A recipient the policy can route: the canonical number (E.164, region, the phonenumbers object).
Recipient = Number


def parse_recipient(
    raw: str,
    *,
    default_region: str,
    number_check: Literal["valid", "possible"] = "valid",
    parsed: Number | BadNumber | None = None,
) -> Recipient:
    """Read E.164 ("+821012345678") or national ("010-1234-5678" with ``default_region``) form.

    ``parsed`` is the number as the queue read it at claim (``OutboundMessage.number``):
    given, it is used instead of reading ``raw`` again. Raises :class:`InvalidRecipient`
    when the text is not a possible number or fails ``number_check`` (phonenumbers'
    ``is_valid_number`` or ``is_possible_number``).
    """
    number = parsed if parsed is not None else canonical(raw, default_region)
    if isinstance(number, BadNumber):
        raise InvalidRecipient(number.why)
    if number_check == "valid" and not number.valid:
        raise InvalidRecipient(f"recipient is not a valid number for +{number.country_code}")
    return number


def normalise_number(raw: str, default_region: str | None = None) -> str:
    """E.164 when ``raw`` is a possible number, else its digits (with a leading "+" if it had one).

    The same function keys :class:`OptOutSet` entries and lookups, so both sides agree
    even on numbers phonenumbers rejects. Reading is cached (:func:`gateway.numbers.canonical`).
    """
    text = raw.strip()
    number = canonical(text, default_region)
    if isinstance(number, Number):
        return number.e164
    digits = "".join(ch for ch in unicodedata.normalize("NFKC", text) if ch.isdigit())
    return ("+" if text.startswith(("+", "＋")) else "") + digits


_NUMERIC_SENDER = re.compile(r"^[+\d\s\-().]+$")


def normalise_sender(sender: str) -> str:
    """Opt-out scope key of a sender or brand: digits for numeric senders, casefolded text otherwise."""
    text = unicodedata.normalize("NFKC", sender).strip()
    if text == ALL_SENDERS:
        return text
    if _NUMERIC_SENDER.match(text):
        return ("+" if text.startswith("+") else "") + "".join(ch for ch in text if ch.isdigit())
    return text.casefold()


# --- opt-outs ------------------------------------------------------------------------------------


class OptOutLookup(Protocol):
    def contains(self, sender: str, number: str) -> bool:
        """True when ``number`` opted out of ``sender`` (or of every sender)."""


class OptOutSet:
    """Opt-outs in memory, keyed by (sender or brand, normalised number). Immutable.

    Build it from the database rows with :meth:`from_entries`; to refresh, build a
    new one (or :meth:`with_entries`) and swap the reference, which is atomic for
    the readers. The scope :data:`ALL_SENDERS` (``"*"``) opts a number out of all
    senders. Lookups are two set probes after normalising (cached) the number.
    """

    __slots__ = ("_default_region", "_keys")

    def __init__(self, entries: Iterable[tuple[str, str]] = (), *, default_region: str | None = None) -> None:
        self._default_region = default_region
        self._keys: frozenset[tuple[str, str]] = frozenset(
            (normalise_sender(scope), normalise_number(number, default_region)) for scope, number in entries
        )

    @classmethod
    def from_entries(cls, entries: Iterable[tuple[str, str]], *, default_region: str | None = None) -> OptOutSet:
        return cls(entries, default_region=default_region)

    def with_entries(self, entries: Iterable[tuple[str, str]]) -> OptOutSet:
        """A new set holding these entries as well (for a STOP that arrives between refreshes)."""
        new = OptOutSet(entries, default_region=self._default_region)
        new._keys = self._keys | new._keys
        return new

    def contains(self, sender: str, number: str) -> bool:
        key = normalise_number(number, self._default_region)
        return (normalise_sender(sender), key) in self._keys or (ALL_SENDERS, key) in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return f"OptOutSet(<{len(self._keys)} entries>)"


_STRIP_CATEGORIES = ("P", "S", "Z", "C")  # punctuation, symbols, separators, controls/format


def _keyword_form(text: str) -> str:
    """NFKC (full-width -> ASCII), casefold, no whitespace or punctuation anywhere, accents kept."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in text if not ch.isspace() and unicodedata.category(ch)[0] not in _STRIP_CATEGORIES)


@functools.lru_cache(maxsize=64)
def _keyword_forms(keywords: tuple[str, ...]) -> frozenset[str]:
    return frozenset(form for form in map(_keyword_form, keywords) if form)


def is_stop_keyword(text: str, keywords: Iterable[str] = DEFAULT_STOP_KEYWORDS) -> bool:
    """True when the whole inbound text is one opt-out keyword.

    Case, whitespace (also inside: "수신 거부", "OPT OUT"), punctuation and symbols
    ("STOP!", "[수신거부]") and full-width forms ("ＳＴＯＰ") are ignored; any other
    word makes it an ordinary message ("stop sending at night" is not a STOP).
    """
    form = _keyword_form(text)
    return bool(form) and form in _keyword_forms(tuple(keywords))


# --- expiry --------------------------------------------------------------------------------------


def _utc(moment: datetime) -> datetime:
    """In UTC, so comparisons never fall into Python's same-tzinfo wall-clock comparison.

    Timestamps without a zone are taken as UTC (asyncpg gives aware ones for timestamptz).
    """
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def max_age_seconds(message: OutboundMessage, expiry: ExpiryConfig) -> float | None:
    """The most specific max age: ``extras["max_age_seconds"]``, then the campaign's, then the global one."""
    raw = message.extras.get("max_age_seconds")
    if raw is not None:
        if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(raw) or raw <= 0:
            raise InvalidExtras(f"extras.max_age_seconds must be a positive number, not {raw!r}")
        return float(raw)
    if message.campaign_id is not None and message.campaign_id in expiry.campaign_max_age_seconds:
        return float(expiry.campaign_max_age_seconds[message.campaign_id])
    return None if expiry.max_age_seconds is None else float(expiry.max_age_seconds)


def first_sendable(message: OutboundMessage) -> datetime | None:
    """The first moment the message may be sent: the later of its enqueue and its ``send_at``."""
    moments = [_utc(m) for m in (message.created_at, message.send_at) if m is not None]
    return max(moments) if moments else None


def deadline(message: OutboundMessage, expiry: ExpiryConfig) -> tuple[datetime, Literal["expired", "max_age"]] | None:
    """The moment the message stops being sendable and which limit sets it, or None if nothing does.

    The earlier of ``expires_at`` and the first sendable moment (:func:`first_sendable`:
    ``send_at`` for a scheduled message, else its enqueue) plus the max age; on a
    tie, ``expired``. A campaign scheduled for tomorrow 09:00 with a 4 h max age
    may go out until tomorrow 13:00, however early it was enqueued.
    """
    candidates: list[tuple[datetime, Literal["expired", "max_age"]]] = []
    if message.expires_at is not None:
        candidates.append((_utc(message.expires_at), "expired"))
    age = max_age_seconds(message, expiry)
    start = first_sendable(message)
    if age is not None and start is not None:
        candidates.append((start + timedelta(seconds=age), "max_age"))
    if not candidates:
        return None
    return min(candidates, key=lambda c: (c[0], c[1] != "expired"))


def expiry_reason(
    message: OutboundMessage, now: datetime, expiry: ExpiryConfig
) -> Literal["expired", "max_age"] | None:
    """``"expired"``/``"max_age"`` once ``now`` has reached the deadline (the deadline itself is too late)."""
    limit = deadline(message, expiry)
    if limit is not None and _utc(now) >= limit[0]:
        return limit[1]
    return None


def validity_seconds(
    message: OutboundMessage,
    now: datetime,
    configured_default: int | None,
    *,
    expiry: ExpiryConfig | None = None,
) -> int | None:
    """The SMPP validity period to ask for, in whole seconds.

    ``configured_default`` (the connector's validity, None = leave it to the SMSC),
    capped by the whole seconds left until the message's deadline (``expires_at``,
    max age). Returns None when neither applies, and 0 when the deadline has passed
    (do not send; ``evaluate`` says EXPIRE then). Never more than the time left.
    """
    limit = deadline(message, expiry or ExpiryConfig())
    if limit is None:
        return configured_default
    remaining = max(0, math.floor((limit[0] - _utc(now)).total_seconds()))
    return remaining if configured_default is None else min(configured_default, remaining)


# --- content -------------------------------------------------------------------------------------


def ad_content_violation(body: str, rule: AdContentRule) -> Literal["prefix", "optout_number"] | None:
    """Which content rule an advertising body breaks first, or None.

    ``prefix``: the body must start with ``rule.prefix`` exactly — by default not
    even whitespace may come first, and "（광고）" (full-width) or "[광고]" do not
    count: the regulator names the form, so we are strict unless configured
    otherwise. ``optout_number``: ``rule.optout_number_pattern`` must match
    somewhere in the NFKC-normalised body (full-width digits count).
    """
    if rule.prefix is not None:
        head = body.lstrip() if rule.allow_leading_whitespace else body
        if not head.startswith(rule.prefix):
            return "prefix"
    pattern = rule.optout_number_pattern
    if pattern is not None and re.search(pattern, unicodedata.normalize("NFKC", body)) is None:
        return "optout_number"
    return None


def names_sender(body: str, names: Iterable[str]) -> bool:
    """True when the body names the sender: one of ``names`` appears in it (NFKC, case and spaces ignored)."""
    text = _squeeze(body)
    return any(_squeeze(name) in text for name in names if _squeeze(name))


def _squeeze(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def night_consent(extras: Mapping[str, Any]) -> bool:
    """``extras["night_consent"]``: the recipient's separate consent to advertising at night (KR)."""
    value = extras.get("night_consent")
    if value is None:
        return False
    if not isinstance(value, bool):
        raise InvalidExtras(f"extras.night_consent must be true or false, not {value!r}")
    return value


def fallback_of(message: OutboundMessage) -> int | None:
    """The id of the message this one replaces, when it is a fallback the gateway itself enqueued.

    The store enqueues a fallback with ``extras.fallback_of = <original id>`` and the
    idempotency key ``fallback:<original id>``; both must agree, so an upstream row
    cannot claim to be some other message's fallback by setting the extra alone.
    """
    original = message.extras.get("fallback_of")
    if isinstance(original, bool) or not isinstance(original, int):
        return None
    return original if message.idempotency_key == f"fallback:{original}" else None


def explicit_timezone(extras: Mapping[str, Any]) -> str | None:
    """``extras["timezone"]`` when present (validated by the quiet-hours code)."""
    value = extras.get("timezone")
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidExtras(f"extras.timezone must be a string, not {type(value).__name__}")
    return value
