"""Receipt detection and reading on the hot path: microseconds per deliver_sm, in pure Python.

Run ``python -m benchmarks.receipts``. For each kind of deliver_sm: what
``is_receipt`` (with ``receipt_detection = "auto"``) costs, and detection plus
``ReceiptReader.read``. Prints one line per case, then one JSON line for scripts.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable

from gateway.smpp.inbound import ReceiptReader, is_receipt
from gateway.smpp.protocol.pdu import DeliverSm
from gateway.smpp.protocol.tlv import Tlvs

TEXT = b"id:0a1b2c3d sub:001 dlvrd:001 submit date:2405060708 done date:2405060709 stat:DELIVRD err:000 text:Your code"
CASES = {
    "esm_class_4_text": DeliverSm(esm_class=0x04, short_message=TEXT),
    "esm_class_0_text": DeliverSm(esm_class=0x00, short_message=TEXT),
    "esm_class_0_tlv_only": DeliverSm(esm_class=0x00, tlvs=Tlvs(receipted_message_id="0a1b2c3d", message_state=2)),
    "esm_class_0_text_and_tlvs": DeliverSm(
        esm_class=0x00, short_message=TEXT, tlvs=Tlvs(receipted_message_id="0a1b2c3d", message_state=2)
    ),
    "mo_message": DeliverSm(esm_class=0x00, short_message=b"STOP sending me these please"),
}


def micros(fn: Callable[[], object], seconds: float = 0.5) -> float:
    """CPU microseconds per call of ``fn``, over about ``seconds``."""
    n, batch = 0, 1000
    start = time.process_time()
    while True:
        for _ in range(batch):
            fn()
        n += batch
        spent = time.process_time() - start
        if spent >= seconds:
            return spent / n * 1e6


def main() -> int:
    reader = ReceiptReader("bench")
    out: dict[str, float] = {}
    for name, pdu in CASES.items():
        detect = micros(lambda pdu=pdu: is_receipt(pdu, "auto"))  # type: ignore[misc]
        out[f"{name}_detect_us"] = round(detect, 3)
        if name != "mo_message":
            full = micros(lambda pdu=pdu: is_receipt(pdu, "auto") and reader.read(pdu))  # type: ignore[misc]
            out[f"{name}_detect_and_read_us"] = round(full, 3)
            print(f"{name:28} detect {detect:6.2f} us   detect+read {full:6.2f} us")
        else:
            print(f"{name:28} detect {detect:6.2f} us")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
