"""Codec throughput: submit_sm encode + decode round trips per second, in pure Python.

Run ``python -m benchmarks.smpp_codec``. Prints per-operation timings, then one
JSON line ``{"submit_sm_roundtrips_per_s": N, ...}`` for scripts to pick up.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable

from gateway.smpp.protocol.codec import Decoder, decode, encode
from gateway.smpp.protocol.pdu import (
    BindTransceiver,
    BindTransceiverResp,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    SubmitSm,
    SubmitSmResp,
)
from gateway.smpp.protocol.session import EsmeSession
from gateway.smpp.protocol.tlv import Tlvs

SUBMIT = SubmitSm(
    sequence_number=12345,
    source_addr_ton=5,
    source_addr_npi=0,
    source_addr="GATEWAY",
    dest_addr_ton=1,
    dest_addr_npi=1,
    destination_addr="821012345678",
    registered_delivery=1,
    data_coding=0,
    short_message=b"Your verification code is 123456. Do not share it with anyone.",
)
SUBMIT_SAR = SubmitSm(
    sequence_number=12346,
    source_addr="GATEWAY",
    destination_addr="821012345678",
    data_coding=8,
    short_message=bytes(134),
    tlvs=Tlvs(sar_msg_ref_num=77, sar_total_segments=3, sar_segment_seqnum=2),
)
RECEIPT = DeliverSm(
    sequence_number=9,
    source_addr="821012345678",
    destination_addr="GATEWAY",
    esm_class=0x04,
    short_message=(
        b"id:0A1B2C3D sub:001 dlvrd:001 submit date:2405060708 done date:2405060709 stat:DELIVRD err:000 text:"
    ),
)


def rate(label: str, fn: Callable[[], object], seconds: float = 1.0) -> float:
    """Calls of ``fn`` per second of CPU time, measured over about ``seconds``.

    CPU time (``process_time``) rather than wall time, so that other processes
    on a shared machine do not count against the codec.
    """
    n = 0
    batch = 1000
    start = time.process_time()
    while True:
        for _ in range(batch):
            fn()
        n += batch
        elapsed = time.process_time() - start
        if elapsed >= seconds:
            break
    per_s = n / elapsed
    print(f"{label:<44} {per_s:>12,.0f} /s  {1e6 / per_s:7.2f} us")
    return per_s


def main() -> int:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    wire = encode(SUBMIT)
    results = {
        "submit_sm_roundtrips_per_s": rate("submit_sm encode+decode", lambda: decode(encode(SUBMIT)), seconds),
        "submit_sm_encode_per_s": rate("submit_sm encode", lambda: encode(SUBMIT), seconds),
        "submit_sm_decode_per_s": rate("submit_sm decode", lambda: decode(wire), seconds),
        "submit_sm_sar_roundtrips_per_s": rate(
            "submit_sm + 3 SAR TLVs encode+decode", lambda: decode(encode(SUBMIT_SAR)), seconds
        ),
    }
    resp = SubmitSmResp(sequence_number=12345, message_id="0A1B2C3D4E5F")
    rate("submit_sm_resp encode+decode", lambda: decode(encode(resp)), seconds)
    rate("deliver_sm (receipt) encode+decode", lambda: decode(encode(RECEIPT)), seconds)
    ack = DeliverSmResp(sequence_number=9)
    rate("deliver_sm_resp encode+decode", lambda: decode(encode(ack)), seconds)
    ping = EnquireLink(sequence_number=3)
    rate("enquire_link encode+decode", lambda: decode(encode(ping)), seconds)

    stream = wire * 1000
    decoder = Decoder()

    def stream_1000() -> None:
        decoder.receive_data(stream)
        while decoder.buffered:
            decoder.next_pdu()

    per_s = rate("Decoder: 1000 submit_sm per receive_data", stream_1000, seconds) * 1000
    results["decoder_stream_submit_sm_per_s"] = per_s

    session = EsmeSession(window=1, enquire_link_interval=None)
    session.send(BindTransceiver(system_id="bench"), 0.0)
    session.receive_data(encode(BindTransceiverResp(sequence_number=1)), 0.0)
    session.next_event()

    def session_round_trip() -> None:
        wire = session.send(SUBMIT, 1.0)
        session.receive_data(encode(SubmitSmResp(sequence_number=int.from_bytes(wire[12:16], "big"))), 1.0)
        session.next_event()

    results["session_submit_and_response_per_s"] = rate(
        "EsmeSession: send submit_sm + match its resp", session_round_trip, seconds
    )
    print(json.dumps({k: round(v) for k, v in results.items()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
