"""The public names of gateway.policy are pinned: changing them is a deliberate act."""

from __future__ import annotations

import inspect

import gateway.policy as policy

PUBLIC = {
    "ALLOW", "ALL_SENDERS", "DEFAULT_RAMP_SECONDS", "DEFAULT_REGION", "DEFAULT_SEARCH_DAYS",
    "DEFAULT_STOP_KEYWORDS", "DEFAULT_TIMEZONE", "KR_OPTOUT_NUMBER_PATTERN", "SHIPPED_CONTENT_RULES",
    "SHIPPED_QUIET_HOURS", "Action", "AdContentRule", "Allow", "ContentConfig", "Decision", "Defer",
    "Expire", "ExpiryConfig", "Fail", "Hold", "OptOutConfig", "OptOutLookup", "OptOutSet", "PolicyConfig",
    "QuietHoursConfig", "QuietHoursRule", "Reason", "Suppress", "Window", "all_reasons", "evaluate",
    "is_stop_keyword", "normalise_number", "ramp_offset", "validity_seconds",
    # issue 15: consent per country, state rules, campaign control, the last check, explain, a settable clock
    "NO_CONTROLS", "SHIPPED_CONSENT", "SHIPPED_SUBDIVISION_QUIET_HOURS", "CampaignControl", "CampaignControls",
    "Clock", "ConsentConfig", "ConsentRule", "Explanation", "FixedClock", "explain", "fallback_of",
    "parse_instant", "recheck", "subdivisions_for", "system_clock",
}  # fmt: skip


def test_public_names_are_pinned():
    """gateway.policy exports exactly the pinned names, and each of them exists."""
    assert set(policy.__all__) == PUBLIC
    assert all(hasattr(policy, name) for name in PUBLIC)


def test_evaluate_signature():
    """evaluate takes the message positionally and everything else by keyword, as the engine calls it."""
    params = inspect.signature(policy.evaluate).parameters
    assert list(params) == ["message", "consent", "now", "config", "opt_outs", "controls"]
    assert [p.kind for p in params.values()][1:] == [inspect.Parameter.KEYWORD_ONLY] * 5


def test_policy_core_does_no_io():
    """The policy modules import neither asyncio, socket nor a database driver."""
    for module in ("config", "controls", "decision", "explain", "quiet_hours", "regions", "rules"):
        source = inspect.getsource(__import__(f"gateway.policy.{module}", fromlist=["_"]))
        for forbidden in ("import asyncio", "import socket", "import asyncpg", "import time\n", ".now(", "time.time("):
            assert forbidden not in source, (module, forbidden)
