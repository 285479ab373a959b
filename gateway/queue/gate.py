"""The policy seam: what the engine asks before sending, and the default when no policy is set.

:class:`gateway.policy.gate.PolicyDbGate` implements :class:`PolicyGate`
structurally (the policy package does not import the queue). Decisions are the
policy's own typed values (:data:`gateway.policy.Decision`);
:func:`gateway.queue.rules.after_decision` turns them into transitions.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

import anyio
from anyio.abc import TaskStatus

from gateway.policy.decision import ALLOW, Decision, Expire
from gateway.port import InboundMessage, OutboundMessage

__all__ = ["NoPolicy", "PolicyGate"]


class PolicyGate(Protocol):
    async def decide(
        self, batch: Sequence[tuple[OutboundMessage, bool | None]], now: datetime
    ) -> list[tuple[OutboundMessage, Decision]]:
        """One (message, decision) per input, in order; the message may come back
        enriched (e.g. with its deadline)."""
        ...

    def recheck(self, message: OutboundMessage, now: datetime) -> Decision:
        """The last check right before a connector takes ``message``: cheap, pure, in memory.

        ALLOW, or what to do instead (defer to the next window, expire, hold,
        suppress): a message that fell out of its window, passed its deadline, or
        whose campaign was held or cancelled since the claim is not sent."""
        ...

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Background work (refreshing opt-outs and campaign controls); runs until cancelled."""
        ...

    def stop_keywords(self, messages: Sequence[InboundMessage]) -> list[tuple[str, str, str]]:
        """Opt-outs ``(scope, number, source)`` asked for by inbound STOP replies."""
        ...


class NoPolicy:
    """Expiry only: the engine's default when no policy layer is configured."""

    async def decide(
        self, batch: Sequence[tuple[OutboundMessage, bool | None]], now: datetime
    ) -> list[tuple[OutboundMessage, Decision]]:
        out: list[tuple[OutboundMessage, Decision]] = []
        for message, _consent in batch:
            expired = message.expires_at is not None and message.expires_at <= now
            out.append((message, Expire("expired") if expired else ALLOW))
        return out

    def recheck(self, message: OutboundMessage, now: datetime) -> Decision:
        expired = message.expires_at is not None and message.expires_at <= now
        return Expire("expired") if expired else ALLOW

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        task_status.started()

    def stop_keywords(self, messages: Sequence[InboundMessage]) -> list[tuple[str, str, str]]:
        return []
