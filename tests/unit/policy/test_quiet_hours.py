"""Quiet hours: windows per country, recipient time zones, holidays, ramp, hold mode."""

from __future__ import annotations

import hashlib
from datetime import UTC, timedelta

import pytest

from gateway.policy import ALLOW, Defer, Expire, Hold, Reason, evaluate, ramp_offset
from gateway.policy.quiet_hours import next_allowed, time_zones_for, zone_rules
from gateway.policy.rules import parse_recipient
from tests.support.policy import (
    ADAK,
    ANCHORAGE,
    DEFAULT_CONFIG,
    FR_MOBILE,
    KR_MOBILE,
    NEW_YORK,
    NO_OPT_OUTS,
    PARIS,
    SEOUL,
    US_ALASKA,
    US_NEW_YORK,
    at,
    config,
    message,
)

NO_RAMP = config(quiet_hours={"ramp_seconds": 0})


def decide(msg, now, cfg=DEFAULT_CONFIG):
    # consent=True: these tests are about time, and the US and France require explicit consent
    return evaluate(msg, consent=True, now=now, config=cfg, opt_outs=NO_OPT_OUTS)


def ad(recipient: str):
    """A non-Korean advertising SMS (no content rule applies) to ``recipient``."""
    return message(recipient=recipient, body="promo")


# --- Korea ---------------------------------------------------------------------------------------


def test_seoul_2059_is_allowed():
    """A Korean ad at 20:59:59 Seoul time is still inside the 08:00-21:00 window."""
    assert decide(message(), at(SEOUL, 2024, 5, 1, 20, 59, 59)) == ALLOW


def test_seoul_2100_defers_to_0800_next_day_plus_ramp():
    """At 21:00 Seoul time a Korean ad waits for 08:00 the next morning plus its ramp offset."""
    msg = message(id=1)
    decision = decide(msg, at(SEOUL, 2024, 5, 1, 21, 0))
    assert decision == Defer(until=at(SEOUL, 2024, 5, 2, 8, 0) + timedelta(seconds=110), reason="quiet_hours")


def test_seoul_0759_defers_to_0800_same_day():
    """Early in the morning the next window is the same day's 08:00."""
    decision = decide(message(), at(SEOUL, 2024, 5, 2, 7, 59), NO_RAMP)
    assert decision == Defer(until=at(SEOUL, 2024, 5, 2, 8, 0))


def test_korea_with_2000_config_defers_at_2000():
    """An operator rule of 08:00-20:00 for KR makes 20:00 quiet while 19:59 still sends."""
    cfg = config(quiet_hours={"ramp_seconds": 0, "countries": {"KR": {"daily": ["08:00-20:00"]}}})
    assert decide(message(), at(SEOUL, 2024, 5, 1, 19, 59), cfg) == ALLOW
    assert decide(message(), at(SEOUL, 2024, 5, 1, 20, 0), cfg) == Defer(until=at(SEOUL, 2024, 5, 2, 8, 0))


def test_quiet_hours_use_recipient_zone_not_server_zone():
    """12:00 UTC is 21:00 in Seoul: the Korean recipient's clock decides, not UTC."""
    now = at(UTC, 2024, 5, 1, 12, 0)
    assert isinstance(decide(message(), now), Defer)


# --- France --------------------------------------------------------------------------------------


def test_paris_sunday_defers_to_monday_0800():
    """French ads never go out on Sunday: Sunday noon waits for Monday 08:00."""
    decision = decide(ad(FR_MOBILE), at(PARIS, 2024, 6, 9, 12, 0), NO_RAMP)  # Sunday 9 June 2024
    assert decision == Defer(until=at(PARIS, 2024, 6, 10, 8, 0))


def test_paris_bastille_day_defers_to_next_day():
    """14 July 2025 (a Monday) is a public holiday: its noon waits for Tuesday 08:00."""
    decision = decide(ad(FR_MOBILE), at(PARIS, 2025, 7, 14, 12, 0), NO_RAMP)
    assert decision == Defer(until=at(PARIS, 2025, 7, 15, 8, 0))


def test_paris_bastille_day_on_weekday_skips_to_next_day():
    """14 July 2025 is a Monday holiday: Sunday evening 13 July defers past it to Tuesday 08:00."""
    decision = decide(ad(FR_MOBILE), at(PARIS, 2025, 7, 13, 19, 0), NO_RAMP)
    assert decision == Defer(until=at(PARIS, 2025, 7, 15, 8, 0))


