"""Typed configuration of the send policy: the ``[policy]`` section of the daemon's TOML.

Every rule is data. Country tables (quiet hours, advertising content rules) are
keyed by ISO 3166-1 region code as ``phonenumbers`` reports it for the recipient
("KR", "US", "FR"). The shipped tables below apply unless a section sets
``shipped_defaults = false``; an entry the operator writes for a country
replaces the shipped entry for that country only, so configuring KR never drops
the shipped FR rule.

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
    max_messages = 3              # advertising per recipient ...
    period_seconds = 86400        # ... per this many seconds, across campaigns and instances

    [policy.opt_out]
    apply_to_informational = false
    stop_keywords = ["STOP", "수신거부"]   # example; default DEFAULT_STOP_KEYWORDS

    [policy.content]
    shipped_defaults = true       # KR: "(광고)" prefix and a free 080 opt-out number
    [policy.content.countries.KR] # example: the shipped KR rule, spelled out
    prefix = "(광고)"
    allow_leading_whitespace = false
    optout_number_pattern = '(?<!\\d)080[-\\s]?\\d{3,4}[-\\s]?\\d{4}(?!\\d)'

    [policy.quiet_hours]
    enabled = true
    on_quiet_hours = "defer"      # "defer" | "hold"
    ramp_seconds = 600
    default_timezone = "Asia/Seoul"
    search_days = 14
    shipped_defaults = true       # KR, US, FR below
    [policy.quiet_hours.countries.KR]     # example: quiet from 20:00 instead of 21:00
    daily = ["08:00-20:00"]
    [policy.quiet_hours.countries.FR]     # example: the shipped FR rule, spelled out
    weekdays = ["08:00-20:00"]            # shorthand for mon..fri
    sat = ["10:00-20:00"]
    sun = []
    no_public_holidays = true
    holidays_country = "FR"
    # holidays_subdivision = "57"         # e.g. Moselle
    [policy.quiet_hours.default_rule]     # default: absent = always allowed
    daily = ["09:00-20:00"]
"""

from __future__ import annotations

import re
from collections.abc import Mapping
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
    "SHIPPED_CONTENT_RULES",
    "SHIPPED_QUIET_HOURS",
    "AdContentRule",
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
    region) and ``holidays_subdivision``.
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


SHIPPED_QUIET_HOURS: Mapping[str, QuietHoursRule] = {
    # Korea (정보통신망법 제50조): advertising 21:00-08:00 needs separate consent.
    "KR": QuietHoursRule.model_validate({"daily": ["08:00-21:00"]}),
    # United States (TCPA): 08:00-21:00 recipient local time.
    "US": QuietHoursRule.model_validate({"daily": ["08:00-21:00"]}),
    # France: weekdays 08:00-20:00, Saturday 10:00-20:00, never Sundays or public holidays.
    "FR": QuietHoursRule.model_validate(
        {
            "weekdays": ["08:00-20:00"],
            "sat": ["10:00-20:00"],
            "no_public_holidays": True,
            "holidays_country": "FR",
        }
    ),
}


class QuietHoursConfig(ConfigModel):
    """Quiet hours for advertising, evaluated in the recipient's local time."""

    enabled: bool = True
    on_quiet_hours: Literal["defer", "hold"] = "defer"
    ramp_seconds: int = Field(default=DEFAULT_RAMP_SECONDS, ge=0, le=86_400)  # 0 = everyone wakes at the window start
    default_timezone: str = DEFAULT_TIMEZONE  # when neither the message nor the number gives a zone
    search_days: int = Field(default=DEFAULT_SEARCH_DAYS, ge=1, le=366)  # how far ahead to look for a window
    shipped_defaults: bool = True
    countries: dict[str, QuietHoursRule] = Field(default_factory=dict)
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

    def rule_for(self, region: str | None) -> QuietHoursRule | None:
        """The rule for a recipient region: configured, else shipped, else the default rule."""
        if region is not None:
            rule = self.countries.get(region)
            if rule is None and self.shipped_defaults:
                rule = SHIPPED_QUIET_HOURS.get(region)
            if rule is not None:
                return rule
        return self.default_rule


class AdContentRule(ConfigModel):
    """What an advertising body must carry for recipients of one country."""

    prefix: str | None = "(광고)"  # the body must start with it; None = no prefix rule
    allow_leading_whitespace: bool = False  # strict: not even a space before the prefix
    optout_number_pattern: str | None = KR_OPTOUT_NUMBER_PATTERN  # searched in the NFKC body; None = no rule

    @field_validator("optout_number_pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"optout_number_pattern does not compile: {exc}") from exc
        return value


SHIPPED_CONTENT_RULES: Mapping[str, AdContentRule] = {
    # Korea (정보통신망법 시행령 제61조): "(광고)" first, and a free opt-out (080) number.
    "KR": AdContentRule(),
}


class ContentConfig(ConfigModel):
    """Advertising content rules per recipient country."""

    shipped_defaults: bool = True
    countries: dict[str, AdContentRule] = Field(default_factory=dict)

    @field_validator("countries")
    @classmethod
    def _region_keys(cls, value: dict[str, AdContentRule]) -> dict[str, AdContentRule]:
        return {_check_region(code): rule for code, rule in value.items()}

    def rule_for(self, region: str | None) -> AdContentRule | None:
        if region is None:
            return None
        rule = self.countries.get(region)
        if rule is None and self.shipped_defaults:
            rule = SHIPPED_CONTENT_RULES.get(region)
        return rule


class ExpiryConfig(ConfigModel):
    """How old a message may get before it is no longer worth sending."""

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
    """A global cap on advertising per recipient, across campaigns and instances."""

    enabled: bool = True
    max_messages: int = Field(default=3, ge=1)
    period_seconds: int = Field(default=86400, ge=60)


class PolicyConfig(ConfigModel):
    """The whole ``[policy]`` section."""

    default_region: str = DEFAULT_REGION
    number_check: Literal["valid", "possible"] = "valid"
    expiry: ExpiryConfig = ExpiryConfig()
    opt_out: OptOutConfig = OptOutConfig()
    content: ContentConfig = ContentConfig()
    quiet_hours: QuietHoursConfig = QuietHoursConfig()
    dedupe: DedupeConfig = DedupeConfig()
    fatigue: FatigueConfig = FatigueConfig()
    # How often the daemon reloads opt-outs from PostgreSQL.
    opt_out_refresh_seconds: float = Field(default=5.0, gt=0)

    @field_validator("default_region")
    @classmethod
    def _region(cls, value: str) -> str:
        return _check_region(value)
