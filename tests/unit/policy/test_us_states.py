"""US state quiet hours as data: the area code gives the state, the strictest rule wins."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import phonenumbers
import pytest

from gateway.policy import ALLOW, SHIPPED_SUBDIVISION_QUIET_HOURS, Defer, Hold, evaluate, subdivisions_for
from gateway.policy.regions import area_code_states
from tests.support.policy import NEW_YORK, NO_OPT_OUTS, at, config, message

CHICAGO = ZoneInfo("America/Chicago")
NO_RAMP = config(quiet_hours={"ramp_seconds": 0})

CT = "+12035550123"  # Connecticut (203), America/New_York
FL = "+13055550123"  # Florida (305), America/New_York
OK = "+14055550123"  # Oklahoma (405), America/Chicago
MD = "+14105550123"  # Maryland (410), America/New_York
MS = "+16015550123"  # Mississippi (601), America/Chicago
NJ = "+12015550123"  # 201: New Jersey (and, for some exchanges, New York)
TX = "+12145550123"  # Texas (214), America/Chicago
NY = "+12125551234"  # New York: no state rule shipped


def decide(recipient: str, now, cfg=NO_RAMP):
    return evaluate(message(recipient=recipient, body="promo"), consent=True, now=now, config=cfg,
                    opt_outs=NO_OPT_OUTS)  # fmt: skip


@pytest.mark.parametrize(
    ("number", "states"),
    [(CT, ("CT",)), (FL, ("FL",)), (OK, ("OK",)), (MD, ("MD",)), (MS, ("MS",)), (TX, ("TX",)), (NY, ("NY",)),
     (NJ, ("NJ", "NY")), ("+18005550123", ()), ("+14165550123", ())],
)  # fmt: skip
def test_area_code_gives_the_states(number, states):
    """phonenumbers' geocoding data maps an area code to every state its prefixes name; toll-free has none."""
    parsed = phonenumbers.parse(number)
    assert subdivisions_for(parsed, phonenumbers.region_code_for_number(parsed)) == states


def test_area_code_table_agrees_with_the_library_number_by_number():
    """For each area code, the state phonenumbers describes for a sample number is one of the table's states."""
    from phonenumbers import geocoder

    from gateway.policy.regions import _state_of

    for npa in ("203", "305", "405", "410", "601", "214", "212", "907", "808", "201"):
        number = phonenumbers.parse(f"+1{npa}5550123")
        assert _state_of(geocoder.description_for_number(number, "en")) in area_code_states(npa), npa


def test_connecticut_0830_waits_for_0900():
    """Connecticut allows telephonic sales calls from 9:00: an ad at 08:30 waits for 09:00 (federal: 8:00)."""
    assert decide(CT, at(NEW_YORK, 2026, 7, 14, 8, 30)) == Defer(until=at(NEW_YORK, 2026, 7, 14, 9, 0))


def test_connecticut_stops_at_2000():
    """At 20:00 in Connecticut the next allowed moment is 09:00 the next day."""
    assert decide(CT, at(NEW_YORK, 2026, 7, 14, 20, 0)) == Defer(until=at(NEW_YORK, 2026, 7, 15, 9, 0))


@pytest.mark.parametrize("number", [FL, MD])
def test_eight_to_eight_states_on_eastern_time(number):
    """Florida and Maryland stop at 20:00 local time; 19:59 is still allowed."""
    assert decide(number, at(NEW_YORK, 2026, 7, 14, 19, 59)) == ALLOW
    assert decide(number, at(NEW_YORK, 2026, 7, 14, 20, 0)) == Defer(until=at(NEW_YORK, 2026, 7, 15, 8, 0))


def test_oklahoma_stops_at_2000_central():
    """Oklahoma's 20:00 is Central time: 20:30 in Chicago waits for 08:00."""
    assert decide(OK, at(CHICAGO, 2026, 7, 14, 20, 30)) == Defer(until=at(CHICAGO, 2026, 7, 15, 8, 0))


def test_mississippi_never_on_sunday():
    """Mississippi forbids solicitations on Sundays: Sunday noon waits for Monday 08:00."""
    sunday = at(CHICAGO, 2026, 7, 12, 12, 0)
    assert decide(MS, sunday) == Defer(until=at(CHICAGO, 2026, 7, 13, 8, 0))


