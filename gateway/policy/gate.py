"""The policy layer as the engine sees it: pure rules plus shared state in PostgreSQL.

For each claimed batch, :class:`PolicyDbGate.decide`:

1. reads the controls of the batch's campaigns (held, cancelled) from
   PostgreSQL — exact, so a message claimed right after a hold is held — and
   runs the pure :func:`gateway.policy.evaluate` per message (expiry, campaign,
   schedule, channel, recipient, content, opt-out and consent, quiet hours)
   against an in-memory opt-out set that a background task reloads every few
   seconds — no query per message on the hot path;
2. turns a quiet-hours HOLD of a message an operator released
   (``gateway.held_releases``) into a DEFER to its next window;
3. for what is still allowed, applies the two checks that all instances must
   share, in one transaction per batch: per-campaign **dedupe** (an insert of
   the (campaign, key) pairs; the ones that lose are duplicates) and the
   **fatigue** cap on advertising per recipient (advisory locks per recipient
   in sorted order; count the recent *sends* and the reservations of messages
   still being sent; reserve a slot for each allowed ad). The store turns a
   reservation into a send in the transaction that records the submit (the
   queue's ``record_ad_sends``); a reservation whose message leaves the outbox
   unsent, or goes back to wait, stops counting by itself;
4. records a ``warning`` event for allowed messages that carry one
   (an informational body that starts with "(광고)").

A fallback (a row the store enqueued with ``extras.fallback_of``, see
:func:`gateway.policy.rules.fallback_of`) is its original on another channel:
it skips dedupe (the original holds the campaign's key for that recipient) and
takes the original's fatigue slot — free when the original was sent, counted
against the other campaigns' messages when it was not.

:meth:`PolicyDbGate.recheck` is the last check before a connector takes a
message, in memory: :func:`gateway.policy.recheck` against the current opt-out
set and campaign controls (reloaded at once on ``NOTIFY gateway_policy``).

Decisions go back to the engine as the policy's own typed values
(:data:`gateway.policy.Decision`); the engine turns them into transitions.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import anyio
import asyncpg
import structlog
from anyio.abc import TaskStatus

from gateway.db.pool import DbConnection
from gateway.db.queries import Queries
from gateway.policy.config import PolicyConfig
from gateway.policy.controls import CampaignControl, CampaignControls
from gateway.policy.decision import ALLOW, Allow, Decision, Defer, Fail, Hold, Reason, Suppress, evaluate, recheck
from gateway.policy.rules import OptOutSet, deadline, fallback_of, is_stop_keyword, normalise_number
from gateway.port import InboundMessage, OutboundMessage

__all__ = ["PolicyDbGate"]

log = structlog.get_logger("gateway.policy")

q = Queries("gateway.policy").__getitem__

#: Runs until cancelled, calling its argument whenever ``gateway_policy`` is notified
#: (the daemon passes ``gateway.queue.listener.Listener(url, "gateway_policy").run``).
Listen = Callable[[Callable[[], None]], Coroutine[Any, Any, None]]

_CLEANUP_SECONDS = 600.0
_RELEASED_MAX = 100_000  # ids remembered for the last check; a bound, not a working size


def _lock_key(recipient: str) -> int:
    return int.from_bytes(hashlib.blake2b(recipient.encode(), digest_size=8).digest(), "big", signed=True)


def _control(row: asyncpg.Record) -> CampaignControl:
    return CampaignControl(
        campaign_id=row["campaign_id"],
        held_since=row["held_since"],
        held_by=row["held_by"],
        cancelled_before=row["cancelled_before"],
        cancelled_by=row["cancelled_by"],
    )


class PolicyDbGate:
    def __init__(self, config: PolicyConfig, pool: asyncpg.Pool, *, listen: Listen | None = None) -> None:
        self.config = config
        self.pool = pool
        self.opt_outs = OptOutSet(default_region=config.default_region)
        self.controls = CampaignControls()
        self._listen = listen
        self._wake = anyio.Event()
        # Quiet-hours holds an operator released, seen at decide: the last check defers them instead.
        self._released: set[int] = set()

    # ------------------------------------------------------------------ background
    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        await self.refresh()
        async with anyio.create_task_group() as tg:
            if self._listen is not None:
                tg.start_soon(self._listen, self.wake)
            task_status.started()
            since_cleanup = _CLEANUP_SECONDS
            period = self.config.opt_out_refresh_seconds
            while True:
                with anyio.move_on_after(period):
                    await self._wake.wait()
                self._wake = anyio.Event()
                since_cleanup += period
                try:
                    await self.refresh()
                    if since_cleanup >= _CLEANUP_SECONDS:
                        since_cleanup = 0
                        async with self.pool.acquire(timeout=10) as conn:
                            await conn.execute(
                                q("policy_cleanup"),
                                float(self.config.fatigue.period_seconds),
                                self.config.dedupe.keep_days,
                            )
                except Exception as exc:  # noqa: BLE001 - keep the last sets; try again next period
                    log.warning("policy.refresh.failed", error=str(exc))

    def wake(self) -> None:
        """Reload now (a NOTIFY on gateway_policy): sets the loop's current event, whichever it is."""
        self._wake.set()

    async def refresh(self) -> None:
        """Reload the opt-outs and the campaign controls from PostgreSQL."""
        async with self.pool.acquire(timeout=10) as conn:
            rows = await conn.fetch(q("opt_outs_all"))
            controls = await conn.fetch(q("controls_all"))
        self.opt_outs = OptOutSet.from_entries(
            ((r["scope"], r["recipient"]) for r in rows), default_region=self.config.default_region
        )
        self.controls = CampaignControls(_control(r) for r in controls)

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

    # ------------------------------------------------------------------ last check
    def recheck(self, message: OutboundMessage, now: datetime) -> Decision:
        """The last check before a connector takes ``message`` (in memory; see :func:`gateway.policy.recheck`)."""
        try:
            decision = recheck(message, now=now, config=self.config, opt_outs=self.opt_outs, controls=self.controls)
        except Exception as exc:  # noqa: BLE001 - the claim-time decision stands
            log.error("policy.recheck.error", message_id=message.id, error=repr(exc))
            return ALLOW
        if isinstance(decision, Hold) and decision.reason == Reason.QUIET_HOURS and message.id in self._released:
            assert decision.next_allowed is not None
            decision = Defer(until=decision.next_allowed, reason=Reason.QUIET_HOURS)
        self._released.discard(message.id)
        return decision

    # ------------------------------------------------------------------ decide
    async def decide(
        self, batch: Sequence[tuple[OutboundMessage, bool | None]], now: datetime
    ) -> list[tuple[OutboundMessage, Decision]]:
        campaigns = sorted({m.campaign_id for m, _ in batch if m.campaign_id is not None})
        if campaigns:
            async with self.pool.acquire(timeout=10) as conn:
                out = self._evaluate(batch, now, await self._fresh_controls(conn, campaigns))
                await self._shared(conn, out, now)
            return out
        out = self._evaluate(batch, now, self.controls)
        if any(self._needs_db(m, d) for m, d in out):
            async with self.pool.acquire(timeout=10) as conn:
                await self._shared(conn, out, now)
        return out  # informational traffic without campaigns: no query at all

    def _needs_db(self, message: OutboundMessage, decision: Decision) -> bool:
        if isinstance(decision, Allow):
            return bool(decision.warnings) or self._needs_guard(message)
        return isinstance(decision, Hold) and decision.reason == Reason.QUIET_HOURS

    async def _shared(self, conn: DbConnection, out: list[tuple[OutboundMessage, Decision]], now: datetime) -> None:
        """Released holds, dedupe and fatigue, warning events: the decisions every instance shares."""
        await self._released_holds(conn, out)
        guarded = [i for i, (m, d) in enumerate(out) if isinstance(d, Allow) and self._needs_guard(m)]
        if guarded:
            refusals = await self._guards(conn, [out[i][0] for i in guarded], now)
            for i, refusal in zip(guarded, refusals, strict=True):
                if refusal is not None:
                    out[i] = (out[i][0], refusal)
        await self._warnings(conn, out)

    def _evaluate(
        self, batch: Sequence[tuple[OutboundMessage, bool | None]], now: datetime, controls: CampaignControls
    ) -> list[tuple[OutboundMessage, Decision]]:
        cfg = self.config
        out: list[tuple[OutboundMessage, Decision]] = []
        for message, consent in batch:
            try:
                decision = evaluate(
                    message, consent=consent, now=now, config=cfg, opt_outs=self.opt_outs, controls=controls
                )
            except Exception as exc:  # noqa: BLE001 - a bad row fails alone
                log.error("policy.evaluate.error", message_id=message.id, error=repr(exc))
                out.append((message, Fail("policy_error", detail=repr(exc)[:300])))
                continue
            if isinstance(decision, Allow):  # enriched: the last check and the SMPP validity read these
                end = deadline(message, cfg.expiry)
                out.append((replace(message, allowed_until=decision.until, deadline=end[0] if end else None), decision))
            else:
                out.append((message, decision))
        return out

    async def _fresh_controls(self, conn: DbConnection, campaigns: list[str]) -> CampaignControls:
        """The in-memory controls with this batch's campaigns read again from the table (exact)."""
        rows = {r["campaign_id"]: _control(r) for r in await conn.fetch(q("controls_for"), campaigns)}
        merged = [c for cid, c in self.controls.items() if cid not in rows and cid not in campaigns]
        return CampaignControls([*merged, *rows.values()])

    async def _released_holds(self, conn: DbConnection, out: list[tuple[OutboundMessage, Decision]]) -> None:
        held = [i for i, (_, d) in enumerate(out) if isinstance(d, Hold) and d.reason == Reason.QUIET_HOURS]
        if not held:
            return
        ids = [out[i][0].id for i in held]
        released = {r["message_id"] for r in await conn.fetch(q("held_released"), ids)}
        for i in held:
            message, decision = out[i]
            if message.id in released:
                assert isinstance(decision, Hold) and decision.next_allowed is not None
                out[i] = (message, Defer(until=decision.next_allowed, reason=Reason.QUIET_HOURS))
        if len(self._released) > _RELEASED_MAX:
            self._released.clear()
        self._released.update(released)

    async def _warnings(self, conn: DbConnection, out: list[tuple[OutboundMessage, Decision]]) -> None:
        warned = [(m, w) for m, d in out if isinstance(d, Allow) for w in d.warnings]
        if not warned:
            return
        for m, w in warned:
            log.warning("policy.warning", message_id=m.id, reason=w, kind=m.kind)
        await conn.execute(
            q("warning_events"),
            [m.id for m, _ in warned],
            [w for _, w in warned],
            [{"kind": m.kind, "campaign_id": m.campaign_id} for m, _ in warned],
        )

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

    async def _guards(
        self, conn: DbConnection, messages: list[OutboundMessage], now: datetime
    ) -> list[Suppress | Defer | None]:
        verdicts: list[Suppress | Defer | None] = [None] * len(messages)
        async with conn.transaction():
            if self.config.dedupe.enabled:
                await self._dedupe(conn, messages, verdicts)
            if self.config.fatigue.enabled:
                await self._fatigue(conn, messages, verdicts, now)
        return verdicts

    async def _dedupe(
        self, conn: DbConnection, messages: list[OutboundMessage], verdicts: list[Suppress | Defer | None]
    ) -> None:
        # A fallback skips dedupe: its original holds the campaign's key for this recipient.
        idx = [i for i, m in enumerate(messages) if m.campaign_id is not None and fallback_of(m) is None]
        if not idx:
            return
        camps = [messages[i].campaign_id for i in idx]
        keys = [self._dedupe_key(messages[i]) for i in idx]
        ids = [messages[i].id for i in idx]
        won = {r["message_id"] for r in await conn.fetch(q("dedupe_claim"), camps, keys, ids)}
        lost = [j for j, i in enumerate(idx) if ids[j] not in won]
        if not lost:
            return
        owners = {
            (r["campaign_id"], r["dedupe_key"]): r["message_id"]
            for r in await conn.fetch(q("dedupe_owners"), [camps[j] for j in lost], [keys[j] for j in lost])
        }
        for j in lost:
            if owners.get((camps[j], keys[j])) != ids[j]:  # not a retry of the owner
                verdicts[idx[j]] = Suppress(Reason.DUPLICATE)

    async def _fatigue(
        self, conn: DbConnection, messages: list[OutboundMessage], verdicts: list[Suppress | Defer | None],
        now: datetime,
    ) -> None:  # fmt: skip
        """Count sends and reservations per recipient under its advisory lock; reserve a slot per allowed ad.

        Cap full of sends: SUPPRESS ``fatigue``. Full only with ads still being sent
        (they may yet fail): DEFER ``fatigue_pending`` for ``pending_wait_seconds``.
        """
        cfg = self.config
        ads = [i for i, m in enumerate(messages) if m.kind == "advertising" and verdicts[i] is None]
        if not ads:
            return
        numbers = {i: normalise_number(messages[i].recipient, cfg.default_region) for i in ads}
        distinct = sorted(set(numbers.values()))
        await conn.fetchval(q("fatigue_lock"), sorted({_lock_key(n) for n in distinct}))
        in_batch = {messages[i].id for i in ads}
        # recipient -> {original: units}: what a recipient received counts, an LMS/MMS one, an SMS one
        # per segment (its send's units, 0037); an ad still being sent counts one until it is recorded.
        sent: dict[str, dict[int, int]] = defaultdict(dict)  # originals sent within the period
        counted: dict[str, dict[int, int]] = defaultdict(dict)  # ... sent or being sent
        for r in await conn.fetch(q("fatigue_recent"), distinct, float(cfg.fatigue.period_seconds)):
            number, original = r["recipient"], r["original_id"]
            if r["sent"]:
                units = max(r["units"], sent[number].get(original, 0))
                sent[number][original] = units
                counted[number][original] = max(units, counted[number].get(original, 0))
            elif r["message_id"] not in in_batch:  # this batch's own reservations are decided again
                counted[number].setdefault(original, 1)
        wait = now + timedelta(seconds=cfg.fatigue.pending_wait_seconds)
        reserve: list[tuple[str, int, int]] = []
        for i in ads:
            message, number = messages[i], numbers[i]
            original = fallback_of(message) or message.id
            if original not in counted[number]:
                if sum(sent[number].values()) >= cfg.fatigue.max_messages:
                    verdicts[i] = Suppress(Reason.FATIGUE)
                    continue
                if sum(counted[number].values()) >= cfg.fatigue.max_messages:
                    verdicts[i] = Defer(until=wait, reason=Reason.FATIGUE_PENDING)
                    continue
                counted[number][original] = 1
            reserve.append((number, message.id, original))
        if reserve:
            await conn.execute(
                q("fatigue_reserve"), [r[0] for r in reserve], [r[1] for r in reserve], [r[2] for r in reserve]
            )
