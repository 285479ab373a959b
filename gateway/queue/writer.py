"""The batched write-back: every outcome, receipt and inbound message goes through here.

Connectors report results one message at a time; the writer gathers them and
hands them to the store as one :class:`~gateway.queue.transitions.WriteBatch`
every ``flush_interval`` or every ``flush_max_rows`` rows, whichever comes
first — never one transaction per message. What a batch does in the database
is the store's business (:mod:`gateway.queue.store`, receipts in
:mod:`gateway.queue.reconcile`); the writer owns only the buffering, the
retries and the isolation of bad rows.

Durability contract:

* transitions (settle/reschedule/release) are buffered in memory until
  committed; the engine counts a message as in flight until then, so nothing
  is claimed past what the database has acknowledged. If the daemon dies
  first, the rows are still leased in the outbox and another instance
  recovers them.
* receipts and inbound messages are awaited by their sender
  (:meth:`Writer.store_receipts`) and resolved only after COMMIT, so an SMPP
  connector acknowledges a ``deliver_sm`` only once the receipt is stored.
* a batch that fails on the connection is retried with back-off (PostgreSQL
  restarts lose nothing); one that fails on its data is split and each part
  written alone, so that one bad row never blocks the others.

Two buffers, each with its own flush loop: message outcomes, and
receipts/inbound. Receipts are awaited by carriers (acks wait for the commit),
so they must not queue behind big outcome batches.

A receipt that arrives before its submit is written rides on that write
(``WriteBatch.coalesced``): the message goes into the log in its final state
at once, one row written instead of a row, a pending receipt and two updates.
With the send journal on, the carrier's acceptance is on disk (in the journal)
before the Settle is written, so an accepted one-part submit may *linger*
(``receipt_linger``) waiting for its receipt before it joins the outcome batch;
its receipt is still acknowledged only after the commit that records it. A
receipt whose submit is being written right now waits for that commit and then
goes the usual way, instead of going pending.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio
import structlog

from gateway import metrics
from gateway.backoff import Backoff
from gateway.port import InboundMessage, Receipt
from gateway.queue.store import Store
from gateway.queue.transitions import JournalEntry, OptOut, Reschedule, Settle, Transition, WriteBatch

__all__ = ["Writer"]

log = structlog.get_logger("gateway.writer")


@dataclass(slots=True)
class _Waiter:
    done: anyio.Event = field(default_factory=anyio.Event)
    error: BaseException | None = None


@dataclass(slots=True)
class _Pending:
    """A buffer's contents: the batch, and who awaits which receipt/inbound entry."""

    batch: WriteBatch = field(default_factory=WriteBatch)
    waiters: list[_Waiter] = field(default_factory=list)  # one per receipt, then one per inbound
    inbound_waiters: list[_Waiter] = field(default_factory=list)
    coalesced_waiters: dict[int, _Waiter] = field(default_factory=dict)  # message id -> who awaits its receipt
    reserved: list[int] = field(default_factory=list)  # message ids to put in the send journal
    reserved_upto: int = 0  # the highest reservation number among them
    accepted: list[Settle] = field(default_factory=list)  # accepted submits to journal until settled
    first_at: float | None = None

    def __len__(self) -> int:
        return len(self.batch) + len(self.reserved) + len(self.accepted)

    def merge_front(self, older: _Pending) -> None:
        b, o = self.batch, older.batch
        b.settles[:0] = o.settles
        b.reschedules[:0] = o.reschedules
        b.releases[:0] = o.releases
        b.receipts[:0] = o.receipts
        b.inbound[:0] = o.inbound
        b.opt_outs[:0] = o.opt_outs
        b.journal[:0] = o.journal
        b.journal_done[:0] = o.journal_done
        b.coalesced.update(o.coalesced)
        self.coalesced_waiters.update(older.coalesced_waiters)
        self.reserved[:0] = older.reserved
        self.accepted[:0] = older.accepted
        self.reserved_upto = max(self.reserved_upto, older.reserved_upto)
        self.waiters[:0] = older.waiters
        self.inbound_waiters[:0] = older.inbound_waiters
        if older.first_at is not None:
            self.first_at = older.first_at if self.first_at is None else min(self.first_at, older.first_at)

    def split(self) -> list[_Pending]:
        """One part per operation (releases together), each with its own waiters."""
        b = self.batch
        parts = [
            _Pending(WriteBatch(settles=[s], coalesced={s.id: b.coalesced[s.id]}), coalesced_waiters={s.id: w})
            if (w := self.coalesced_waiters.get(s.id)) is not None and s.id in b.coalesced
            else _Pending(WriteBatch(settles=[s]))
            for s in b.settles
        ]
        parts += [_Pending(WriteBatch(reschedules=[r])) for r in b.reschedules]
        if b.releases:
            parts.append(_Pending(WriteBatch(releases=list(b.releases))))
        parts += [_Pending(WriteBatch(receipts=[r]), [w]) for r, w in zip(b.receipts, self.waiters, strict=True)]
        parts += [
            _Pending(WriteBatch(inbound=[m]), inbound_waiters=[w])
            for m, w in zip(b.inbound, self.inbound_waiters, strict=True)
        ]
        parts += [_Pending(WriteBatch(opt_outs=[o])) for o in b.opt_outs]
        if b.journal or b.journal_done:
            parts.append(
                _Pending(WriteBatch(journal=b.journal, journal_done=b.journal_done), reserved_upto=self.reserved_upto)
            )
        return parts

    def all_waiters(self) -> list[_Waiter]:
        return self.waiters + self.inbound_waiters + list(self.coalesced_waiters.values())


