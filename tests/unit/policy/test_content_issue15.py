"""Korean advertising names its sender; an informational body that starts with "(광고)" is flagged."""

from __future__ import annotations

import pytest

from gateway.policy import ALLOW, Allow, Defer, Fail, evaluate
from tests.support.policy import KR_AD_BODY, NO_OPT_OUTS, SEOUL, at, config, message

NOON = at(SEOUL, 2026, 7, 14, 12, 0)
NIGHT = at(SEOUL, 2026, 7, 14, 22, 0)
BRANDS = config(content={"sender_names": {"0212345678": ["OO쇼핑", "OO Shop"]}})


def decide(msg, now=NOON, cfg=BRANDS):
    return evaluate(msg, consent=None, now=now, config=cfg, opt_outs=NO_OPT_OUTS)


def test_ad_without_the_senders_name_fails():
    """A Korean ad from a sender with configured names must carry one: kr_ad_sender_name_missing."""
    decision = decide(message(body=KR_AD_BODY))
    assert isinstance(decision, Fail) and decision.reason == "kr_ad_sender_name_missing"
    assert "OO쇼핑" in decision.detail


@pytest.mark.parametrize("body", [
    "(광고) OO쇼핑 봄 세일 20%\n무료수신거부 080-123-4567",
    "(광고)[OO쇼핑] 봄 세일\n무료수신거부 080-123-4567",
    "(광고) 봄 세일 — oo shop\n무료수신거부 080-123-4567",
    "(광고) ＯＯ쇼핑 봄 세일\n무료수신거부 080-123-4567",
])  # fmt: skip
def test_ad_naming_its_sender_passes(body):
    """Any configured name counts, whatever its case, width or surrounding punctuation."""
    assert decide(message(body=body)) == ALLOW


def test_senders_without_names_are_not_checked_by_default():
    """ "when_configured": a sender with no names configured is not refused for it."""
    assert decide(message(sender="0299990000", body=KR_AD_BODY)) == ALLOW


def test_required_mode_refuses_senders_without_names():
    """ "required": every advertising sender must have its names configured."""
    cfg = config(content={"countries": {"KR": {"sender_name": "required"}}})
    decision = decide(message(body=KR_AD_BODY), cfg=cfg)
    assert isinstance(decision, Fail) and decision.reason == "kr_ad_sender_name_missing"
    assert "no names are configured" in decision.detail


def test_sender_name_check_can_be_switched_off():
    """ "off" skips the check even for senders with names."""
    cfg = config(content={"sender_names": {"0212345678": ["OO쇼핑"]}, "countries": {"KR": {"sender_name": "off"}}})
    assert decide(message(body=KR_AD_BODY), cfg=cfg) == ALLOW


def test_sender_names_must_not_be_empty():
    """An empty list of names is a config error, not a silently skipped check."""
    with pytest.raises(ValueError, match="sender_names"):
        config(content={"sender_names": {"0212345678": []}})


# --- "(광고)" on an informational message ------------------------------------------------------------


def test_informational_body_with_the_ad_prefix_is_sent_with_a_warning():
    """Default "warn": allowed, carrying the warning informational_ad_prefix (the gate records it as an event)."""
    decision = decide(message(kind="informational", body="(광고) 오늘만 특가"), now=NIGHT)
    assert isinstance(decision, Allow) and decision.warnings == ("informational_ad_prefix",)


def test_informational_body_with_the_prefix_can_be_treated_as_advertising():
    """ "advertising": the message gets the ad rules, so at 22:00 in Seoul it waits for the morning."""
    cfg = config(content={"informational_ad_prefix": "advertising"})
    body = "(광고) 오늘만 특가\n무료수신거부 080-123-4567"
    assert isinstance(decide(message(kind="informational", body=body), now=NIGHT, cfg=cfg), Defer)


def test_informational_body_without_the_prefix_has_no_warning():
    """An ordinary informational message carries no warning."""
    decision = decide(message(kind="informational", body="배송이 시작되었습니다"), now=NIGHT)
    assert isinstance(decision, Allow) and decision.warnings == ()


def test_prefix_warning_can_be_ignored():
    """ "ignore" turns the check off."""
    cfg = config(content={"informational_ad_prefix": "ignore"})
    decision = decide(message(kind="informational", body="(광고) 특가"), now=NIGHT, cfg=cfg)
    assert isinstance(decision, Allow) and decision.warnings == ()
