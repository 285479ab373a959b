"""Send policy: the pure checks the engine applies to every claimed message before sending.

``evaluate(message, consent=..., now=..., config=..., opt_outs=...)`` returns one
of ALLOW, DEFER, SUPPRESS, FAIL, EXPIRE or HOLD; the order of the checks is
documented in :mod:`gateway.policy.decision`. No I/O: the clock reading and the
opt-out set are passed in.
"""

from gateway.policy.config import (
    DEFAULT_RAMP_SECONDS,
    DEFAULT_REGION,
    DEFAULT_SEARCH_DAYS,
    DEFAULT_STOP_KEYWORDS,
    DEFAULT_TIMEZONE,
    KR_OPTOUT_NUMBER_PATTERN,
    SHIPPED_CONTENT_RULES,
    SHIPPED_QUIET_HOURS,
    AdContentRule,
    ContentConfig,
    ExpiryConfig,
    OptOutConfig,
    PolicyConfig,
    QuietHoursConfig,
    QuietHoursRule,
    Window,
)
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
)
from gateway.policy.quiet_hours import ramp_offset
from gateway.policy.rules import (
    ALL_SENDERS,
    OptOutLookup,
    OptOutSet,
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
    "SHIPPED_CONTENT_RULES",
    "SHIPPED_QUIET_HOURS",
    "Action",
    "AdContentRule",
    "Allow",
    "ContentConfig",
    "Decision",
    "Defer",
    "Expire",
    "ExpiryConfig",
    "Fail",
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
    "is_stop_keyword",
    "normalise_number",
    "ramp_offset",
    "validity_seconds",
]
