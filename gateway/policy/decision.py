"""What the policy decides for one claimed message, and :func:`evaluate`, which decides it.

``evaluate`` is pure: the message, the consent flag, the clock reading, the
config and the opt-out set all come in as arguments, and the same arguments
always give the same decision. Checks run in this order and the first that
speaks decides:

1. **expiry** — ``expires_at`` reached: EXPIRE ``expired``; ``created_at`` plus the
   max age (``extras["max_age_seconds"]``, else the campaign's, else the global
   one) reached: EXPIRE ``max_age``. Bad ``max_age_seconds``: FAIL ``invalid_extras``.
2. **channel** — Alimtalk is informational only: advertising on ``alimtalk``
   is FAIL ``alimtalk_advertising``.
3. **recipient** — not parseable / not a valid number: FAIL ``invalid_recipient``.
4. **content** (advertising, recipient country with a content rule; KR is shipped):
   FAIL ``kr_ad_prefix_missing`` / ``kr_ad_optout_number_missing`` (``<cc>_...``
   for other configured countries).
5. **opt-out, then consent** — opt-out hit (advertising; informational too when
   ``opt_out.apply_to_informational``): SUPPRESS ``opted_out``, whatever the
   consent says. Advertising with ``consent is False``: SUPPRESS ``consent_false``
   (None, "never asked", may send). Opt-outs are looked up under the sender and,
   when present, ``extras["brand"]``.
6. **quiet hours** (advertising only): outside the recipient's allowed windows,
   DEFER ``quiet_hours`` until the next allowed moment plus the message's ramp
   offset, or HOLD ``quiet_hours`` when ``on_quiet_hours = "hold"``; EXPIRE
   ``expires_in_quiet_hours`` when the deadline comes first; HOLD
   ``no_allowed_window`` when no allowed moment exists within ``search_days``.
   Bad ``extras["timezone"]``: FAIL ``invalid_extras``.

Then ALLOW. Deduplication and fatigue caps need PostgreSQL: the engine applies
them and reports SUPPRESS ``duplicate`` / ``fatigue`` with the same types.

Reasons are snake_case strings from a bounded set (:func:`all_reasons`), fit to
be metric labels; details are for people and never hold the body or the number.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import ClassVar

from gateway.policy.config import SHIPPED_CONTENT_RULES, PolicyConfig
from gateway.policy.quiet_hours import InvalidTimeZone, schedule
from gateway.policy.rules import (
    InvalidExtras,
    InvalidRecipient,
    OptOutLookup,
    ad_content_violation,
    deadline,
    expiry_reason,
    explicit_timezone,
    parse_recipient,
)
from gateway.port import OutboundMessage

__all__ = [
    "ALLOW",
    "Action",
    "Allow",
    "Decision",
    "Defer",
    "Expire",
    "Fail",
    "Hold",
    "Reason",
    "Suppress",
    "all_reasons",
    "content_reason",
    "evaluate",
]

KINDS = ("informational", "advertising")


class Action(enum.StrEnum):
    ALLOW = "allow"
    DEFER = "defer"
    SUPPRESS = "suppress"
    FAIL = "fail"
    EXPIRE = "expire"
    HOLD = "hold"


class Reason(enum.StrEnum):
    """Every fixed reason. Content reasons of configured countries add ``<cc>_ad_...`` ones."""

    QUIET_HOURS = "quiet_hours"  # DEFER, HOLD
    NO_ALLOWED_WINDOW = "no_allowed_window"  # HOLD
    CONSENT_FALSE = "consent_false"  # SUPPRESS
    OPTED_OUT = "opted_out"
    DUPLICATE = "duplicate"  # set by the engine (PostgreSQL dedupe)
    FATIGUE = "fatigue"  # set by the engine (PostgreSQL fatigue caps)
    ALIMTALK_ADVERTISING = "alimtalk_advertising"  # FAIL
    INVALID_RECIPIENT = "invalid_recipient"
    INVALID_EXTRAS = "invalid_extras"
    INVALID_KIND = "invalid_kind"
    KR_AD_PREFIX_MISSING = "kr_ad_prefix_missing"
    KR_AD_OPTOUT_NUMBER_MISSING = "kr_ad_optout_number_missing"
    EXPIRED = "expired"  # EXPIRE
    MAX_AGE = "max_age"
    EXPIRES_IN_QUIET_HOURS = "expires_in_quiet_hours"


_SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")


def _check_reason(reason: str) -> None:
    if not _SNAKE.match(reason):
        raise ValueError(f"decision reasons are snake_case metric labels, not {reason!r}")


@dataclass(frozen=True, slots=True)
class Allow:
    """Send it now."""

    action: ClassVar[Action] = Action.ALLOW


@dataclass(frozen=True, slots=True)
class Defer:
    """Put it back in the outbox, not to be claimed before ``until`` (aware)."""

    until: datetime
    reason: str = Reason.QUIET_HOURS
    action: ClassVar[Action] = Action.DEFER

    def __post_init__(self) -> None:
        _check_reason(self.reason)
        if self.until.tzinfo is None or self.until.utcoffset() is None:
            raise ValueError("Defer.until must be timezone-aware")


@dataclass(frozen=True, slots=True)
class Suppress:
    """Do not send, by the recipient's will (or as a duplicate): final, not an error."""

    reason: str
    action: ClassVar[Action] = Action.SUPPRESS

    def __post_init__(self) -> None:
        _check_reason(self.reason)


