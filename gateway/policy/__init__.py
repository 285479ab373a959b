"""Send policy: the pure checks the engine applies to every claimed message before sending.

``evaluate(message, consent=..., now=..., config=..., opt_outs=..., controls=...)``
returns one of ALLOW, DEFER, SUPPRESS, FAIL, EXPIRE or HOLD; the order of the
checks is documented in :mod:`gateway.policy.decision`. ``recheck`` is the last,
in-memory check right before a connector takes a message; ``explain`` answers
"what happens to this message at that moment, and when may it go?". No I/O: the
clock reading, the opt-out set and the campaign controls are passed in. Every
shipped rule is data with its legal source (``data/shipped.toml``,
docs/compliance.md).
"""

from gateway.policy.clock import Clock, FixedClock, parse_instant, system_clock
from gateway.policy.config import (
    DEFAULT_RAMP_SECONDS,
    DEFAULT_REGION,
    DEFAULT_SEARCH_DAYS,
    DEFAULT_STOP_KEYWORDS,
    DEFAULT_TIMEZONE,
    KR_OPTOUT_NUMBER_PATTERN,
    SHIPPED_CONSENT,
    SHIPPED_CONTENT_RULES,
    SHIPPED_QUIET_HOURS,
    SHIPPED_SUBDIVISION_QUIET_HOURS,
    AdContentRule,
    ConsentConfig,
    ConsentRule,
    ContentConfig,
    ExpiryConfig,
    OptOutConfig,
    PolicyConfig,
    QuietHoursConfig,
    QuietHoursRule,
    Window,
)
from gateway.policy.controls import NO_CONTROLS, CampaignControl, CampaignControls
from gateway.policy.decision import (
    ALLOW,
    Action,
    Allow,
    Decision,
    Defer,
    Expire,
    Fail,
    Hold,
    Reason,
    Suppress,
    all_reasons,
    evaluate,
    recheck,
)
from gateway.policy.explain import Explanation, explain
from gateway.policy.quiet_hours import ramp_offset
from gateway.policy.regions import subdivisions_for
from gateway.policy.rules import (
    ALL_SENDERS,
    OptOutLookup,
    OptOutSet,
    fallback_of,
    is_stop_keyword,
    normalise_number,
    validity_seconds,
)

__all__ = [
    "ALLOW",
    "ALL_SENDERS",
    "DEFAULT_RAMP_SECONDS",
    "DEFAULT_REGION",
    "DEFAULT_SEARCH_DAYS",
    "DEFAULT_STOP_KEYWORDS",
    "DEFAULT_TIMEZONE",
    "KR_OPTOUT_NUMBER_PATTERN",
    "NO_CONTROLS",
    "SHIPPED_CONSENT",
    "SHIPPED_CONTENT_RULES",
    "SHIPPED_QUIET_HOURS",
    "SHIPPED_SUBDIVISION_QUIET_HOURS",
    "Action",
    "AdContentRule",
    "Allow",
    "CampaignControl",
    "CampaignControls",
    "Clock",
    "ConsentConfig",
    "ConsentRule",
    "ContentConfig",
    "Decision",
    "Defer",
    "Expire",
    "ExpiryConfig",
    "Explanation",
    "Fail",
    "FixedClock",
    "Hold",
    "OptOutConfig",
    "OptOutLookup",
    "OptOutSet",
    "PolicyConfig",
    "QuietHoursConfig",
    "QuietHoursRule",
    "Reason",
    "Suppress",
    "Window",
    "all_reasons",
    "evaluate",
    "explain",
    "fallback_of",
    "is_stop_keyword",
    "normalise_number",
    "parse_instant",
    "ramp_offset",
    "recheck",
    "subdivisions_for",
    "system_clock",
    "validity_seconds",
]
