"""The queue's store: the one room that talks to PostgreSQL for the engine and the writer.

Every statement is a named block in ``sql/queries.sql`` and one method here
(procrastinate's manager). The engine and the writer never write SQL; they
depend on the :class:`Store` protocol, which :class:`PgStore` implements on an
asyncpg pool and :class:`gateway.queue.memory.InMemoryStore` in memory for
unit tests.

Failures of the connection (PostgreSQL restarting, a killed backend) are
reported by :meth:`Store.is_transient`; callers retry those and isolate the
rest.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

import anyio
import asyncpg
import structlog
from asyncpg.pool import PoolConnectionProxy

from gateway import metrics
from gateway.db.pool import DbConnection, is_connection_error
from gateway.db.queries import Queries
from gateway.numbers import Number, canonical
from gateway.port import Fallback, InboundMessage, MessageState, OutboundMessage, Receipt, ReceiptQuery
from gateway.queue.reconcile import Reconciler
from gateway.queue.transitions import Reschedule, Settle, WriteBatch

__all__ = ["Claim", "InstanceInfo", "PgStore", "Q", "Store"]

log = structlog.get_logger("gateway.store")

Q = Queries("gateway.queue")

_ACQUIRE_TIMEOUT = 10.0
# A pending receipt whose carrier id no message carried after this long is dropped (receipt_unmatched).
PENDING_RECEIPT_MAX_AGE = 24 * 3600.0
# The writer's lanes keep a connection each only when the pool leaves this many for everything else.
_HOLD_LANES_MIN_POOL = 6


@dataclass(frozen=True, slots=True)
class Claim:
    """What one claim statement returned."""

    messages: list[tuple[OutboundMessage, bool | None]] = field(default_factory=list)  # (message, consent)
    # Rows that could not be read as a message: (id, channel, error). Failed alone.
    invalid: list[tuple[int, str, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.messages) + len(self.invalid)


@dataclass(frozen=True, slots=True)
class InstanceInfo:
    """One process run: its rows' lease_owner, and how long its leases outlive its last heartbeat."""

    owner: str
    host: str
    pid: int
    version: str
    lease_seconds: float = 30.0
    place: str | None = None  # boot id and pid namespace: where the pid means something


class Store(Protocol):
    """What the engine and the writer need from the database, for one process run.

    ``owner`` names the run: its leases, events and heartbeat carry it."""

    owner: str

    def is_transient(self, exc: BaseException) -> bool:
        """The failure is the connection's, not the data's: retry it."""
        ...

    async def reset(self) -> None:
        """After a transient failure: drop connections that may be broken."""
        ...

    async def start(self, instance: InstanceInfo) -> None: ...

    async def stopped(self) -> None: ...

    async def runs_in_place(self, instance: InstanceInfo) -> list[tuple[str, int]]:
        """Earlier runs counted alive in the same place (machine boot and pid namespace): (name, pid)."""
        ...

    async def mark_dead(self, runs: Sequence[str]) -> None:
        """These runs' processes are gone: give their work back without waiting for their leases."""
        ...

    async def claim(self, limit: int, channels: Sequence[str]) -> Claim: ...

    async def write(self, batch: WriteBatch, *, lane: str | None = None) -> None:
        """Apply the batch in one transaction (all or nothing).

        ``lane``: the caller writes one batch at a time under this name (the writer's buffers), so a
        store may keep a connection for it instead of taking one from its pool for each batch."""
        ...

    async def match_pending_receipts(self) -> None: ...

    async def release_lanes(self) -> None:
        """The writer is done with its lanes (see ``write``)."""
        ...

    async def promote_due(self, limit: int) -> int: ...

    async def heartbeat(self, instance: InstanceInfo, stats: dict[str, Any]) -> None:
        """This run is alive (its leases last ``instance.lease_seconds`` from now)."""
        ...

    async def recover_leases(self, limit: int) -> int:
        """Give back the rows of runs whose leases expired (flagged); the number given back."""
        ...

    async def release_orphans(self, known: Sequence[int]) -> int:
        """Give back rows leased to this run that it does not hold (not in ``known``); the number."""
        ...

    async def receipt_timeouts(self, connector: str, after_seconds: float, limit: int) -> int:
        """Messages of ``connector`` submitted over ``after_seconds`` ago with no receipt become unknown."""
        ...

    async def next_receipt_deadline(self, connector: str, after_seconds: float) -> float | None:
        """Seconds until the earliest submitted message of ``connector`` is ``after_seconds`` old (None: none)."""
        ...

    async def overdue_receipts(self, connector: str, after_seconds: float, limit: int) -> list[ReceiptQuery]:
        """The carrier ids of messages past their receipt deadline (at most ``limit`` messages), to query."""
        ...

    async def queue_depth(self) -> tuple[dict[str, int], float]:
        """Outbox rows per state, and the age in seconds of the oldest due queued one."""
        ...

    async def maintain_partitions(self) -> int:
        """Create the coming days' partitions, drop those past retention; the number dropped."""
        ...