def test_paris_evening_before_holiday_skips_holiday():
    """At 20:00 on Wednesday 14 Aug 2024 the next day is Assumption: the ad waits until Friday."""
    decision = decide(ad(FR_MOBILE), at(PARIS, 2024, 8, 14, 20, 0), NO_RAMP)
    assert decision == Defer(until=at(PARIS, 2024, 8, 16, 8, 0))


def test_paris_saturday_0959_defers_to_1000():
    """On Saturdays French ads start at 10:00, so 09:59 waits one minute."""
    decision = decide(ad(FR_MOBILE), at(PARIS, 2024, 6, 8, 9, 59), NO_RAMP)
    assert decision == Defer(until=at(PARIS, 2024, 6, 8, 10, 0))


def test_paris_saturday_1000_is_allowed():
    """Saturday 10:00 Paris time is the start of the Saturday window."""
    assert decide(ad(FR_MOBILE), at(PARIS, 2024, 6, 8, 10, 0)) == ALLOW


def test_holiday_subdivision_rule():
    """A rule with holidays_subdivision 57 (Moselle) also skips Saint Stephen's Day, 26 December."""
    moselle = {
        "weekdays": ["08:00-20:00"],
        "no_public_holidays": True,
        "holidays_country": "FR",
        "holidays_subdivision": "57",
    }
    cfg = config(quiet_hours={"ramp_seconds": 0, "countries": {"FR": moselle}})
    decision = decide(ad(FR_MOBILE), at(PARIS, 2024, 12, 25, 12, 0), cfg)  # Christmas, Wednesday
    assert decision == Defer(until=at(PARIS, 2024, 12, 27, 8, 0))


# --- United States ------------------------------------------------------------------------------


def test_new_york_0800_is_allowed():
    """08:00 New York time is the first allowed minute for a 212 number."""
    assert decide(ad(US_NEW_YORK), at(NEW_YORK, 2024, 3, 5, 8, 0)) == ALLOW


def test_new_york_0759_defers_to_0800():
    """07:59 New York time waits for 08:00 (plus the ramp, here 0)."""
    decision = decide(ad(US_NEW_YORK), at(NEW_YORK, 2024, 3, 5, 7, 59), NO_RAMP)
    assert decision == Defer(until=at(NEW_YORK, 2024, 3, 5, 8, 0))


def test_us_number_with_several_zones_waits_for_the_latest_morning():
    """An Alaska number may be in Adak or Anchorage: 08:00 Anchorage (07:00 Adak) waits for 08:00 Adak."""
    now = at(ANCHORAGE, 2024, 3, 5, 8, 0)
    decision = decide(ad(US_ALASKA), now, NO_RAMP)
    assert decision == Defer(until=at(ADAK, 2024, 3, 5, 8, 0))
    assert decision.until - now == timedelta(hours=1)


def test_us_number_with_several_zones_stops_at_the_earliest_evening():
    """20:59 Anchorage (19:59 Adak) is allowed; 21:00 Anchorage is quiet although Adak is at 20:00."""
    assert decide(ad(US_ALASKA), at(ANCHORAGE, 2024, 3, 5, 20, 59)) == ALLOW
    assert isinstance(decide(ad(US_ALASKA), at(ANCHORAGE, 2024, 3, 5, 21, 0)), Defer)


def test_candidate_zones_are_sorted_and_deterministic():
    """The zones of the Alaska number come back sorted, whatever order phonenumbers lists them in."""
    number = parse_recipient(US_ALASKA, default_region="KR").number
    assert time_zones_for(number, explicit=None, default_timezone="Asia/Seoul") == ("America/Adak", "America/Anchorage")


def test_explicit_timezone_overrides_the_number():
    """extras.timezone wins: a Korean number of someone in Paris follows Paris time (KR rule)."""
    msg = message(extras={"timezone": "Europe/Paris"})
    assert decide(msg, at(SEOUL, 2024, 5, 1, 22, 0)) == ALLOW  # 15:00 in Paris
    assert isinstance(decide(msg, at(PARIS, 2024, 5, 1, 21, 0)), Defer)


def test_unknown_explicit_timezone_fails():
    """A made-up extras.timezone is a broken message, not a reason to guess."""
    decision = decide(message(extras={"timezone": "Mars/Olympus"}), at(SEOUL, 2024, 5, 1, 12, 0))
    assert decision.reason == Reason.INVALID_EXTRAS