class _Buffer:
    """One buffer with its own flush loop (and its own connection while flushing)."""

    def __init__(self, name: str, interval: float, max_rows: int) -> None:
        self.name = name
        self.interval = interval
        self.max_rows = max_rows
        self.pending = _Pending()
        self.wake = anyio.Event()
        self.lock = anyio.Lock()  # one flush at a time: flush() waits for the loop's write in progress
        self.urgent = False  # flush without waiting for the interval (someone awaits the commit)
        self.writing: _Pending | None = None  # the batch being written now (for lag())


def _describe(part: WriteBatch) -> dict[str, Any]:
    if part.settles:
        return {"op": "settle", "message_id": part.settles[0].id}
    if part.reschedules:
        return {"op": "reschedule", "message_id": part.reschedules[0].id}
    if part.receipts:
        return {"op": "receipt", "connector": part.receipts[0].connector}
    if part.inbound:
        return {"op": "inbound", "connector": part.inbound[0].connector}
    return {"op": "release" if part.releases else "opt_out"}


class Writer:
    """Buffers transitions, receipts and inbound messages and writes them in batches."""

    def __init__(
        self,
        store: Store,
        *,
        flush_interval: float = 0.02,
        flush_max_rows: int = 1000,
        on_written: Callable[[Sequence[int]], None] = lambda ids: None,
        on_accepted: Callable[[Sequence[int]], None] = lambda ids: None,
        clock: Callable[[], float] = time.monotonic,
        retry: Backoff = Backoff(0.05, 5.0),
        journal_linger: float = 0.002,
        receipt_linger: float = 0.0,
    ) -> None:
        self._store = store
        self._on_written = on_written
        self._on_accepted = on_accepted
        self._clock = clock
        self._retry = retry
        # A receipt whose submit is still being written by the outcome buffer is
        # stored as pending (one cheap INSERT) and acknowledged; the outcome
        # buffer's transaction matches it (see gateway.queue.reconcile).
        self._outcomes = _Buffer("outcomes", flush_interval, flush_max_rows)
        self._receipts = _Buffer("receipts", min(flush_interval, 0.005), flush_max_rows)
        # Journal entries get their own short transactions, so that sends never wait
        # for a big outcome batch to commit (see gateway/queue/outlet.py).
        self._journal = _Buffer("journal", journal_linger, flush_max_rows)
        self.written_rows = 0
        # The send journal (see gateway/db/migrations/0008_send_journal.sql): reservations are
        # numbered; every number up to _journaled is committed.
        self._reservations = 0
        self._journaled = 0
        self._journal_changed = anyio.Event()
        self._journal_seq = 0
        self._journal_open: dict[int, set[int]] = {}  # entry -> ids still without an outcome
        self._journal_entries_of: dict[int, list[int]] = {}  # message id -> its entries
        # Receipts riding on their submit's write (see the module's docstring).
        self._receipt_linger = receipt_linger
        self._lingering: dict[int, tuple[float, Settle]] = {}  # message id -> (until, Settle), oldest first
        self._linger_wake = anyio.Event()
        self._unwritten: dict[tuple[str, str], Settle] = {}  # (connector, carrier id) -> Settle not written yet
        self._in_write: dict[tuple[str, str], anyio.Event] = {}  # ... -> set when the write holding it ends
        self.coalesced_receipts = 0

    # ------------------------------------------------------------------ intake
    def _touch(self, buf: _Buffer) -> None:
        if buf.pending.first_at is None:
            buf.pending.first_at = self._clock()
            buf.wake.set()
        elif len(buf.pending) >= buf.max_rows:
            buf.wake.set()

    def add(self, transition: Transition) -> None:
        batch = self._outcomes.pending.batch
        if isinstance(transition, Settle):
            key = transition.receipt_key
            if key is not None:
                self._unwritten[key] = transition
                if self._receipt_linger > 0:  # its acceptance goes to the journal: it may wait for its receipt
                    self._lingering[transition.id] = (self._clock() + self._receipt_linger, transition)
                    if len(self._lingering) == 1:
                        self._linger_wake.set()
                    return
            batch.settles.append(transition)
        elif isinstance(transition, Reschedule):
            batch.reschedules.append(transition)
        else:  # pragma: no cover - Transition is a closed union
            raise TypeError(f"not a transition: {transition!r}")
        self._touch(self._outcomes)

    def release(self, ids: Sequence[int]) -> None:
        """Give claimed rows back to the queue (never handed to a connector)."""
        if ids:
            self._outcomes.pending.batch.releases.extend(ids)
            self._touch(self._outcomes)

    def reserve(self, message_id: int) -> int:
        """Put a message in the send journal with the next group commit (soon); its reservation number."""
        self._reservations += 1
        pending = self._journal.pending
        pending.reserved.append(message_id)
        pending.reserved_upto = self._reservations
        self._touch(self._journal)
        return self._reservations

    def journal_accepted(self, settle: Settle) -> None:
        """Record an accepted submit in the journal now (its Settle follows in the outcome batch).

        Once committed, ``on_accepted`` is told: the message no longer counts against the duplicate bound."""
        self._journal.pending.accepted.append(settle)
        self._touch(self._journal)

    def kick_journal(self) -> None:
        """Commit the journal now (a sender waits for it)."""
        if len(self._journal.pending):
            self._journal.urgent = True
            self._journal.wake.set()

    async def journaled(self, reservation: int) -> None:
        """Return once the reservation is committed."""
        while self._journaled < reservation:
            await self._journal_changed.wait()

    def add_opt_out(self, opt_out: OptOut) -> None:
        self._receipts.pending.batch.opt_outs.append(opt_out)
        self._touch(self._receipts)

    async def store_receipts(self, receipts: Sequence[Receipt]) -> None:
        """Return once the receipts are committed (raise if they could not be)."""
        if not receipts:
            return
        rest: list[Receipt] = receipts if isinstance(receipts, list) else list(receipts)
        riding: _Waiter | None = None
        writes: set[anyio.Event] = set()
        if self._unwritten or self._in_write:
            rest = []
            for r in receipts:
                key = (r.connector, r.carrier_id)
                settle = self._unwritten.get(key)
                if settle is not None and r.dropped is None and not r.fallback and r.state.message_state is not None:
                    del self._unwritten[key]
                    riding = riding or _Waiter()
                    self._ride(settle, r, riding)
                    continue
                if (write := self._in_write.get(key)) is not None:
                    writes.add(write)  # its submit is being written: match it after that commit
                rest.append(r)
        for write in writes:
            await write.wait()
        if rest:
            pending = self._receipts.pending
            waiter = _Waiter()
            pending.batch.receipts.extend(rest)
            pending.waiters.extend([waiter] * len(rest))
            await self._await(waiter)
        if riding is not None:
            await riding.done.wait()
            if riding.error is not None:
                raise riding.error

    def _ride(self, settle: Settle, receipt: Receipt, waiter: _Waiter) -> None:
        """The receipt is written with its submit's Settle (which joins the outcome batch now)."""
        pending = self._outcomes.pending
        if self._lingering.pop(settle.id, None) is not None:
            pending.batch.settles.append(settle)
        pending.batch.coalesced[settle.id] = receipt
        pending.coalesced_waiters[settle.id] = waiter
        self.coalesced_receipts += 1
        self._touch(self._outcomes)

    async def _linger_loop(self) -> None:
        """Lingering submits whose time is up join the outcome batch without their receipt."""
        while True:
            if not self._lingering:
                self._linger_wake = anyio.Event()
                await self._linger_wake.wait()
                continue
            until, _ = next(iter(self._lingering.values()))
            delay = until - self._clock()
            if delay > 0:
                await anyio.sleep(max(delay, 0.005))  # a few at a time, not one wake-up per message
            self._release_lingering(self._clock())

    def _release_lingering(self, now: float | None = None) -> None:
        """Lingering submits due by ``now`` (all when None) join the outcome batch."""
        lingering = self._lingering
        if not lingering:
            return
        settles = self._outcomes.pending.batch.settles
        while lingering:
            mid, (until, settle) = next(iter(lingering.items()))
            if now is not None and until > now:
                break
            del lingering[mid]
            settles.append(settle)
        self._touch(self._outcomes)

    async def store_inbound(self, messages: Sequence[InboundMessage]) -> None:
        """Return once the inbound messages are committed (raise if they could not be)."""
        if not messages:
            return
        pending = self._receipts.pending
        waiter = _Waiter()
        pending.batch.inbound.extend(messages)
        pending.inbound_waiters.extend([waiter] * len(messages))
        await self._await(waiter)

    async def _await(self, waiter: _Waiter) -> None:
        self._touch(self._receipts)
        await waiter.done.wait()
        if waiter.error is not None:
            raise waiter.error

    def kick(self) -> None:
        """Flush the outcome buffer now (someone is waiting for its commit)."""
        if len(self._outcomes.pending):
            self._outcomes.urgent = True
            self._outcomes.wake.set()

    @property
    def buffered(self) -> int:
        return (
            len(self._outcomes.pending)
            + len(self._receipts.pending)
            + len(self._journal.pending)
            + len(self._lingering)
        )

    def lag(self) -> dict[str, tuple[int, float]]:
        """Per buffer: rows waiting to be committed (buffered or being written) and the oldest one's age (s)."""
        now = self._clock()
        out = {}
        for buf in (self._outcomes, self._receipts):
            rows, first = len(buf.pending), buf.pending.first_at
            if buf is self._outcomes and self._lingering:  # accepted submits waiting for their receipt
                rows += len(self._lingering)
                oldest = next(iter(self._lingering.values()))[0] - self._receipt_linger
                first = oldest if first is None else min(first, oldest)
            if buf.writing is not None:
                rows += len(buf.writing)
                if buf.writing.first_at is not None:
                    first = buf.writing.first_at if first is None else min(first, buf.writing.first_at)
            out[buf.name] = (rows, 0.0 if first is None else max(0.0, now - first))
        return out

    # ------------------------------------------------------------------ loop
    async def run(self, *, task_status: Any = anyio.TASK_STATUS_IGNORED) -> None:
        """Flush both buffers until cancelled; on cancellation, flush what is buffered (shielded)."""
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._loop, self._journal)
                tg.start_soon(self._loop, self._outcomes)
                tg.start_soon(self._loop, self._receipts)
                if self._receipt_linger > 0:
                    tg.start_soon(self._linger_loop)
                task_status.started()
        finally:
            with anyio.CancelScope(shield=True):
                with anyio.move_on_after(10):
                    await self.flush(retry=True)
                await self._store.release_lanes()

    async def _loop(self, buf: _Buffer) -> None:
        while True:
            await self._wait_for_work(buf)
            await self._flush(buf)

    async def _wait_for_work(self, buf: _Buffer) -> None:
        while True:
            if buf.pending.first_at is None:
                buf.wake = anyio.Event()
                await buf.wake.wait()
                continue
            if len(buf.pending) >= buf.max_rows or buf.urgent:
                buf.urgent = False
                return
            remaining = buf.pending.first_at + buf.interval - self._clock()
            if remaining <= 0:
                return
            buf.wake = anyio.Event()
            with anyio.move_on_after(remaining):
                await buf.wake.wait()

    async def flush(self, *, retry: bool = True) -> None:
        """Write everything buffered now (journal, outcomes, receipts, then outcomes again)."""
        self._release_lingering()
        await self._flush(self._journal, retry=retry)
        await self._flush(self._outcomes, retry=retry)
        await self._flush(self._receipts, retry=retry)
        if len(self._outcomes.pending):
            await self._flush(self._outcomes, retry=retry)

    async def _flush(self, buf: _Buffer, *, retry: bool = True) -> None:
        """Write what the buffer holds; retries connection failures until it succeeds.

        One flush per buffer at a time, so that ``flush()`` at shutdown waits for
        a write the loop has in progress instead of returning early."""
        async with buf.lock:
            failures = 0
            while len(buf.pending):
                pending, buf.pending = buf.pending, _Pending()
                if pending.reserved or pending.accepted:  # the journal entry of this group commit
                    self._journal_seq += 1
                    entry = JournalEntry(self._journal_seq, pending.reserved, pending.accepted)
                    pending.reserved, pending.accepted = [], []
                    pending.batch.journal.append(entry)
                    open_ids = set(entry.handed) | {s.id for s in entry.accepted}
                    self._journal_open[entry.seq] = open_ids
                    for mid in open_ids:
                        self._journal_entries_of.setdefault(mid, []).append(entry.seq)
                started = self._clock()
                buf.writing = pending
                written = self._writing(pending.batch) if self._unwritten else None
                try:
                    await self._store.write(pending.batch, lane=buf.name)
                except anyio.get_cancelled_exc_class():
                    buf.writing = None
                    self._wrote(written)
                    buf.pending.merge_front(pending)  # rolled back: keep it for the shielded final flush
                    raise
                except Exception as exc:
                    buf.writing = None
                    self._wrote(written)
                    metrics.FLUSH_ERRORS.inc()
                    if self._store.is_transient(exc):
                        failures += 1
                        delay = self._retry.delay(failures)
                        log.warning(
                            "writer.flush.failed", buffer=buf.name, error=str(exc), rows=len(pending), retry_in=delay
                        )
                        buf.pending.merge_front(pending)
                        await self._store.reset()
                        if not retry:
                            raise
                        await anyio.sleep(delay)
                        continue
                    log.error("writer.flush.error", buffer=buf.name, error=repr(exc), rows=len(pending))
                    await self._write_isolated(pending, buf)
                else:
                    buf.writing = None
                    self._wrote(written)
                    failures = 0
                    metrics.FLUSH_SECONDS.observe(self._clock() - started)
                    metrics.FLUSH_BATCH.observe(len(pending))
                    self.written_rows += len(pending)
                    self._resolve(pending)

    def _writing(self, batch: WriteBatch) -> tuple[list[tuple[str, str]], anyio.Event] | None:
        """The batch's submits are being written: a receipt for one now waits for this write."""
        keys = []
        unwritten, in_write = self._unwritten, self._in_write
        event = anyio.Event()
        for s in batch.settles:
            key = s.receipt_key
            if key is not None and unwritten.pop(key, None) is not None:
                in_write[key] = event
                keys.append(key)
        return (keys, event) if keys else None

    def _wrote(self, written: tuple[list[tuple[str, str]], anyio.Event] | None) -> None:
        if written is None:
            return
        keys, event = written
        for key in keys:
            if self._in_write.get(key) is event:
                del self._in_write[key]
        event.set()

    def _resolve(self, pending: _Pending) -> None:
        for waiter in pending.all_waiters():
            waiter.done.set()
        self._committed(pending)

    def _committed(self, pending: _Pending) -> None:
        """A batch is committed: advance the journal, close entries, tell the engine."""
        if pending.batch.journal:
            if pending.reserved_upto > self._journaled:
                self._journaled = pending.reserved_upto
                self._journal_changed.set()
                self._journal_changed = anyio.Event()
            accepted = [s.id for entry in pending.batch.journal for s in entry.accepted]
            if accepted:
                self._on_accepted(accepted)
        ids = pending.batch.message_ids()
        if ids:
            self._written(ids)

    def _written(self, ids: Sequence[int]) -> None:
        """Outcomes stored: close journal entries whose ids all have one, tell the engine."""
        waiting = self._journal.pending.accepted
        if waiting:  # settled before its acceptance reached the journal: no need to journal it any more
            done_ids = set(ids)
            waiting[:] = [s for s in waiting if s.id not in done_ids]
        if self._journal_entries_of:
            done: list[int] = []
            for mid in ids:
                for entry in self._journal_entries_of.pop(mid, ()):
                    left = self._journal_open.get(entry)
                    if left is None:
                        continue
                    left.discard(mid)
                    if not left:
                        del self._journal_open[entry]
                        done.append(entry)
            if done:
                self._outcomes.pending.batch.journal_done.extend(done)
                self._touch(self._outcomes)
        self._on_written(ids)

    async def _write_isolated(self, pending: _Pending, buf: _Buffer) -> None:
        """Write each operation alone so a bad one cannot block the others."""
        failed: dict[int, tuple[_Waiter, BaseException]] = {}
        succeeded: dict[int, _Waiter] = {}
        requeued: set[int] = set()
        for part in pending.split():
            waiters = part.all_waiters()
            try:
                await self._store.write(part.batch, lane=buf.name)
            except Exception as exc:  # noqa: BLE001
                if self._store.is_transient(exc):
                    buf.pending.merge_front(part)
                    requeued.update(id(w) for w in waiters)
                    continue
                if part.batch.journal or part.batch.journal_done:  # never send what is not journaled: retry
                    log.error("writer.journal.failed", error=repr(exc))
                    buf.pending.merge_front(part)
                    requeued.update(id(w) for w in waiters)
                    continue
                log.error("writer.op.dropped", error=repr(exc), detail=_describe(part.batch))
                # Leases expire and another claim retries the message; receipts are
                # not acknowledged, so the carrier sends them again.
                for w in waiters:
                    failed[id(w)] = (w, exc)
                ids = part.batch.message_ids()
                if ids:
                    self._written(ids)
            else:
                for w in waiters:
                    succeeded[id(w)] = w
                self._committed(part)
        for waiter, error in failed.values():
            waiter.error = error
            waiter.done.set()
        for key, waiter in succeeded.items():
            if key not in failed and key not in requeued:
                waiter.done.set()
