"""The queue engine: claim in batches, decide, dispatch to connectors, write back.

One engine per daemon process. Its tasks run in one AnyIO task group:

* the claimer takes batches of queued rows (``FOR UPDATE SKIP LOCKED`` with a
  lease) while there is room in flight, woken by a debounced ``NOTIFY`` or an
  idle poll;
* a rate-limit dispatcher per connector (per-sender lanes, fair across
  campaigns) hands messages to ``Connector.send`` (which blocks when the
  connector's window is full) — one stuck connector never blocks another;
* the connectors report results to the engine's sink, which turns them into
  batched writer operations (submitted, retry with back-off and jitter,
  throttled, failed, expired);
* a housekeeping loop promotes due deferred rows, extends this instance's
  leases, recovers expired leases of dead instances, times out receipts and
  keeps the partitions.

Shutdown (``stop()``): stop claiming, give back what no connector took yet,
let connectors finish outstanding sends up to the drain deadline, defer what is
still unanswered as "may be a duplicate", flush the writer.
"""

from __future__ import annotations

import collections
import math
import os
import random
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import anyio
import asyncpg
import structlog
from anyio.abc import TaskStatus

from gateway import __version__, metrics
from gateway.config import EngineConfig, RoutingConfig
from gateway.port import (
    Connector,
    InboundMessage,
    OutboundMessage,
    Outcome,
    Receipt,
    SendResult,
)
from gateway.errors import ConnectorClosed
from gateway.queue.store import q
from gateway.db.pool import is_connection_error
from gateway.queue.writer import Defer, Finish, Writer
from gateway.ratelimit import Dispatcher, LocalTokens, RateLimitConfig, TokenSource

log = structlog.get_logger("gateway.engine")


# ---------------------------------------------------------------------- policy hook
@dataclass(frozen=True, slots=True)
class Verdict:
    """What the policy layer decided for one claimed message (None = allow)."""

    action: str  # "defer" | "suppress" | "fail" | "expire" | "hold"
    reason: str
    delay: float = 0.0  # for defer/hold: seconds from now
    detail: Mapping[str, Any] | None = None


class PolicyGate(Protocol):
    """Decides, for a claimed batch, what may be sent (gateway.policy.gate implements it)."""

    async def decide(
        self, batch: Sequence[tuple[OutboundMessage, bool | None]], now: datetime
    ) -> list[tuple[OutboundMessage, Verdict | None]]:
        """One (message, verdict) per input, in order; the message may come back
        enriched (e.g. with its deadline). ``None`` means send it."""
        ...

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Background work (refreshing opt-outs); runs until cancelled."""
        ...

    def stop_keywords(self, messages: Sequence[InboundMessage]) -> list[tuple[str, str, str]]:
        """Opt-outs (scope, number, source) asked for by inbound STOP replies."""
        ...


class ExpiryOnlyGate:
    """Expiry only: the engine's default when no policy layer is configured."""

    async def decide(
        self, batch: Sequence[tuple[OutboundMessage, bool | None]], now: datetime
    ) -> list[tuple[OutboundMessage, Verdict | None]]:
        out: list[tuple[OutboundMessage, Verdict | None]] = []
        for message, _consent in batch:
            expired = message.expires_at is not None and message.expires_at <= now
            out.append((message, Verdict("expire", "expired") if expired else None))
        return out

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        task_status.started()

    def stop_keywords(self, messages: Sequence[InboundMessage]) -> list[tuple[str, str, str]]:
        return []


# ---------------------------------------------------------------------- routing
class Router:
    def __init__(self, routing: RoutingConfig, connectors: Mapping[str, Connector]) -> None:
        self._rules = routing.rules
        self._default = dict(routing.default)
        for c in connectors.values():  # a lone connector of a channel is its default
            self._default.setdefault(c.channel, c.name)
        self._connectors = connectors

    def route(self, message: OutboundMessage) -> Connector | None:
        for rule in self._rules:
            if rule.channel is not None and rule.channel != message.channel:
                continue
            if rule.sender is not None and rule.sender != message.sender:
                continue
            if rule.recipient_prefix is not None and not message.recipient.startswith(rule.recipient_prefix):
                continue
            return self._connectors[rule.connector]
        name = self._default.get(message.channel)
        return self._connectors.get(name) if name else None


