"""One message's segments in flight, and the single result they add up to (sans-I/O).

A ``Job`` is created when ``send`` takes a message: its submit_sm PDUs, one per
segment, go out on one bind in order. Every segment's fate is recorded as it
arrives (accepted with a carrier id, refused with a command_status, no answer,
never sent). When the last segment of the current round is answered,
``verdict`` gives the message's ``SendResult``, by precedence:

1. a segment refused permanently -> FAILED, ``code`` the carrier's status as hex
   text, ``reason`` its name (:func:`gateway.smpp.reasons.status_reason`),
   ``detail`` the accepted segments' carrier ids;
2. a segment without an answer (timeout, lost bind) -> UNKNOWN, flagged
   ``may_be_duplicate``;
3. every segment accepted -> SUBMITTED with every carrier id, in segment order;
4. otherwise some segments were throttled, refused transiently, nacked or not
   sent. If none was accepted, nothing reached the carrier: THROTTLED (any
   throttle) or RETRY, and the engine requeues the whole message. If some were
   accepted, ``verdict`` returns None while a retry is allowed, and the caller
   resends just ``missing()`` (so accepted parts are not duplicated); once
   retries are spent it gives THROTTLED / RETRY with the accepted ids in
   ``detail`` and in ``resume``.

``resume`` (a multipart message with accepted segments, requeued as THROTTLED,
RETRY or UNKNOWN) is what the queue keeps in outbox.partial: the concatenation
``reference``, the number of ``segments`` and the carrier id of each accepted
segment (``ids``, None for the others). A job built from it (``ids=``) sends
only the missing segments, with the same reference, so the handset still joins
them with the parts it already has and nothing the carrier accepted goes twice.
"""

from __future__ import annotations

from typing import Any

from gateway.port import OutboundMessage, Outcome, SendResult
from gateway.smpp.protocol.pdu import SubmitSm
from gateway.smpp.reasons import SmppReason, status_reason

__all__ = ["Job", "hex_status"]


def hex_status(status: int) -> str:
    """A command_status as the carrier code text the engine stores: ``0x0000000b``."""
    return f"0x{status & 0xFFFFFFFF:08x}"


class Job:
    """The segments of one message and what became of each (see the module docstring)."""

    __slots__ = (
        "_fail",
        "_soft",
        "_unknown",
        "ids",
        "message",
        "pdus",
        "reference",
        "resumed",
        "rounds",
        "started",
        "waiting",
    )

    def __init__(
        self,
        message: OutboundMessage,
        pdus: tuple[SubmitSm, ...],
        started: float,
        *,
        reference: int | None = None,
        ids: list[str | None] | None = None,
    ) -> None:
        self.message = message
        self.pdus = pdus
        self.reference = reference  # the concatenation reference of a multipart message
        # the carrier id of each accepted segment (some known already when resumed)
        self.ids: list[str | None] = list(ids) if ids is not None else [None] * len(pdus)
        self.resumed = ids is not None and any(ids)
        self.waiting = sum(1 for cid in self.ids if cid is None)  # segments of this round not answered yet
        self.rounds = 1
        self.started = started
        self._fail: tuple[int, int] | None = None  # (segment index, status) of the first permanent refusal
        self._unknown: str | None = None  # why a segment got no answer
        self._soft: tuple[Outcome, int | None, str] | None = None  # the strongest soft refusal of this round

    def accepted(self, index: int, carrier_id: str) -> None:
        self.ids[index] = carrier_id
        self.waiting -= 1

    def refused(self, index: int, status: int) -> None:
        """A permanent refusal of segment ``index``."""
        if self._fail is None:
            self._fail = (index, status)
        self.waiting -= 1

    def soft(self, outcome: Outcome, status: int | None, reason: str) -> None:
        """A segment was throttled (``Outcome.THROTTLED``) or may go later (``Outcome.RETRY``)."""
        if self._soft is None or (outcome is Outcome.THROTTLED and self._soft[0] is not Outcome.THROTTLED):
            self._soft = (outcome, status, reason)
        self.waiting -= 1

    def lost(self, why: str) -> None:
        """A segment was sent and never answered (``timeout``, ``connection_lost``)."""
        if self._unknown is None:
            self._unknown = why
        self.waiting -= 1

    def missing(self) -> list[int]:
        """The segments not accepted yet, in order."""
        return [i for i, cid in enumerate(self.ids) if cid is None]

    def next_round(self, indices: list[int]) -> None:
        """Start resending ``indices`` (the partial retry)."""
        self.rounds += 1
        self.waiting = len(indices)
        self._soft = None

    def _accepted_ids(self) -> list[str]:
        return [cid for cid in self.ids if cid is not None]

    def resume(self) -> dict[str, Any] | None:
        """What a later attempt needs to send only the missing segments (None: nothing accepted)."""
        if len(self.pdus) < 2 or self.reference is None or not any(self.ids):
            return None
        return {"reference": self.reference, "segments": len(self.pdus), "ids": list(self.ids)}

    def verdict(self, *, retry_allowed: bool) -> SendResult | None:
        """The message's result once ``waiting`` is 0; None asks for a retry of ``missing()``."""
        message_id = self.message.id
        n = len(self.pdus)
        detail: dict[str, Any] | None
        if self._fail is not None:
            index, status = self._fail
            detail = {"segment": index + 1, "segments": n} if n > 1 else None
            if detail is not None and self._accepted_ids():
                detail["accepted_carrier_ids"] = self._accepted_ids()
            return SendResult(
                message_id,
                Outcome.FAILED,
                code=hex_status(status),
                reason=status_reason(status),
                segments=n,
                detail=detail,
            )
        if self._unknown is not None:
            detail = {"may_be_duplicate": True}
            if n > 1 and self._accepted_ids():
                detail["accepted_carrier_ids"] = self._accepted_ids()
            return SendResult(
                message_id, Outcome.UNKNOWN, reason=self._unknown, segments=n, detail=detail, resume=self.resume()
            )
        accepted = self._accepted_ids()
        if len(accepted) == n:
            return SendResult(message_id, Outcome.SUBMITTED, carrier_ids=tuple(accepted), segments=n)
        if accepted and retry_allowed:
            return None
        outcome, status, reason = self._soft or (Outcome.RETRY, None, SmppReason.NOT_SENT)  # type: ignore[assignment]
        code = hex_status(status) if status is not None else None
        detail = {"partial": True, "accepted_carrier_ids": accepted, "segments": n} if accepted else None
        return SendResult(
            message_id, outcome, code=code, reason=reason, segments=n, detail=detail, resume=self.resume()
        )