def _accepted_json(s: Settle) -> dict[str, Any]:
    return {
        "id": s.id,
        "channel": s.channel,
        "connector": s.connector,
        "code": s.code,
        "segments": s.segments,
        "carrier_ids": list(s.carrier_ids),
        "detail": dict(s.detail) if s.detail else None,
        "fallback": s.fallback.as_json() if s.fallback is not None else None,
    }


def _coalesced_arrays(
    settles: list[Settle], receipts: dict[int, Receipt] | None
) -> tuple[list[str | None], list[str | None], list[dict[str, Any] | None]]:
    """finish's $16..$18: the final receipt riding on each Settle (state, code, detail), or NULLs."""
    n = len(settles)
    if not receipts:
        return [None] * n, [None] * n, [None] * n
    states: list[str | None] = []
    codes: list[str | None] = []
    details: list[dict[str, Any] | None] = []
    for s in settles:
        r = receipts.get(s.id)
        state = r.state.message_state if r is not None else None
        states.append(state.value if state is not None else None)
        codes.append(r.code if r is not None else None)
        details.append(dict(r.detail) if r is not None and r.detail else None)
    return states, codes, details


def _settle_from_journal(entry: dict[str, Any], previous_owner: str) -> Settle:
    detail = dict(entry.get("detail") or {})
    detail["recovered_from"] = previous_owner
    fb = entry.get("fallback")
    return Settle(
        entry["id"],
        MessageState.SUBMITTED,
        entry["channel"],
        code=entry.get("code"),
        connector=entry.get("connector"),
        segments=entry.get("segments") or 1,
        detail=detail,
        carrier_ids=tuple(entry.get("carrier_ids") or ()),
        fallback=Fallback(fb["channel"], fb["sender"], fb["body"], fb.get("extras") or {}) if fb else None,
    )


def _message(row: asyncpg.Record, default_region: str | None) -> OutboundMessage:
    """The claimed row as a message, its recipient read once (canonical E.164 when it is a number)."""
    number = canonical(row["recipient"], default_region)
    return OutboundMessage(
        id=row["id"],
        channel=row["channel"],
        sender=row["sender"],
        recipient=number.e164 if isinstance(number, Number) else row["recipient"],
        body=row["body"],
        kind=row["kind"],
        priority=row["priority"],
        campaign_id=row["campaign_id"],
        expires_at=row["expires_at"],
        extras=row["extras"] or {},
        attempts=row["attempts"],
        created_at=row["created_at"],
        idempotency_key=row["idempotency_key"],
        send_at=row["send_at"],
        number=number,
        may_be_duplicate=row["may_be_duplicate"],
        partial=row["partial"],
        unknown_resends=row["unknown_resends"],
    )


