"""An in-memory :class:`~gateway.queue.store.Store` for unit tests of the engine and the writer.

It keeps the outbox, the message log, the events and the carrier ids in
dictionaries and applies the same transitions as :class:`~gateway.queue.store.PgStore`
(claims with leases, settle/reschedule/release only under one's own lease,
receipts by carrier id, fallbacks enqueued on failure), without PostgreSQL.
It is not a second implementation to run in production: no concurrency
between instances, no partitions, pending receipts matched at once.

Failures can be injected: ``fail_next_writes(n, exc)`` makes the next ``n``
calls to :meth:`InMemoryStore.write` raise ``exc`` (a ``ConnectionError`` is
transient, anything else is a data error).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from gateway.numbers import Number, canonical
from gateway.port import (
    Fallback,
    InboundMessage,
    MessageState,
    OutboundMessage,
    QueueReason,
    ReceiptQuery,
    ReceiptState,
)
from gateway.queue.store import Claim, InstanceInfo
from gateway.queue.transitions import OptOut, WriteBatch

__all__ = ["Event", "InMemoryStore", "LogEntry"]


@dataclass(slots=True)
class _Row:
    message: OutboundMessage
    consent: bool | None = None
    state: MessageState = MessageState.QUEUED
    due_at: float = 0.0
    lease_owner: str | None = None
    may_be_duplicate: bool = False
    last_reason: str | None = None
    partial: Mapping[str, Any] | None = None
    unknown_resends: int = 0


@dataclass(slots=True)
class LogEntry:
    message: OutboundMessage
    state: MessageState
    reason: str | None = None
    code: str | None = None
    connector: str | None = None
    segments: int = 1
    carrier_ids: tuple[str, ...] = ()
    fallback: Fallback | None = None
    recipient_e164: str | None = None


@dataclass(frozen=True, slots=True)
class Event:
    message_id: int
    state: str
    reason: str | None = None
    detail: Mapping[str, Any] | None = None


@dataclass(slots=True)
class InMemoryStore:
    owner: str = "memory#0"
    clock: Callable[[], float] = time.monotonic
    default_region: str | None = None  # reads national recipients at claim, as PgStore does
    outbox: dict[int, _Row] = field(default_factory=dict)
    log: dict[int, LogEntry] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    carrier_ids: dict[tuple[str, str], int] = field(default_factory=dict)
    inbound: list[InboundMessage] = field(default_factory=list)
    opt_outs: list[OptOut] = field(default_factory=list)
    writes: int = 0
    dead_runs: set[str] = field(default_factory=set)  # runs whose leases have expired (tests add to it)
    journal: dict[int, list[int]] = field(default_factory=dict)  # this run's send journal: entry -> ids
    journaled_by: dict[str, set[int]] = field(default_factory=dict)  # other runs' journals (tests fill it)
    instance: InstanceInfo | None = None
    stopped_at: float | None = None
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _failures: list[BaseException] = field(default_factory=list)

    # ------------------------------------------------------------------ test helpers
    def enqueue(self, channel: str = "sms", body: str = "hello", **fields: Any) -> int:
        """Add a queued message; keyword arguments are OutboundMessage fields (and ``consent``)."""
        mid = next(self._ids)
        consent = fields.pop("consent", None)
        fields.setdefault("sender", "1588")
        fields.setdefault("recipient", "+821012345678")
        message = OutboundMessage(id=mid, channel=channel, body=body, attempts=0, **fields)
        self.outbox[mid] = _Row(message, consent, due_at=self.clock())
        return mid

    def lease_to(self, run: str, n: int, channel: str = "sms") -> list[int]:
        """Lease ``n`` new messages to another run (as if it had claimed them)."""
        ids = [self.enqueue(channel, body=f"leased to {run}") for _ in range(n)]
        for mid in ids:
            row = self.outbox[mid]
            row.state, row.lease_owner = MessageState.SENDING, run
            row.message = replace(row.message, attempts=1)
        return ids

    def fail_next_writes(self, n: int, exc: BaseException) -> None:
        self._failures.extend([exc] * n)

    def states(self) -> dict[str, int]:
        """Messages per state, wherever they are (like ``gateway.message_status``)."""
        out: dict[str, int] = {}
        for state in [r.state for r in self.outbox.values()] + [e.state for e in self.log.values()]:
            out[state.value] = out.get(state.value, 0) + 1
        return out

    # ------------------------------------------------------------------ Store
    def is_transient(self, exc: BaseException) -> bool:
        return isinstance(exc, ConnectionError | TimeoutError)

    async def reset(self) -> None:
        return None

    async def start(self, instance: InstanceInfo) -> None:
        self.instance = instance

    async def stopped(self) -> None:
        self.stopped_at = self.clock()

    async def runs_in_place(self, instance: InstanceInfo) -> list[tuple[str, int]]:
        return []

    async def mark_dead(self, runs: Sequence[str]) -> None:
        self.dead_runs.update(runs)

    async def claim(self, limit: int, channels: Sequence[str]) -> Claim:
        queued = [r for r in self.outbox.values() if r.state is MessageState.QUEUED and r.message.channel in channels]
        queued.sort(key=lambda r: (-r.message.priority, r.message.id))
        claim = Claim()
        for row in queued[:limit]:
            row.state = MessageState.SENDING
            row.lease_owner = self.owner
            number = canonical(row.message.recipient, self.default_region)
            recipient = number.e164 if isinstance(number, Number) else row.message.recipient
            row.message = replace(
                row.message,
                attempts=row.message.attempts + 1,
                recipient=recipient,
                number=number,
                may_be_duplicate=row.may_be_duplicate,
                partial=row.partial,
                unknown_resends=row.unknown_resends,
            )
            claim.messages.append((row.message, row.consent))
        return claim

    async def release_lanes(self) -> None:
        pass

    async def write(self, batch: WriteBatch, *, lane: str | None = None) -> None:
        self.writes += 1
        if self._failures:
            raise self._failures.pop(0)
        now = self.clock()
        for s in batch.settles:
            row = self._leased(s.id)
            if row is None:
                continue
            del self.outbox[s.id]
            number = row.message.number
            self.log[s.id] = LogEntry(
                row.message,
                s.state,
                s.reason,
                s.code,
                s.connector,
                s.segments,
                s.carrier_ids,
                s.fallback,
                number.e164 if isinstance(number, Number) else None,
            )
            for cid in s.carrier_ids:
                self.carrier_ids[(s.connector or "", cid)] = s.id
            for connector, cid, _segment, _segments in s.earlier_carrier_ids:
                self.carrier_ids[(connector or s.connector or "", cid)] = s.id
            detail = dict(s.detail or {})
            if row.may_be_duplicate:
                detail["may_be_duplicate"] = True
            self.events.append(Event(s.id, s.state.value, s.reason, detail or None))
            if s.fallback is not None and s.state is not MessageState.SUBMITTED:
                self._enqueue_fallback(s.id)
        for r in batch.reschedules:
            row = self._leased(r.id)
            if row is None:
                continue
            row.state = MessageState.DEFERRED
            row.due_at = now + r.delay
            row.lease_owner = None
            row.last_reason = r.reason
            row.may_be_duplicate = row.may_be_duplicate or r.may_be_duplicate
            row.unknown_resends += int(r.unknown_resend)
            if r.partial is not None:
                row.partial = r.partial
            if not r.counts:
                row.message = replace(row.message, attempts=max(row.message.attempts - 1, 0))
            self.events.append(Event(r.id, "deferred", r.reason, r.detail))
        for mid in batch.releases:
            row = self._leased(mid)
            if row is None:
                continue
            row.state = MessageState.QUEUED
            row.lease_owner = None
            row.last_reason = QueueReason.RELEASED
            row.message = replace(row.message, attempts=max(row.message.attempts - 1, 0))
            self.events.append(Event(mid, "queued", QueueReason.RELEASED))
        for receipt in [batch.coalesced[s.id] for s in batch.settles if s.id in batch.coalesced] + batch.receipts:
            state = receipt.state.message_state
            owner = self.carrier_ids.get((receipt.connector, receipt.carrier_id))
            entry = self.log.get(owner) if owner is not None else None
            if state is None or entry is None or receipt.dropped is not None:
                continue
            if entry.state in (MessageState.SUBMITTED, MessageState.UNKNOWN):
                entry.state = state
                entry.code = receipt.code
                entry.reason = QueueReason.RECEIPT
                self.events.append(Event(entry.message.id, state.value, QueueReason.RECEIPT))
                if receipt.fallback and receipt.state is not ReceiptState.DELIVERED:
                    self._enqueue_fallback(entry.message.id)
        self.inbound.extend(batch.inbound)
        self.opt_outs.extend(batch.opt_outs)
        for journal_entry in batch.journal:
            self.journal[journal_entry.seq] = list(journal_entry.handed) + [s.id for s in journal_entry.accepted]
        for seq in batch.journal_done:
            self.journal.pop(seq, None)

    def _leased(self, mid: int) -> _Row | None:
        row = self.outbox.get(mid)
        if row is None or row.state is not MessageState.SENDING or row.lease_owner != self.owner:
            return None
        return row

    def _enqueue_fallback(self, original: int) -> None:
        entry = self.log[original]
        fb = entry.fallback
        if fb is None:
            return
        if fb.skip_reason is not None:
            self.events.append(Event(original, "fallback", QueueReason.FALLBACK_SKIPPED, {"why": fb.skip_reason}))
            return
        mid = self.enqueue(
            fb.channel,
            fb.body,
            sender=fb.sender,
            recipient=entry.message.recipient,
            extras={**fb.extras, "fallback_of": original},
        )
        self.events.append(Event(original, "fallback", QueueReason.FALLBACK_ENQUEUED, {"fallback_message_id": mid}))

    async def match_pending_receipts(self) -> None:
        return None

    async def promote_due(self, limit: int) -> int:
        now = self.clock()
        due = [r for r in self.outbox.values() if r.state is MessageState.DEFERRED and r.due_at <= now][:limit]
        for row in due:
            row.state = MessageState.QUEUED
            self.events.append(Event(row.message.id, "queued", QueueReason.DUE))
        return len(due)

    async def heartbeat(self, instance: InstanceInfo, stats: dict[str, Any]) -> None:
        self.instance = instance

    async def recover_leases(self, limit: int) -> int:
        expired = [
            r for r in self.outbox.values() if r.state is MessageState.SENDING and r.lease_owner in self.dead_runs
        ][:limit]
        for row in expired:
            handed = row.message.id in self.journaled_by.get(row.lease_owner or "", set())
            row.state = MessageState.QUEUED
            row.lease_owner = None
            row.may_be_duplicate = row.may_be_duplicate or handed
            row.unknown_resends += int(handed)
            if not handed:
                row.message = replace(row.message, attempts=max(row.message.attempts - 1, 0))
            row.last_reason = QueueReason.LEASE_EXPIRED
            self.events.append(Event(row.message.id, "queued", QueueReason.LEASE_EXPIRED, {"may_be_duplicate": handed}))
        return len(expired)

    async def release_orphans(self, known: Sequence[int]) -> int:
        held = set(known)
        orphans = [
            r
            for r in self.outbox.values()
            if r.state is MessageState.SENDING and r.lease_owner == self.owner and r.message.id not in held
        ]
        for row in orphans:
            row.state, row.lease_owner, row.last_reason = MessageState.QUEUED, None, QueueReason.ORPHANED
            self.events.append(Event(row.message.id, "queued", QueueReason.ORPHANED))
        return len(orphans)

    async def receipt_timeouts(self, connector: str, after_seconds: float, limit: int) -> int:
        return 0

    async def next_receipt_deadline(self, connector: str, after_seconds: float) -> float | None:
        return None

    async def overdue_receipts(self, connector: str, after_seconds: float, limit: int) -> list[ReceiptQuery]:
        return []

    async def queue_depth(self) -> tuple[dict[str, int], float]:
        depth: dict[str, int] = {}
        for row in self.outbox.values():
            depth[row.state.value] = depth.get(row.state.value, 0) + 1
        return depth, 0.0

    async def maintain_partitions(self) -> int:
        return 0
