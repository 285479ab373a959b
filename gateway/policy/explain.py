"""``gateway policy explain``: what the policy would decide for one message at one moment, and why.

Marketers ask "when will this go out?" before they launch. :func:`explain` runs
the same pure :func:`gateway.policy.evaluate` the daemon runs, at a moment the
caller chooses, and reports the decision, the next moment the message would be
allowed, the recipient's country, state and time zones, the local time, and
every rule applied with its legal source. Pure: the opt-outs and campaign
controls are passed in (the command line reads them from PostgreSQL when it
has a database).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from gateway.policy.config import PolicyConfig
from gateway.policy.controls import NO_CONTROLS, CampaignControls
from gateway.policy.decision import Allow, Decision, Defer, Hold, Reason, Trace, decide_traced
from gateway.policy.rules import OptOutLookup, OptOutSet
from gateway.port import OutboundMessage

__all__ = ["Explanation", "RuleUsed", "explain"]

_MAX_STEPS = 8  # schedule, then quiet hours, then a holiday...: a handful of deferrals at most


@dataclass(frozen=True, slots=True)
class RuleUsed:
    label: str  # "KR", "US", "US-CT", "content KR", "consent US"
    text: str  # the rule in words
    source: str | None


@dataclass(frozen=True, slots=True)
class Explanation:
    at: datetime
    decision: Decision
    # When the message would go out: ``at`` if allowed now, the next allowed moment
    # (a window's opening, before the message's own ramp offset) if deferred, None if never
    # or not without an operator (held, suppressed, failed, expired).
    next_allowed: datetime | None
    region: str | None
    e164: str | None
    subdivisions: tuple[str, ...]
    zones: tuple[str, ...]
    rules: tuple[RuleUsed, ...]
    notes: tuple[str, ...]
    # For a message held with its campaign: what would happen once the campaign is released.
    after_release: Explanation | None = None

    def as_json(self) -> dict[str, Any]:
        d = self.decision
        return {
            "at": self.at.isoformat(),
            "decision": d.action.value,
            "reason": getattr(d, "reason", None),
            "next_allowed": self.next_allowed.astimezone(self.at.tzinfo).isoformat() if self.next_allowed else None,
            "region": self.region,
            "recipient": self.e164,
            "subdivisions": list(self.subdivisions),
            "zones": list(self.zones),
            "local_times": {z: self.at.astimezone(ZoneInfo(z)).isoformat() for z in self.zones},
            "rules": [{"label": r.label, "rule": r.text, "source": r.source} for r in self.rules],
            "notes": list(self.notes),
            "after_release": self.after_release.as_json() if self.after_release else None,
        }

    def render(self, *, sources: bool = False) -> str:
        """For people: one fact per line; ``sources`` adds each rule's legal source under it."""
        d = self.decision
        reason = getattr(d, "reason", None)
        lines = [f"decision:     {d.action.value.upper()}" + (f" {reason}" if reason else "")]
        if isinstance(d, Allow):
            lines.append(f"next allowed: now ({_local(self.at, self.zones)})")
        elif self.next_allowed is not None:
            shown = self.next_allowed.astimezone(self.at.tzinfo)
            lines.append(f"next allowed: {shown.isoformat()} ({_local(self.next_allowed, self.zones)})")
        elif isinstance(d, Hold) and d.reason == Reason.CAMPAIGN_HELD:
            lines.append("next allowed: when the campaign is released (gateway campaign release <id>)")
        else:
            lines.append("next allowed: never (final)")
        if self.e164 is not None:
            where = self.region or "no country"
            if self.subdivisions:
                where += " (" + ", ".join(self.subdivisions) + ")"
            lines.append(f"recipient:    {self.e164} -> {where}; zones {', '.join(self.zones) or '-'}")
        lines.append(f"asked at:     {self.at.isoformat()} ({_local(self.at, self.zones)})")
        for rule in self.rules:
            lines.append(f"rule {rule.label}: {rule.text}")
            if sources and rule.source:
                lines.append(f"    source: {' '.join(rule.source.split())}")
        for note in self.notes:
            lines.append(f"note: {note}")
        if self.after_release is not None:
            lines.append("once released:")
            lines.extend("    " + line for line in self.after_release.render(sources=sources).splitlines())
        return "\n".join(lines)