class PgStore:
    """The :class:`Store` on an asyncpg pool (one per daemon instance).

    ``default_region`` reads recipients written in national form (``policy.default_region``).
    The canonical E.164 form of each claimed recipient is remembered until the message
    leaves the outbox, and stored beside the original (``gateway.messages.recipient_e164``).
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        owner: str,
        retention_days: int = 30,
        default_region: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.pool = pool
        self.owner = owner
        self.retention_days = retention_days
        self.default_region = default_region
        self.reconciler = Reconciler(Q, owner=owner, clock=clock)
        self._e164: dict[int, str] = {}  # claimed message id -> canonical recipient
        # One connection kept per write lane (the writer's buffers write one batch at a time each):
        # no pool acquire, release and session reset per batch.
        self._held: dict[str, PoolConnectionProxy[asyncpg.Record]] = {}
        max_size = getattr(pool, "get_max_size", lambda: 0)()
        self._hold_lanes = max_size >= _HOLD_LANES_MIN_POOL

    # ------------------------------------------------------------------ errors
    def is_transient(self, exc: BaseException) -> bool:
        return is_connection_error(exc)

    async def reset(self) -> None:
        await self._release_held()
        try:
            await self.pool.expire_connections()
        except Exception as exc:  # noqa: BLE001 - best effort: the next acquire reconnects anyway
            log.debug("store.pool.expire_failed", error=repr(exc))

    # ------------------------------------------------------------------ instance
    async def start(self, instance: InstanceInfo) -> None:
        async with self.pool.acquire(timeout=_ACQUIRE_TIMEOUT) as conn:
            await conn.fetchval(Q["ensure_partitions"], 1, 7)
        await self.heartbeat(instance, {})

    async def stopped(self) -> None:
        await self._release_held()
        async with self.pool.acquire(timeout=_ACQUIRE_TIMEOUT) as conn:
            await conn.execute(Q["instance_stopped"], self.owner)

    @asynccontextmanager
    async def _connection(self, lane: str | None) -> AsyncIterator[DbConnection]:
        """The lane's own connection (taken from the pool once), or one from the pool for this call."""
        if lane is None or not self._hold_lanes:
            async with self.pool.acquire(timeout=_ACQUIRE_TIMEOUT) as conn:
                yield conn
            return
        held = self._held.get(lane)
        if held is None or held.is_closed():
            held = await self.pool.acquire(timeout=_ACQUIRE_TIMEOUT)
            self._held[lane] = held
        try:
            yield held
        except BaseException:
            # A failed or interrupted write may leave the session in any state: give it back (the pool
            # resets or closes it) and take a fresh one next time.
            if self._held.get(lane) is held:
                del self._held[lane]
            with anyio.CancelScope(shield=True):
                await self._give_back(held)
            raise

    async def _release_held(self) -> None:
        held, self._held = list(self._held.values()), {}
        with anyio.CancelScope(shield=True):
            for conn in held:
                await self._give_back(conn)

    async def release_lanes(self) -> None:
        """The writer is done: give the lanes' connections back to the pool."""
        await self._release_held()

    async def _give_back(self, conn: PoolConnectionProxy[asyncpg.Record]) -> None:
        try:
            await self.pool.release(conn, timeout=5)
        except Exception as exc:  # noqa: BLE001 - a broken connection: the pool replaces it
            log.debug("store.release_failed", error=repr(exc))

    async def runs_in_place(self, instance: InstanceInfo) -> list[tuple[str, int]]:
        if instance.place is None:
            return []
        async with self.pool.acquire(timeout=_ACQUIRE_TIMEOUT) as conn:
            rows = await conn.fetch(Q["runs_in_place"], instance.owner, instance.place)
        return [(r["name"], r["pid"]) for r in rows]

    async def mark_dead(self, runs: Sequence[str]) -> None:
        async with self.pool.acquire(timeout=_ACQUIRE_TIMEOUT) as conn:
            await conn.execute(Q["mark_dead"], list(runs))

    async def heartbeat(self, instance: InstanceInfo, stats: dict[str, Any]) -> None:
        async with self.pool.acquire(timeout=_ACQUIRE_TIMEOUT) as conn:
            await conn.execute(
                Q["heartbeat"],
                instance.owner,
                instance.host,
                instance.pid,
                instance.version,
                stats,
                instance.lease_seconds,
                instance.place,
            )

    # ------------------------------------------------------------------ claims
    async def claim(self, limit: int, channels: Sequence[str]) -> Claim:
        async with self.pool.acquire(timeout=_ACQUIRE_TIMEOUT) as conn:
            rows = await conn.fetch(Q["claim"], self.owner, limit, list(channels))
        claim = Claim()
        region = self.default_region
        for row in rows:
            try:
                message = _message(row, region)
            except Exception as exc:  # noqa: BLE001 - a bad row fails alone
                claim.invalid.append((row["id"], row["channel"], repr(exc)[:300]))
                continue
            claim.messages.append((message, row["consent"]))
            if isinstance(message.number, Number):
                self._e164[message.id] = message.number.e164
        return claim

    async def promote_due(self, limit: int) -> int:
        async with self.pool.acquire(timeout=_ACQUIRE_TIMEOUT) as conn:
            return int(await conn.fetchval(Q["promote_due"], limit, self.owner))

    async def recover_leases(self, limit: int) -> int:
        async with self.pool.acquire(timeout=_ACQUIRE_TIMEOUT) as conn:
            dead = [r["name"] for r in await conn.fetch(Q["dead_runs"], self.owner)]
            if not dead:
                return 0
            settled = await self._settle_accepted(conn, dead)
            rows = await conn.fetch(Q["recover_leases"], limit, self.owner, dead)
            per_run: dict[str, tuple[int, int]] = {
                r["previous_owner"]: (int(r["recovered"]), int(r["flagged"])) for r in rows
            }
            for run in set(per_run) | set(settled):
                requeued, flagged = per_run.get(run, (0, 0))
                done = settled.get(run, 0)
                await conn.execute(Q["record_recovery"], run, requeued, flagged, done, self.owner)
                metrics.RECOVERY_ROWS.labels("requeued_flagged").inc(flagged)
                metrics.RECOVERY_ROWS.labels("requeued").inc(requeued - flagged)
                metrics.RECOVERY_ROWS.labels("settled").inc(done)
                log.warning(
                    "store.run.recovered", run=run, requeued=requeued, flagged=flagged, settled_from_journal=done
                )
            n = sum(settled.values()) + sum(r for r, _ in per_run.values())
            if n < limit:  # nothing left behind: the next look can skip them
                await conn.execute(Q["mark_recovered"], dead)
                metrics.RECOVERED_RUNS.inc(len(dead))
            return n

    async def release_orphans(self, known: Sequence[int]) -> int:
        async with self.pool.acquire(timeout=_ACQUIRE_TIMEOUT) as conn:
            return int(await conn.fetchval(Q["release_orphans"], self.owner, list(known)))

    async def _settle_accepted(self, conn: DbConnection, dead: list[str]) -> dict[str, int]:
        """Submits the dead runs had accepted but not settled: settle them from their journal, never resend.
        How many per run."""
        rows = await conn.fetch(Q["journal_accepted_of"], dead)
        if not rows:
            return {}
        settles = {r["entry"]["id"]: _settle_from_journal(r["entry"], r["owner"]) for r in rows}
        owners = {r["entry"]["id"]: r["owner"] for r in rows}
        async with conn.transaction():
            taken = {r["id"] for r in await conn.fetch(Q["take_over"], list(settles), dead, self.owner)}
            if taken:
                await self._settle(conn, [s for mid, s in settles.items() if mid in taken])
        if taken:
            log.warning("store.recovered.accepted", count=len(taken), runs=dead)
        per_run: dict[str, int] = {}
        for mid in taken:
            per_run[owners[mid]] = per_run.get(owners[mid], 0) + 1
        return per_run

    async def receipt_timeouts(self, connector: str, after_seconds: float, limit: int) -> int:
        async with self.pool.acquire(timeout=_ACQUIRE_TIMEOUT) as conn:
            return int(await conn.fetchval(Q["receipt_timeouts"], connector, after_seconds, limit, self.owner))

    async def next_receipt_deadline(self, connector: str, after_seconds: float) -> float | None:
        async with self.pool.acquire(timeout=_ACQUIRE_TIMEOUT) as conn:
            value = await conn.fetchval(Q["next_receipt_deadline"], connector, after_seconds)
        return None if value is None else float(value)

    async def overdue_receipts(self, connector: str, after_seconds: float, limit: int) -> list[ReceiptQuery]:
        async with self.pool.acquire(timeout=_ACQUIRE_TIMEOUT) as conn:
            rows = await conn.fetch(Q["overdue_receipts"], connector, after_seconds, limit)
        return [ReceiptQuery(r["id"], r["carrier_id"], r["sender"]) for r in rows]

    async def queue_depth(self) -> tuple[dict[str, int], float]:
        async with self.pool.acquire(timeout=_ACQUIRE_TIMEOUT) as conn:
            rows = await conn.fetch(Q["queue_depth"])
            age = await conn.fetchval(Q["oldest_due_age"])
        return {r["state"]: r["n"] for r in rows}, float(age or 0)

    async def maintain_partitions(self) -> int:
        async with self.pool.acquire(timeout=_ACQUIRE_TIMEOUT) as conn:
            await conn.fetchval(Q["ensure_partitions"], 1, 7)
            for row in await conn.fetch(Q["expire_pending_receipts"], PENDING_RECEIPT_MAX_AGE):
                log.warning("store.receipts.unmatched", connector=row["connector"], count=row["n"])
                metrics.RECEIPTS_DROPPED.labels(row["connector"], "receipt_unmatched").inc(row["n"])
            await conn.execute(Q["prune_dropped_receipts"], self.retention_days)
            return int(await conn.fetchval(Q["drop_partitions"], self.retention_days) or 0)

    # ------------------------------------------------------------------ write-back
    async def write(self, batch: WriteBatch, *, lane: str | None = None) -> None:
        written = [(s.connector or "", cid) for s in batch.settles for cid in s.carrier_ids if cid]
        if written:  # the frequent look for pending receipts probes these
            self.reconciler.written([c for c, _ in written], [i for _, i in written])
        if self._one_statement(batch):
            # The hot path (submits, with their riding receipts and the journal entries they close)
            # is one statement: atomic on its own, no BEGIN/COMMIT round trips.
            async with self._connection(lane) as conn:
                await self._settle(conn, batch.settles, batch.coalesced, journal_done=batch.journal_done)
            self._after_write(batch)
            return
        if self._journal_only(batch):
            async with self._connection(lane) as conn:
                await self._journal_add(conn, batch)
            return
        went_pending = False
        async with self._connection(lane) as conn, conn.transaction():
            if batch.settles:
                await self._settle(conn, batch.settles, batch.coalesced, journal_done=batch.journal_done)
            if batch.reschedules:
                await self._reschedule(conn, batch.reschedules)
            if batch.releases:
                await conn.fetchval(Q["release"], batch.releases, self.owner)
            if batch.receipts:
                went_pending = await self.reconciler.apply(conn, batch.receipts)
            if written:
                await self.reconciler.match_pending(conn)
            if batch.inbound:
                await self._store_inbound(conn, batch.inbound)
            if batch.journal:
                await self._journal_add(conn, batch)
            if batch.journal_done and not batch.settles:  # with settles, finish closes them
                await conn.execute(Q["journal_done"], self.owner, batch.journal_done)
            if batch.opt_outs:
                await conn.execute(
                    Q["add_opt_outs"],
                    [o.scope for o in batch.opt_outs],
                    [o.recipient for o in batch.opt_outs],
                    [o.source for o in batch.opt_outs],
                )
        if went_pending:  # committed now: the next submit write looks for their matches
            self.reconciler.pending_committed()
        self._after_write(batch)

    def _one_statement(self, batch: WriteBatch) -> bool:
        """Settles (and the journal entries they close) that finish alone writes completely."""
        if not batch.settles or batch.reschedules or batch.releases or batch.receipts or batch.inbound:
            return False
        if batch.journal or batch.opt_outs:
            return False
        if any(s.fallback is not None and s.state is not MessageState.SUBMITTED for s in batch.settles):
            return False  # a fallback to enqueue
        return not self.reconciler.wants_look()  # else pending receipts to match in the same transaction

    @staticmethod
    def _journal_only(batch: WriteBatch) -> bool:
        return bool(batch.journal) and not (
            batch.settles
            or batch.reschedules
            or batch.releases
            or batch.receipts
            or batch.inbound
            or batch.opt_outs
            or batch.journal_done
        )

    async def _journal_add(self, conn: DbConnection, batch: WriteBatch) -> None:
        await conn.execute(
            Q["journal_add"],
            self.owner,
            [e.seq for e in batch.journal],
            ["{" + ",".join(map(str, e.handed)) + "}" for e in batch.journal],
            [
                json.dumps([_accepted_json(s) for s in e.accepted], separators=(",", ":")) if e.accepted else None
                for e in batch.journal
            ],
        )

    def _after_write(self, batch: WriteBatch) -> None:
        """Committed: forget the claimed recipients written back, count the settles."""
        if self._e164:
            for mid in batch.message_ids():
                self._e164.pop(mid, None)
        # Counted per batch, not per message: one labels() look-up per (channel, connector, state).
        for (channel, connector, state), n in Counter(
            (s.channel, s.connector or "-", s.state.value) for s in batch.settles
        ).items():
            metrics.MESSAGES.labels(channel, connector, state).inc(n)
        for connector, n in Counter(m.connector for m in batch.inbound).items():
            metrics.INBOUND.labels(connector).inc(n)

    async def match_pending_receipts(self) -> None:
        async with self.pool.acquire(timeout=_ACQUIRE_TIMEOUT) as conn, conn.transaction():
            await self.reconciler.match_pending(conn, force=True)

    async def _settle(
        self,
        conn: DbConnection,
        settles: list[Settle],
        receipts: dict[int, Receipt] | None = None,
        *,
        journal_done: Sequence[int] = (),
    ) -> None:
        c_conn: list[str | None] = []
        c_ids: list[str] = []
        c_msg: list[int] = []
        c_seg: list[int] = []
        c_segs: list[int] = []
        for s in settles:
            n = len(s.carrier_ids)
            for i, cid in enumerate(s.carrier_ids, start=1):
                c_conn.append(s.connector)
                c_ids.append(cid)
                c_msg.append(s.id)
                c_seg.append(i)
                c_segs.append(n)
            for connector, cid, segment, segments in s.earlier_carrier_ids:
                c_conn.append(connector or s.connector)
                c_ids.append(cid)
                c_msg.append(s.id)
                c_seg.append(segment)
                c_segs.append(segments)
        moved = await conn.fetch(
            Q["finish"],
            [s.id for s in settles],
            [s.state.value for s in settles],
            [s.reason for s in settles],
            [s.code for s in settles],
            [s.connector for s in settles],
            [s.segments for s in settles],
            [dict(s.detail) if s.detail else None for s in settles],
            self.owner,
            c_conn,
            c_ids,
            c_msg,
            c_seg,
            c_segs,
            [s.fallback.as_json() if s.fallback is not None else None for s in settles],
            [self._e164.get(s.id) for s in settles],
            *_coalesced_arrays(settles, receipts),
            [s.submitted_at for s in settles],
            list(journal_done),
        )
        if receipts:  # submit -> receipt, as the reconciler counts it for receipts applied later
            per_connector: dict[str, list[float]] = {}
            for row in moved:
                if row["with_receipt"]:
                    per_connector.setdefault(receipts[row["id"]].connector, []).append(row["receipt_seconds"])
            for connector, seconds in per_connector.items():
                metrics.SUBMIT_TO_RECEIPT.labels(connector).observe_many(seconds)
        if len(moved) != len(settles):
            log.warning("store.lease_lost", expected=len(settles), moved=len(moved), op="settle")
        fallbacks = [s.id for s in settles if s.fallback is not None and s.state is not MessageState.SUBMITTED]
        if fallbacks:
            await conn.fetchval(Q["enqueue_fallbacks"], fallbacks, self.owner)

    async def _reschedule(self, conn: DbConnection, reschedules: list[Reschedule]) -> None:
        done = await conn.fetch(
            Q["defer"],
            [r.id for r in reschedules],
            [r.delay for r in reschedules],
            [r.reason for r in reschedules],
            [r.code for r in reschedules],
            [not r.counts for r in reschedules],
            [r.may_be_duplicate for r in reschedules],
            [dict(r.detail) if r.detail else None for r in reschedules],
            self.owner,
            [dict(r.partial) if r.partial else None for r in reschedules],
            [r.unknown_resend for r in reschedules],
        )
        if len(done) != len(reschedules):
            log.warning("store.lease_lost", expected=len(reschedules), moved=len(done), op="reschedule")

    async def _store_inbound(self, conn: DbConnection, messages: list[InboundMessage]) -> None:
        await conn.fetchval(
            Q["store_inbound"],
            [m.connector for m in messages],
            [m.sender for m in messages],
            [m.recipient for m in messages],
            [m.body for m in messages],
            [m.received_at for m in messages],
            [dict(m.detail) if m.detail else None for m in messages],
        )