def test_default_timezone_for_numbers_without_zone():
    """A non-geographic number (+800) has no zone: the default zone and default rule apply."""
    cfg = config(
        number_check="possible",
        quiet_hours={"ramp_seconds": 0, "default_timezone": "Europe/Paris", "default_rule": {"daily": ["09:00-18:00"]}},
    )
    msg = message(recipient="+80012345678", body="promo")
    assert decide(msg, at(PARIS, 2024, 5, 1, 12, 0), cfg) == ALLOW
    assert decide(msg, at(PARIS, 2024, 5, 1, 18, 0), cfg) == Defer(until=at(PARIS, 2024, 5, 2, 9, 0))


def test_country_without_rule_is_always_allowed_by_default():
    """With no default rule, a German ad at 03:00 Berlin time is allowed."""
    msg = message(recipient="+4915123456789", body="promo")
    assert decide(msg, at(PARIS, 2024, 5, 1, 3, 0)) == ALLOW


def test_shipped_defaults_can_be_switched_off():
    """shipped_defaults = false drops the KR rule, so 23:00 Seoul time sends."""
    cfg = config(quiet_hours={"shipped_defaults": False})
    assert decide(message(), at(SEOUL, 2024, 5, 1, 23, 0), cfg) == ALLOW


def test_quiet_hours_can_be_disabled():
    """quiet_hours.enabled = false lets ads through at any hour."""
    assert decide(message(), at(SEOUL, 2024, 5, 1, 23, 0), config(quiet_hours={"enabled": False})) == ALLOW


# --- exemptions, hold, expiry ------------------------------------------------------------------


def test_informational_is_exempt():
    """An informational message to Korea goes out at 23:00."""
    msg = message(kind="informational", body="주문이 발송되었습니다")
    assert decide(msg, at(SEOUL, 2024, 5, 1, 23, 0)) == ALLOW


def test_hold_mode_holds_instead_of_deferring():
    """on_quiet_hours = hold parks the ad and still says when it could go."""
    cfg = config(quiet_hours={"on_quiet_hours": "hold", "ramp_seconds": 0})
    decision = decide(message(), at(SEOUL, 2024, 5, 1, 21, 0), cfg)
    assert decision == Hold(reason="quiet_hours", next_allowed=at(SEOUL, 2024, 5, 2, 8, 0))


def test_expiry_inside_quiet_period_expires():
    """An ad that expires at 07:00 while quiet until 08:00 is expired now, not deferred."""
    msg = message(expires_at=at(SEOUL, 2024, 5, 2, 7, 0))
    decision = decide(msg, at(SEOUL, 2024, 5, 1, 22, 0))
    assert decision == Expire(reason="expires_in_quiet_hours")


def test_expiry_before_ramped_wakeup_expires():
    """Expiring between the window start and window start + ramp offset also expires."""
    msg = message(id=1, expires_at=at(SEOUL, 2024, 5, 2, 8, 1))  # ramp offset of id 1 is 110 s
    assert decide(msg, at(SEOUL, 2024, 5, 1, 22, 0)) == Expire(reason="expires_in_quiet_hours")


def test_expiry_after_wakeup_defers():
    """An ad that expires at 09:00 is deferred to 08:00 + ramp."""
    msg = message(id=1, expires_at=at(SEOUL, 2024, 5, 2, 9, 0))
    assert isinstance(decide(msg, at(SEOUL, 2024, 5, 1, 22, 0)), Defer)


def test_max_age_inside_quiet_period_expires():
    """A 4-hour max age that ends during the night expires the ad instead of deferring it."""
    msg = message(created_at=at(SEOUL, 2024, 5, 1, 20, 0))
    cfg = config(expiry={"max_age_seconds": 4 * 3600})
    assert decide(msg, at(SEOUL, 2024, 5, 1, 22, 0), cfg) == Expire(reason="expires_in_quiet_hours")


def test_no_allowed_window_within_search_days_holds():
    """A rule allowing only Sundays with a 3-day search horizon holds a Monday ad."""
    cfg = config(quiet_hours={"search_days": 3, "countries": {"KR": {"sun": ["10:00-12:00"]}}})
    assert decide(message(), at(SEOUL, 2024, 5, 6, 12, 0), cfg) == Hold(reason="no_allowed_window")


def test_no_allowed_window_but_deadline_within_search_expires():
    """With no window in the next 3 days and a deadline inside them, the ad expires instead of holding."""
    cfg = config(quiet_hours={"search_days": 3, "countries": {"KR": {"sun": ["10:00-12:00"]}}})
    msg = message(expires_at=at(SEOUL, 2024, 5, 8, 12, 0))
    assert decide(msg, at(SEOUL, 2024, 5, 6, 12, 0), cfg) == Expire(reason="expires_in_quiet_hours")


