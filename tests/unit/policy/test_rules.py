"""Consent, opt-outs, STOP keywords, Korean advertising content, channel, recipients, expiry, validity."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gateway.policy import (
    ALL_SENDERS,
    ALLOW,
    Expire,
    Fail,
    OptOutSet,
    Suppress,
    evaluate,
    is_stop_keyword,
    normalise_number,
    validity_seconds,
)
from gateway.policy.config import AdContentRule, ExpiryConfig
from gateway.policy.rules import InvalidExtras, ad_content_violation, max_age_seconds
from tests.support.policy import DEFAULT_CONFIG, KR_MOBILE, NO_OPT_OUTS, SEOUL, at, config, message

NOON = at(SEOUL, 2024, 5, 1, 12, 0)


def decide(msg, *, consent=None, now=NOON, cfg=DEFAULT_CONFIG, opt_outs=NO_OPT_OUTS):
    return evaluate(msg, consent=consent, now=now, config=cfg, opt_outs=opt_outs)


# --- consent -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("consent", "expected"), [(None, ALLOW), (True, ALLOW), (False, Suppress("consent_false"))])
def test_advertising_consent(consent, expected):
    """Advertising sends with consent None (never asked) or True and is suppressed with False."""
    assert decide(message(), consent=consent) == expected


def test_informational_ignores_consent_false():
    """Marketing consent does not gate informational messages."""
    assert decide(message(kind="informational", body="배송 안내"), consent=False) == ALLOW


# --- opt-outs ------------------------------------------------------------------------------------


def test_opt_out_hit_suppresses_even_with_consent():
    """A number that opted out of the sender is suppressed although consent is True."""
    opt_outs = OptOutSet([("02-1234-5678", "010-1234-5678")], default_region="KR")
    assert decide(message(sender="0212345678"), consent=True, opt_outs=opt_outs) == Suppress("opted_out")


def test_opt_out_of_another_sender_does_not_apply():
    """Opting out of one sender leaves other senders free to advertise."""
    opt_outs = OptOutSet([("0299998888", KR_MOBILE)])
    assert decide(message(sender="0212345678"), opt_outs=opt_outs) == ALLOW


def test_opt_out_by_brand():
    """An opt-out recorded under extras.brand applies to every sender of that brand (case-insensitive)."""
    opt_outs = OptOutSet([("ACME", KR_MOBILE)])
    assert decide(message(extras={"brand": "acme"}), opt_outs=opt_outs) == Suppress("opted_out")


def test_opt_out_of_all_senders():
    """The '*' scope opts a number out of every sender."""
    opt_outs = OptOutSet([(ALL_SENDERS, KR_MOBILE)])
    assert decide(message(sender="1588-0000"), opt_outs=opt_outs) == Suppress("opted_out")


def test_opt_out_does_not_touch_informational_by_default():
    """By default opt-outs apply to advertising only: an order notice still goes out."""
    opt_outs = OptOutSet([("0212345678", KR_MOBILE)])
    assert decide(message(kind="informational", body="배송 안내"), opt_outs=opt_outs) == ALLOW


def test_opt_out_can_cover_informational():
    """opt_out.apply_to_informational = true suppresses informational messages too."""
    opt_outs = OptOutSet([("0212345678", KR_MOBILE)])
    cfg = config(opt_out={"apply_to_informational": True})
    assert decide(message(kind="informational", body="x"), opt_outs=opt_outs, cfg=cfg) == Suppress("opted_out")


def test_opt_out_set_normalises_numbers_and_senders():
    """National, E.164 and spaced forms of the same number and sender are one key."""
    opt_outs = OptOutSet([("02 1234 5678", "+82 10-1234-5678")], default_region="KR")
    assert opt_outs.contains("02-1234-5678", "01012345678")
    assert opt_outs.contains("0212345678", "+821012345678")
    assert not opt_outs.contains("0212345678", "+821012345679")
    assert len(opt_outs) == 1


def test_opt_out_set_with_entries_is_a_new_set():
    """with_entries returns a larger set and leaves the original untouched (safe to swap)."""
    base = OptOutSet([("a", KR_MOBILE)])
    bigger = base.with_entries([("b", KR_MOBILE)])
    assert bigger.contains("b", KR_MOBILE) and bigger.contains("a", KR_MOBILE)
    assert not base.contains("b", KR_MOBILE)


def test_normalise_number_keeps_unparseable_digits():
    """A number phonenumbers cannot parse still normalises to its digits, the same on both sides."""
    assert normalise_number("12-34") == "1234"
    assert normalise_number("+82 (0)10 1234 5678") == KR_MOBILE


# --- STOP keywords -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "STOP",
        "stop",
        " Stop! ",
        "ＳＴＯＰ",
        "unsubscribe",
        "opt out",
        "OPT-OUT",
        "End.",
        "수신거부",
        "수신 거부",
        "[수신거부]",
        "해지",
        "중지",
        "거부",
    ],
)
def test_stop_keywords_match(text):
    """Shipped keywords match whatever the case, spacing, punctuation or full-width form."""
    assert is_stop_keyword(text)


@pytest.mark.parametrize("text", ["", "   ", "stop sending at night", "STOPPED", "thanks", "거부하지 않음", "!!!"])
def test_other_texts_are_not_stop(text):
    """Only a text that is exactly one keyword counts; sentences and empty texts do not."""
    assert not is_stop_keyword(text)


def test_custom_keyword_list():
    """A configured list replaces the shipped one."""
    assert is_stop_keyword("basta", ["BASTA"])
    assert not is_stop_keyword("STOP", ["BASTA"])


# --- channel and content -------------------------------------------------------------------------


def test_alimtalk_advertising_fails():
    """Alimtalk is informational only: an advertising Alimtalk is refused."""
    decision = decide(message(channel="alimtalk"))
    assert isinstance(decision, Fail) and decision.reason == "alimtalk_advertising"


def test_alimtalk_informational_allowed():
    """An informational Alimtalk passes the channel rule."""
    assert decide(message(channel="alimtalk", kind="informational", body="주문 완료")) == ALLOW


@pytest.mark.parametrize(
    "body",
    [
        "봄 세일 (광고) 무료수신거부 080-123-4567",
        " (광고) 봄 세일 무료수신거부 080-123-4567",
        "（광고） 봄 세일 무료수신거부 080-123-4567",
        "[광고] 봄 세일 무료수신거부 080-123-4567",
    ],
)
def test_kr_ad_without_exact_prefix_fails(body):
    """Korean ads must start with exactly '(광고)': not later, not after a space, not full-width or bracketed."""
    decision = decide(message(body=body))
    assert isinstance(decision, Fail) and decision.reason == "kr_ad_prefix_missing"


def test_leading_whitespace_can_be_allowed():
    """allow_leading_whitespace = true accepts a prefix after spaces or a newline."""
    cfg = config(content={"countries": {"KR": {"allow_leading_whitespace": True}}})
    assert decide(message(body="\n (광고) 세일 080-123-4567"), cfg=cfg) == ALLOW


@pytest.mark.parametrize(
    "body",
    ["(광고) 세일", "(광고) 세일 문의 02-123-4567", "(광고) 세일 무료수신거부 080-12-34", "(광고) 세일 1080-123-45678"],
)
def test_kr_ad_without_080_number_fails(body):
    """Korean ads need a free 080 opt-out number; other numbers or truncated ones do not count."""
    decision = decide(message(body=body))
    assert isinstance(decision, Fail) and decision.reason == "kr_ad_optout_number_missing"


@pytest.mark.parametrize(
    "number", ["080-123-4567", "080 1234 5678", "0801234567", "080-1234-5678", "０８０－１２３－４５６７"]
)
def test_kr_ad_080_number_forms(number):
    """The 080 number may use hyphens, spaces, no separators, 3 or 4 middle digits, or full-width digits."""
    assert decide(message(body=f"(광고) 세일\n무료수신거부 {number}")) == ALLOW


def test_content_rules_only_for_korean_recipients():
    """A French recipient's ad needs neither '(광고)' nor an 080 number (on 2 May: 1 May is a French holiday)."""
    msg = message(recipient="+33612345678", body="Soldes !")
    assert decide(msg, consent=True, now=at(SEOUL, 2024, 5, 2, 18, 0)) == ALLOW