def unique_owner(name: str | None) -> str:
    """`<name or host-pid>#<random>`: unique per process run."""
    import secrets

    base = name or f"{socket.gethostname()}-{os.getpid()}"
    return f"{base}#{secrets.token_hex(3)}"


def backoff_delay(attempt: int, base: float, maximum: float, jitter: float, rng: random.Random) -> float:
    """Exponential back-off with jitter: base * 2^(attempt-1), capped, then jittered down."""
    delay = min(maximum, base * math.pow(2, max(attempt - 1, 0)))
    return delay * (1 - jitter * rng.random())


def _row_to_message(row: asyncpg.Record) -> OutboundMessage:
    return OutboundMessage(
        id=row["id"],
        channel=row["channel"],
        sender=row["sender"],
        recipient=row["recipient"],
        body=row["body"],
        kind=row["kind"],
        priority=row["priority"],
        campaign_id=row["campaign_id"],
        expires_at=row["expires_at"],
        extras=row["extras"] or {},
        attempts=row["attempts"],
        created_at=row["created_at"],
        idempotency_key=row["idempotency_key"],
    )


class _Pump:
    """One connector's way out: its rate-limit dispatcher (per-sender lanes) and counters."""

    def __init__(
        self, connector: Connector, dispatcher: Dispatcher[OutboundMessage], *, unrecorded_bound: bool = True
    ) -> None:
        self.connector = connector
        self.dispatcher = dispatcher
        self.in_flight = 0  # routed to this connector and not yet written back
        # Sent (handed to the connector) and outcome not yet committed; bounded by
        # connector.max_unrecorded() so that a crash duplicates at most that many.
        self.unrecorded: set[int] = set()
        self.limit = connector.max_unrecorded() if unrecorded_bound else None
        self.recorded = anyio.Event()


