"""``gateway campaign hold|release|cancel`` and ``gateway held list|release``: campaign control for operators.

Each command calls the SQL function upstream services call too (migration
0031: ``gateway.campaign_hold`` / ``campaign_release`` / ``campaign_cancel`` /
``release_held``), so the rules live in one place; each action is logged in
``gateway.policy_actions`` and as an event on every message it changed, with
its actor — by default ``cli:<login>@<host>``, or ``--actor``.
"""

from __future__ import annotations

import getpass
import socket
from datetime import datetime
from typing import Any

import asyncpg

from gateway.db.queries import Queries
from gateway.errors import InputError

__all__ = ["campaign_action", "default_actor", "held", "held_release", "render_campaign", "render_held"]

q = Queries("gateway.operator").__getitem__

ACTIONS = {"hold": "campaign_hold", "release": "campaign_release", "cancel": "campaign_cancel"}


def default_actor() -> str:
    """``cli:<login>@<host>``: who ran the command, for the audit trail."""
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name (a container): still say it was the CLI
        user = "unknown"
    return f"cli:{user}@{socket.gethostname()}"


async def campaign_action(
    conn: asyncpg.Connection, action: str, campaign: str, *, actor: str, note: str | None = None
) -> dict[str, Any]:
    """Hold, release or cancel ``campaign``; the campaign's state afterwards."""
    if action not in ACTIONS:
        raise InputError(f"unknown campaign action {action!r}; use hold, release or cancel")
    if not campaign.strip():
        raise InputError("give a campaign id")
    try:
        changed = await conn.fetchval(q(ACTIONS[action]), campaign, actor, note)
    except asyncpg.InsufficientPrivilegeError as exc:
        raise InputError(f"the database refused: {exc} (grant EXECUTE on gateway.{ACTIONS[action]})") from exc
    state = await conn.fetchrow(q("campaign_state"), campaign)
    assert state is not None  # one row, always (a LEFT JOIN on the given id)
    return {"campaign_id": campaign, "action": action, "actor": actor, "messages": changed, **dict(state)}


def render_campaign(result: dict[str, Any]) -> str:
    campaign, n = result["campaign_id"], result["messages"]
    verb = {"hold": "held", "release": "released", "cancel": "cancelled"}[result["action"]]
    lines = [f"campaign {campaign}: {verb} {n} queued/deferred message(s) (actor {result['actor']})"]
    if result["held_since"] is not None:
        lines.append(f"  on hold since {_ts(result['held_since'])} by {result['held_by']}: nothing of it is sent")
    else:
        lines.append("  not on hold")
    if result["cancelled_before"] is not None:
        lines.append(
            f"  cancelled by {result['cancelled_by']}: messages enqueued up to {_ts(result['cancelled_before'])} "
            "end suppressed (campaign_cancelled) when the daemon next claims them"
        )
    if result["sending"]:
        lines.append(
            f"  {result['sending']} message(s) are being sent right now: each instance checks the campaign once more "
            "before handing a message to its connector; one already handed over is sent"
        )
    if result["held"]:
        lines.append(f"  {result['held']} message(s) held (gateway held list --campaign {campaign})")
    return "\n".join(lines)


async def held(conn: asyncpg.Connection, *, campaign: str | None, ids: bool, limit: int) -> dict[str, Any]:
    summary = [dict(r) for r in await conn.fetch(q("held_summary"), campaign)]
    messages = [dict(r) for r in await conn.fetch(q("held_list"), campaign, limit)] if ids else []
    return {"summary": summary, "messages": messages}


def render_held(result: dict[str, Any]) -> str:
    if not result["summary"]:
        return "no held messages"
    lines = [f"{'campaign':<24} {'reason':<20} {'count':>8}  oldest"]
    for r in result["summary"]:
        lines.append(f"{r['campaign_id']:<24} {r['reason']:<20} {r['n']:>8}  {_ts(r['oldest'])}")
    if result["messages"]:
        lines.append("")
        lines.append(f"{'id':>10} {'campaign':<20} {'reason':<18} {'recipient':<16} enqueued")
        for m in result["messages"]:
            lines.append(
                f"{m['id']:>10} {m['campaign_id'] or '-':<20} {m['reason']:<18} {_mask(m['recipient']):<16} "
                f"{_ts(m['created_at'])}"
            )
    lines.append("")
    lines.append("release quiet-hours holds: gateway held release --id N | --campaign C | --all")
    lines.append("release a held campaign:   gateway campaign release C")
    return "\n".join(lines)


async def held_release(
    conn: asyncpg.Connection,
    *,
    ids: list[int] | None,
    campaign: str | None,
    everything: bool,
    actor: str,
    note: str | None = None,
) -> int:
    if not ids and campaign is None and not everything:
        raise InputError("say which held messages to release: --id N (repeatable), --campaign C, or --all")
    try:
        return int(await conn.fetchval(q("release_held"), ids or None, campaign, everything, actor, note))
    except asyncpg.InsufficientPrivilegeError as exc:
        raise InputError(f"the database refused: {exc} (grant EXECUTE on gateway.release_held)") from exc


def _ts(moment: datetime | None) -> str:
    return "-" if moment is None else moment.isoformat(timespec="seconds")


def _mask(number: str) -> str:
    """+821012345678 -> +8210****5678: enough to recognise, not to copy."""
    return number if len(number) < 8 else number[:-8] + "****" + number[-4:]
