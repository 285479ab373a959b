"""``gateway status``: each connector (state, binds, window use, rate, last error, pause),
the queue per connector and sender, recent outcomes, policy decisions and instances —
read from PostgreSQL only (:func:`gateway.control.status.collect_status`), so it works
from any host that reaches the database, whichever instances are up."""

from __future__ import annotations

from typing import Any

from gateway.control.status import collect_status

__all__ = ["collect_status", "render_status"]


def _binds(c: dict[str, Any]) -> str:
    if c["binds_up"] is None:
        return "-"
    text = f"{c['binds_up']}/{c['binds_allowed']}"
    if c["binds_allowed"] != c["binds_configured"]:
        text += f" of {c['binds_configured']}"
    return text


def _window(c: dict[str, Any]) -> str:
    if not c["capacity"]:
        return "-"
    return f"{c['in_flight']}/{c['capacity']} ({100 * c['window_use']:.0f}%)"


def render_status(status: dict[str, Any]) -> str:
    lines = ["Connectors"]
    if status["connectors"]:
        lines.append(f"  {'connector':<16} {'state':<17} {'binds':<10} {'window':<16} {'sent/s':>8}  last error")
        for c in status["connectors"]:
            error = "-"
            if c["last_error"]:
                error = f"{c['last_error']} ({c['last_error_instance']}, {c['last_error_at']})"
            lines.append(
                f"  {c['connector']:<16} {c['state']:<17} {_binds(c):<10} {_window(c):<16} "
                f"{c['submitted_per_s']:>8.1f}  {error}"
            )
            if c["paused"]:
                lines.append(
                    f"  {'':<16} paused by {c['changed_by'] or '?'} at {c['changed_at']}: "
                    f"{c['pause_reason'] or '(no reason given)'}"
                )
    else:
        lines.append("  (no instance has reported a connector yet)")
    lines.append(f"Queue ({status['queue_source']})")
    if status["queue"]:
        lines.append(f"  {'connector':<16} {'sender':<16} {'state':<10} {'count':>9} {'oldest':>10}")
        for r in status["queue"]:
            lines.append(
                f"  {r['connector']:<16} {r['sender']:<16} {r['state']:<10} {r['n']:>9} {r['oldest_age_s']:>9.0f}s"
            )
    else:
        lines.append("  (empty)")
    lines.append(f"Last {status['window_s']} s (message log)")
    if status["recent"]:
        for r in status["recent"]:
            lines.append(f"  {r['connector']:<16} {r['state']:<14} {r['n']:>9}")
    else:
        lines.append("  (nothing)")
    lines.append(f"Throughput: {status['submitted_per_s_last_60s']} submitted/s over the last 60 s")
    if status["decisions"]:
        lines.append("Deferred / suppressed / failed / expired, by reason")
        for r in status["decisions"]:
            lines.append(f"  {r['state']:<11} {r['reason']:<28} {r['n']:>9}")
    if status.get("types"):
        lines.append(f"Last {status['window_s']} s by message type (submitted / refused)")
        for r in status["types"]:
            lines.append(f"  {r['connector']:<16} {r['type']:<4} {r['state']:<10} {r['n']:>9}")
    lines.append("Instances")
    for i in status["instances"]:
        state = "live" if i["live"] else ("stopped" if i["stopped_at"] else "gone")
        lines.append(
            f"  {i['name']:<32} {state:<8} heartbeat {i['heartbeat_age_s']:.0f}s ago  pid {i['pid']}  v{i['version']}"
        )
        recovery = i.get("recovery")
        if recovery:
            # What recovering this dead run did: its duplicates are at most the flagged ones.
            lines.append(
                f"    recovered by {recovery.get('by')}: {recovery.get('requeued', 0)} requeued, "
                f"{recovery.get('flagged', 0)} of them flagged may_be_duplicate (they may have reached the carrier), "
                f"{recovery.get('settled_from_journal', 0)} accepted submits settled from its journal"
            )
    if status.get("instances_not_shown"):
        lines.append(f"  ... and {status['instances_not_shown']} older stopped instance(s)")
    if not status["instances"]:
        lines.append("  (none has run yet)")
    return "\n".join(lines)
