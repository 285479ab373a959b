"""What ``gateway status`` and the ``/status`` page show, read from PostgreSQL only.

Each connector as every live instance sees it (state, binds, window use, rate,
the latest error, operators' pause), the queue per connector and sender as the
cluster's sampler last routed it, recent outcomes, policy decisions and the
instances. One function builds it (:func:`collect_status`); the text and the
HTML renderings show the same facts.
"""

from __future__ import annotations

from typing import Any

from gateway.control.store import Q, controls
from gateway.db.pool import DbConnection

__all__ = ["collect_status"]

#: A sampled depth older than this is not trusted (no instance sampling): the live outbox is shown instead.
FRESH_DEPTH_SECONDS = 60.0
STOPPED_INSTANCES_SHOWN = 5


def _connectors(rows: list[Any], ctl: dict[str, Any]) -> list[dict[str, Any]]:
    names = sorted({r["connector"] for r in rows} | set(ctl))
    out = []
    for name in names:
        views = [r for r in rows if r["connector"] == name and r["live"]]
        control = ctl.get(name)
        statuses = [r["status"] for r in views]
        up = sum(s.get("sessions_up") or 0 for s in statuses)
        allowed = sum(s.get("sessions_allowed") or 0 for s in statuses)
        configured = sum(s.get("sessions_configured") or 0 for s in statuses)
        in_flight = sum(s.get("in_flight") or 0 for s in statuses)
        capacity = sum(s.get("capacity") or 0 for s in statuses)
        errors = [
            (s["last_error_at"], s["last_error"], r["instance"])
            for r, s in zip(views, statuses, strict=True)
            if s.get("last_error")
        ]
        last = max(errors) if errors else None
        if control is not None and control.paused:
            state = "paused"
        elif not statuses:
            state = "no live instance"
        elif any(s.get("state") == "ready" for s in statuses):
            state = "ready" if all(s.get("state") == "ready" for s in statuses) else "degraded"
        else:
            state = "down"
        out.append(
            {
                "connector": name,
                "type": statuses[0].get("type") if statuses else None,
                "state": state,
                "paused": bool(control and control.paused),
                "pause_reason": control.reason if control else None,
                "changed_by": control.changed_by if control else None,
                "changed_at": control.changed_at.isoformat() if control and control.changed_at else None,
                "binds_up": up if any(s.get("sessions_up") is not None for s in statuses) else None,
                "binds_allowed": allowed,
                "binds_configured": configured,
                "in_flight": in_flight,
                "capacity": capacity,
                "window_use": round(in_flight / capacity, 3) if capacity else None,
                "submitted_per_s": round(sum(s.get("submitted_per_s") or 0 for s in statuses), 1),
                "last_error": last[1] if last else None,
                "last_error_at": last[0] if last else None,
                "last_error_instance": last[2] if last else None,
                "instances": [
                    {
                        "instance": r["instance"],
                        "state": s.get("state"),
                        "binds_up": s.get("sessions_up"),
                        "binds_allowed": s.get("sessions_allowed"),
                        "in_flight": s.get("in_flight"),
                        "capacity": s.get("capacity"),
                        "submitted_per_s": s.get("submitted_per_s"),
                        "detail": s.get("detail"),
                    }
                    for r, s in zip(views, statuses, strict=True)
                ],
            }
        )
    return out


async def collect_status(
    conn: DbConnection, *, window_s: int = 300, instance_timeout_s: float = 15.0
) -> dict[str, Any]:
    ctl = await controls(conn)
    connector_rows = [dict(r) for r in await conn.fetch(Q["connector_status"], float(instance_timeout_s))]
    depth = [dict(r) for r in await conn.fetch(Q["queue_depth"])]
    fresh = bool(depth) and min(d["sample_age_s"] for d in depth) <= FRESH_DEPTH_SECONDS
    if fresh:
        queue = [
            {
                "connector": d["connector"],
                "sender": d["sender"],
                "state": d["state"],
                "n": d["messages"],
                "oldest_age_s": d["oldest_age_seconds"],
            }
            for d in depth
            if d["messages"]
        ]
        queue_source = f"sampled {min(d['sample_age_s'] for d in depth):.0f} s ago by {depth[0]['sampled_by']}"
    else:
        queue = [
            {
                "connector": f"({r['channel']})",
                "sender": r["sender"],
                "state": r["state"],
                "n": r["n"],
                "oldest_age_s": r["oldest_age_s"],
            }
            for r in await conn.fetch(Q["status_outbox"])
        ]
        queue_source = "live outbox, not routed (no instance has sampled it in the last minute)"
    log = [dict(r) for r in await conn.fetch(Q["status_log"], float(window_s))]
    rate = await conn.fetchval(Q["status_throughput"], float(min(window_s, 60)))
    reasons = [dict(r) for r in await conn.fetch(Q["status_reasons"], float(window_s))]
    types = [dict(r) for r in await conn.fetch(Q["status_types"], float(window_s))]
    instances = [
        dict(r) for r in await conn.fetch(Q["status_instances"], float(instance_timeout_s), STOPPED_INSTANCES_SHOWN)
    ]
    total = instances[0]["total"] if instances else 0
    for i in instances:
        i.pop("rn", None)
        i.pop("total", None)
    return {
        "connectors": _connectors(connector_rows, ctl),
        "queue": queue,
        "queue_source": queue_source,
        "recent": log,
        "window_s": window_s,
        "submitted_per_s_last_60s": round(rate or 0, 1),
        "decisions": reasons,
        "types": types,
        "instances": instances,
        "instances_not_shown": max(0, total - len(instances)),
    }
