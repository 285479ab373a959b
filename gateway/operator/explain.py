"""``gateway policy explain``: the policy's decision for one message at a chosen moment, as a dry run.

It builds the message from the arguments, reads the campaign's control and the
number's opt-outs from PostgreSQL when a database is configured (without one it
says what it could not check), and prints :func:`gateway.policy.explain`.
Nothing is written anywhere.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

import asyncpg

from gateway.db.queries import Queries
from gateway.policy import (
    NO_CONTROLS,
    CampaignControl,
    CampaignControls,
    Explanation,
    OptOutSet,
    PolicyConfig,
    explain,
    normalise_number,
)
from gateway.port import OutboundMessage

__all__ = ["explain_message", "message_from_args"]

q = Queries("gateway.operator").__getitem__


def message_from_args(
    *,
    to: str,
    kind: str,
    at: datetime,
    channel: str = "sms",
    sender: str = "-",
    body: str | None = None,
    campaign: str | None = None,
    send_at: datetime | None = None,
    expires_at: datetime | None = None,
    extras: dict[str, Any] | None = None,
) -> OutboundMessage:
    """The message as the daemon would see it if it were enqueued at ``at``."""
    return OutboundMessage(
        id=0,
        channel=channel,
        sender=sender,
        recipient=to,
        body=body or "",
        kind=kind,
        campaign_id=campaign,
        expires_at=expires_at,
        extras=extras or {},
        created_at=at,
        send_at=send_at,
    )


async def explain_message(
    message: OutboundMessage,
    *,
    consent: bool | None,
    at: datetime,
    config: PolicyConfig,
    check_content: bool,
    conn: asyncpg.Connection | None,
) -> Explanation:
    """:func:`gateway.policy.explain`, with the campaign control and opt-outs read from ``conn`` if given."""
    controls = NO_CONTROLS
    opt_outs = OptOutSet(default_region=config.default_region)
    notes: list[str] = []
    if conn is not None:
        if message.campaign_id is not None:
            row = await conn.fetchrow(q("explain_controls"), message.campaign_id)
            if row is not None:
                controls = CampaignControls([CampaignControl(**dict(row))])
        scopes = [message.sender]
        brand = message.extras.get("brand")
        if isinstance(brand, str) and brand:
            scopes.append(brand)
        spellings = sorted({message.recipient, normalise_number(message.recipient, config.default_region)})
        rows = await conn.fetch(q("explain_opt_outs"), scopes, spellings)
        opt_outs = OptOutSet.from_entries(((r["scope"], r["recipient"]) for r in rows),
                                          default_region=config.default_region)  # fmt: skip
    else:
        notes.append("no database: campaign holds and opt-outs were not checked")
    result = explain(
        message, consent=consent, at=at, config=config, opt_outs=opt_outs, controls=controls,
        check_content=check_content,
    )  # fmt: skip
    if notes:
        result = replace(result, notes=(*result.notes, *notes))
    return result
