"""The last check before sending, campaign controls, skip mode, and ages counted from send_at."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from gateway.policy import (
    ALLOW,
    NO_CONTROLS,
    Allow,
    CampaignControl,
    CampaignControls,
    Defer,
    Expire,
    Hold,
    OptOutSet,
    Suppress,
    evaluate,
    recheck,
)
from tests.support.policy import DEFAULT_CONFIG, KR_MOBILE, NO_OPT_OUTS, SEOUL, at, config, message

NOON = at(SEOUL, 2026, 7, 14, 12, 0)
EVENING = at(SEOUL, 2026, 7, 14, 20, 59, 50)
NIGHT = at(SEOUL, 2026, 7, 14, 21, 0, 5)
NO_RAMP = config(quiet_hours={"ramp_seconds": 0})


def decide(msg, now=NOON, cfg=DEFAULT_CONFIG, controls=NO_CONTROLS):
    return evaluate(msg, consent=None, now=now, config=cfg, opt_outs=NO_OPT_OUTS, controls=controls)


def allowed(msg, now, cfg=DEFAULT_CONFIG):
    """The message as the gate hands it on: with the until of its ALLOW."""
    decision = decide(msg, now, cfg)
    assert isinstance(decision, Allow)
    return replace(msg, allowed_until=decision.until)


def last(msg, now, cfg=DEFAULT_CONFIG, opt_outs=NO_OPT_OUTS, controls=NO_CONTROLS):
    return recheck(msg, now=now, config=cfg, opt_outs=opt_outs, controls=controls)


# --- the last check --------------------------------------------------------------------------------


def test_allowed_ad_carries_the_end_of_its_window():
    """An ad allowed at 20:59:50 in Seoul may be handed over only until 21:00."""
    assert decide(message(), EVENING).until == at(SEOUL, 2026, 7, 14, 21, 0)


def test_within_the_window_the_last_check_allows():
    """Still before the window's end: ALLOW, without looking at quiet hours again."""
    assert last(allowed(message(), EVENING), at(SEOUL, 2026, 7, 14, 20, 59, 59)) == ALLOW


def test_a_message_that_waited_past_its_window_is_deferred_again():
    """Allowed at 20:59:50, reaching the connector at 21:00:05: deferred to 08:00, not sent."""
    msg = allowed(message(), EVENING, NO_RAMP)
    assert last(msg, NIGHT, NO_RAMP) == Defer(until=at(SEOUL, 2026, 7, 15, 8, 0))


def test_a_message_that_waited_past_its_deadline_expires():
    """Allowed with ten seconds left before expires_at, reaching the connector after it: EXPIRE expired."""
    msg = allowed(message(kind="informational", body="x", expires_at=NOON + timedelta(seconds=10)), NOON)
    assert msg.allowed_until == NOON + timedelta(seconds=10)
    assert last(msg, NOON + timedelta(seconds=11)) == Expire("expired")


def test_skip_mode_at_the_last_check_suppresses():
    """on_quiet_hours = "skip": a message that fell out of its window ends suppressed/quiet_hours."""
    cfg = config(quiet_hours={"on_quiet_hours": "skip"})
    assert last(allowed(message(), EVENING, cfg), NIGHT, cfg) == Suppress("quiet_hours")


def test_an_opt_out_added_since_the_claim_stops_the_send():
    """A STOP that arrived while the message waited: SUPPRESS opted_out at the last check."""
    opt_outs = OptOutSet([("0212345678", KR_MOBILE)])
    assert last(allowed(message(), NOON), NOON, opt_outs=opt_outs) == Suppress("opted_out")


def test_an_opt_out_by_brand_stops_the_send():
    """Opt-outs under extras.brand count at the last check too."""
    opt_outs = OptOutSet([("OO쇼핑", KR_MOBILE)])
    msg = allowed(message(extras={"brand": "OO쇼핑"}), NOON)
    assert last(msg, NOON, opt_outs=opt_outs) == Suppress("opted_out")


def test_a_campaign_held_since_the_claim_is_held_at_the_last_check():
    """The campaign was put on hold after the claim: HOLD campaign, not sent."""
    controls = CampaignControls([CampaignControl("spring", held_since=NOON, held_by="ops")])
    msg = allowed(message(campaign_id="spring"), NOON)
    assert last(msg, NOON, controls=controls) == Hold("campaign")


