"""evaluate(): the order of the checks, the decision types and the reason set."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gateway.policy import (
    ALLOW,
    Action,
    Defer,
    Expire,
    Fail,
    Hold,
    OptOutSet,
    Reason,
    Suppress,
    all_reasons,
    evaluate,
)
from tests.support.policy import DEFAULT_CONFIG, KR_MOBILE, NO_OPT_OUTS, SEOUL, at, config, message

NOON = at(SEOUL, 2024, 5, 1, 12, 0)
NIGHT = at(SEOUL, 2024, 5, 1, 23, 0)
OPTED_OUT = OptOutSet([("0212345678", KR_MOBILE)])


def decide(msg, *, consent=None, now=NOON, cfg=DEFAULT_CONFIG, opt_outs=NO_OPT_OUTS):
    return evaluate(msg, consent=consent, now=now, config=cfg, opt_outs=opt_outs)


def test_expiry_comes_before_channel_rules():
    """An expired advertising Alimtalk is reported as expired, not as refused."""
    assert decide(message(channel="alimtalk", expires_at=NOON)) == Expire("expired")


def test_channel_rule_comes_before_recipient_and_content():
    """An advertising Alimtalk with a bad number and no (광고) is refused for the channel."""
    decision = decide(message(channel="alimtalk", recipient="nonsense", body="세일"))
    assert decision.reason == "alimtalk_advertising"


def test_recipient_comes_before_content():
    """An unparseable number fails as invalid_recipient before any content rule."""
    assert decide(message(recipient="nonsense", body="세일")).reason == "invalid_recipient"


def test_content_comes_before_consent_and_opt_out():
    """A Korean ad without (광고) fails even for an opted-out recipient without consent."""
    decision = decide(message(body="세일 080-123-4567"), consent=False, opt_outs=OPTED_OUT)
    assert decision.reason == "kr_ad_prefix_missing"


def test_opt_out_comes_before_consent():
    """Opted out and consent False: the recipient's own opt-out is the reason given."""
    assert decide(message(), consent=False, opt_outs=OPTED_OUT) == Suppress("opted_out")


def test_consent_comes_before_quiet_hours():
    """At night, an ad without consent is suppressed rather than deferred."""
    assert decide(message(), consent=False, now=NIGHT) == Suppress("consent_false")


def test_opt_out_comes_before_quiet_hours():
    """At night, an opted-out recipient is suppressed rather than deferred."""
    assert decide(message(), now=NIGHT, opt_outs=OPTED_OUT) == Suppress("opted_out")


def test_expiry_comes_before_everything():
    """A message past its max age is expired whatever else is wrong with it."""
    msg = message(recipient="nonsense", body="세일", created_at=NOON - timedelta(hours=5))
    assert decide(msg, consent=False, cfg=config(expiry={"max_age_seconds": 3600})) == Expire("max_age")


def test_unknown_kind_fails():
    """A kind other than informational/advertising is refused instead of guessed."""
    assert decide(message(kind="promo")).reason == "invalid_kind"


def test_evaluate_rejects_naive_now():
    """evaluate needs an aware clock reading."""
    with pytest.raises(ValueError):
        decide(message(), now=NOON.replace(tzinfo=None))


def test_evaluate_is_pure():
    """Two evaluations with the same arguments give equal decisions (no hidden clock or state)."""
    assert decide(message(), now=NIGHT) == decide(message(), now=NIGHT)


def test_decision_actions():
    """Each decision type carries its action, for the engine to switch on."""
    until = NOON + timedelta(hours=1)
    assert [d.action for d in (ALLOW, Defer(until), Suppress("x"), Fail("x"), Expire("x"), Hold("x"))] == [
        Action.ALLOW,
        Action.DEFER,
        Action.SUPPRESS,
        Action.FAIL,
        Action.EXPIRE,
        Action.HOLD,
    ]


@pytest.mark.parametrize("reason", ["Quiet Hours", "quiet-hours", "", "9lives", "+821012345678"])
def test_reasons_must_be_snake_case(reason):
    """A reason that would make a bad metric label is rejected when the decision is built."""
    with pytest.raises(ValueError):
        Suppress(reason)


def test_defer_needs_an_aware_until():
    """Defer refuses a naive until."""
    with pytest.raises(ValueError):
        Defer(NOON.replace(tzinfo=None))


def test_decisions_are_frozen():
    """Decisions are immutable values."""
    with pytest.raises(AttributeError):
        Suppress("opted_out").reason = "other"  # type: ignore[misc]


def test_all_reasons_is_the_label_set():
    """all_reasons lists the fixed reasons and the content reasons of configured countries."""
    reasons = all_reasons(config(content={"countries": {"JP": {"prefix": "【広告】"}}}))
    assert {str(r) for r in Reason} <= reasons
    assert {"kr_ad_prefix_missing", "jp_ad_prefix_missing", "jp_ad_optout_number_missing"} <= reasons
    assert "jp_ad_prefix_missing" not in all_reasons(DEFAULT_CONFIG)


def test_issue_reasons_are_present():
    """The reasons named in the issue exist with exactly those labels."""
    expected = {
        "consent_false", "opted_out", "duplicate", "fatigue", "kr_ad_prefix_missing",
        "kr_ad_optout_number_missing", "alimtalk_advertising", "expired", "max_age",
        "expires_in_quiet_hours", "invalid_recipient",
    }  # fmt: skip
    assert expected <= {r.value for r in Reason}
