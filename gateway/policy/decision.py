"""What the policy decides for one claimed message, and :func:`evaluate`, which decides it.

``evaluate`` is pure: the message, the consent flag, the clock reading, the
config, the opt-out set and the campaign controls all come in as arguments, and
the same arguments always give the same decision. Checks run in this order and
the first that speaks decides:

1. **campaign cancelled** — the message's campaign was cancelled after it was
   enqueued: SUPPRESS ``campaign_cancelled``.
2. **expiry** — ``expires_at`` reached: EXPIRE ``expired``; the first sendable
   moment (``send_at``, else the enqueue) plus the max age
   (``extras["max_age_seconds"]``, else the campaign's, else the global one)
   reached: EXPIRE ``max_age``. Bad ``max_age_seconds``: FAIL ``invalid_extras``.
3. **campaign held** — HOLD ``campaign`` until an operator releases it.
4. **schedule** — ``send_at`` still ahead: DEFER ``scheduled`` until then.
5. **channel** — Alimtalk is informational only: advertising on ``alimtalk``
   is FAIL ``alimtalk_advertising``.
6. **recipient** — not parseable / not a valid number: FAIL ``invalid_recipient``.
7. **content** (advertising, recipient country with a content rule; KR is shipped):
   FAIL ``kr_ad_prefix_missing`` / ``kr_ad_optout_number_missing`` /
   ``kr_ad_sender_name_missing`` (``<cc>_...`` for other configured countries).
   An *informational* body that starts with the country's advertising prefix is
   sent with a warning (``informational_ad_prefix``), or treated as advertising
   when ``content.informational_ad_prefix = "advertising"``.
8. **opt-out, then consent** — opt-out hit (advertising; informational too when
   ``opt_out.apply_to_informational``): SUPPRESS ``opted_out``, whatever the
   consent says. Advertising with ``consent is False``: SUPPRESS ``consent_false``;
   with ``consent is None`` in a country whose consent is ``explicit`` (US, FR):
   SUPPRESS ``consent_missing``. Opt-outs are looked up under the sender and,
   when present, ``extras["brand"]``.
9. **quiet hours** (advertising only): outside the recipient's allowed windows
   (the country's rule and its states' rules; ``extras.night_consent = true``
   lifts Korea's), DEFER ``quiet_hours`` until the next allowed moment plus the
   message's ramp offset, HOLD ``quiet_hours`` when ``on_quiet_hours = "hold"``,
   or SUPPRESS ``quiet_hours`` when ``on_quiet_hours = "skip"``; EXPIRE
   ``expires_in_quiet_hours`` when the deadline comes first; HOLD
   ``no_allowed_window`` when no allowed moment exists within ``search_days``.
   Bad ``extras["timezone"]`` or ``extras["night_consent"]``: FAIL ``invalid_extras``.

Then ALLOW, carrying ``until``: the message may be handed to a connector only
before that moment (its deadline, or the end of the quiet-hours window it is
allowed in). Deduplication and fatigue caps need PostgreSQL: the gate applies
them and reports SUPPRESS ``duplicate`` / ``fatigue`` with the same types.

:func:`recheck` is the last check right before a connector takes the message:
in memory and cheap (a clock comparison, a dict and a set probe), it catches a
campaign held or cancelled, an opt-out added, or a window or deadline passed
since the claim.

Reasons are snake_case strings from a bounded set (:func:`all_reasons`), fit to
be metric labels; details are for people and never hold the body or the number.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import ClassVar

from gateway.policy.config import SHIPPED_CONTENT_RULES, AdContentRule, PolicyConfig
from gateway.policy.controls import NO_CONTROLS, CampaignControls
from gateway.policy.quiet_hours import InvalidTimeZone, QuietSchedule, schedule
from gateway.policy.regions import subdivisions_for
from gateway.policy.rules import (
    InvalidExtras,
    InvalidRecipient,
    OptOutLookup,
    Recipient,
    ad_content_violation,
    deadline,
    explicit_timezone,
    names_sender,
    night_consent,
    parse_recipient,
)
from gateway.port import OutboundMessage, register_reason_pattern, register_reasons

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
    "Trace",
    "all_reasons",
    "content_reason",
    "evaluate",
    "recheck",
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

    QUIET_HOURS = "quiet_hours"  # DEFER, HOLD, SUPPRESS (on_quiet_hours = "skip")
    NO_ALLOWED_WINDOW = "no_allowed_window"  # HOLD
    CAMPAIGN_HELD = "campaign"  # HOLD: its campaign is on hold (transition reason "held_campaign")
    SCHEDULED = "scheduled"  # DEFER: send_at still ahead
    CONSENT_FALSE = "consent_false"  # SUPPRESS
    CONSENT_MISSING = "consent_missing"  # SUPPRESS: NULL consent where consent must be explicit
    CAMPAIGN_CANCELLED = "campaign_cancelled"  # SUPPRESS: its campaign was cancelled after it was enqueued
    OPTED_OUT = "opted_out"
    DUPLICATE = "duplicate"  # set by the engine (PostgreSQL dedupe)
    FATIGUE = "fatigue"  # set by the gate (PostgreSQL fatigue caps): SUPPRESS, the cap is full of sends
    FATIGUE_PENDING = "fatigue_pending"  # DEFER: the cap is full only with ads still being sent
    ALIMTALK_ADVERTISING = "alimtalk_advertising"  # FAIL
    INVALID_RECIPIENT = "invalid_recipient"
    INVALID_EXTRAS = "invalid_extras"
    INVALID_KIND = "invalid_kind"
    KR_AD_PREFIX_MISSING = "kr_ad_prefix_missing"
    KR_AD_OPTOUT_NUMBER_MISSING = "kr_ad_optout_number_missing"
    KR_AD_SENDER_NAME_MISSING = "kr_ad_sender_name_missing"
    EXPIRED = "expired"  # EXPIRE
    MAX_AGE = "max_age"
    EXPIRES_IN_QUIET_HOURS = "expires_in_quiet_hours"
    INFORMATIONAL_AD_PREFIX = "informational_ad_prefix"  # a warning on an ALLOW, not a refusal


# Every reason the policy gives, as the queue writes it (docs/upstream.md lists each): the
# fixed ones, a HOLD's as "held_<reason>", the content rules of other configured countries,
# and those the campaign functions write (migration 0031).
HOLD_REASONS = (Reason.QUIET_HOURS, Reason.NO_ALLOWED_WINDOW, Reason.CAMPAIGN_HELD)
_HOLD_ONLY = (Reason.NO_ALLOWED_WINDOW, Reason.CAMPAIGN_HELD)  # written only as held_<reason>
register_reasons("policy", [r for r in Reason if r not in _HOLD_ONLY])
register_reasons("policy", [f"held_{r}" for r in HOLD_REASONS])
register_reasons("policy", ["campaign_released", "hold_released"])
for _violation in ("prefix", "optout_number", "sender_name"):
    register_reason_pattern("policy", f"<cc>_ad_{_violation}_missing")

_SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")


def _check_reason(reason: str) -> None:
    if not _SNAKE.match(reason):
        raise ValueError(f"decision reasons are snake_case metric labels, not {reason!r}")


@dataclass(frozen=True, slots=True)
class Allow:
    """Send it now — before ``until`` (aware, or None: no limit); ``warnings`` are reasons worth an event."""

    # Not part of the decision's identity: Allow(until=t) == ALLOW (both say "send it").
    until: datetime | None = field(default=None, compare=False)
    warnings: tuple[str, ...] = ()
    action: ClassVar[Action] = Action.ALLOW

    def __post_init__(self) -> None:
        for warning in self.warnings:
            _check_reason(warning)


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
    """``kr_ad_prefix_missing``, ``kr_ad_optout_number_missing``, ``kr_ad_sender_name_missing``, per country."""
    return f"{region.lower()}_ad_{violation}_missing"


_VIOLATIONS = ("prefix", "optout_number", "sender_name")


def all_reasons(config: PolicyConfig) -> frozenset[str]:
    """Every reason ``evaluate`` (and the engine) can give under ``config``: the metric label set."""
    regions = set(config.content.countries)
    if config.content.shipped_defaults:
        regions |= set(SHIPPED_CONTENT_RULES)
    extra = {content_reason(r, v) for r in regions for v in _VIOLATIONS}
    return frozenset({str(r) for r in Reason} | extra)


@dataclass(slots=True)
class Trace:
    """What :func:`evaluate` looked at, for ``gateway policy explain`` (filled when one is passed in)."""

    region: str | None = None
    e164: str | None = None
    subdivisions: tuple[str, ...] = ()
    advertising: bool = False
    consent_mode: str | None = None
    content_rule: AdContentRule | None = None
    quiet: QuietSchedule | None = None
    deadline: tuple[datetime, str] | None = None
    notes: list[str] = field(default_factory=list)


def evaluate(
    message: OutboundMessage,
    *,
    consent: bool | None,
    now: datetime,
    config: PolicyConfig,
    opt_outs: OptOutLookup,
    controls: CampaignControls = NO_CONTROLS,
) -> Decision:
    """Decide what to do with one claimed message at ``now`` (aware). Pure; see the module docstring."""
    return decide_traced(message, consent=consent, now=now, config=config, opt_outs=opt_outs, controls=controls)


def decide_traced(
    message: OutboundMessage,
    *,
    consent: bool | None,
    now: datetime,
    config: PolicyConfig,
    opt_outs: OptOutLookup,
    controls: CampaignControls = NO_CONTROLS,
    trace: Trace | None = None,
    check_content: bool = True,
) -> Decision:
    """:func:`evaluate`, noting what it looked at in ``trace``; ``check_content=False`` skips the body rules."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("evaluate: now must be timezone-aware")
    now = now.astimezone(UTC)
    trace = trace if trace is not None else Trace()
    if message.kind not in KINDS:
        return Fail(Reason.INVALID_KIND, f"kind must be one of {', '.join(KINDS)}, not {message.kind!r}")
    advertising = message.kind == "advertising"

    control = controls.for_message(message)
    if control is not None and control.cancels(message):
        return Suppress(Reason.CAMPAIGN_CANCELLED)
    try:
        limit = deadline(message, config.expiry)
    except InvalidExtras as exc:
        return Fail(Reason.INVALID_EXTRAS, str(exc))
    trace.deadline = limit
    if limit is not None and now >= limit[0]:
        return Expire(Reason(limit[1]))
    if control is not None and control.held:
        return Hold(Reason.CAMPAIGN_HELD)
    if message.send_at is not None and message.send_at.astimezone(UTC) > now:
        return Defer(until=message.send_at, reason=Reason.SCHEDULED)

    if advertising and message.channel == "alimtalk":
        return Fail(Reason.ALIMTALK_ADVERTISING, "Alimtalk carries informational messages only")
    try:
        recipient = parse_recipient(
            message.recipient,
            default_region=config.default_region,
            number_check=config.number_check,
            parsed=message.number,
        )
    except InvalidRecipient as exc:
        return Fail(Reason.INVALID_RECIPIENT, str(exc))
    trace.region, trace.e164 = recipient.region, recipient.e164

    warnings: tuple[str, ...] = ()
    rule = config.content.rule_for(recipient.region)
    trace.content_rule = rule
    if not advertising and rule is not None and _starts_with_prefix(message.body, rule):
        mode = config.content.informational_ad_prefix
        if mode == "advertising":
            advertising = True
            trace.notes.append("informational body starts with the advertising prefix: treated as advertising")
            if message.channel == "alimtalk":
                return Fail(Reason.ALIMTALK_ADVERTISING, "the body is advertising: Alimtalk carries none")
        elif mode == "warn":
            warnings = (Reason.INFORMATIONAL_AD_PREFIX.value,)
    trace.advertising = advertising

    if advertising and rule is not None and recipient.region is not None:
        if check_content:
            refusal = _content_refusal(message, rule, recipient.region, config)
            if refusal is not None:
                return refusal
        else:
            trace.notes.append("content rules not checked (no body given)")

    if (advertising or config.opt_out.apply_to_informational) and _opted_out(message, recipient.e164, opt_outs):
        return Suppress(Reason.OPTED_OUT)
    if not advertising:
        return Allow(until=limit[0] if limit else None, warnings=warnings)
    trace.consent_mode = config.consent.mode_for(recipient.region)
    if consent is False:
        return Suppress(Reason.CONSENT_FALSE)
    if consent is None and trace.consent_mode == "explicit":
        return Suppress(Reason.CONSENT_MISSING)
    return _quiet_hours(message, recipient, now, config, limit, trace, warnings)


