"""The batched write-back: every outcome, receipt and inbound message goes through here.

Connectors report results one message at a time; the writer gathers them and
writes them in one transaction every ``flush_interval`` or every
``flush_max_rows`` rows, whichever comes first — never one UPDATE per message.

Durability contract:

* results (finish/defer/release) are buffered in memory until committed; the
  engine counts a message as in flight until then, so nothing is claimed past
  what the database has acknowledged. If the daemon dies first, the rows are
  still leased in the outbox and another instance recovers them.
* receipts and inbound messages are awaited by their sender
  (:meth:`store_receipts`) and resolved only after COMMIT, so an SMPP connector
  acknowledges a ``deliver_sm`` only once the receipt is stored.
* a failing transaction is retried with back-off (PostgreSQL restarts lose
  nothing); an operation that fails on its own is isolated so that one bad
  row never blocks the others.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio
import asyncpg
import structlog

from gateway import metrics
from gateway.port import Fallback, InboundMessage, Receipt, ReceiptState
from gateway.db.pool import is_connection_error
from gateway.queue.store import q

log = structlog.get_logger("gateway.writer")

FINAL_RECEIPT_STATES = {
    ReceiptState.DELIVERED: "delivered",
    ReceiptState.UNDELIVERABLE: "undeliverable",
    ReceiptState.EXPIRED: "expired",
    ReceiptState.FAILED: "failed",
    ReceiptState.UNKNOWN: "unknown",
}


@dataclass(slots=True)
class Finish:
    """Move a leased message to the log as submitted or final."""

    id: int
    state: str  # submitted | failed | expired | suppressed | unknown | undeliverable
    channel: str
    reason: str | None = None
    code: str | None = None
    connector: str | None = None
    segments: int = 1
    detail: dict[str, Any] | None = None
    carrier_ids: tuple[str, ...] = ()
    fallback: Fallback | None = None  # kept with the message; enqueued now when the state is final


@dataclass(slots=True)
class Defer:
    """Put a leased message back as deferred until now + delay."""

    id: int
    delay: float
    reason: str
    code: str | None = None
    uncount: bool = False  # the attempt does not count (throttling, release)
    may_be_duplicate: bool = False
    detail: dict[str, Any] | None = None


@dataclass(slots=True)
class _Waiter:
    done: anyio.Event = field(default_factory=anyio.Event)
    error: BaseException | None = None


@dataclass(slots=True)
class _Batch:
    finishes: list[Finish] = field(default_factory=list)
    defers: list[Defer] = field(default_factory=list)
    releases: list[int] = field(default_factory=list)
    receipts: list[tuple[Receipt, _Waiter]] = field(default_factory=list)
    inbound: list[tuple[InboundMessage, _Waiter]] = field(default_factory=list)
    opt_outs: list[tuple[str, str, str]] = field(default_factory=list)
    first_at: float | None = None

    def rows(self) -> int:
        return (
            len(self.finishes)
            + len(self.defers)
            + len(self.releases)
            + len(self.receipts)
            + len(self.inbound)
            + len(self.opt_outs)
        )

    def merge_front(self, older: _Batch) -> None:
        self.finishes[:0] = older.finishes
        self.defers[:0] = older.defers
        self.releases[:0] = older.releases
        self.receipts[:0] = older.receipts
        self.inbound[:0] = older.inbound
        self.opt_outs[:0] = older.opt_outs
        if older.first_at is not None:
            self.first_at = older.first_at if self.first_at is None else min(self.first_at, older.first_at)


class _Lane:
    """One buffer with its own flush loop (and its own connection while flushing)."""

    def __init__(self, name: str, interval: float, max_rows: int) -> None:
        self.name = name
        self.interval = interval
        self.max_rows = max_rows
        self.batch = _Batch()
        self.wake = anyio.Event()
        self.lock = anyio.Lock()  # one flush at a time: flush() waits for the loop's write in progress
        self.urgent = False  # flush without waiting for the interval (someone awaits the commit)


class Writer:
    """Buffers results and writes them in batches (one writer per daemon instance)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        owner: str,
        flush_interval: float = 0.02,
        flush_max_rows: int = 1000,
        on_written: Callable[[Sequence[int]], None] = lambda ids: None,
        clock: Callable[[], float] = time.monotonic,
        notify_interval: float = 0.1,
        retry_max_seconds: float = 5.0,
    ) -> None:
        self._pool = pool
        self._owner = owner
        self._interval = flush_interval
        self._max_rows = flush_max_rows
        self._on_written = on_written
        self._clock = clock
        self._notify_interval = notify_interval
        self._retry_max = retry_max_seconds
        # Two lanes: message outcomes, and receipts/inbound. Receipts are awaited by
        # carriers (acks wait for the commit), so they must not queue behind big
        # outcome batches. A receipt whose submit is still being written by the
        # main lane is stored as pending (one cheap INSERT) and acknowledged; the
        # main lane matches it in the same transaction that stores the submit, or
        # the next one.
        self._main = _Lane("main", flush_interval, flush_max_rows)
        self._rlane = _Lane("receipts", min(flush_interval, 0.005), flush_max_rows)
        self._last_notify = 0.0
        self._pending_receipts = True  # unknown at start: look once
        self._last_pending_check = 0.0
        self.written_rows = 0

    # ------------------------------------------------------------------ intake
    def _touch(self, lane: _Lane) -> None:
        if lane.batch.first_at is None:
            lane.batch.first_at = self._clock()
            lane.wake.set()
        elif lane.batch.rows() >= lane.max_rows:
            lane.wake.set()

    def finish(self, op: Finish) -> None:
        self._main.batch.finishes.append(op)
        self._touch(self._main)

    def defer(self, op: Defer) -> None:
        self._main.batch.defers.append(op)
        self._touch(self._main)

    def release(self, ids: Sequence[int]) -> None:
        if ids:
            self._main.batch.releases.extend(ids)
            self._touch(self._main)

    def add_opt_out(self, scope: str, recipient: str, source: str) -> None:
        self._rlane.batch.opt_outs.append((scope, recipient, source))
        self._touch(self._rlane)

    async def store_receipts(self, receipts: Sequence[Receipt]) -> None:
        """Return once the receipts are committed (raise if they could not be)."""
        await self._store_awaited(self._rlane.batch.receipts, receipts)

    async def store_inbound(self, messages: Sequence[InboundMessage]) -> None:
        """Return once the inbound messages are committed (raise if they could not be)."""
        await self._store_awaited(self._rlane.batch.inbound, messages)

    async def _store_awaited(self, target: list[tuple[Any, _Waiter]], items: Sequence[Any]) -> None:
        if not items:
            return
        waiter = _Waiter()
        target.extend((item, waiter) for item in items)
        self._touch(self._rlane)
        await waiter.done.wait()
        if waiter.error is not None:
            raise waiter.error

    def kick(self) -> None:
        """Flush the outcome lane now (someone is waiting for its commit)."""
        if self._main.batch.rows():
            self._main.urgent = True
            self._main.wake.set()

    @property
    def buffered(self) -> int:
        return self._main.batch.rows() + self._rlane.batch.rows()

    # ------------------------------------------------------------------ loop
    async def run(self, *, task_status: Any = anyio.TASK_STATUS_IGNORED) -> None:
        """Flush both lanes until cancelled; on cancellation, flush what is buffered (shielded)."""
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._lane_loop, self._main)
                tg.start_soon(self._lane_loop, self._rlane)
                task_status.started()
        finally:
            with anyio.CancelScope(shield=True), anyio.move_on_after(10):
                await self.flush(retry=True)

    async def _lane_loop(self, lane: _Lane) -> None:
        while True:
            await self._wait_for_work(lane)
            await self._flush_lane(lane)

    async def _wait_for_work(self, lane: _Lane) -> None:
        while True:
            if lane.batch.first_at is None:
                lane.wake = anyio.Event()
                await lane.wake.wait()
                continue
            if lane.batch.rows() >= lane.max_rows or lane.urgent:
                lane.urgent = False
                return
            remaining = lane.batch.first_at + lane.interval - self._clock()
            if remaining <= 0:
                return
            lane.wake = anyio.Event()
            with anyio.move_on_after(remaining):
                await lane.wake.wait()

    async def flush(self, *, retry: bool = True) -> None:
        """Write everything buffered in both lanes now (outcomes first)."""
        await self._flush_lane(self._main, retry=retry)
        await self._flush_lane(self._rlane, retry=retry)
        if self._main.batch.rows():
            await self._flush_lane(self._main, retry=retry)

    async def _flush_lane(self, lane: _Lane, *, retry: bool = True) -> None:
        """Write what the lane holds. Retries on database errors until it succeeds.

        One flush per lane at a time, so that ``flush()`` at shutdown waits for a
        write the loop has in progress instead of returning early."""
        async with lane.lock:
            await self._flush_lane_locked(lane, retry=retry)

    async def _flush_lane_locked(self, lane: _Lane, *, retry: bool = True) -> None:
        delay = 0.05
        while lane.batch.rows():
            batch, lane.batch = lane.batch, _Batch()
            started = self._clock()
            try:
                await self._write(batch)
            except anyio.get_cancelled_exc_class():
                lane.batch.merge_front(batch)  # rolled back: keep it for the shielded final flush
                raise
            except Exception as exc:  # noqa: BLE001 - every failure is retried or isolated
                metrics.FLUSH_ERRORS.inc()
                if is_connection_error(exc):
                    log.warning("writer.flush.failed", lane=lane.name, error=str(exc), rows=batch.rows(),
                                retry_in=delay)
                    lane.batch.merge_front(batch)
                    await _expire(self._pool)
                    if not retry:
                        raise
                    await anyio.sleep(delay)
                    delay = min(delay * 2, self._retry_max)
                    continue
                log.error("writer.flush.error", lane=lane.name, error=repr(exc), rows=batch.rows())
                await self._write_isolated(batch, lane)
            else:
                delay = 0.05
                metrics.FLUSH_SECONDS.observe(self._clock() - started)
                metrics.FLUSH_BATCH.observe(batch.rows())
                self.written_rows += batch.rows()

    async def _write_isolated(self, batch: _Batch, lane: _Lane) -> None:
        """Write each operation alone so a bad one cannot block the others."""
        failed: dict[int, tuple[_Waiter, BaseException]] = {}
        succeeded: dict[int, _Waiter] = {}
        requeued: set[int] = set()
        for part in _split(batch):
            waiters = [w for _, w in part.receipts + part.inbound]
            try:
                await self._write(part, resolve=False)
            except Exception as exc:  # noqa: BLE001
                if is_connection_error(exc):
                    lane.batch.merge_front(part)
                    requeued.update(id(w) for w in waiters)
                    continue
                log.error("writer.op.dropped", error=repr(exc), detail=_describe(part))
                # Leases expire and another claim retries the message; receipts are
                # not acknowledged, so the carrier sends them again.
                for w in waiters:
                    failed[id(w)] = (w, exc)
                ids = [f.id for f in part.finishes] + [d.id for d in part.defers] + part.releases
                self._on_written(ids)
            else:
                for w in waiters:
                    succeeded[id(w)] = w
        for key, (waiter, exc) in failed.items():
            waiter.error = exc
            waiter.done.set()
        for key, waiter in succeeded.items():
            if key not in failed and key not in requeued:
                waiter.done.set()

    # ------------------------------------------------------------------ SQL
    async def _write(self, batch: _Batch, *, resolve: bool = True) -> None:
        written_ids: list[int] = []
        went_pending = False
        async with self._pool.acquire(timeout=10) as conn, conn.transaction():
            if batch.finishes:
                await self._write_finishes(conn, batch.finishes)
                written_ids.extend(f.id for f in batch.finishes)
                fallbacks = [f.id for f in batch.finishes if f.fallback is not None and f.state != "submitted"]
                if fallbacks:
                    await conn.fetchval(q("enqueue_fallbacks"), fallbacks, self._owner)
            if batch.defers:
                await self._write_defers(conn, batch.defers)
                written_ids.extend(d.id for d in batch.defers)
            if batch.releases:
                await conn.fetchval(q("release"), batch.releases, self._owner)
                written_ids.extend(batch.releases)
            if batch.receipts:
                went_pending = await self._write_receipts(conn, [r for r, _ in batch.receipts])
            if batch.finishes and any(f.carrier_ids for f in batch.finishes):
                await self._match_pending(conn)
            if batch.inbound:
                await self._write_inbound(conn, [m for m, _ in batch.inbound])
            if batch.opt_outs:
                scopes, numbers, sources = zip(*batch.opt_outs)
                await conn.execute(q("add_opt_outs"), list(scopes), list(numbers), list(sources))
            now = self._clock()
            if now - self._last_notify >= self._notify_interval:
                self._last_notify = now
                await conn.execute(q("notify_events"))
        if went_pending:  # committed now: the next submit flush looks for their matches
            self._pending_receipts = True
        if resolve:
            for _, waiter in batch.receipts + batch.inbound:
                waiter.done.set()
        if written_ids:
            self._on_written(written_ids)

    async def _write_finishes(self, conn: asyncpg.Connection, finishes: list[Finish]) -> None:
        c_conn, c_ids, c_msg, c_seg, c_segs = [], [], [], [], []
        for f in finishes:
            n = len(f.carrier_ids)
            for i, cid in enumerate(f.carrier_ids, start=1):
                c_conn.append(f.connector)
                c_ids.append(cid)
                c_msg.append(f.id)
                c_seg.append(i)
                c_segs.append(n)
        moved = await conn.fetch(
            q("finish"),
            [f.id for f in finishes],
            [f.state for f in finishes],
            [f.reason for f in finishes],
            [f.code for f in finishes],
            [f.connector for f in finishes],
            [f.segments for f in finishes],
            [f.detail for f in finishes],
            self._owner,
            c_conn,
            c_ids,
            c_msg,
            c_seg,
            c_segs,
            [f.fallback.as_json() if f.fallback is not None else None for f in finishes],
        )
        for f in finishes:
            metrics.MESSAGES.labels(f.channel, f.connector or "-", f.state).inc()
        if len(moved) != len(finishes):
            log.warning("writer.lease_lost", expected=len(finishes), moved=len(moved), op="finish")

    async def _write_defers(self, conn: asyncpg.Connection, defers: list[Defer]) -> None:
        done = await conn.fetch(
            q("defer"),
            [d.id for d in defers],
            [d.delay for d in defers],
            [d.reason for d in defers],
            [d.code for d in defers],
            [d.uncount for d in defers],
            [d.may_be_duplicate for d in defers],
            [d.detail for d in defers],
            self._owner,
        )
        if len(done) != len(defers):
            log.warning("writer.lease_lost", expected=len(defers), moved=len(done), op="defer")

    async def _write_receipts(self, conn: asyncpg.Connection, receipts: list[Receipt]) -> bool:
        """Apply receipts; those whose carrier id is unknown yet are stored as pending (returns True then)."""
        went_pending = False
        groups: dict[tuple[str, str, str | None], list[Receipt]] = defaultdict(list)
        intermediate = 0
        for r in receipts:
            state = FINAL_RECEIPT_STATES.get(r.state)
            if state is None:
                intermediate += 1
                continue
            groups[(r.connector, state, r.code)].append(r)
        unmatched: list[tuple[Receipt, str]] = []
        multipart: set[int] = set()
        fallbacks: list[int] = []
        for (connector, state, code), items in groups.items():
            ids = [r.carrier_id for r in items]
            detail = items[0].detail if len(items) == 1 else None
            applied = await conn.fetch(q("receipt_segments"), connector, ids, state, code)
            single = [r["message_id"] for r in applied if r["segments"] == 1]
            multipart.update(r["message_id"] for r in applied if r["segments"] > 1)
            if single:
                created = [r["message_created_at"] for r in applied if r["segments"] == 1]
                await conn.execute(
                    q("receipt_messages"), single, min(created), max(created), state, code, self._owner,
                    dict(detail) if detail else None,
                )
            if state != "delivered":
                wants = {r.carrier_id for r in items if r.fallback}
                fallbacks.extend(r["message_id"] for r in applied if r["carrier_id"] in wants)
            seen = {r["carrier_id"] for r in applied}
            missing = [cid for cid in ids if cid not in seen]
            if missing:  # duplicates of stored receipts, or receipts ahead of their submit
                known = {r["carrier_id"] for r in await conn.fetch(q("carrier_ids_known"), connector, missing)}
                unmatched.extend((r, state) for r in items if r.carrier_id not in seen and r.carrier_id not in known)
            metrics.RECEIPTS.labels(connector, state).inc(len(items))
        if multipart:
            await conn.fetchval(q("finalize_multipart"), list(multipart), self._owner)
        if fallbacks:
            await conn.fetchval(q("enqueue_fallbacks"), fallbacks, self._owner)
        if unmatched:
            await conn.execute(
                q("store_pending_receipts"),
                [r.connector for r, _ in unmatched],
                [r.carrier_id for r, _ in unmatched],
                [s for _, s in unmatched],
                [r.code for r, _ in unmatched],
                [r.done_at for r, _ in unmatched],
                [dict(r.detail) if r.detail else None for r, _ in unmatched],
                [r.fallback for r, _ in unmatched],
            )
            for r, _ in unmatched:
                metrics.RECEIPTS_UNMATCHED.labels(r.connector).inc()
            went_pending = True
        if intermediate:
            log.debug("writer.receipts.intermediate", count=intermediate)
        return went_pending

    async def _match_pending(self, conn: asyncpg.Connection, *, force: bool = False) -> None:
        """Apply pending receipts whose submit is now stored.

        The main lane calls it after storing submits, when a receipt went
        pending since the last look (the flag is set only after the receipt
        lane committed, and cleared before looking, so no insert is missed);
        the housekeeping job calls it every few seconds regardless (force)."""
        now = self._clock()
        if not force and (not self._pending_receipts or now - self._last_pending_check < 0.05):
            return
        self._last_pending_check = now
        self._pending_receipts = False
        rows = await conn.fetch(q("take_matched_pending"))
        if not rows:
            return
        inverse = {v: k for k, v in FINAL_RECEIPT_STATES.items()}
        await self._write_receipts(
            conn,
            [
                Receipt(
                    connector=r["connector"],
                    carrier_id=r["carrier_id"],
                    state=inverse[r["state"]],
                    code=r["code"],
                    done_at=r["done_at"],
                    detail=r["detail"],
                    fallback=r["fallback"],
                )
                for r in rows
            ],
        )

    async def match_pending_now(self) -> None:
        """Periodic safety net: apply pending receipts whose submit is now stored."""
        async with self._pool.acquire() as conn, conn.transaction():
            await self._match_pending(conn, force=True)

    async def _write_inbound(self, conn: asyncpg.Connection, messages: list[InboundMessage]) -> None:
        await conn.fetchval(
            q("store_inbound"),
            [m.connector for m in messages],
            [m.sender for m in messages],
            [m.recipient for m in messages],
            [m.body for m in messages],
            [m.received_at for m in messages],
            [dict(m.detail) if m.detail else None for m in messages],
        )
        for m in messages:
            metrics.INBOUND.labels(m.connector).inc()