def test_new_jersey_keeps_the_federal_hours():
    """New Jersey's statute says 9 p.m. (not 8): 20:30 in a 201 number is allowed, 21:00 is not."""
    assert decide(NJ, at(NEW_YORK, 2026, 7, 14, 20, 30)) == ALLOW
    assert isinstance(decide(NJ, at(NEW_YORK, 2026, 7, 14, 21, 0)), Defer)


def test_texas_sunday_before_noon_waits_for_noon():
    """Texas: not before noon on a Sunday — 10:30 waits for 12:00."""
    assert decide(TX, at(CHICAGO, 2026, 7, 12, 10, 30)) == Defer(until=at(CHICAGO, 2026, 7, 12, 12, 0))


def test_texas_weekdays_start_at_nine():
    """Texas: not before 9 a.m. on a weekday — 08:30 waits for 09:00."""
    assert decide(TX, at(CHICAGO, 2026, 7, 14, 8, 30)) == Defer(until=at(CHICAGO, 2026, 7, 14, 9, 0))


def test_states_without_a_rule_follow_the_federal_hours():
    """New York has no stricter rule: 08:30 and 20:30 are allowed."""
    assert decide(NY, at(NEW_YORK, 2026, 7, 14, 8, 30)) == ALLOW
    assert decide(NY, at(NEW_YORK, 2026, 7, 14, 20, 30)) == ALLOW


def test_a_number_without_a_state_gets_every_state_rule():
    """A toll-free number's state is unknown: every state rule applies (and every NANP zone): it is held."""
    decision = decide("+18005550123", at(NEW_YORK, 2026, 7, 14, 12, 0))
    assert isinstance(decision, Hold | Defer)
    assert decision != ALLOW


def test_an_operator_can_replace_a_state_rule():
    """A configured state rule replaces the shipped one for that state only."""
    cfg = config(quiet_hours={"ramp_seconds": 0, "subdivisions": {"US": {"CT": {"daily": ["08:00-21:00"]}}}})
    assert decide(CT, at(NEW_YORK, 2026, 7, 14, 8, 30), cfg) == ALLOW
    assert decide(FL, at(NEW_YORK, 2026, 7, 14, 20, 30), cfg) != ALLOW


def test_an_operator_can_add_a_state():
    """A state the gateway does not ship (Washington, RCW 80.36.390: 8-20) can be added as data."""
    cfg = config(quiet_hours={"ramp_seconds": 0, "subdivisions": {"US": {"WA": {"daily": ["08:00-20:00"]}}}})
    seattle = ZoneInfo("America/Los_Angeles")
    assert decide("+12065550123", at(seattle, 2026, 7, 14, 20, 30), cfg) == Defer(until=at(seattle, 2026, 7, 15, 8, 0))


def test_bad_state_codes_are_refused():
    """A subdivision key that is not a code (a typo such as 'Conn.') is a config error."""
    with pytest.raises(ValueError, match="subdivision code"):
        config(quiet_hours={"subdivisions": {"US": {"Conn.": {"daily": ["09:00-20:00"]}}}})


def test_shipped_state_rules_are_the_issue_list_checked_against_the_statutes():
    """FL, OK, MD, MS, NJ, CT, TX are shipped, each with a source and the date it was checked."""
    states = SHIPPED_SUBDIVISION_QUIET_HOURS["US"]
    assert sorted(states) == ["CT", "FL", "MD", "MS", "NJ", "OK", "TX"]
    assert all(rule.source and "http" in rule.source and rule.checked for rule in states.values())
    assert states["TX"].describe() == "mon-sat 09:00-21:00; sun 12:00-21:00"
    assert states["CT"].describe() == "daily 09:00-20:00"


def test_the_window_end_bounds_the_allowed_until():
    """An ad allowed at 19:00 in Florida may be handed to a connector only until 20:00."""
    decision = decide(FL, at(NEW_YORK, 2026, 7, 14, 19, 0))
    assert decision == ALLOW and decision.until == at(NEW_YORK, 2026, 7, 14, 20, 0)
    assert decision.until - at(NEW_YORK, 2026, 7, 14, 19, 0) == timedelta(hours=1)