class Engine:
    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        connectors: Mapping[str, Connector],
        config: EngineConfig = EngineConfig(),
        routing: RoutingConfig = RoutingConfig(),
        database_url: str | None = None,
        instance_name: str | None = None,
        gate: PolicyGate | None = None,
        retention_days: int = 30,
        rng: random.Random | None = None,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_result: Callable[[OutboundMessage, SendResult], None] | None = None,
        ratelimit: RateLimitConfig | None = None,
        tokens: TokenSource | None = None,
        tokens_for_owner: Callable[[str], TokenSource] | None = None,
    ) -> None:
        self.pool = pool
        self.config = config
        self.connectors = dict(connectors)
        self.router = Router(routing, self.connectors)
        # Leases and heartbeats belong to this process run, not to the configured
        # name: a restarted instance must not extend (and so keep forever) the
        # leases of the run that crashed.
        self.owner = unique_owner(instance_name)
        self._database_url = database_url
        self._gate: PolicyGate = gate or ExpiryOnlyGate()
        self._retention_days = retention_days
        self._rng = rng or random.Random()
        self._now = wall_clock
        self._on_result = on_result
        self._in_flight: dict[int, tuple[OutboundMessage, _Pump | None]] = {}
        self._room = anyio.Event()
        self._wake = anyio.Event()
        self._stopping = False
        self._stopped = anyio.Event()
        self._tg: anyio.abc.TaskGroup | None = None
        self.writer = Writer(
            pool,
            owner=self.owner,
            flush_interval=config.flush_interval_ms / 1000,
            flush_max_rows=config.flush_max_rows,
            on_written=self._written,
        )
        self._pumps_by_connector: dict[str, _Pump] = {}
        self._ratelimit = ratelimit or RateLimitConfig()
        self._tokens = tokens or (tokens_for_owner(self.owner) if tokens_for_owner else LocalTokens())
        self._pumps = {
            name: _Pump(
                c,
                Dispatcher(
                    connector=name,
                    limits=self._ratelimit.for_connector(name),
                    send=self._sender_for(c),
                    tokens=self._tokens,
                    max_waiting=max(self._ratelimit.max_waiting, config.max_in_flight),
                ),
                unrecorded_bound=config.bound_unrecorded,
            )
            for name, c in self.connectors.items()
        }
        self._pumps_by_connector.update(self._pumps)
        self.claimed_total = 0

    # ------------------------------------------------------------------ sink
    # The engine is the ResultSink the connectors report to.
    def submit_result(self, result: SendResult) -> None:
        entry = self._in_flight.get(result.message_id)
        if entry is None:
            log.warning("engine.result.unknown_message", message_id=result.message_id, outcome=result.outcome.value)
            return
        message, pump = entry
        if self._on_result is not None:
            self._on_result(message, result)
        connector = pump.connector.name if pump else None
        if pump is not None:
            if result.outcome is Outcome.THROTTLED:
                pump.dispatcher.throttled(message.sender)
            elif result.outcome is Outcome.SUBMITTED:
                pump.dispatcher.succeeded(message.sender)
        self._apply_result(message, result, connector)

    async def store_receipts(self, receipts: Sequence[Receipt]) -> None:
        await self.writer.store_receipts(receipts)

    async def store_inbound(self, messages: Sequence[InboundMessage]) -> None:
        for scope, number, source in self._gate.stop_keywords(messages):
            self.writer.add_opt_out(scope, number, source)
        await self.writer.store_inbound(messages)

    def _apply_result(self, message: OutboundMessage, result: SendResult, connector: str | None) -> None:
        retry = self.config.retry
        outcome = result.outcome
        detail = dict(result.detail) if result.detail else None
        if outcome is Outcome.SUBMITTED:
            self.writer.finish(
                Finish(
                    message.id,
                    "submitted",
                    message.channel,
                    code=result.code,
                    connector=connector,
                    segments=max(result.segments, len(result.carrier_ids), 1),
                    detail=detail,
                    carrier_ids=result.carrier_ids,
                    fallback=result.fallback,
                )
            )
        elif outcome is Outcome.FAILED:
            reason = result.reason or "rejected"
            self.writer.finish(
                Finish(message.id, "failed", message.channel, reason, result.code, connector, detail=detail,
                       fallback=result.fallback)
            )
        elif outcome is Outcome.THROTTLED:
            delay = result.retry_after if result.retry_after is not None else retry.throttled_seconds
            self._defer_or_expire(message, delay, result.reason or "throttled", result.code, connector, uncount=True)
        elif outcome is Outcome.RETRY:
            self._retry(message, result.reason or "transient_error", result.code, connector, result.retry_after, False)
        elif outcome is Outcome.UNKNOWN:
            if retry.retry_unknown:
                self._retry(message, result.reason or "outcome_unknown", result.code, connector, result.retry_after, True)
            else:
                self.writer.finish(
                    Finish(message.id, "unknown", message.channel, result.reason or "outcome_unknown", result.code, connector)
                )
        else:  # pragma: no cover - exhaustive
            raise AssertionError(outcome)

    def _retry(
        self,
        message: OutboundMessage,
        reason: str,
        code: str | None,
        connector: str | None,
        retry_after: float | None,
        may_be_duplicate: bool,
    ) -> None:
        retry = self.config.retry
        if message.attempts >= retry.max_attempts:
            state = "unknown" if may_be_duplicate else "failed"
            self.writer.finish(
                Finish(
                    message.id,
                    state,
                    message.channel,
                    "max_attempts",
                    code,
                    connector,
                    detail={"last_reason": reason, "attempts": message.attempts},
                )
            )
            return
        delay = backoff_delay(message.attempts, retry.base_seconds, retry.max_seconds, retry.jitter, self._rng)
        if retry_after is not None:
            delay = max(delay, retry_after)
        self._defer_or_expire(message, delay, reason, code, connector, uncount=False, dup=may_be_duplicate)

    def _defer_or_expire(
        self,
        message: OutboundMessage,
        delay: float,
        reason: str,
        code: str | None,
        connector: str | None,
        *,
        uncount: bool,
        dup: bool = False,
    ) -> None:
        # Expiry wins over retry: never schedule a message past its expires_at.
        if message.expires_at is not None and message.expires_at.timestamp() <= self._now().timestamp() + delay:
            self.writer.finish(
                Finish(
                    message.id,
                    "expired",
                    message.channel,
                    "expired_before_retry",
                    code,
                    connector,
                    detail={"last_reason": reason},
                )
            )
            return
        self.writer.defer(Defer(message.id, delay, reason, code, uncount=uncount, may_be_duplicate=dup))

    def _written(self, ids: Sequence[int]) -> None:
        for mid in ids:
            entry = self._in_flight.pop(mid, None)
            if entry is not None and entry[1] is not None:
                pump = entry[1]
                pump.in_flight -= 1
                if mid in pump.unrecorded:
                    pump.unrecorded.discard(mid)
                    pump.recorded.set()
        metrics.IN_FLIGHT.set(len(self._in_flight))
        self._room.set()

    # ------------------------------------------------------------------ run
    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        log.info("engine.start", instance=self.owner, connectors=sorted(self.connectors))
        await self._startup()
        try:
            async with anyio.create_task_group() as tg:
                self._tg = tg
                await tg.start(self.writer.run)
                await tg.start(self._gate.run)
                for connector in self.connectors.values():
                    await tg.start(connector.run, self)
                if hasattr(self._tokens, "run"):
                    await tg.start(self._tokens.run)
                for pump in self._pumps.values():
                    await tg.start(pump.dispatcher.run)
                tg.start_soon(self._housekeeping)
                tg.start_soon(self._listen)
                task_status.started()
                await self._claim_loop()
                await self._drain()
                tg.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True), anyio.move_on_after(5):
                await self._mark_stopped()
            self._stopped.set()
            log.info("engine.stopped", instance=self.owner, claimed=self.claimed_total)

    def stop(self) -> None:
        """Begin a graceful drain; ``run`` returns when it is done."""
        if not self._stopping:
            log.info("engine.stopping", instance=self.owner, in_flight=len(self._in_flight))
        self._stopping = True
        self._wake.set()
        self._room.set()

    async def _startup(self) -> None:
        delay = 0.2
        while True:
            try:
                async with self.pool.acquire(timeout=10) as conn:
                    await conn.fetchval(q("ensure_partitions"), 1, 7)
                    await conn.execute(q("heartbeat"), self.owner, socket.gethostname(), os.getpid(), __version__, {})
                return
            except Exception as exc:  # noqa: BLE001 - PostgreSQL may be restarting: wait for it
                if not is_connection_error(exc):
                    raise
                log.warning("engine.startup.retry", error=str(exc), retry_in=delay)
                await anyio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _mark_stopped(self) -> None:
        try:
            async with self.pool.acquire(timeout=10) as conn:
                await conn.execute(q("instance_stopped"), self.owner)
        except Exception as exc:  # noqa: BLE001
            log.warning("engine.mark_stopped.failed", error=str(exc))

    # ------------------------------------------------------------------ claim
    def _claimable_channels(self) -> list[str]:
        per_connector = max(self.config.claim_batch, self.config.max_in_flight // max(len(self._pumps), 1))
        channels = set()
        for pump in self._pumps.values():
            if pump.in_flight < per_connector and pump.connector.is_ready():
                channels.add(pump.connector.channel)
        return sorted(channels)

    async def _claim_loop(self) -> None:
        cfg = self.config
        error_delay = 0.1
        while not self._stopping:
            room = cfg.max_in_flight - len(self._in_flight)
            channels = self._claimable_channels()
            if room < min(cfg.claim_batch, cfg.max_in_flight) // 2 or not channels:
                self._room = anyio.Event()
                with anyio.move_on_after(0.5):
                    await self._room.wait()
                continue
            try:
                started = time.monotonic()
                async with self.pool.acquire(timeout=10) as conn:
                    rows = await conn.fetch(
                        q("claim"), self.owner, min(cfg.claim_batch, room), cfg.lease_seconds, channels
                    )
                metrics.CLAIM_SECONDS.observe(time.monotonic() - started)
                error_delay = 0.1
            except Exception as exc:  # noqa: BLE001
                metrics.DB_ERRORS.labels("claim").inc()
                log.warning("engine.claim.failed", error=str(exc), retry_in=error_delay)
                if is_connection_error(exc):
                    with anyio.move_on_after(5):
                        await self.pool.expire_connections()
                await anyio.sleep(error_delay)
                error_delay = min(error_delay * 2, 5.0)
                continue
            if not rows:
                self._wake = anyio.Event()
                with anyio.move_on_after(cfg.idle_poll_ms / 1000):
                    await self._wake.wait()
                if cfg.notify_debounce_ms:
                    await anyio.sleep(cfg.notify_debounce_ms / 1000)
                continue
            metrics.CLAIM_BATCH.observe(len(rows))
            self.claimed_total += len(rows)
            await self._dispatch(rows)

    async def _dispatch(self, rows: Sequence[asyncpg.Record]) -> None:
        now = self._now()
        batch = []
        for row in rows:
            try:
                batch.append((_row_to_message(row), row["consent"]))
            except Exception as exc:  # noqa: BLE001 - a bad row fails alone
                log.error("engine.row.invalid", message_id=row["id"], error=repr(exc))
                self._in_flight[row["id"]] = (OutboundMessage(row["id"], row["channel"], "-", "-", "-"), None)
                self.writer.finish(Finish(row["id"], "failed", row["channel"], "invalid_row",
                                          detail={"error": repr(exc)[:300]}))
        try:
            decided = await self._gate.decide(batch, now)
        except Exception as exc:  # noqa: BLE001 - e.g. the database went away: give the batch back
            log.warning("engine.policy.failed", error=repr(exc), count=len(batch))
            for message, _ in batch:
                self._in_flight[message.id] = (message, None)
            self.writer.release([m.id for m, _ in batch])
            await anyio.sleep(0.5)
            return
        for message, verdict in decided:
            pump = None
            if verdict is None:
                connector = self.router.route(message)
                if connector is None:
                    verdict = Verdict("fail", "no_route", detail={"channel": message.channel})
                else:
                    pump = self._pumps[connector.name]
            self._in_flight[message.id] = (message, pump)
            if pump is not None:
                pump.in_flight += 1
                try:
                    await pump.dispatcher.put(message, pump.connector.cost(message))
                except ConnectorClosed:  # shutting down: never taken
                    self.writer.release([message.id])
            else:
                assert verdict is not None
                self._apply_verdict(message, verdict)
        metrics.IN_FLIGHT.set(len(self._in_flight))

    def _apply_verdict(self, message: OutboundMessage, verdict: Verdict) -> None:
        metrics.POLICY_DECISIONS.labels(verdict.action, verdict.reason).inc()
        detail = dict(verdict.detail) if verdict.detail else None
        if verdict.action in ("defer", "hold"):
            self.writer.defer(Defer(message.id, verdict.delay, verdict.reason, uncount=True, detail=detail))
            return
        state = {"suppress": "suppressed", "fail": "failed", "expire": "expired"}[verdict.action]
        self.writer.finish(Finish(message.id, state, message.channel, verdict.reason, detail=detail))

    # ------------------------------------------------------------------ pumps
    def _sender_for(self, connector: Connector) -> Callable[[OutboundMessage], Any]:
        pump_of = self._pumps_by_connector

        async def send(message: OutboundMessage) -> None:
            pump = pump_of[connector.name]
            while pump.limit is not None and len(pump.unrecorded) >= pump.limit:
                # Everything the peer may have seen must be on disk before more goes out.
                self.writer.kick()
                pump.recorded = anyio.Event()
                await pump.recorded.wait()
            pump.unrecorded.add(message.id)
            try:
                await connector.send(message)
            except ConnectorClosed:
                pump.unrecorded.discard(message.id)
                raise  # the dispatcher keeps the message for drain_waiting()
            except Exception as exc:  # noqa: BLE001 - a connector bug must not lose the message
                log.error("engine.send.error", connector=connector.name, message_id=message.id, error=repr(exc))
                self.submit_result(SendResult(message.id, Outcome.RETRY, reason="connector_error"))

        return send

    # ------------------------------------------------------------------ drain
    async def _drain(self) -> None:
        """Stop claiming (done), return untaken messages, wait for answers, flush."""
        released: set[int] = set()

        def release_untaken() -> None:
            ids = [m.id for pump in self._pumps.values() for m in pump.dispatcher.drain_waiting()]
            released.update(ids)
            self.writer.release(ids)

        release_untaken()
        with anyio.move_on_after(self.config.drain_seconds):
            async with anyio.create_task_group() as tg:
                for connector in self.connectors.values():
                    tg.start_soon(connector.drain)
            # A send blocked on a full window gets ConnectorClosed: its message
            # was never taken, give it back too.
            release_untaken()
            while len(self._in_flight) > len([m for m in released if m in self._in_flight]):
                self._room = anyio.Event()
                with anyio.move_on_after(0.1):
                    await self._room.wait()
        release_untaken()
        # Anything still unanswered may have reached the carrier: defer it flagged.
        leftover = [m for mid, (m, _) in self._in_flight.items() if mid not in released]
        for message in leftover:
            self.writer.defer(Defer(message.id, 0.0, "shutdown_unanswered", uncount=False, may_be_duplicate=True))
        await self.writer.flush()
        log.info("engine.drained", released=len(released), unanswered=len(leftover))

    # ------------------------------------------------------------------ housekeeping
    async def _housekeeping(self) -> None:
        cfg = self.config
        last: dict[str, float] = collections.defaultdict(float)
        every = {
            "promote": 0.2,
            "heartbeat": cfg.heartbeat_seconds,
            "recover": max(cfg.lease_seconds / 4, 0.5),
            "receipt_timeouts": 30.0,
            "pending": 2.0,
            "depth": 5.0,
            "partitions": 3600.0,
        }
        while True:
            now = time.monotonic()
            for job, period in every.items():
                if now - last[job] < period:
                    continue
                last[job] = now
                try:
                    await getattr(self, f"_job_{job}")()
                except Exception as exc:  # noqa: BLE001 - retried next period
                    metrics.DB_ERRORS.labels(job).inc()
                    log.warning("engine.housekeeping.failed", job=job, error=str(exc))
            await anyio.sleep(0.1)

    async def _job_promote(self) -> None:
        async with self.pool.acquire(timeout=10) as conn:
            n = await conn.fetchval(q("promote_due"), 5000, self.owner)
        if n:
            self._wake.set()

    async def _job_heartbeat(self) -> None:
        stats = {"in_flight": len(self._in_flight), "claimed": self.claimed_total}
        async with self.pool.acquire(timeout=10) as conn:
            await conn.execute(q("extend_leases"), self.owner, self.config.lease_seconds)
            await conn.execute(q("heartbeat"), self.owner, socket.gethostname(), os.getpid(), __version__, stats)
        for name, pump in self._pumps.items():
            metrics.CONNECTOR_READY.labels(name).set(1 if pump.connector.is_ready() else 0)

    async def _job_recover(self) -> None:
        async with self.pool.acquire(timeout=10) as conn:
            n = await conn.fetchval(q("recover_leases"), 5000, self.owner)
        if n:
            metrics.LEASE_RECOVERIES.inc(n)
            log.warning("engine.leases.recovered", count=n)
            self._wake.set()

    def receipt_timeout(self, name: str) -> float:
        """The connector's own receipt timeout when it sets one, else the engine's (0 = never)."""
        own = getattr(getattr(self.connectors[name], "config", None), "receipt_timeout_seconds", None)
        return float(own) if own is not None else self.config.receipt_timeout_seconds

    async def _job_receipt_timeouts(self) -> None:
        async with self.pool.acquire(timeout=10) as conn:
            for name in self.connectors:
                timeout = self.receipt_timeout(name)
                if timeout <= 0:
                    continue
                n = await conn.fetchval(q("receipt_timeouts"), name, timeout, 5000, self.owner)
                if n:
                    log.info("engine.receipts.timed_out", connector=name, count=n)

    async def _job_pending(self) -> None:
        await self.writer.match_pending_now()

    async def _job_depth(self) -> None:
        async with self.pool.acquire(timeout=10) as conn:
            rows = await conn.fetch(q("queue_depth"))
            age = await conn.fetchval(q("oldest_due_age"))
        seen = {r["state"]: r["n"] for r in rows}
        for state in ("queued", "deferred", "sending"):
            metrics.QUEUE_DEPTH.labels(state).set(seen.get(state, 0))
        metrics.OLDEST_DUE_AGE.set(age or 0)

    async def _job_partitions(self) -> None:
        async with self.pool.acquire(timeout=10) as conn:
            await conn.fetchval(q("ensure_partitions"), 1, 7)
            dropped = await conn.fetchval(q("drop_partitions"), self._retention_days)
        if dropped:
            log.info("engine.partitions.dropped", count=dropped)

    # ------------------------------------------------------------------ LISTEN
    async def _listen(self) -> None:
        """Wake the claimer on new rows; reconnects with back-off."""
        if self._database_url is None:
            return
        delay = 0.5
        while True:
            conn = None
            try:
                conn = await asyncpg.connect(self._database_url, server_settings={"application_name": "gateway"})
                await conn.add_listener("gateway_outbox", lambda *args: self._wake.set())
                delay = 0.5
                while not conn.is_closed():
                    await anyio.sleep(1.0)
            except Exception as exc:  # noqa: BLE001
                if not is_connection_error(exc):
                    log.warning("engine.listen.error", error=repr(exc))
            finally:
                if conn is not None and not conn.is_closed():
                    with anyio.CancelScope(shield=True):
                        await conn.close()
            await anyio.sleep(delay)
            delay = min(delay * 2, 10.0)

    # ------------------------------------------------------------------ introspection
    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    def is_ready(self) -> bool:
        return any(p.connector.is_ready() for p in self._pumps.values())
