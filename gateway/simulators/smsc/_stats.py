"""What the SMSC simulator saw: the accepted-submit log and the counters tests and benchmarks read.

Public names are re-exported by ``gateway.simulators.smsc``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from gateway.smpp.protocol.concat import ESM_CLASS_UDHI, UdhParseError, parse_udh
from gateway.smpp.protocol.pdu import DataSm, SubmitSm
from gateway.smpp.protocol.text import TextEncodingError, decode, encoding_for_data_coding
from gateway.smpp.protocol.tlv import Tag

__all__ = ["AcceptedSubmit", "SimulatorStats", "best_effort_text"]


def best_effort_text(body: bytes, data_coding: int) -> str:
    try:
        return decode(body, encoding_for_data_coding(data_coding))
    except TextEncodingError:
        return body.decode("latin-1")


@dataclass(frozen=True, slots=True)
class AcceptedSubmit:
    """One accepted submit_sm (or data_sm). Only the PDU is kept; the rest is read from it on demand."""

    at: float  # loop (monotonic) time it was accepted
    message_id: str
    system_id: str
    pdu: SubmitSm | DataSm

    @property
    def source_addr(self) -> str:
        return self.pdu.source_addr

    @property
    def destination_addr(self) -> str:
        return self.pdu.destination_addr

    @property
    def short_message(self) -> bytes:
        return getattr(self.pdu, "short_message", b"")

    @property
    def data_coding(self) -> int:
        return self.pdu.data_coding

    @property
    def esm_class(self) -> int:
        return self.pdu.esm_class

    @property
    def registered_delivery(self) -> int:
        return self.pdu.registered_delivery

    @property
    def message_payload(self) -> bytes | None:
        return self.pdu.tlvs.get(Tag.MESSAGE_PAYLOAD) if self.pdu.tlvs else None  # type: ignore[return-value]

    @property
    def sar(self) -> tuple[int, int, int] | None:
        """(sar_msg_ref_num, sar_total_segments, sar_segment_seqnum), or None."""
        tlvs = self.pdu.tlvs
        if not tlvs or Tag.SAR_MSG_REF_NUM not in tlvs:
            return None
        return (tlvs[Tag.SAR_MSG_REF_NUM], tlvs.get(Tag.SAR_TOTAL_SEGMENTS, 1), tlvs.get(Tag.SAR_SEGMENT_SEQNUM, 1))  # type: ignore[return-value]

    @property
    def udh(self) -> tuple[int, int, int] | None:
        """The concatenation IE of the UDH as (reference, total, seq), or None."""
        if not self.esm_class & ESM_CLASS_UDHI:
            return None
        try:
            concat = parse_udh(self.short_message)[0].concat
        except UdhParseError:
            return None
        return None if concat is None else (concat.reference, concat.total, concat.seq)

    @property
    def body(self) -> bytes:
        """This part's encoded text: the payload TLV, or short_message without its UDH."""
        payload = self.message_payload
        if payload is not None:
            return payload
        if self.esm_class & ESM_CLASS_UDHI:
            try:
                return parse_udh(self.short_message)[1]
            except UdhParseError:
                pass
        return self.short_message

    @property
    def text(self) -> str:
        """This part's text, decoded by data_coding (Latin-1 when it does not decode)."""
        return best_effort_text(self.body, self.data_coding)


@dataclass(slots=True)
class SimulatorStats:
    """Counters (cumulative since start) and the log of accepted submits (empty if ``record_submits`` is off)."""

    connections: int = 0
    binds: int = 0
    bind_failures: int = 0
    peak_binds: int = 0  # the most binds bound at once (all system_ids)
    unbinds_received: int = 0
    unbinds_sent: int = 0
    submits_received: int = 0
    submits_accepted: int = 0
    throttled: int = 0  # answered 0x58: throttle_every and max_rate
    queue_full: int = 0  # answered 0x14
    rejected: int = 0
    nacked: int = 0
    silent: int = 0
    dropped: int = 0
    accepted_log: list[AcceptedSubmit] = field(default_factory=list)
    receipts_sent: int = 0  # first sends
    receipts_acked: int = 0  # receipts acknowledged with status 0 (each counted once)
    receipts_resent: int = 0
    receipts_refused: int = 0  # deliver_sm_resp with a non-zero status, or generic_nack
    receipts_unacked: int = 0  # owed now: scheduled, waiting for a receiver, or in flight
    mo_sent: int = 0  # MO deliver_sm PDUs (one per part)
    mo_acked: int = 0
    receipts_lost: int = 0  # receipts never sent (lose_receipt_every): only query_sm tells their state
    unconfirmed: int = 0  # submits accepted with an empty message_id (empty_message_id_every)
    queries: int = 0  # query_sm received
    queries_unknown: int = 0  # query_sm for a message id the simulator does not know (ESME_RQUERYFAIL)

    def as_dict(self) -> dict[str, int]:
        """The counters, without the log (for JSON)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "accepted_log"}

    def per_second(self, source_addr: str | None = None) -> dict[int, int]:
        """Accepted submits (of ``source_addr``, or all) by whole second since the first of them."""
        entries = [e for e in self.accepted_log if source_addr is None or e.pdu.source_addr == source_addr]
        buckets: dict[int, int] = {}
        if entries:
            first = entries[0].at
            for e in entries:
                second = int(e.at - first)
                buckets[second] = buckets.get(second, 0) + 1
        return buckets

    def messages(self) -> list[str]:
        """The texts of accepted messages in order of their first part; UDH / SAR parts reassembled.

        A part repeated while its message is incomplete keeps its first copy;
        a message still missing parts is left out.
        """
        slots: list[str | None] = []
        open_groups: dict[tuple[Any, ...], tuple[int, dict[int, AcceptedSubmit]]] = {}
        for e in self.accepted_log:
            udh = e.udh
            info, kind = (udh, "udh") if udh is not None else (e.sar, "sar")
            if info is None or info[1] <= 1:
                slots.append(e.text)
                continue
            ref, total, seq = info
            key = (e.system_id, e.pdu.source_addr, e.pdu.destination_addr, kind, ref, total)
            group = open_groups.get(key)
            if group is None:
                slots.append(None)
                group = open_groups[key] = (len(slots) - 1, {})
            group[1].setdefault(seq, e)
            if len(group[1]) == total:
                del open_groups[key]
                parts = [group[1][i] for i in range(1, total + 1)]
                if len({p.data_coding for p in parts}) == 1:
                    slots[group[0]] = best_effort_text(b"".join(p.body for p in parts), parts[0].data_coding)
                else:
                    slots[group[0]] = "".join(p.text for p in parts)
        return [s for s in slots if s is not None]
