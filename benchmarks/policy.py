"""The policy's CPU cost per message: the claim-time decision and the last check before sending.

Pure, in one process, no database: ``evaluate`` for a Korean ad (quiet hours,
content rules, the end of its allowed window), a US ad to a Connecticut number
(federal and state rules), an informational message; and ``recheck`` on a
message the gate allowed (the in-memory last check every sent message pays).
Prints microseconds per call and ends with one JSON line.

    python -m benchmarks.policy
    python -m benchmarks.policy --n 50000
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from gateway.policy import Allow, OptOutSet, PolicyConfig, evaluate, recheck
from gateway.port import OutboundMessage

SEOUL_NOON = datetime(2026, 7, 14, 12, 0, tzinfo=ZoneInfo("Asia/Seoul"))
NEW_YORK_NOON = datetime(2026, 7, 14, 12, 0, tzinfo=ZoneInfo("America/New_York"))
KR_AD = "(광고) 봄 세일 20% 할인\n무료수신거부 080-123-4567"


def per_call_us(fn, n: int) -> float:
    fn()  # warm caches (phonenumbers metadata, zoneinfo)
    started = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - started) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="calls per case")
    args = parser.parse_args()
    config, opt_outs = PolicyConfig(), OptOutSet([("15880000", "+821099990000")])
    kr = OutboundMessage(1, "sms", "15880000", "+821012345678", KR_AD, kind="advertising")
    us = OutboundMessage(2, "sms", "15880000", "+12035550123", "promo", kind="advertising")
    info = OutboundMessage(3, "sms", "15880000", "+821012345678", "Your code is 123456")

    def decide(message: OutboundMessage, now: datetime):
        return evaluate(message, consent=True, now=now, config=config, opt_outs=opt_outs)

    allowed = decide(kr, SEOUL_NOON)
    assert isinstance(allowed, Allow) and allowed.until is not None
    claimed = replace(kr, allowed_until=allowed.until)
    results = {
        "evaluate_kr_ad_us": per_call_us(lambda: decide(kr, SEOUL_NOON), args.n),
        "evaluate_us_ct_ad_us": per_call_us(lambda: decide(us, NEW_YORK_NOON), args.n),
        "evaluate_informational_us": per_call_us(lambda: decide(info, SEOUL_NOON), args.n),
        "recheck_us": per_call_us(lambda: recheck(claimed, now=SEOUL_NOON, config=config, opt_outs=opt_outs), args.n),
    }
    print(f"policy cost per message ({args.n} calls each, one core)")
    for name, us_per_call in results.items():
        print(f"  {name.removesuffix('_us'):<28} {us_per_call:8.1f} µs")
    print(json.dumps({"benchmark": "policy", "n": args.n, **{k: round(v, 2) for k, v in results.items()}}))


if __name__ == "__main__":
    main()
