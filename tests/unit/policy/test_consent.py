"""Consent per country as data: implicit (KR), explicit (US, FR), Korea's separate night-time consent."""

from __future__ import annotations

import pytest

from gateway.policy import ALLOW, SHIPPED_CONSENT, Defer, Fail, Suppress, evaluate
from tests.support.policy import (
    DEFAULT_CONFIG,
    FR_MOBILE,
    KR_MOBILE,
    NEW_YORK,
    NO_OPT_OUTS,
    PARIS,
    SEOUL,
    US_NEW_YORK,
    at,
    config,
    message,
)

KR_NOON = at(SEOUL, 2026, 7, 14, 12, 0)
KR_NIGHT = at(SEOUL, 2026, 7, 14, 22, 0)
US_NOON = at(NEW_YORK, 2026, 7, 14, 12, 0)
FR_NOON = at(PARIS, 2026, 7, 15, 12, 0)  # a Wednesday, no holiday


def decide(msg, now, consent=None, cfg=DEFAULT_CONFIG):
    return evaluate(msg, consent=consent, now=now, config=cfg, opt_outs=NO_OPT_OUTS)


def ad(recipient: str):
    return message(recipient=recipient, body="promo")


@pytest.mark.parametrize(("recipient", "now"), [(US_NEW_YORK, US_NOON), (FR_MOBILE, FR_NOON)])
def test_explicit_countries_suppress_null_consent(recipient, now):
    """In the US and France an ad with consent NULL is suppressed as consent_missing."""
    assert decide(ad(recipient), now) == Suppress("consent_missing")


@pytest.mark.parametrize(("recipient", "now"), [(US_NEW_YORK, US_NOON), (FR_MOBILE, FR_NOON)])
def test_explicit_countries_send_with_consent_true(recipient, now):
    """In the US and France consent = true sends."""
    assert decide(ad(recipient), now, consent=True) == ALLOW


@pytest.mark.parametrize(("recipient", "now"), [(US_NEW_YORK, US_NOON), (FR_MOBILE, FR_NOON), (KR_MOBILE, KR_NOON)])
def test_consent_false_is_its_own_reason_everywhere(recipient, now):
    """Consent false is consent_false in every country, implicit or explicit: each refusal has its own reason."""
    msg = message(recipient=recipient) if recipient == KR_MOBILE else ad(recipient)
    assert decide(msg, now, consent=False) == Suppress("consent_false")


def test_korea_keeps_implicit_consent():
    """Korea keeps today's rule: consent NULL may send."""
    assert decide(message(), KR_NOON) == ALLOW


def test_informational_messages_need_no_consent_anywhere():
    """Consent gates advertising only: an informational SMS to the US with NULL consent is sent."""
    assert decide(message(recipient=US_NEW_YORK, kind="informational", body="Your code is 1234"), US_NOON) == ALLOW


def test_consent_policy_is_configurable_per_country():
    """An operator can make Korea explicit and a country without a rule explicit too; the US rule stays."""
    cfg = config(consent={"countries": {"KR": "explicit", "DE": {"mode": "explicit", "source": "UWG § 7"}}})
    assert decide(message(), KR_NOON, cfg=cfg) == Suppress("consent_missing")
    assert cfg.consent.rule_for("DE").source == "UWG § 7"
    assert cfg.consent.mode_for("US") == "explicit"
    assert config(consent={"default": "explicit"}).consent.mode_for("JP") == "explicit"


def test_shipped_consent_rules_name_their_source():
    """Every shipped consent rule is data with its legal source."""
    assert {r: c.mode for r, c in SHIPPED_CONSENT.items()} == {"KR": "implicit", "US": "explicit", "FR": "explicit"}
    assert all(c.source and c.checked for c in SHIPPED_CONSENT.values())


def test_shipped_defaults_can_be_switched_off():
    """Without the shipped table, every country takes the default (implicit)."""
    cfg = config(consent={"shipped_defaults": False})
    assert decide(ad(US_NEW_YORK), US_NOON, cfg=cfg) == ALLOW


# --- Korea's night-time consent (정보통신망법 제50조 제3항) -----------------------------------------


def test_korean_ad_at_night_waits_without_night_consent():
    """At 22:00 in Seoul an ad without night consent waits for 08:00."""
    assert isinstance(decide(message(), KR_NIGHT), Defer)


def test_night_consent_lifts_the_korean_quiet_hours():
    """With extras.night_consent = true the same ad goes out at 22:00."""
    assert decide(message(extras={"night_consent": True}), KR_NIGHT) == ALLOW


def test_night_consent_false_is_the_same_as_none():
    """night_consent = false leaves the quiet hours in force."""
    assert isinstance(decide(message(extras={"night_consent": False}), KR_NIGHT), Defer)


def test_night_consent_does_not_lift_other_countries_rules():
    """A US recipient's quiet hours are not lifted by a Korean-style night consent."""
    night = at(NEW_YORK, 2026, 7, 14, 22, 0)
    msg = message(recipient=US_NEW_YORK, body="promo", extras={"night_consent": True})
    assert isinstance(decide(msg, night, consent=True), Defer)


def test_bad_night_consent_fails_with_invalid_extras():
    """night_consent must be a boolean: "yes" fails the message with invalid_extras, never guessed."""
    decision = decide(message(extras={"night_consent": "yes"}), KR_NIGHT)
    assert isinstance(decision, Fail) and decision.reason == "invalid_extras"