@dataclass(frozen=True, slots=True)
class Fail:
    """Do not send: the message breaks a rule. Final; ``detail`` says what to fix."""

    reason: str
    detail: str = ""
    action: ClassVar[Action] = Action.FAIL

    def __post_init__(self) -> None:
        _check_reason(self.reason)


@dataclass(frozen=True, slots=True)
class Expire:
    """Do not send: too late. Final."""

    reason: str
    action: ClassVar[Action] = Action.EXPIRE

    def __post_init__(self) -> None:
        _check_reason(self.reason)


@dataclass(frozen=True, slots=True)
class Hold:
    """Park it until an operator releases it; ``next_allowed`` is when it could go, if known."""

    reason: str
    next_allowed: datetime | None = None
    action: ClassVar[Action] = Action.HOLD

    def __post_init__(self) -> None:
        _check_reason(self.reason)


Decision = Allow | Defer | Suppress | Fail | Expire | Hold
ALLOW = Allow()


def content_reason(region: str, violation: str) -> str:
    """``kr_ad_prefix_missing``, ``kr_ad_optout_number_missing``, and the same for other countries."""
    return f"{region.lower()}_ad_{violation}_missing"


def all_reasons(config: PolicyConfig) -> frozenset[str]:
    """Every reason ``evaluate`` (and the engine) can give under ``config``: the metric label set."""
    regions = set(config.content.countries)
    if config.content.shipped_defaults:
        regions |= set(SHIPPED_CONTENT_RULES)
    extra = {content_reason(r, v) for r in regions for v in ("prefix", "optout_number")}
    return frozenset({str(r) for r in Reason} | extra)


def evaluate(
    message: OutboundMessage,
    *,
    consent: bool | None,
    now: datetime,
    config: PolicyConfig,
    opt_outs: OptOutLookup,
) -> Decision:
    """Decide what to do with one claimed message at ``now`` (aware). Pure; see the module docstring."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("evaluate: now must be timezone-aware")
    now = now.astimezone(UTC)
    if message.kind not in KINDS:
        return Fail(Reason.INVALID_KIND, f"kind must be one of {', '.join(KINDS)}, not {message.kind!r}")
    advertising = message.kind == "advertising"

    try:
        expired = expiry_reason(message, now, config.expiry)
    except InvalidExtras as exc:
        return Fail(Reason.INVALID_EXTRAS, str(exc))
    if expired is not None:
        return Expire(Reason(expired))

    if advertising and message.channel == "alimtalk":
        return Fail(Reason.ALIMTALK_ADVERTISING, "Alimtalk carries informational messages only")

    try:
        recipient = parse_recipient(
            message.recipient, default_region=config.default_region, number_check=config.number_check
        )
    except InvalidRecipient as exc:
        return Fail(Reason.INVALID_RECIPIENT, str(exc))

    content_rule = config.content.rule_for(recipient.region) if advertising else None
    if content_rule is not None and recipient.region is not None:
        violation = ad_content_violation(message.body, content_rule)
        if violation == "prefix":
            detail = f"advertising must start with {content_rule.prefix!r}"
            return Fail(content_reason(recipient.region, violation), detail)
        if violation == "optout_number":
            detail = "advertising must carry a free opt-out number matching the configured pattern"
            return Fail(content_reason(recipient.region, violation), detail)

    if advertising or config.opt_out.apply_to_informational:
        scopes = [message.sender]
        brand = message.extras.get("brand")
        if isinstance(brand, str) and brand:
            scopes.append(brand)
        if any(opt_outs.contains(scope, recipient.e164) for scope in scopes):
            return Suppress(Reason.OPTED_OUT)
    if not advertising:
        return ALLOW
    if consent is False:
        return Suppress(Reason.CONSENT_FALSE)

    quiet = config.quiet_hours
    try:
        verdict = schedule(
            now,
            message_id=message.id,
            number=recipient.number,
            region=recipient.region,
            explicit_timezone=explicit_timezone(message.extras),
            config=quiet,
        )
    except (InvalidExtras, InvalidTimeZone) as exc:
        return Fail(Reason.INVALID_EXTRAS, str(exc))
    if verdict.allowed:
        return ALLOW
    limit = deadline(message, config.expiry)
    if verdict.until is None:
        if limit is not None and limit[0] <= now + timedelta(days=quiet.search_days):
            return Expire(Reason.EXPIRES_IN_QUIET_HOURS)
        return Hold(Reason.NO_ALLOWED_WINDOW)
    if limit is not None and limit[0] <= verdict.until:
        return Expire(Reason.EXPIRES_IN_QUIET_HOURS)
    if quiet.on_quiet_hours == "hold":
        return Hold(Reason.QUIET_HOURS, next_allowed=verdict.until)
    return Defer(until=verdict.until, reason=Reason.QUIET_HOURS)
