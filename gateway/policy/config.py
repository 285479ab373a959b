"""Typed configuration of the send policy: the ``[policy]`` section of the daemon's TOML.

Every rule is data. Country tables (quiet hours, advertising content rules) are
keyed by ISO 3166-1 region code as ``phonenumbers`` reports it for the recipient
("KR", "US", "FR"); US state rules by USPS code under ``subdivisions``. The
shipped tables (``data/shipped.toml``, where every rule names its legal source;
docs/compliance.md lists them) apply unless a section sets
``shipped_defaults = false``; an entry the operator writes for a country (or
state) replaces the shipped entry for that country (or state) only, so
configuring KR never drops the shipped FR rule.

Example (every key, with its default unless marked)::

    [policy]
    default_region = "KR"         # region for recipients written in national form
    number_check = "valid"        # "valid" | "possible" (phonenumbers' checks)
    opt_out_refresh_seconds = 5   # how often opt-outs are reloaded from PostgreSQL

    [policy.expiry]
    max_age_seconds = 14400       # example; default: no global max age
    campaign_max_age_seconds = { "spring-sale" = 3600 }   # example; default {}

    [policy.dedupe]
    enabled = true
    default = "phone"             # "phone" | "contact" (extras.dedupe on a message overrides)
    keep_days = 30

    [policy.fatigue]
    enabled = true
    max_messages = 3              # advertising sends per recipient (an SMS counts its segments, an LMS/MMS one) ...
    period_seconds = 86400        # ... per this many seconds, across campaigns and instances
    pending_wait_seconds = 30     # cap full only with ads still being sent: wait, then decide again

    [policy.consent]
    default = "implicit"          # "implicit" (NULL may send) | "explicit" (only true sends)
    shipped_defaults = true       # KR implicit, US and FR explicit
    countries = { DE = "explicit" }   # example

    [policy.opt_out]
    apply_to_informational = false
    stop_keywords = ["STOP", "수신거부"]   # example; default DEFAULT_STOP_KEYWORDS

    [policy.content]
    shipped_defaults = true       # KR: "(광고)" prefix, the sender's name, a free 080 opt-out number
    informational_ad_prefix = "warn"   # "warn" | "advertising" | "ignore"
    sender_names = { "15880000" = ["OO쇼핑", "OO Shop"] }   # example: brand names per sender
    [policy.content.countries.KR] # example: the shipped KR rule, spelled out
    prefix = "(광고)"
    allow_leading_whitespace = false
    optout_number_pattern = '(?<!\\d)080[-\\s]?\\d{3,4}[-\\s]?\\d{4}(?!\\d)'
    sender_name = "when_configured"   # "off" | "when_configured" | "required"
    source = "정보통신망법 제50조 제4항, 시행령 제61조"   # free text: where the rule comes from
    checked = "2026-12-01"            # when that source was last checked

    [policy.quiet_hours]
    enabled = true
    on_quiet_hours = "defer"      # "defer" | "hold" | "skip"
    ramp_seconds = 600
    default_timezone = "Asia/Seoul"
    search_days = 14
    shipped_defaults = true       # KR, US, FR below
    [policy.quiet_hours.countries.KR]     # example: quiet from 20:00 instead of 21:00
    daily = ["08:00-20:00"]
    lifted_by_night_consent = true        # extras.night_consent = true: this rule does not apply
    [policy.quiet_hours.countries.FR]     # example: the shipped FR rule, spelled out
    weekdays = ["08:00-20:00"]            # shorthand for mon..fri
    sat = ["10:00-20:00"]
    sun = []
    no_public_holidays = true
    holidays_country = "FR"
    # holidays_subdivision = "57"         # e.g. Moselle
    [policy.quiet_hours.subdivisions.US.CT]   # example: the shipped Connecticut rule, spelled out
    daily = ["09:00-20:00"]
    [policy.quiet_hours.default_rule]     # default: absent = always allowed
    daily = ["09:00-20:00"]
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from importlib import resources
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
import phonenumbers
from pydantic import Field, field_validator, model_serializer, model_validator

from gateway.configbase import ConfigModel

__all__ = [
    "DEFAULT_RAMP_SECONDS",
    "DEFAULT_REGION",
    "DEFAULT_SEARCH_DAYS",
    "DEFAULT_STOP_KEYWORDS",
    "DEFAULT_TIMEZONE",
    "KR_OPTOUT_NUMBER_PATTERN",
    "SHIPPED_CONSENT",
    "SHIPPED_CONTENT_RULES",
    "SHIPPED_QUIET_HOURS",
    "SHIPPED_SUBDIVISION_QUIET_HOURS",
    "AdContentRule",
    "ConsentConfig",
    "ConsentMode",
    "ConsentRule",
    "ContentConfig",
    "ExpiryConfig",
    "OptOutConfig",
    "PolicyConfig",
    "QuietHoursConfig",
    "QuietHoursRule",
    "Window",
]

DEFAULT_REGION = "KR"
DEFAULT_TIMEZONE = "Asia/Seoul"
DEFAULT_RAMP_SECONDS = 600
DEFAULT_SEARCH_DAYS = 14

#: Whole-message opt-out keywords. Matching ignores case, surrounding punctuation,
#: inner whitespace and full-width forms ("ｓｔｏｐ!", "수신 거부" both match).
DEFAULT_STOP_KEYWORDS: tuple[str, ...] = (
    # English
    "STOP",
    "STOPALL",
    "UNSUBSCRIBE",
    "END",
    "QUIT",
    "CANCEL",
    "OPTOUT",
    "OPT OUT",
    # French (the keyword French operators honour besides STOP)
    "ARRET",
    "ARRÊT",
    # Korean
    "수신거부",
    "거부",
    "해지",
    "중지",
    "수신중지",
    "수신해지",
    "광고거부",
    "광고수신거부",
    "거절",
)

#: A Korean free-call opt-out number: 080, then 3-4 and 4 digits, optionally
#: separated by one hyphen or whitespace ("080-123-4567", "080 1234 5678", "0801234567").
KR_OPTOUT_NUMBER_PATTERN = r"(?<!\d)080[-\s]?\d{3,4}[-\s]?\d{4}(?!\d)"

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SHORTHANDS = {"weekdays": _DAYS[:5], "weekend": _DAYS[5:], "daily": _DAYS}  # most specific first
_WINDOW_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def _check_region(code: str) -> str:
    code = code.upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"unknown region code {code!r} (use ISO 3166-1 alpha-2, as phonenumbers does)")
    return code


def _check_holidays(country: str, subdivision: str | None) -> None:
    if country not in holidays.list_supported_countries():
        raise ValueError(f"the holidays library has no calendar for {country!r}")
    try:
        holidays.country_holidays(country, subdiv=subdivision)
    except NotImplementedError as exc:
        raise ValueError(f"holidays: unknown subdivision {subdivision!r} of {country!r}") from exc


class Window(ConfigModel):
    """An allowed stretch of local wall-clock time within one day: ``[start, end)``.

    Written in TOML as ``"HH:MM-HH:MM"``; ``end`` may be ``24:00``. A window
    never crosses midnight: a quiet period of 21:00-08:00 is the allowed window
    ``"08:00-21:00"``.
    """

    start: int = Field(ge=0, le=24 * 60 - 1)  # minutes after local midnight
    end: int = Field(ge=1, le=24 * 60)

    @model_validator(mode="before")
    @classmethod
    def _parse_text(cls, data: Any) -> Any:
        if not isinstance(data, str):
            return data
        match = _WINDOW_RE.match(data)
        if match is None:
            raise ValueError(f"window {data!r} is not 'HH:MM-HH:MM'")
        sh, sm, eh, em = (int(g) for g in match.groups())
        if sm > 59 or em > 59 or sh > 23 or eh > 24 or (eh == 24 and em):
            raise ValueError(f"window {data!r} has an impossible time")
        return {"start": sh * 60 + sm, "end": eh * 60 + em}

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.start >= self.end:
            raise ValueError(f"window {self} is empty: start must be before end (windows never cross midnight)")
        return self

    @model_serializer
    def _as_text(self) -> str:
        return str(self)

    def __str__(self) -> str:
        return f"{self.start // 60:02d}:{self.start % 60:02d}-{self.end // 60:02d}:{self.end % 60:02d}"


class QuietHoursRule(ConfigModel):
    """When advertising may reach a recipient: allowed windows per local weekday.

    Shorthands ``weekdays`` (mon-fri), ``weekend`` (sat, sun) and ``daily`` fill
    the days not given explicitly, in that order (an explicit day wins, then
    ``weekdays``/``weekend``, then ``daily``). ``no_public_holidays`` forbids whole days that
    are public holidays in ``holidays_country`` (default: the recipient's
    region) and ``holidays_subdivision``. ``lifted_by_night_consent``: a message
    with ``extras.night_consent = true`` is not subject to this rule (Korea's
    separate consent for 21:00-08:00). ``source`` and ``checked`` say where the
    rule comes from and when that was last checked (shown by ``gateway policy explain``).
    """

    mon: tuple[Window, ...] = ()
    tue: tuple[Window, ...] = ()
    wed: tuple[Window, ...] = ()
    thu: tuple[Window, ...] = ()
    fri: tuple[Window, ...] = ()
    sat: tuple[Window, ...] = ()
    sun: tuple[Window, ...] = ()
    no_public_holidays: bool = False
    holidays_country: str | None = None
    holidays_subdivision: str | None = None
    lifted_by_night_consent: bool = False
    source: str | None = None
    checked: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _expand_shorthands(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        data = dict(data)
        for shorthand, days in _SHORTHANDS.items():
            if shorthand in data:
                windows = data.pop(shorthand)
                for day in days:
                    data.setdefault(day, windows)
        return data

    @model_validator(mode="after")
    def _sane(self) -> QuietHoursRule:
        if not any(self.windows_for(day) for day in range(7)):
            raise ValueError("a quiet-hours rule must allow at least one window in the week")
        if self.holidays_country is not None:
            _check_holidays(self.holidays_country, self.holidays_subdivision)
        elif self.holidays_subdivision is not None:
            raise ValueError("holidays_subdivision needs holidays_country")
        return self

    def windows_for(self, weekday: int) -> tuple[Window, ...]:
        """The allowed windows of a weekday (0 = Monday, as ``date.weekday()``)."""
        return (self.mon, self.tue, self.wed, self.thu, self.fri, self.sat, self.sun)[weekday]

    def describe(self) -> str:
        """The windows in one line, e.g. ``mon-sat 08:00-20:00; sun -``."""
        days = [", ".join(map(str, self.windows_for(d))) or "-" for d in range(7)]
        parts: list[str] = []
        start = 0
        for end in range(1, 8):
            if end == 7 or days[end] != days[start]:
                label = _DAYS[start] if end - start == 1 else f"{_DAYS[start]}-{_DAYS[end - 1]}"
                parts.append(f"{label} {days[start]}")
                start = end
        text = "; ".join(parts)
        if len(parts) == 1:
            text = "daily " + days[0]
        if self.no_public_holidays:
            text += "; not on public holidays"
        return text


ConsentMode = Literal["implicit", "explicit"]


class ConsentRule(ConfigModel):
    """How one country reads the ``consent`` column for advertising.

    ``implicit``: NULL ("never asked") may send, false suppresses (``consent_false``).
    ``explicit``: only true sends; NULL is suppressed as ``consent_missing``.
    Written in TOML as a plain string (``US = "explicit"``) or a table with a source.
    """

    mode: ConsentMode
    source: str | None = None
    checked: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: Any) -> Any:
        return {"mode": data} if isinstance(data, str) else data


class AdContentRule(ConfigModel):
    """What an advertising body must carry for recipients of one country.

    ``sender_name``: the body must name the sender — one of the names configured
    for it in ``[policy.content] sender_names`` — ``"when_configured"`` (checked for
    senders that have names), ``"required"`` (a sender without names fails too) or ``"off"``.
    """

    prefix: str | None = "(광고)"  # the body must start with it; None = no prefix rule
    allow_leading_whitespace: bool = False  # strict: not even a space before the prefix
    optout_number_pattern: str | None = KR_OPTOUT_NUMBER_PATTERN  # searched in the NFKC body; None = no rule
    sender_name: Literal["off", "when_configured", "required"] = "when_configured"
    source: str | None = None
    checked: str | None = None

    @field_validator("optout_number_pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"optout_number_pattern does not compile: {exc}") from exc
        return value


# --------------------------------------------------------------------------- shipped rules (data)


def _load_shipped() -> dict[str, Any]:
    text = resources.files("gateway.policy").joinpath("data/shipped.toml").read_text("utf-8")
    return tomllib.loads(text)


_SHIPPED = _load_shipped()

#: Consent per country, from ``data/shipped.toml`` (KR implicit, US and FR explicit).
SHIPPED_CONSENT: Mapping[str, ConsentRule] = {
    region: ConsentRule.model_validate(entry) for region, entry in _SHIPPED["consent"].items()
}
#: Quiet hours per country (KR, US, FR), from ``data/shipped.toml``.
SHIPPED_QUIET_HOURS: Mapping[str, QuietHoursRule] = {
    region: QuietHoursRule.model_validate(entry)
    for region, entry in _SHIPPED["quiet_hours"].items()
    if region != "subdivisions"
}
#: Quiet hours per state, on top of the country's rule: ``{"US": {"CT": rule, ...}}``.
SHIPPED_SUBDIVISION_QUIET_HOURS: Mapping[str, Mapping[str, QuietHoursRule]] = {
    region: {code: QuietHoursRule.model_validate(entry) for code, entry in states.items()}
    for region, states in _SHIPPED["quiet_hours"].get("subdivisions", {}).items()
}
#: Advertising content rules per country (KR), from ``data/shipped.toml``.
SHIPPED_CONTENT_RULES: Mapping[str, AdContentRule] = {
    region: AdContentRule.model_validate(entry) for region, entry in _SHIPPED["content"].items()
}


# --------------------------------------------------------------------------- sections


class QuietHoursConfig(ConfigModel):
    """Quiet hours for advertising, evaluated in the recipient's local time.

    ``on_quiet_hours``: ``defer`` to the next allowed moment, ``hold`` for an
    operator (``gateway held list|release``), or ``skip`` (the message ends
    ``suppressed``/``quiet_hours``).
    """

    enabled: bool = True
    on_quiet_hours: Literal["defer", "hold", "skip"] = "defer"
    ramp_seconds: int = Field(default=DEFAULT_RAMP_SECONDS, ge=0, le=86_400)  # 0 = everyone wakes at the window start
    default_timezone: str = DEFAULT_TIMEZONE  # when neither the message nor the number gives a zone
    search_days: int = Field(default=DEFAULT_SEARCH_DAYS, ge=1, le=366)  # how far ahead to look for a window
    shipped_defaults: bool = True
    countries: dict[str, QuietHoursRule] = Field(default_factory=dict)
    # Rules of a country's states, on top of the country's own: {"US": {"CT": rule}}.
    subdivisions: dict[str, dict[str, QuietHoursRule]] = Field(default_factory=dict)
    default_rule: QuietHoursRule | None = None  # countries without a rule; None = always allowed

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("countries")
    @classmethod
    def _region_keys(cls, value: dict[str, QuietHoursRule]) -> dict[str, QuietHoursRule]:
        checked = {_check_region(code): rule for code, rule in value.items()}
        for code, rule in checked.items():
            if rule.no_public_holidays and rule.holidays_country is None:
                _check_holidays(code, None)
        return checked

    @field_validator("subdivisions")
    @classmethod
    def _subdivision_keys(cls, value: dict[str, dict[str, QuietHoursRule]]) -> dict[str, dict[str, QuietHoursRule]]:
        out: dict[str, dict[str, QuietHoursRule]] = {}
        for region, states in value.items():
            code = _check_region(region)
            out[code] = {}
            for state, rule in states.items():
                if not re.fullmatch(r"[A-Z0-9]{1,3}", state):
                    raise ValueError(f"subdivisions.{code}: {state!r} is not a subdivision code such as 'CT'")
                out[code][state] = rule
        return out

    def rule_for(self, region: str | None) -> QuietHoursRule | None:
        """The rule for a recipient region: configured, else shipped, else the default rule."""
        if region is not None:
            rule = self.countries.get(region)
            if rule is None and self.shipped_defaults:
                rule = SHIPPED_QUIET_HOURS.get(region)
            if rule is not None:
                return rule
        return self.default_rule

    def subdivision_rules(self, region: str | None) -> Mapping[str, QuietHoursRule]:
        """Every state rule of a region: the shipped ones, replaced or added to by configured ones."""
        if region is None:
            return {}
        rules = dict(SHIPPED_SUBDIVISION_QUIET_HOURS.get(region, {})) if self.shipped_defaults else {}
        rules.update(self.subdivisions.get(region, {}))
        return rules


class ContentConfig(ConfigModel):
    """Advertising content rules per recipient country.

    ``informational_ad_prefix``: what to do with an ``informational`` message whose
    body starts with the country's advertising prefix ("(광고)"): ``warn`` (send it,
    and record a ``warning`` event ``informational_ad_prefix``), ``advertising``
    (treat it as advertising: quiet hours, consent, opt-outs, content rules) or ``ignore``.
    ``sender_names``: the names (brand, company or service) each sender may be
    identified by in advertising — the sender-name check looks for one of them.
    """

    shipped_defaults: bool = True
    countries: dict[str, AdContentRule] = Field(default_factory=dict)
    informational_ad_prefix: Literal["warn", "advertising", "ignore"] = "warn"
    sender_names: dict[str, tuple[str, ...]] = Field(default_factory=dict)

    @field_validator("countries")
    @classmethod
    def _region_keys(cls, value: dict[str, AdContentRule]) -> dict[str, AdContentRule]:
        return {_check_region(code): rule for code, rule in value.items()}

    @field_validator("sender_names")
    @classmethod
    def _names(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for sender, names in value.items():
            if not names or any(not name.strip() for name in names):
                raise ValueError(f"sender_names[{sender!r}]: give at least one non-empty name")
        return value

    def rule_for(self, region: str | None) -> AdContentRule | None:
        if region is None:
            return None
        rule = self.countries.get(region)
        if rule is None and self.shipped_defaults:
            rule = SHIPPED_CONTENT_RULES.get(region)
        return rule


class ConsentConfig(ConfigModel):
    """Marketing consent per recipient country (see :class:`ConsentRule`)."""

    default: ConsentMode = "implicit"  # countries without a rule
    shipped_defaults: bool = True  # KR implicit, US and FR explicit
    countries: dict[str, ConsentRule] = Field(default_factory=dict)

    @field_validator("countries")
    @classmethod
    def _region_keys(cls, value: dict[str, ConsentRule]) -> dict[str, ConsentRule]:
        return {_check_region(code): rule for code, rule in value.items()}

    def rule_for(self, region: str | None) -> ConsentRule | None:
        if region is None:
            return None
        rule = self.countries.get(region)
        if rule is None and self.shipped_defaults:
            rule = SHIPPED_CONSENT.get(region)
        return rule

    def mode_for(self, region: str | None) -> ConsentMode:
        rule = self.rule_for(region)
        return self.default if rule is None else rule.mode


class ExpiryConfig(ConfigModel):
    """How old a message may get before it is no longer worth sending.

    Ages count from the first moment the message may be sent: its ``send_at``
    when it has one (and that is later than its enqueue), else its enqueue.
    """

    max_age_seconds: int | None = Field(default=None, ge=1)  # global; None = no limit
    campaign_max_age_seconds: dict[str, int] = Field(default_factory=dict)

    @field_validator("campaign_max_age_seconds")
    @classmethod
    def _positive(cls, value: dict[str, int]) -> dict[str, int]:
        for campaign, seconds in value.items():
            if seconds < 1:
                raise ValueError(f"campaign_max_age_seconds[{campaign!r}] must be at least 1")
        return value


class OptOutConfig(ConfigModel):
    apply_to_informational: bool = False  # opt-outs always apply to advertising
    stop_keywords: tuple[str, ...] = DEFAULT_STOP_KEYWORDS


class DedupeConfig(ConfigModel):
    """One copy per campaign and phone number (or contact, when the message asks)."""

    enabled: bool = True
    # "phone": one per normalised number; "contact": one per extras["contact_id"]
    # (a message may ask for either with extras["dedupe"]).
    default: Literal["phone", "contact"] = "phone"
    # How long a campaign's dedupe keys are kept.
    keep_days: int = Field(default=30, ge=1)


class FatigueConfig(ConfigModel):
    """A global cap on advertising sends per recipient, across campaigns and instances.

    It counts sends (messages a connector accepted), not decisions: an ad refused
    by the gateway or the carrier leaves the recipient's count as it was. A send
    counts what the recipient receives: an LMS or MMS one, an SMS one per segment
    (its ``SendResult.segments``); the send that reaches the cap still went.
    """

    enabled: bool = True
    max_messages: int = Field(default=3, ge=1)
    period_seconds: int = Field(default=86400, ge=60)
    # When the cap is full only because other ads to the recipient are still being
    # sent (they may yet fail), wait this long and decide again instead of suppressing.
    pending_wait_seconds: int = Field(default=30, ge=1, le=3600)


class PolicyConfig(ConfigModel):
    """The whole ``[policy]`` section."""

    default_region: str = DEFAULT_REGION
    number_check: Literal["valid", "possible"] = "valid"
    expiry: ExpiryConfig = ExpiryConfig()
    opt_out: OptOutConfig = OptOutConfig()
    consent: ConsentConfig = ConsentConfig()
    content: ContentConfig = ContentConfig()
    quiet_hours: QuietHoursConfig = QuietHoursConfig()
    dedupe: DedupeConfig = DedupeConfig()
    fatigue: FatigueConfig = FatigueConfig()
    # How often the daemon reloads opt-outs and campaign controls from PostgreSQL
    # (a hold or cancel also wakes it at once through NOTIFY).
    opt_out_refresh_seconds: float = Field(default=5.0, gt=0)

    @field_validator("default_region")
    @classmethod
    def _region(cls, value: str) -> str:
        return _check_region(value)