def _split(batch: _Batch) -> list[_Batch]:
    parts: list[_Batch] = []
    parts.extend(_Batch(finishes=[f]) for f in batch.finishes)
    parts.extend(_Batch(defers=[d]) for d in batch.defers)
    if batch.releases:
        parts.append(_Batch(releases=list(batch.releases)))
    parts.extend(_Batch(receipts=[r]) for r in batch.receipts)
    parts.extend(_Batch(inbound=[m]) for m in batch.inbound)
    parts.extend(_Batch(opt_outs=[o]) for o in batch.opt_outs)
    return parts


def _describe(part: _Batch) -> dict[str, Any]:
    if part.finishes:
        return {"op": "finish", "message_id": part.finishes[0].id}
    if part.defers:
        return {"op": "defer", "message_id": part.defers[0].id}
    if part.receipts:
        r = part.receipts[0][0]
        return {"op": "receipt", "connector": r.connector}
    if part.inbound:
        return {"op": "inbound", "connector": part.inbound[0][0].connector}
    return {"op": "other"}


async def _expire(pool: asyncpg.Pool) -> None:
    """After a connection failure, make the pool reconnect instead of reusing broken connections."""
    try:
        await pool.expire_connections()
    except Exception as exc:  # noqa: BLE001
        log.debug("writer.pool.expire_failed", error=repr(exc))