def test_content_rules_not_for_informational():
    """Informational Korean messages carry no advertising marks."""
    assert decide(message(kind="informational", body="배송이 시작되었습니다")) == ALLOW


def test_content_rule_for_another_country_names_it():
    """A configured content rule for JP fails with jp_ad_prefix_missing."""
    cfg = config(content={"countries": {"JP": {"prefix": "【広告】", "optout_number_pattern": None}}})
    decision = decide(message(recipient="+819012345678", body="セール"), cfg=cfg)
    assert isinstance(decision, Fail) and decision.reason == "jp_ad_prefix_missing"


def test_ad_content_violation_checks_prefix_first():
    """A body breaking both rules reports the prefix."""
    assert ad_content_violation("세일", AdContentRule()) == "prefix"


# --- recipients ----------------------------------------------------------------------------------


@pytest.mark.parametrize("recipient", ["hello", "", "+82", "+8210123", "+999123456789"])
def test_invalid_recipient_fails_with_detail(recipient):
    """Unparseable or invalid numbers fail with invalid_recipient and a detail saying why."""
    decision = decide(message(recipient=recipient, kind="informational", body="x"))
    assert isinstance(decision, Fail) and decision.reason == "invalid_recipient" and decision.detail


def test_possible_number_check_is_laxer():
    """number_check = possible accepts a well-formed but unallocated Korean number that 'valid' rejects."""
    msg = message(recipient="+8210123456789", kind="informational", body="x")
    assert decide(msg).reason == "invalid_recipient"
    assert decide(msg, cfg=config(number_check="possible")) == ALLOW


# --- expiry --------------------------------------------------------------------------------------


