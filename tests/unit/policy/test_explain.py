"""explain(): the decision at a chosen moment and the next allowed time; the settable clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway.policy import (
    CampaignControl,
    CampaignControls,
    FixedClock,
    PolicyConfig,
    explain,
    parse_instant,
)
from gateway.port import OutboundMessage

CONFIG = PolicyConfig()


def ask(to: str, when: str, **kw):
    at = parse_instant(when)
    extras = kw.pop("extras", {})
    controls = kw.pop("controls", CampaignControls())
    msg = OutboundMessage(0, "sms", "15880000", to, kw.pop("body", ""), kind="advertising", extras=extras,
                          created_at=at, **kw)  # fmt: skip
    return explain(msg, consent=True, at=at, config=CONFIG, controls=controls, check_content=bool(msg.body))


def test_seoul_at_2200_goes_out_at_0800():
    """A Korean ad asked about at 22:00 Seoul time is deferred; next allowed 08:00 the next morning."""
    e = ask("+821012345678", "2026-07-14T22:00+09:00")
    assert (e.decision.action.value, e.decision.reason) == ("defer", "quiet_hours")
    assert e.next_allowed == parse_instant("2026-07-15T08:00+09:00")
    assert "next allowed: 2026-07-15T08:00:00+09:00" in e.render()


def test_seoul_at_2200_with_night_consent_goes_out_now():
    """With the separate night consent the same ad is allowed at once; the lifted rule is named."""
    e = ask("+821012345678", "2026-07-14T22:00+09:00", extras={"night_consent": True})
    assert e.decision.action.value == "allow" and e.next_allowed == e.at
    assert "lifted by extras.night_consent" in e.render()


def test_french_sunday_goes_out_on_monday_morning():
    """A French ad asked about on Sunday 12 July 2026 at noon goes out Monday 08:00."""
    e = ask("+33612345678", "2026-07-12T12:00+02:00")
    assert e.decision.reason == "quiet_hours"
    assert e.next_allowed == parse_instant("2026-07-13T08:00+02:00")


def test_fourteenth_of_july_goes_out_on_the_fifteenth():
    """14 July (a Tuesday, a French public holiday) at noon: next allowed Wednesday 08:00."""
    e = ask("+33612345678", "2026-07-14T12:00+02:00")
    assert e.next_allowed == parse_instant("2026-07-15T08:00+02:00")
    assert "not on public holidays" in e.render()


def test_connecticut_at_0830_goes_out_at_0900():
    """A US number with a Connecticut area code at 08:30 local: deferred to 09:00, the state's rule named."""
    e = ask("+12035550123", "2026-07-14T08:30-04:00")
    assert e.subdivisions == ("CT",)
    assert e.next_allowed == parse_instant("2026-07-14T09:00-04:00")
    labels = [r.label for r in e.rules]
    assert "quiet hours US" in labels and "quiet hours US-CT" in labels
    assert "Conn. Gen. Stat. § 42-288a" in e.render(sources=True)
    assert "Conn. Gen. Stat." not in e.render()


def test_held_campaign_waits_for_a_release_and_says_what_follows():
    """A held campaign's ad: HOLD campaign, no next time until released, and what happens once released."""
    controls = CampaignControls([CampaignControl("spring", held_since=datetime(2026, 7, 1, tzinfo=UTC),
                                                 held_by="ops")])  # fmt: skip
    e = ask("+821012345678", "2026-07-14T22:00+09:00", campaign_id="spring", controls=controls)
    assert (e.decision.action.value, e.decision.reason) == ("hold", "campaign")
    assert e.next_allowed is None
    assert e.after_release is not None and e.after_release.next_allowed == parse_instant("2026-07-15T08:00+09:00")
    assert "when the campaign is released" in e.render()


def test_a_schedule_then_quiet_hours_are_followed_to_the_first_allowed_moment():
    """send_at 23:00 Seoul: first the schedule, then the night: next allowed 08:00."""
    e = ask("+821012345678", "2026-07-14T12:00+09:00", send_at=parse_instant("2026-07-14T23:00+09:00"))
    assert e.decision.reason == "scheduled"
    assert e.next_allowed == parse_instant("2026-07-15T08:00+09:00")


def test_final_decisions_have_no_next_time():
    """A refused body never goes out: next allowed is None and the output says final."""
    e = ask("+821012345678", "2026-07-14T12:00+09:00", body="세일 080-123-4567")
    assert e.decision.reason == "kr_ad_prefix_missing" and e.next_allowed is None
    assert "never (final)" in e.render()


def test_json_form_carries_the_local_times_and_sources():
    """as_json() is what --json prints: decision, next allowed in the asked offset, local times, sources."""
    data = ask("+12035550123", "2026-07-14T08:30-04:00").as_json()
    assert data["decision"] == "defer" and data["next_allowed"] == "2026-07-14T09:00:00-04:00"
    assert data["local_times"] == {"America/New_York": "2026-07-14T08:30:00-04:00"}
    assert any("cga.ct.gov" in (r["source"] or "") for r in data["rules"])


def test_explain_needs_an_aware_moment():
    """A naive --at is refused rather than guessed."""
    with pytest.raises(ValueError):
        explain(OutboundMessage(0, "sms", "1", "+821012345678", "x"), consent=None,
                at=datetime(2026, 7, 14, 12), config=CONFIG)  # fmt: skip


# --- the clock -----------------------------------------------------------------------------------


def test_parse_instant_requires_an_offset():
    """ "2026-07-14T12:00" without an offset is refused with the expected form in the message."""
    assert parse_instant("2026-07-14T12:00+02:00") == datetime(2026, 7, 14, 10, 0, tzinfo=UTC)
    assert parse_instant("2026-07-14T10:00Z") == datetime(2026, 7, 14, 10, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match="offset"):
        parse_instant("2026-07-14T12:00")
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_instant("tomorrow")


def test_fixed_clock_is_set_and_advanced():
    """A FixedClock returns what it was told, moves when advanced, and refuses naive times."""
    clock = FixedClock(datetime(2026, 7, 14, 12, tzinfo=UTC))
    clock.advance(90)
    assert clock() == datetime(2026, 7, 14, 12, 1, 30, tzinfo=UTC)
    with pytest.raises(ValueError):
        clock.set(datetime(2026, 7, 14, 12))
