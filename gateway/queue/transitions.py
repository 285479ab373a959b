"""The writes the engine asks of the store, as typed values.

* :class:`Settle` — the message leaves the outbox for the log, in a state that
  is ``submitted`` or final;
* :class:`Reschedule` — the message goes back to the outbox as ``deferred``
  until now + ``delay`` (a retry, throttling, quiet hours);
* a release (just the id) — claimed but never handed to a connector: queued
  again, the attempt not counted;
* :class:`OptOut` — an opt-out asked for by an inbound STOP.

:class:`WriteBatch` gathers them with receipts and inbound messages for one
transaction. :mod:`gateway.queue.rules` decides which transition a result or a
policy decision leads to.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gateway.port import Fallback, InboundMessage, MessageState, Receipt

__all__ = ["JournalEntry", "OptOut", "Reschedule", "Settle", "Transition", "WriteBatch"]


@dataclass(frozen=True, slots=True)
class Settle:
    """Move a leased message into the log as ``state`` (submitted or final)."""

    id: int
    state: MessageState
    channel: str
    reason: str | None = None
    code: str | None = None
    connector: str | None = None
    segments: int = 1
    detail: Mapping[str, Any] | None = None
    carrier_ids: tuple[str, ...] = ()
    # Kept with the message; enqueued at once when the state is final.
    fallback: Fallback | None = None
    # Carrier ids of earlier copies of segments sent again whole: (connector, carrier id,
    # segment, segments). Stored beside ``carrier_ids`` so that their receipts still match.
    earlier_carrier_ids: tuple[tuple[str, str, int, int], ...] = ()
    # When the carrier accepted it (submitted_at in the log); None: when it is written.
    submitted_at: datetime | None = None

    @property
    def receipt_key(self) -> tuple[str, str] | None:
        """(connector, carrier id) of a one-part submit whose receipt could ride on its write, else None."""
        if self.state is MessageState.SUBMITTED and len(self.carrier_ids) == 1 and not self.earlier_carrier_ids:
            cid = self.carrier_ids[0]
            if cid:
                return (self.connector or "", cid)
        return None

    def __post_init__(self) -> None:
        if self.state.is_live:
            raise ValueError(f"Settle moves a message out of the outbox, not to {self.state}")


@dataclass(frozen=True, slots=True)
class Reschedule:
    """Put a leased message back as deferred until now + ``delay`` seconds."""

    id: int
    delay: float
    reason: str
    code: str | None = None
    counts: bool = True  # False: the attempt does not count (throttling, policy deferral)
    may_be_duplicate: bool = False  # it may have reached the carrier
    unknown_resend: bool = False  # counts against engine.retry.max_unknown_resends
    detail: Mapping[str, Any] | None = None
    # The connector's resume state (``SendResult.resume`` with its ``connector``), kept in
    # outbox.partial for the next attempt; None keeps what the row holds.
    partial: Mapping[str, Any] | None = None


Transition = Settle | Reschedule


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One row of the send journal (gateway.send_journal), written in its own short transaction.

    ``handed``: ids that may be handed to a carrier next. ``accepted``: submits the
    carrier accepted whose Settle is not committed yet; after a crash they are
    settled from here (with their carrier ids) instead of being sent again."""

    seq: int
    handed: list[int]
    accepted: list[Settle] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class OptOut:
    scope: str  # the sender (or brand) the user opted out of
    recipient: str  # E.164
    source: str  # e.g. "inbound_stop"


@dataclass(slots=True)
class WriteBatch:
    """Everything one write-back transaction applies."""

    settles: list[Settle] = field(default_factory=list)
    reschedules: list[Reschedule] = field(default_factory=list)
    releases: list[int] = field(default_factory=list)
    receipts: list[Receipt] = field(default_factory=list)
    inbound: list[InboundMessage] = field(default_factory=list)
    opt_outs: list[OptOut] = field(default_factory=list)
    # The send journal: new entries, and entries whose ids all have their outcome stored.
    journal: list[JournalEntry] = field(default_factory=list)
    journal_done: list[int] = field(default_factory=list)
    # Final receipts that arrived before their submit's Settle was written, by message id (each
    # Settle is in ``settles``): written with it, the final row at once (gateway/queue/writer.py).
    coalesced: dict[int, Receipt] = field(default_factory=dict)

    def __len__(self) -> int:
        return (
            len(self.settles)
            + len(self.reschedules)
            + len(self.releases)
            + len(self.receipts)
            + len(self.inbound)
            + len(self.opt_outs)
            + sum(len(e.handed) + len(e.accepted) for e in self.journal)
            + len(self.journal_done)
        )

    def message_ids(self) -> list[int]:
        """The outbox rows this batch hands back (settled, rescheduled or released)."""
        return [s.id for s in self.settles] + [r.id for r in self.reschedules] + self.releases
