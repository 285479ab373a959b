"""Receipt reconciliation: delivery receipts applied to the messages they belong to.

Run by the store inside the write-back transaction that carries the receipts:

* a receipt marks its segment (``gateway.carrier_ids``) and, for a one-part
  message, settles the message; a multipart message is settled once every
  segment has its receipt (delivered only if all were);
* a receipt whose carrier id is not stored yet (it overtook its submit, which
  another writer buffer is still committing) is kept in
  ``gateway.receipts_pending`` and matched as soon as the submit lands — by the
  transaction that stores submits, or by the periodic safety net;
* a duplicate of a receipt already applied changes nothing; a receipt whose
  segment already had a final receipt saying something else is dropped
  (``receipt_too_late``), and so is one the connector could not read
  (``Receipt.dropped``, e.g. ``receipt_malformed``): each lands in
  ``gateway.receipts_dropped``, and a known message gets a ``receipt_dropped``
  event; a segment whose receipt said ``unknown`` takes any later final one,
  and its message is upgraded with reason ``receipt``;
* a failure that asks for the message's fallback enqueues the fallback stored
  with the message.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Callable, Sequence

import structlog

from gateway import metrics
from gateway.db.pool import DbConnection
from gateway.db.queries import Queries
from gateway.port import MessageState, Receipt, ReceiptState

__all__ = ["Reconciler"]

log = structlog.get_logger("gateway.reconcile")

# How long carrier ids just written stay candidates for the frequent look: a receipt that went
# pending because its submit was still being written is matched by the next look after it
# committed, well within this; anything older is the periodic full match's (every 2 s).
_RECENT_SECONDS = 2.0


class Reconciler:
    """Applies receipts on a connection inside the caller's transaction."""

    def __init__(self, queries: Queries, *, owner: str, clock: Callable[[], float] = time.monotonic) -> None:
        self._q = queries
        self._owner = owner
        self._clock = clock
        # A receipt went pending since the last look (unknown at start: look once).
        # Set only after the transaction that stored it committed, and cleared
        # before looking, so no pending insert is ever missed.
        self._pending = True
        self._last_look = 0.0
        # Carrier ids written lately: (when, connectors, carrier ids), oldest first.
        self._recent: deque[tuple[float, list[str], list[str]]] = deque()

    def written(self, connectors: list[str], carrier_ids: list[str]) -> None:
        """Carrier ids stored by the current write (the frequent look probes only such ids)."""
        if carrier_ids:
            self._recent.append((self._clock(), connectors, carrier_ids))

    def pending_committed(self) -> None:
        """Receipts stored as pending were committed: the next submit write looks for their match."""
        self._pending = True

    async def apply(self, conn: DbConnection, receipts: Sequence[Receipt]) -> bool:
        """Apply final receipts; store the unmatched ones as pending. True if any went pending."""
        q = self._q
        groups: dict[tuple[str, MessageState, str | None], list[Receipt]] = defaultdict(list)
        intermediate = 0
        dropped = [r for r in receipts if r.dropped is not None]
        if dropped:
            await self._store_dropped(conn, dropped)
            receipts = [r for r in receipts if r.dropped is None]
        for r in receipts:
            state = r.state.message_state
            if state is None:
                intermediate += 1
                continue
            groups[(r.connector, state, r.code)].append(r)
        unmatched: list[tuple[Receipt, MessageState]] = []
        multipart: set[int] = set()
        fallbacks: list[int] = []
        for (connector, state, code), items in groups.items():
            ids = [r.carrier_id for r in items]
            detail = items[0].detail if len(items) == 1 else None
            applied = await conn.fetch(q["receipt_segments"], connector, ids, state.value, code)
            single = [r["message_id"] for r in applied if r["segments"] == 1]
            multipart.update(r["message_id"] for r in applied if r["segments"] > 1)
            if single:
                created = [r["message_created_at"] for r in applied if r["segments"] == 1]
                await conn.execute(
                    q["receipt_messages"],
                    single,
                    min(created),
                    max(created),
                    state.value,
                    code,
                    self._owner,
                    dict(detail) if detail else None,
                )
            if state is not MessageState.DELIVERED:
                wants = {r.carrier_id for r in items if r.fallback}
                fallbacks.extend(r["message_id"] for r in applied if r["carrier_id"] in wants)
            seen = {r["carrier_id"] for r in applied}
            missing = [cid for cid in ids if cid not in seen]
            if missing:  # duplicates of stored receipts, late ones, or receipts ahead of their submit
                known = {r["carrier_id"] for r in await conn.fetch(q["carrier_ids_known"], connector, missing)}
                if known:
                    late = await conn.fetch(
                        q["receipts_too_late"], connector, list(known), state.value, code, self._owner
                    )
                    if late:
                        metrics.RECEIPTS_DROPPED.labels(connector, "receipt_too_late").inc(len(late))
                        log.info("reconcile.receipts.too_late", connector=connector, count=len(late))
                unmatched.extend((r, state) for r in items if r.carrier_id not in seen and r.carrier_id not in known)
            if applied:  # submit -> receipt, once per segment (duplicates never reach here)
                metrics.SUBMIT_TO_RECEIPT.labels(connector).observe_many(r["receipt_seconds"] for r in applied)
        if multipart:
            await conn.fetchval(q["finalize_multipart"], list(multipart), self._owner)
        if fallbacks:
            await conn.fetchval(q["enqueue_fallbacks"], fallbacks, self._owner)
        if unmatched:
            await conn.execute(
                q["store_pending_receipts"],
                [r.connector for r, _ in unmatched],
                [r.carrier_id for r, _ in unmatched],
                [s.value for _, s in unmatched],
                [r.code for r, _ in unmatched],
                [r.done_at for r, _ in unmatched],
                [dict(r.detail) if r.detail else None for r, _ in unmatched],
                [r.fallback for r, _ in unmatched],
            )
            for r, _ in unmatched:
                metrics.RECEIPTS_UNMATCHED.labels(r.connector).inc()
        if intermediate:
            log.debug("reconcile.receipts.intermediate", count=intermediate)
        return bool(unmatched)

    async def _store_dropped(self, conn: DbConnection, dropped: Sequence[Receipt]) -> None:
        await conn.execute(
            self._q["store_dropped_receipts"],
            [r.connector for r in dropped],
            [r.carrier_id for r in dropped],
            [str(r.dropped) for r in dropped],
            [r.state.value for r in dropped],
            [r.code for r in dropped],
            [dict(r.detail) if r.detail else None for r in dropped],
        )
        for r in dropped:
            metrics.RECEIPTS_DROPPED.labels(r.connector, str(r.dropped)).inc()

    def wants_look(self) -> bool:
        """The next write of submits should look for pending receipts (see :meth:`match_pending`)."""
        return self._pending and self._clock() - self._last_look >= 0.05

    async def match_pending(self, conn: DbConnection, *, force: bool = False) -> None:
        """Apply pending receipts whose submit is now stored.

        After storing submits, only when a receipt went pending since the last
        look (and not more often than every 50 ms), and only for the carrier ids
        written in the last 2 s; ``force`` (the periodic safety net) matches
        every pending receipt against all of carrier_ids."""
        now = self._clock()
        if not force and not self.wants_look():
            return
        self._last_look = now
        self._pending = False
        if force:
            rows = await conn.fetch(self._q["take_matched_pending"])
        else:
            recent = self._recent
            while recent and now - recent[0][0] > _RECENT_SECONDS:
                recent.popleft()
            if not recent:
                return
            rows = await conn.fetch(
                self._q["take_pending_of"],
                [c for _, connectors, _ in recent for c in connectors],
                [i for _, _, ids in recent for i in ids],
            )
        if not rows:
            return
        await self.apply(
            conn,
            [
                Receipt(
                    connector=r["connector"],
                    carrier_id=r["carrier_id"],
                    state=ReceiptState(r["state"]),
                    code=r["code"],
                    done_at=r["done_at"],
                    detail=r["detail"],
                    fallback=r["fallback"],
                )
                for r in rows
            ],
        )
