"""Coverage-guided fuzzing of the SMPP decoder with atheris (libFuzzer for Python).

The rule under test: whatever bytes arrive, in whatever pieces, the streaming
decoder yields PDUs or raises RemoteProtocolError — never any other exception.
Hypothesis checks the same rule in every test run (tests/unit/smpp/test_fuzz.py);
this harness is for long runs:

    .venv/bin/pip install atheris
    .venv/bin/python fuzz/smpp_decoder.py -max_total_time=600 -max_len=4096 fuzz/corpus

Any other exception is a crash, and libFuzzer writes the input to crash-<sha1>.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from gateway.smpp.protocol.codec import NEED_DATA, Decoder, encode
    from gateway.smpp.protocol.errors import RemoteProtocolError


def one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    max_size = fdp.ConsumeIntInRange(16, 70_000)
    decoder = Decoder(max_pdu_size=max_size)
    rest = fdp.ConsumeBytes(fdp.remaining_bytes())
    cut = len(rest) // 2 if rest else 0
    for chunk in (rest[:cut], rest[cut:]):  # fed in two pieces: framing must not care
        try:
            decoder.receive_data(chunk)
        except RemoteProtocolError:
            return
        while True:
            try:
                pdu = decoder.next_pdu()
            except RemoteProtocolError as exc:
                if exc.fatal:
                    return
                continue
            if pdu is NEED_DATA:
                break
            encode(pdu)  # whatever decodes must encode again


def main() -> None:
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