def recheck(
    message: OutboundMessage,
    *,
    now: datetime,
    config: PolicyConfig,
    opt_outs: OptOutLookup,
    controls: CampaignControls = NO_CONTROLS,
) -> Decision:
    """The last check before a connector takes a message that :func:`evaluate` allowed. Pure, cheap.

    In order: the campaign cancelled (SUPPRESS ``campaign_cancelled``) or held
    (HOLD ``campaign``) since; an opt-out added since (SUPPRESS ``opted_out``);
    then, only once ``message.allowed_until`` has passed, the time rules again:
    expiry and quiet hours, with the same decisions as :func:`evaluate`
    (DEFER ``quiet_hours`` to the next window, EXPIRE, HOLD or SUPPRESS per
    ``on_quiet_hours``). Consent and content do not change after the claim.
    """
    control = controls.for_message(message)
    if control is not None:
        if control.cancels(message):
            return Suppress(Reason.CAMPAIGN_CANCELLED)
        if control.held:
            return Hold(Reason.CAMPAIGN_HELD)
    opt_outs_apply = message.kind == "advertising" or config.opt_out.apply_to_informational
    if opt_outs_apply and _opted_out(message, message.recipient, opt_outs):
        return Suppress(Reason.OPTED_OUT)
    until = message.allowed_until
    if until is None or now < until:
        return ALLOW
    now = now.astimezone(UTC)
    try:
        limit = deadline(message, config.expiry)
        if limit is not None and now >= limit[0]:
            return Expire(Reason(limit[1]))
        recipient = parse_recipient(
            message.recipient,
            default_region=config.default_region,
            number_check=config.number_check,
            parsed=message.number,
        )
    except (InvalidExtras, InvalidRecipient):  # evaluate allowed it: nothing new to say
        return ALLOW
    rule = config.content.rule_for(recipient.region)
    advertising = message.kind == "advertising" or (
        config.content.informational_ad_prefix == "advertising"
        and rule is not None
        and _starts_with_prefix(message.body, rule)
    )
    if not advertising:
        return ALLOW
    return _quiet_hours(message, recipient, now, config, limit, Trace(), ())