# --- ramp --------------------------------------------------------------------------------------


def test_ramp_offset_is_the_documented_hash():
    """The ramp offset is blake2b-64 of the decimal id modulo ramp_seconds (golden: id 1 -> 110 s)."""
    expected = int.from_bytes(hashlib.blake2b(b"12345", digest_size=8).digest(), "big") % 600
    assert ramp_offset(12345, 600) == expected
    assert ramp_offset(1, 600) == 110
    assert ramp_offset(1, 0) == 0


def test_ramp_is_deterministic_and_spreads_a_campaign():
    """The same message wakes at the same second every time; 1000 messages spread over the ramp."""
    first = decide(message(id=77), at(SEOUL, 2024, 5, 1, 21, 0))
    again = decide(message(id=77), at(SEOUL, 2024, 5, 1, 23, 30))
    assert first == again
    offsets = {ramp_offset(i, 600) for i in range(1000)}
    assert len(offsets) > 400 and min(offsets) >= 0 and max(offsets) < 600


def test_ramp_is_shortened_to_fit_a_short_window():
    """A 2-minute window with a 600 s ramp still wakes the message inside the window."""
    cfg = config(quiet_hours={"countries": {"KR": {"daily": ["08:00-08:02"]}}})
    decision = decide(message(id=1), at(SEOUL, 2024, 5, 1, 21, 0), cfg)
    assert decision == Defer(until=at(SEOUL, 2024, 5, 2, 8, 0) + timedelta(seconds=ramp_offset(1, 120)))


# --- DST ---------------------------------------------------------------------------------------


def test_window_starting_in_dst_gap_opens_at_the_gap_end():
    """On 10 March 2024 02:30 does not exist in New York: a 02:30 window opens at 03:00 EDT."""
    cfg = config(quiet_hours={"ramp_seconds": 0, "countries": {"US": {"daily": ["02:30-05:00"]}}})
    decision = decide(ad(US_NEW_YORK), at(NEW_YORK, 2024, 3, 10, 1, 0), cfg)
    assert decision == Defer(until=at(NEW_YORK, 2024, 3, 10, 3, 0))


def test_repeated_hour_on_fall_back_day():
    """On 3 Nov 2024 in New York, 01:15-01:30 happens twice; from 01:45 EDT the next start is 01:15 EST."""
    cfg = config(quiet_hours={"ramp_seconds": 0, "countries": {"US": {"daily": ["01:15-01:30"]}}})
    now = at(UTC, 2024, 11, 3, 5, 45)  # 01:45 EDT
    decision = decide(ad(US_NEW_YORK), now, cfg)
    assert decision == Defer(until=at(UTC, 2024, 11, 3, 6, 15))  # 01:15 EST, the second 01:15


def test_window_covering_the_fall_back_instant():
    """A 00:30-01:30 window is left at 01:30 EDT and re-entered at the fall-back instant (01:00 EST)."""
    cfg = config(quiet_hours={"ramp_seconds": 0, "countries": {"US": {"daily": ["00:30-01:30"]}}})
    now = at(UTC, 2024, 11, 3, 5, 40)  # 01:40 EDT
    assert decide(ad(US_NEW_YORK), now, cfg) == Defer(until=at(UTC, 2024, 11, 3, 6, 0))


def test_next_allowed_returns_now_when_allowed():
    """next_allowed of an allowed moment is that moment."""
    rules = zone_rules(["Asia/Seoul"], DEFAULT_CONFIG.quiet_hours.rule_for("KR"), "KR")
    now = at(SEOUL, 2024, 5, 1, 12, 0, 0)
    assert next_allowed(now, rules, search_days=1) == now


def test_naive_now_is_rejected():
    """Quiet hours refuse a naive clock reading instead of guessing its zone."""
    with pytest.raises(ValueError):
        next_allowed(at(SEOUL, 2024, 5, 1).replace(tzinfo=None), (), search_days=1)


def test_kr_number_in_national_form_uses_default_region():
    """'010-1234-5678' with default region KR is a Korean number, quiet at 21:00 Seoul time."""
    assert isinstance(decide(message(recipient="010-1234-5678"), at(SEOUL, 2024, 5, 1, 21, 0)), Defer)
    assert parse_recipient("010-1234-5678", default_region="KR").e164 == KR_MOBILE
