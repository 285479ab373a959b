"""The policy layer as the engine sees it: pure rules plus shared state in PostgreSQL.

For each claimed batch, :class:`PolicyDbGate.decide`:

1. runs the pure :func:`gateway.policy.evaluate` per message (expiry, channel,
   recipient, content, opt-out and consent, quiet hours) against an in-memory
   opt-out set that a background task reloads every few seconds — no query
   per message on the hot path;
2. for what is still allowed, applies the two checks that all instances must
   share, in one transaction per batch: per-campaign **dedupe** (an insert of
   the (campaign, key) pairs; the ones that lose are duplicates) and the
   **fatigue** cap on advertising per recipient (advisory locks per recipient
   in sorted order, count the recent sends, record the new ones).

Decisions go back to the engine as the policy's own typed values
(:data:`gateway.policy.Decision`); the engine turns them into transitions.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

import anyio
import asyncpg
import structlog
from anyio.abc import TaskStatus

from gateway.db.queries import Queries
from gateway.policy.config import PolicyConfig
from gateway.policy.decision import ALLOW, Decision, Fail, Reason, Suppress, evaluate
from gateway.policy.rules import OptOutSet, deadline, is_stop_keyword, normalise_number
from gateway.port import InboundMessage, OutboundMessage

log = structlog.get_logger("gateway.policy")

q = Queries("gateway.policy").__getitem__


def _lock_key(recipient: str) -> int:
    return int.from_bytes(hashlib.blake2b(recipient.encode(), digest_size=8).digest(), "big", signed=True)


class PolicyDbGate:
    def __init__(self, config: PolicyConfig, pool: asyncpg.Pool) -> None:
        self.config = config
        self.pool = pool
        self.opt_outs = OptOutSet(default_region=config.default_region)
        self._loaded = anyio.Event()

    # ------------------------------------------------------------------ background
    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        await self._reload_opt_outs()
        task_status.started()
        cleanup_every = 600.0
        since_cleanup = cleanup_every
        while True:
            await anyio.sleep(self.config.opt_out_refresh_seconds)
            since_cleanup += self.config.opt_out_refresh_seconds
            try:
                await self._reload_opt_outs()
                if since_cleanup >= cleanup_every:
                    since_cleanup = 0
                    async with self.pool.acquire(timeout=10) as conn:
                        await conn.execute(
                            q("policy_cleanup"), float(self.config.fatigue.period_seconds), self.config.dedupe.keep_days
                        )
            except Exception as exc:  # noqa: BLE001 - keep the last set; try again next period
                log.warning("policy.refresh.failed", error=str(exc))

    async def _reload_opt_outs(self) -> None:
        async with self.pool.acquire(timeout=10) as conn:
            rows = await conn.fetch(q("opt_outs_all"))
        self.opt_outs = OptOutSet.from_entries(
            ((r["scope"], r["recipient"]) for r in rows), default_region=self.config.default_region
        )

    def stop_keywords(self, messages: Sequence[InboundMessage]) -> list[tuple[str, str, str]]:
        """Inbound STOP replies opt the mobile user out of the address they wrote to."""
        found = []
        for m in messages:
            if is_stop_keyword(m.body, self.config.opt_out.stop_keywords):
                number = normalise_number(m.sender, self.config.default_region)
                found.append((m.recipient, number, "inbound_stop"))
                log.info("policy.opt_out.inbound_stop", connector=m.connector)
        if found:
            self.opt_outs = self.opt_outs.with_entries((scope, number) for scope, number, _ in found)
        return found

    # ------------------------------------------------------------------ decide
    async def decide(
        self, batch: Sequence[tuple[OutboundMessage, bool | None]], now: datetime
    ) -> list[tuple[OutboundMessage, Decision]]:
        cfg = self.config
        out: list[tuple[OutboundMessage, Decision]] = []
        for message, consent in batch:
            try:
                decision = evaluate(message, consent=consent, now=now, config=cfg, opt_outs=self.opt_outs)
            except Exception as exc:  # noqa: BLE001 - a bad row fails alone
                log.error("policy.evaluate.error", message_id=message.id, error=repr(exc))
                out.append((message, Fail("policy_error", detail=repr(exc)[:300])))
                continue
            if decision is ALLOW:
                end = deadline(message, cfg.expiry)
                if end is not None:
                    message = replace(message, deadline=end[0])
            out.append((message, decision))
        guarded = [i for i, (m, d) in enumerate(out) if d is ALLOW and self._needs_guard(m)]
        if guarded:
            refusals = await self._guards([out[i][0] for i in guarded])
            for i, refusal in zip(guarded, refusals, strict=True):
                if refusal is not None:
                    out[i] = (out[i][0], refusal)
        return out

    def _needs_guard(self, message: OutboundMessage) -> bool:
        return (self.config.dedupe.enabled and message.campaign_id is not None) or (
            self.config.fatigue.enabled and message.kind == "advertising"
        )

    def _dedupe_key(self, message: OutboundMessage) -> str:
        mode = message.extras.get("dedupe", self.config.dedupe.default)
        contact = message.extras.get("contact_id")
        if mode == "contact" and contact not in (None, ""):
            return f"c:{contact}"
        return "p:" + normalise_number(message.recipient, self.config.default_region)

    async def _guards(self, messages: list[OutboundMessage]) -> list[Suppress | None]:
        verdicts: list[Suppress | None] = [None] * len(messages)
        async with self.pool.acquire(timeout=10) as conn, conn.transaction():
            if self.config.dedupe.enabled:
                idx = [i for i, m in enumerate(messages) if m.campaign_id is not None]
                if idx:
                    camps = [messages[i].campaign_id for i in idx]
                    keys = [self._dedupe_key(messages[i]) for i in idx]
                    ids = [messages[i].id for i in idx]
                    won = {r["message_id"] for r in await conn.fetch(q("dedupe_claim"), camps, keys, ids)}
                    lost = [j for j, i in enumerate(idx) if ids[j] not in won]
                    if lost:
                        owners = {
                            (r["campaign_id"], r["dedupe_key"]): r["message_id"]
                            for r in await conn.fetch(
                                q("dedupe_owners"), [camps[j] for j in lost], [keys[j] for j in lost]
                            )
                        }
                        for j in lost:
                            if owners.get((camps[j], keys[j])) != ids[j]:  # not a retry of the owner
                                verdicts[idx[j]] = Suppress(Reason.DUPLICATE)
            if self.config.fatigue.enabled:
                ads = [i for i, m in enumerate(messages) if m.kind == "advertising" and verdicts[i] is None]
                if ads:
                    numbers = {i: normalise_number(messages[i].recipient, self.config.default_region) for i in ads}
                    distinct = sorted(set(numbers.values()))
                    await conn.fetchval(q("fatigue_lock"), sorted({_lock_key(n) for n in distinct}))
                    recent: dict[str, set[int]] = defaultdict(set)
                    for r in await conn.fetch(q("fatigue_recent"), distinct, float(self.config.fatigue.period_seconds)):
                        recent[r["recipient"]].update(r["ids"])
                    record_n, record_id = [], []
                    for i in ads:
                        number, mid = numbers[i], messages[i].id
                        if mid in recent[number]:
                            continue  # a retry: already counted
                        if len(recent[number]) >= self.config.fatigue.max_messages:
                            verdicts[i] = Suppress(Reason.FATIGUE)
                            continue
                        recent[number].add(mid)
                        record_n.append(number)
                        record_id.append(mid)
                    if record_n:
                        await conn.execute(q("fatigue_record"), record_n, record_id)
        return verdicts