# --- helpers ---------------------------------------------------------------------------------------


def _starts_with_prefix(body: str, rule: AdContentRule) -> bool:
    return rule.prefix is not None and body.lstrip().startswith(rule.prefix)


def _opted_out(message: OutboundMessage, number: str, opt_outs: OptOutLookup) -> bool:
    if opt_outs.contains(message.sender, number):
        return True
    brand = message.extras.get("brand")
    return isinstance(brand, str) and bool(brand) and opt_outs.contains(brand, number)


def _content_refusal(message: OutboundMessage, rule: AdContentRule, region: str, config: PolicyConfig) -> Fail | None:
    violation = ad_content_violation(message.body, rule)
    if violation == "prefix":
        return Fail(content_reason(region, violation), f"advertising must start with {rule.prefix!r}")
    if violation == "optout_number":
        detail = "advertising must carry a free opt-out number matching the configured pattern"
        return Fail(content_reason(region, violation), detail)
    if rule.sender_name != "off":
        names = config.content.sender_names.get(message.sender)
        if names is None and rule.sender_name == "required":
            detail = f"no names are configured for sender {message.sender!r} (policy.content.sender_names)"
            return Fail(content_reason(region, "sender_name"), detail)
        if names is not None and not names_sender(message.body, names):
            detail = f"advertising must name its sender: one of {', '.join(names)}"
            return Fail(content_reason(region, "sender_name"), detail)
    return None