def explain(
    message: OutboundMessage,
    *,
    consent: bool | None,
    at: datetime,
    config: PolicyConfig,
    opt_outs: OptOutLookup | None = None,
    controls: CampaignControls = NO_CONTROLS,
    check_content: bool = True,
) -> Explanation:
    """The decision for ``message`` at ``at`` and when it would be allowed (see the module docstring)."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("explain: at must be timezone-aware")
    opt_outs = opt_outs if opt_outs is not None else OptOutSet(default_region=config.default_region)
    trace = Trace()
    decision = decide_traced(
        message, consent=consent, now=at, config=config, opt_outs=opt_outs, controls=controls, trace=trace,
        check_content=check_content,
    )  # fmt: skip
    next_allowed = _next_allowed(message, consent, at, config, opt_outs, controls, decision, trace, check_content)
    zones = trace.quiet.zones if trace.quiet is not None else ()
    notes = tuple(trace.notes)
    if isinstance(decision, Hold) and decision.reason == Reason.CAMPAIGN_HELD:
        after = explain(message, consent=consent, at=at, config=config, opt_outs=opt_outs, check_content=check_content)
        control = controls.for_message(message)
        by = f" by {control.held_by}" if control is not None and control.held_by else ""
        notes = (f"campaign {message.campaign_id} is on hold{by}", *notes)
        return Explanation(
            at=at, decision=decision, next_allowed=None, region=after.region, e164=after.e164,
            subdivisions=after.subdivisions, zones=after.zones, rules=(), notes=notes, after_release=after,
        )  # fmt: skip
    return Explanation(
        at=at,
        decision=decision,
        next_allowed=next_allowed,
        region=trace.region,
        e164=trace.e164,
        subdivisions=trace.subdivisions,
        zones=zones,
        rules=_rules_used(trace, config),
        notes=notes,
    )


def _next_allowed(
    message: OutboundMessage,
    consent: bool | None,
    at: datetime,
    config: PolicyConfig,
    opt_outs: OptOutLookup,
    controls: CampaignControls,
    decision: Decision,
    trace: Trace,
    check_content: bool,
) -> datetime | None:
    """Follow the deferrals (schedule, quiet hours, holidays) until an ALLOW; None if the chain ends otherwise."""
    moment = at
    for _ in range(_MAX_STEPS):
        if isinstance(decision, Allow):
            return moment
        if isinstance(decision, Hold) and decision.reason == Reason.QUIET_HOURS:
            quiet = trace.quiet
            return quiet.window_start if quiet is not None and quiet.window_start else decision.next_allowed
        if not isinstance(decision, Defer):
            return None
        quiet = trace.quiet
        if decision.reason == Reason.QUIET_HOURS and quiet is not None and quiet.window_start is not None:
            moment = quiet.window_start  # the window's opening; each message adds its own ramp offset
        else:
            moment = decision.until
        trace = Trace()
        decision = decide_traced(
            message, consent=consent, now=moment, config=config,
            opt_outs=opt_outs, controls=controls, trace=trace, check_content=check_content,
        )  # fmt: skip
    return None


def _rules_used(trace: Trace, config: PolicyConfig) -> tuple[RuleUsed, ...]:
    used: list[RuleUsed] = []
    if trace.quiet is not None:
        used.extend(RuleUsed(f"quiet hours {a.label}", a.rule.describe(), a.rule.source) for a in trace.quiet.rules)
        used.extend(
            RuleUsed(f"quiet hours {a.label}", f"lifted by extras.night_consent ({a.rule.describe()})", a.rule.source)
            for a in trace.quiet.lifted
        )
        if not trace.quiet.rules and not trace.quiet.lifted:
            used.append(RuleUsed("quiet hours", "none applies to this recipient", None))
    if trace.consent_mode is not None:
        consent = config.consent.rule_for(trace.region)
        label = f"consent {trace.region}" if consent is not None else "consent (default)"
        text = {"implicit": "implicit: consent NULL may send, false is suppressed",
                "explicit": "explicit: only consent = true sends"}[trace.consent_mode]  # fmt: skip
        used.append(RuleUsed(label, text, consent.source if consent is not None else None))
    content = trace.content_rule
    if trace.advertising and content is not None:
        parts = []
        if content.prefix:
            parts.append(f"starts with {content.prefix!r}")
        if content.optout_number_pattern:
            parts.append("a free opt-out number")
        if content.sender_name != "off":
            parts.append(f"the sender's name ({content.sender_name})")
        used.append(RuleUsed(f"content {trace.region}", ", ".join(parts) or "none", content.source))
    return tuple(used)


def _local(moment: datetime, zones: tuple[str, ...]) -> str:
    if not zones:
        return moment.astimezone(UTC).strftime("%a %d %b %Y %H:%M UTC")
    return "; ".join(moment.astimezone(ZoneInfo(z)).strftime(f"%a %d %b %Y %H:%M {z}") for z in zones)
