"""The read-only ``/status`` page: what ``gateway status`` shows, as plain HTML.

No script and no framework: a table per subject, styles inline, a
``<meta http-equiv="refresh">`` to follow along. Every value is escaped.
"""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from typing import Any

__all__ = ["render_status_page"]

REFRESH_SECONDS = 10

_STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #1d2430; background: #fafbfc; }
h1 { font-size: 1.3em; margin: 0 0 .2em; } h2 { font-size: 1.05em; margin: 1.4em 0 .4em; }
table { border-collapse: collapse; background: #fff; min-width: 40em; }
th, td { border: 1px solid #d5dae1; padding: .3em .6em; text-align: left; vertical-align: top; }
th { background: #eef1f5; font-weight: 600; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
.state { font-weight: 600; padding: .1em .5em; border-radius: .3em; }
.ready { background: #d9f2dd; color: #11602a; } .paused { background: #fff1c7; color: #7a5a00; }
.down, .no-live-instance { background: #fbdada; color: #8a1616; } .degraded { background: #ffe4c4; color: #8a4b00; }
.muted { color: #6b7480; } .error { color: #8a1616; }
"""


def _cell(value: Any, *, number: bool = False, cls: str = "") -> str:
    text = "-" if value is None or value == "" else str(value)
    classes = " ".join(c for c in (("n" if number else ""), cls) if c)
    return f'<td class="{classes}">{escape(text)}</td>' if classes else f"<td>{escape(text)}</td>"


def _table(headers: list[str], rows: list[str], empty: str) -> str:
    if not rows:
        return f'<p class="muted">{escape(empty)}</p>'
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _connector_rows(connectors: list[dict[str, Any]]) -> list[str]:
    rows = []
    for c in connectors:
        state = c["state"]
        badge = f'<td><span class="state {escape(state.replace(" ", "-"))}">{escape(state)}</span>'
        if c["paused"]:
            badge += (
                f'<br><span class="muted">by {escape(c["changed_by"] or "?")}: '
                f"{escape(c['pause_reason'] or 'no reason given')}</span>"
            )
        badge += "</td>"
        binds = "-" if c["binds_up"] is None else f"{c['binds_up']} up / {c['binds_allowed']} allowed"
        window = "-"
        if c["capacity"]:
            window = f"{c['in_flight']} / {c['capacity']} ({100 * (c['window_use'] or 0):.0f} %)"
        error = "-"
        if c["last_error"]:
            error = f"{c['last_error']} — {c['last_error_instance']}, {c['last_error_at']}"
        rows.append(
            "<tr>"
            + _cell(c["connector"])
            + _cell(c["type"])
            + badge
            + _cell(binds)
            + _cell(window, number=True)
            + _cell(f"{c['submitted_per_s']:.1f}", number=True)
            + _cell(error, cls="error" if c["last_error"] else "")
            + "</tr>"
        )
    return rows


def render_status_page(status: dict[str, Any]) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    connectors = _table(
        ["connector", "type", "state", "binds", "window in use", "sent/s", "last error"],
        _connector_rows(status["connectors"]),
        "No instance has reported a connector yet.",
    )
    queue = _table(
        ["connector", "sender", "state", "messages", "oldest due (s)"],
        [
            "<tr>"
            + _cell(r["connector"])
            + _cell(r["sender"])
            + _cell(r["state"])
            + _cell(r["n"], number=True)
            + _cell(f"{r['oldest_age_s']:.0f}", number=True)
            + "</tr>"
            for r in status["queue"]
        ],
        "The queue is empty.",
    )
    recent = _table(
        ["connector", "state", "messages"],
        [
            "<tr>" + _cell(r["connector"]) + _cell(r["state"]) + _cell(r["n"], number=True) + "</tr>"
            for r in status["recent"]
        ],
        "Nothing in this window.",
    )
    decisions = _table(
        ["state", "reason", "messages"],
        [
            "<tr>" + _cell(r["state"]) + _cell(r["reason"]) + _cell(r["n"], number=True) + "</tr>"
            for r in status["decisions"]
        ],
        "No message was deferred, suppressed, failed or expired in this window.",
    )
    instances = _table(
        ["instance", "state", "heartbeat", "host", "pid", "version"],
        [
            "<tr>"
            + _cell(i["name"])
            + _cell("live" if i["live"] else ("stopped" if i["stopped_at"] else "gone"))
            + _cell(f"{i['heartbeat_age_s']:.0f} s ago", number=True)
            + _cell(i["host"])
            + _cell(i["pid"], number=True)
            + _cell(i["version"])
            + "</tr>"
            for i in status["instances"]
        ],
        "No instance has run yet.",
    )
    more = status.get("instances_not_shown") or 0
    more_line = f'<p class="muted">… and {more} older stopped instance(s).</p>' if more else ""
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="{REFRESH_SECONDS}">
<title>gateway status</title>
<style>{_STYLE}</style>
</head>
<body>
<h1>gateway status</h1>
<p class="muted">{escape(now)} · read-only · refreshes every {REFRESH_SECONDS} s ·
{escape(str(status["submitted_per_s_last_60s"]))} submitted/s over the last 60 s</p>
<h2>Connectors</h2>
{connectors}
<h2>Queue <span class="muted">({escape(status["queue_source"])})</span></h2>
{queue}
<h2>Last {escape(str(status["window_s"]))} s</h2>
{recent}
<h2>Deferred, suppressed, failed, expired</h2>
{decisions}
<h2>Instances</h2>
{instances}
{more_line}
</body>
</html>
"""