def test_past_expires_at_expires():
    """A message whose expires_at has passed is expired, even an informational one."""
    msg = message(kind="informational", body="x", expires_at=NOON - timedelta(seconds=1))
    assert decide(msg) == Expire("expired")


def test_expires_at_equal_to_now_expires():
    """expires_at is the first moment the message may no longer be sent."""
    assert decide(message(expires_at=NOON)) == Expire("expired")


def test_future_expires_at_sends():
    """A message expiring in one second still goes out."""
    assert decide(message(expires_at=NOON + timedelta(seconds=1))) == ALLOW


def test_global_max_age():
    """A 4 h global max age expires a message created 4 h ago, not one created 3 h 59 min ago."""
    cfg = config(expiry={"max_age_seconds": 14400})
    assert decide(message(created_at=NOON - timedelta(hours=4)), cfg=cfg) == Expire("max_age")
    assert decide(message(created_at=NOON - timedelta(hours=3, minutes=59)), cfg=cfg) == ALLOW


def test_extras_max_age_beats_campaign_and_global():
    """extras.max_age_seconds is the most specific limit, then the campaign's, then the global one."""
    cfg = ExpiryConfig(max_age_seconds=100, campaign_max_age_seconds={"c1": 200})
    assert max_age_seconds(message(campaign_id="c1", extras={"max_age_seconds": 50}), cfg) == 50
    assert max_age_seconds(message(campaign_id="c1"), cfg) == 200
    assert max_age_seconds(message(campaign_id="c2"), cfg) == 100
    assert max_age_seconds(message(), ExpiryConfig()) is None


def test_campaign_max_age_expires():
    """A campaign's max age applies to its messages only."""
    cfg = config(expiry={"campaign_max_age_seconds": {"flash": 600}})
    created = NOON - timedelta(minutes=11)
    assert decide(message(campaign_id="flash", created_at=created), cfg=cfg) == Expire("max_age")
    assert decide(message(campaign_id="other", created_at=created), cfg=cfg) == ALLOW


@pytest.mark.parametrize("bad", ["3600", -1, 0, True, float("nan")])
def test_bad_extras_max_age_fails(bad):
    """A max_age_seconds that is not a positive number is an invalid message."""
    decision = decide(message(created_at=NOON, extras={"max_age_seconds": bad}))
    assert isinstance(decision, Fail) and decision.reason == "invalid_extras"
    with pytest.raises(InvalidExtras):
        max_age_seconds(message(extras={"max_age_seconds": bad}), ExpiryConfig())


def test_naive_message_times_are_utc():
    """A naive expires_at is read as UTC (12:00 Seoul is 03:00 UTC)."""
    assert decide(message(expires_at=at(SEOUL, 2024, 5, 1, 3, 0).replace(tzinfo=None))) == Expire("expired")
    assert decide(message(expires_at=at(SEOUL, 2024, 5, 1, 3, 1).replace(tzinfo=None))) == ALLOW


# --- validity period -----------------------------------------------------------------------------


def test_validity_capped_by_expires_at():
    """A 48 h connector validity is cut to the 90 s left before expires_at."""
    msg = message(expires_at=NOON + timedelta(seconds=90, milliseconds=700))
    assert validity_seconds(msg, NOON, 172_800) == 90


def test_validity_capped_by_max_age():
    """The max age counts as a deadline too: created 3 h ago with a 4 h limit leaves 3600 s."""
    msg = message(created_at=NOON - timedelta(hours=3))
    assert validity_seconds(msg, NOON, 86_400, expiry=ExpiryConfig(max_age_seconds=14_400)) == 3600


def test_validity_default_when_it_is_shorter():
    """A configured validity shorter than the time left is used as is."""
    assert validity_seconds(message(expires_at=NOON + timedelta(days=2)), NOON, 3600) == 3600


def test_validity_without_deadline_or_default():
    """No deadline and no default: None (leave it to the SMSC); a deadline alone gives the time left."""
    assert validity_seconds(message(), NOON, None) is None
    assert validity_seconds(message(), NOON, 600) == 600
    assert validity_seconds(message(expires_at=NOON + timedelta(seconds=30)), NOON, None) == 30


def test_validity_after_deadline_is_zero():
    """Past the deadline the validity is 0: there is no time left to deliver."""
    assert validity_seconds(message(expires_at=NOON - timedelta(seconds=5)), NOON, 600) == 0


def test_expiry_compares_instants_not_wall_clocks_on_fall_back_day():
    """01:10 EST (second pass) is after 01:30 EDT (first pass) although its wall clock is earlier."""
    new_york = ZoneInfo("America/New_York")
    expires = datetime(2024, 11, 3, 1, 30, tzinfo=new_york)  # fold=0: 05:30 UTC
    now = datetime(2024, 11, 3, 1, 10, fold=1, tzinfo=new_york)  # 06:10 UTC
    msg = message(recipient="+12125551234", body="x", kind="informational", expires_at=expires)
    assert decide(msg, now=now) == Expire("expired")
