"""Hypothesis properties of quiet-hours deferral: `until` is allowed, in the future, and the earliest window."""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from gateway.policy import ALLOW, Defer, Hold, PolicyConfig, evaluate
from gateway.policy.quiet_hours import schedule, time_zones_for
from gateway.policy.rules import parse_recipient
from tests.support.policy import FR_MOBILE, KR_AD_BODY, KR_MOBILE, NO_OPT_OUTS, US_ALASKA, US_NEW_YORK, message

# Zones with awkward clocks: DST at midnight (Santiago, Havana), 30-minute DST (Lord Howe),
# +12:45/+13:45 (Chatham), +5:45 (Kathmandu), Ramadan DST suspensions (Casablanca).
ODD_ZONES = [
    "Asia/Seoul",
    "Europe/Paris",
    "America/New_York",
    "America/Santiago",
    "America/Havana",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Asia/Kathmandu",
    "Africa/Casablanca",
]
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

moments = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC))


def _text(start: int, end: int) -> str:
    return f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"


windows = st.integers(0, 1439).flatmap(lambda start: st.integers(start + 1, 1440).map(lambda end: _text(start, end)))
rules = st.fixed_dictionaries(
    {day: st.lists(windows, max_size=2) for day in DAYS}, optional={"no_public_holidays": st.booleans()}
).filter(lambda r: any(r[d] for d in DAYS))
ramps = st.sampled_from([0, 1, 59, 600, 3600])


@st.composite
def cases(draw):
    """(message, config): shipped rules for real numbers, or random rules in odd zones."""
    ramp = draw(ramps)
    msg_id = draw(st.integers(0, 2**40))
    shape = draw(st.sampled_from(["shipped", "random_kr_zone", "random_alaska"]))
    if shape == "shipped":
        recipient = draw(st.sampled_from([KR_MOBILE, US_NEW_YORK, US_ALASKA, FR_MOBILE]))
        body = KR_AD_BODY if recipient == KR_MOBILE else "promo"
        return message(id=msg_id, recipient=recipient, body=body), PolicyConfig.model_validate(
            {"quiet_hours": {"ramp_seconds": ramp}}
        )
    rule = draw(rules)
    if shape == "random_kr_zone":
        msg = message(id=msg_id, extras={"timezone": draw(st.sampled_from(ODD_ZONES))})
        region = "KR"
    else:
        msg = message(id=msg_id, recipient=US_ALASKA, body="promo")
        region = "US"
    cfg = PolicyConfig.model_validate({"quiet_hours": {"ramp_seconds": ramp, "countries": {region: rule}}})
    return msg, cfg


def decide(msg, now, cfg):
    # consent=True: these properties are about time, and the US and France require explicit consent
    return evaluate(msg, consent=True, now=now, config=cfg, opt_outs=NO_OPT_OUTS)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases(), now=moments)
def test_defer_until_is_future_and_allowed(case, now):
    """A DEFER's until is after now, and evaluating the same message at until gives ALLOW."""
    msg, cfg = case
    decision = decide(msg, now, cfg)
    event(type(decision).__name__)
    assert decision == ALLOW or isinstance(decision, Defer | Hold)
    if isinstance(decision, Defer):
        assert decision.until > now
        assert decide(msg, decision.until, cfg) == ALLOW
    elif isinstance(decision, Hold):
        assert decision.reason == "no_allowed_window"


@functools.cache
def _holidays(country: str) -> holidays.HolidayBase:
    return holidays.country_holidays(country)


def _oracle_allowed(moment: datetime, zones: tuple[str, ...], rule, region: str) -> bool:
    """The rule read literally: local weekday's windows, minute by minute, holidays excluded."""
    for name in zones:
        local = moment.astimezone(ZoneInfo(name))
        if rule.no_public_holidays and local.date() in _holidays(rule.holidays_country or region):
            return False
        minute = local.hour * 60 + local.minute
        if not any(w.start <= minute < w.end for w in rule.windows_for(local.weekday())):
            return False
    return True


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases(), now=moments)
def test_window_start_is_the_earliest_allowed_minute(case, now):
    """No minute between now and the window start is allowed by a brute-force reading of the rule."""
    msg, cfg = case
    recipient = parse_recipient(msg.recipient, default_region="KR")
    explicit = msg.extras.get("timezone")
    verdict = schedule(
        now, message_id=msg.id, number=recipient.number, region=recipient.region,
        explicit_timezone=explicit, config=cfg.quiet_hours,
    )  # fmt: skip
    rule = cfg.quiet_hours.rule_for(recipient.region)
    zones = time_zones_for(recipient.number, explicit=explicit, default_timezone="Asia/Seoul")
    assert verdict.allowed == _oracle_allowed(now, zones, rule, recipient.region)
    assume(verdict.window_start is not None and verdict.window_start - now <= timedelta(days=2))
    assert _oracle_allowed(verdict.window_start, zones, rule, recipient.region)
    minute = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    while minute < verdict.window_start:
        assert not _oracle_allowed(minute, zones, rule, recipient.region), minute
        minute += timedelta(minutes=1)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases(), now=moments)
def test_allowed_until_never_reaches_into_a_forbidden_minute(case, now):
    """When allowed, every minute from now to allowed_until is allowed by a brute-force reading of the rule."""
    msg, cfg = case
    recipient = parse_recipient(msg.recipient, default_region="KR")
    explicit = msg.extras.get("timezone")
    verdict = schedule(
        now, message_id=msg.id, number=recipient.number, region=recipient.region,
        explicit_timezone=explicit, config=cfg.quiet_hours, until_end=True,
    )  # fmt: skip
    assume(verdict.allowed and verdict.allowed_until is not None)
    rule = cfg.quiet_hours.rule_for(recipient.region)
    zones = time_zones_for(recipient.number, explicit=explicit, default_timezone="Asia/Seoul")
    assert verdict.allowed_until > now
    minute = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    while minute < verdict.allowed_until:
        assert _oracle_allowed(minute, zones, rule, recipient.region), minute
        minute += timedelta(minutes=1)
