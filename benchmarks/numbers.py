"""Reading recipients: the cost per message of turning ``recipient`` into the number everything uses.

Compares, per message, in CPU time:

* ``before``: what the daemon did before issue 11 — the policy parsed the recipient
  (``phonenumbers.parse``, ``is_valid_number``, region, E.164 format), and the
  opt-out lookup normalised it again through its own cache (the code of that
  version, reproduced below for the comparison);
* ``after``: the queue reads it once at claim (:func:`gateway.numbers.canonical`:
  an E.164 fast path, a bounded cache), the policy checks the number it was
  handed (validity computed once) and the opt-out lookup normalises the E.164
  form (the same cache);

for three kinds of traffic: a campaign to distinct E.164 numbers (every number
new: cache misses), distinct national spellings (``010-xxxx-xxxx``: the full
parser), and a small set of recipients messaged again and again (cache hits).

    python -m benchmarks.numbers [--messages 50000]

Prints a readable summary and ends with one JSON line.
"""

from __future__ import annotations

import argparse
import functools
import json
import time
import unicodedata
from collections.abc import Callable

import phonenumbers

from gateway.numbers import Number, canonical
from gateway.policy.rules import normalise_number, parse_recipient


# --- the version before issue 11, for comparison (gateway/policy/rules.py at 93e374f) ----------------
def _before_parse(raw: str, default_region: str) -> tuple[str, str | None]:
    number = phonenumbers.parse(raw, default_region)
    if not phonenumbers.is_valid_number(number):
        raise ValueError("invalid")
    region = phonenumbers.region_code_for_number(number)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), region


@functools.lru_cache(maxsize=65_536)
def _before_normalise(raw: str, default_region: str | None = None) -> str:
    text = raw.strip()
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException:
        number = None
    if number is not None and phonenumbers.is_possible_number(number):
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    digits = "".join(ch for ch in unicodedata.normalize("NFKC", text) if ch.isdigit())
    return ("+" if text.startswith("+") else "") + digits


def before(raw: str) -> str:
    e164, _region = _before_parse(raw, "KR")
    return _before_normalise(e164, "KR")  # the opt-out lookup


def after(raw: str) -> str:
    number = canonical(raw, "KR")  # at claim, once
    assert isinstance(number, Number)
    checked = parse_recipient(number.e164, default_region="KR", parsed=number)  # the policy
    _ = checked.region
    return normalise_number(checked.e164, "KR")  # the opt-out lookup


def per_message_us(fn: Callable[[str], str], recipients: list[str], reset: Callable[[], None]) -> float:
    """Mean CPU microseconds per recipient, caches emptied first (the best of three runs)."""
    best = float("inf")
    for _ in range(3):
        reset()
        started = time.process_time()
        for raw in recipients:
            fn(raw)
        best = min(best, (time.process_time() - started) / len(recipients) * 1e6)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=50_000)
    args = parser.parse_args()
    n = args.messages
    traffic = {
        "campaign_e164": [f"+8210{i:08d}" for i in range(n)],
        "campaign_national": [f"010-{i // 10_000 % 10_000:04d}-{i % 10_000:04d}" for i in range(n)],
        "repeat_e164": [f"+8210{i % 500:08d}" for i in range(n)],
    }

    def reset() -> None:
        canonical.cache_clear()
        _before_normalise.cache_clear()

    results: dict[str, dict[str, float]] = {}
    print(f"reading recipients, {n:,} messages per kind (CPU time per message, best of 3)")
    print(f"  {'traffic':<20} {'before':>10} {'after':>10} {'speed-up':>9}")
    for kind, recipients in traffic.items():
        b = per_message_us(before, recipients, reset)
        a = per_message_us(after, recipients, reset)
        results[kind] = {"before_us": round(b, 2), "after_us": round(a, 2), "speedup": round(b / a, 1)}
        print(f"  {kind:<20} {b:>8.2f}us {a:>8.2f}us {b / a:>8.1f}x")
    print(json.dumps({"messages": n, **results}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