def test_a_campaign_cancelled_since_the_claim_is_suppressed_at_the_last_check():
    """Cancelled after the message was enqueued: SUPPRESS campaign_cancelled."""
    msg = allowed(message(campaign_id="spring", created_at=NOON - timedelta(minutes=5)), NOON)
    controls = CampaignControls([CampaignControl("spring", cancelled_before=NOON, cancelled_by="ops")])
    assert last(msg, NOON, controls=controls) == Suppress("campaign_cancelled")


def test_the_last_check_of_an_unlimited_message_is_allow():
    """An informational message with no deadline has no until: ALLOW at any time."""
    msg = allowed(message(kind="informational", body="x"), NOON)
    assert msg.allowed_until is None
    assert last(msg, NOON + timedelta(days=30)) == ALLOW


# --- campaign controls at claim time ---------------------------------------------------------------


def test_held_campaign_is_held():
    """A message of a held campaign: HOLD campaign (the queue parks it as held_campaign)."""
    controls = CampaignControls([CampaignControl("spring", held_since=NOON, held_by="ops")])
    assert decide(message(campaign_id="spring"), controls=controls) == Hold("campaign")


def test_other_campaigns_are_not_held():
    """A hold concerns its own campaign only."""
    controls = CampaignControls([CampaignControl("spring", held_since=NOON, held_by="ops")])
    assert decide(message(campaign_id="autumn"), controls=controls) == ALLOW


def test_a_held_message_still_expires():
    """Past its deadline a held message expires rather than staying parked."""
    controls = CampaignControls([CampaignControl("spring", held_since=NOON, held_by="ops")])
    msg = message(campaign_id="spring", expires_at=NOON - timedelta(seconds=1))
    assert decide(msg, controls=controls) == Expire("expired")


def test_cancel_covers_messages_enqueued_up_to_it_only():
    """Enqueued before the cancel: suppressed; enqueued after it: sent as usual."""
    controls = CampaignControls([CampaignControl("spring", cancelled_before=NOON, cancelled_by="ops")])
    before = message(campaign_id="spring", created_at=NOON - timedelta(seconds=1))
    after = message(campaign_id="spring", created_at=NOON + timedelta(seconds=1))
    assert decide(before, NOON + timedelta(minutes=1), controls=controls) == Suppress("campaign_cancelled")
    assert decide(after, NOON + timedelta(minutes=1), controls=controls) == ALLOW


def test_skip_mode_suppresses_at_night():
    """on_quiet_hours = "skip": an ad in quiet hours ends suppressed/quiet_hours instead of waiting."""
    cfg = config(quiet_hours={"on_quiet_hours": "skip"})
    assert decide(message(), at(SEOUL, 2026, 7, 14, 22, 0), cfg) == Suppress("quiet_hours")


# --- ages count from the first sendable moment -----------------------------------------------------


def test_max_age_counts_from_send_at():
    """Enqueued at 09:00 for 15:00 with a 4 h max age: still sendable at 18:00, expired at 19:00."""
    cfg = config(expiry={"campaign_max_age_seconds": {"spring": 4 * 3600}})
    msg = message(campaign_id="spring", created_at=at(SEOUL, 2026, 7, 14, 9, 0), send_at=at(SEOUL, 2026, 7, 14, 15, 0))
    assert decide(msg, at(SEOUL, 2026, 7, 14, 18, 0), cfg) == ALLOW
    assert decide(msg, at(SEOUL, 2026, 7, 14, 19, 0), cfg) == Expire("max_age")


def test_send_at_earlier_than_the_enqueue_counts_from_the_enqueue():
    """A send_at in the past is not a reason to expire early: the age counts from the enqueue."""
    cfg = config(expiry={"max_age_seconds": 3600})
    msg = message(created_at=at(SEOUL, 2026, 7, 14, 9, 0), send_at=at(SEOUL, 2026, 7, 14, 6, 0))
    assert decide(msg, at(SEOUL, 2026, 7, 14, 9, 59), cfg) == ALLOW


def test_a_message_claimed_before_its_send_at_is_deferred_to_it():
    """A message released early (say by an operator) still waits for its send_at."""
    msg = message(send_at=at(SEOUL, 2026, 7, 14, 15, 0))
    assert decide(msg) == Defer(until=at(SEOUL, 2026, 7, 14, 15, 0), reason="scheduled")