def _quiet_hours(
    message: OutboundMessage,
    recipient: Recipient,
    now: datetime,
    config: PolicyConfig,
    limit: tuple[datetime, str] | None,
    trace: Trace,
    warnings: tuple[str, ...],
) -> Decision:
    quiet = config.quiet_hours
    try:
        subdivisions = subdivisions_for(recipient.number, recipient.region)
        trace.subdivisions = subdivisions
        verdict = schedule(
            now,
            message_id=message.id,
            number=recipient.number,
            region=recipient.region,
            explicit_timezone=explicit_timezone(message.extras),
            config=quiet,
            subdivisions=subdivisions,
            night_consent=night_consent(message.extras),
            until_end=True,
        )
    except (InvalidExtras, InvalidTimeZone) as exc:
        return Fail(Reason.INVALID_EXTRAS, str(exc))
    trace.quiet = verdict
    if verdict.allowed:
        ends = [t for t in (verdict.allowed_until, limit[0] if limit else None) if t is not None]
        return Allow(until=min(ends) if ends else None, warnings=warnings)
    if quiet.on_quiet_hours == "skip":
        return Suppress(Reason.QUIET_HOURS)
    if verdict.until is None:
        if limit is not None and limit[0] <= now + timedelta(days=quiet.search_days):
            return Expire(Reason.EXPIRES_IN_QUIET_HOURS)
        return Hold(Reason.NO_ALLOWED_WINDOW)
    if limit is not None and limit[0] <= verdict.until:
        return Expire(Reason.EXPIRES_IN_QUIET_HOURS)
    if quiet.on_quiet_hours == "hold":
        return Hold(Reason.QUIET_HOURS, next_allowed=verdict.until)
    return Defer(until=verdict.until, reason=Reason.QUIET_HOURS)
