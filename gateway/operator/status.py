"""``gateway status``: queue depth by state and connector, oldest age, recent
throughput, sends by message type (SMS, LMS, MMS), policy outcomes, live
instances — read from PostgreSQL only."""

from __future__ import annotations

from typing import Any

import asyncpg

from gateway.db.queries import Queries

q = Queries("gateway.operator").__getitem__


async def collect_status(
    conn: asyncpg.Connection, *, window_s: int = 300, instance_timeout_s: float = 15
) -> dict[str, Any]:
    outbox = [dict(r) for r in await conn.fetch(q("status_outbox"))]
    log = [dict(r) for r in await conn.fetch(q("status_log"), float(window_s))]
    rate = await conn.fetchval(q("status_throughput"), float(min(window_s, 60)))
    reasons = [dict(r) for r in await conn.fetch(q("status_reasons"), float(window_s))]
    types = [dict(r) for r in await conn.fetch(q("status_types"), float(window_s))]
    instances = []
    for r in await conn.fetch(q("status_instances")):
        d = dict(r)
        d["live"] = d["stopped_at"] is None and d["heartbeat_age_s"] < instance_timeout_s
        instances.append(d)
    return {
        "outbox": outbox,
        "recent": log,
        "window_s": window_s,
        "submitted_per_s_last_60s": round(rate or 0, 1),
        "decisions": reasons,
        "types": types,
        "instances": instances,
    }


def render_status(status: dict[str, Any]) -> str:
    lines = ["Live work (outbox)"]
    if status["outbox"]:
        lines.append(f"  {'connector':<16} {'state':<10} {'count':>9} {'oldest':>10}")
        for r in status["outbox"]:
            lines.append(f"  {r['connector']:<16} {r['state']:<10} {r['n']:>9} {r['oldest_age_s']:>9.0f}s")
    else:
        lines.append("  (empty)")
    lines.append(f"Last {status['window_s']} s (message log)")
    if status["recent"]:
        for r in status["recent"]:
            lines.append(f"  {r['connector']:<16} {r['state']:<14} {r['n']:>9}")
    else:
        lines.append("  (nothing)")
    lines.append(f"Throughput: {status['submitted_per_s_last_60s']} submitted/s over the last 60 s")
    if status.get("types"):
        lines.append(f"Last {status['window_s']} s by message type (submitted / refused)")
        for r in status["types"]:
            lines.append(f"  {r['connector']:<16} {r['type']:<4} {r['state']:<10} {r['n']:>9}")
    if status["decisions"]:
        lines.append("Deferred / suppressed / failed / expired, by reason")
        for r in status["decisions"]:
            lines.append(f"  {r['state']:<11} {r['reason']:<28} {r['n']:>9}")
    lines.append("Instances")
    for i in status["instances"]:
        state = "live" if i["live"] else ("stopped" if i["stopped_at"] else "gone")
        lines.append(
            f"  {i['name']:<32} {state:<8} heartbeat {i['heartbeat_age_s']:.0f}s ago  pid {i['pid']}  v{i['version']}"
        )
    if not status["instances"]:
        lines.append("  (none has run yet)")
    return "\n".join(lines)
