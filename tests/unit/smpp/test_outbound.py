"""Message to submit_sm PDUs: the single-part fast path, addressing, validity, refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.numbers import Number, canonical
from gateway.port import OutboundMessage, Outcome, SendResult
from gateway.smpp.outbound import Preparer, dest_address, source_ton_npi
from gateway.smpp.protocol.concat import build_segments
from gateway.smpp.protocol.pdu import parse_smpp_time
from gateway.smpp.protocol.text import Encoding, TextEncodingError
from tests.support.smpp_connector import config

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
ALPHABET = st.sampled_from(list("abcXYZ 019@$_!?{}[]~€^|\\\n\rÄéüß¿`ñ한글汉😀\u3164"))
POLICIES = [
    {},
    {"allowed_encodings": ("gsm7", "ucs2", "latin1", "euckr")},
    {"allowed_encodings": ("gsm7",)},
    {"allowed_encodings": ("ucs2", "latin1")},
    {"data_coding": "gsm7"},
    {"data_coding": "ucs2"},
    {"data_coding": "latin1"},
    {"gsm7_packed": True},
]


def _message(body: str, **fields: object) -> OutboundMessage:
    sender, recipient = fields.pop("sender", "ACME"), fields.pop("recipient", "+821012345678")
    return OutboundMessage(1, "sms", sender, recipient, body, **fields)  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(text=st.text(ALPHABET, max_size=180), policy=st.sampled_from(POLICIES))
def test_fast_path_cuts_like_build_segments(text: str, policy: dict) -> None:
    """Whatever the single-part shortcut returns is exactly what build_segments gives."""
    cfg = config(1, **policy)
    preparer = Preparer(cfg)
    fast = preparer._single(text)
    if fast is None:
        return
    expected = build_segments(
        text,
        reference=0,
        policy=cfg.data_coding,
        allowed=[Encoding(a) for a in cfg.allowed_encodings],
        gsm7_packed=cfg.gsm7_packed,
        max_segments=cfg.max_segments,
    )
    assert [fast] == expected


@settings(max_examples=100, deadline=None)
@given(text=st.text(ALPHABET, max_size=400), policy=st.sampled_from(POLICIES))
def test_segment_agrees_with_build_segments_or_refuses(text: str, policy: dict) -> None:
    """segment() gives build_segments' parts (same count) or the refusal build_segments implies."""
    cfg = config(1, **policy)
    cut = Preparer(cfg).segment(_message(text))
    try:
        expected = build_segments(
            text,
            reference=1,
            policy=cfg.data_coding,
            allowed=[Encoding(a) for a in cfg.allowed_encodings],
            gsm7_packed=cfg.gsm7_packed,
            max_segments=cfg.max_segments,
        )
    except TextEncodingError:
        assert isinstance(cut, SendResult) and cut.reason == "unencodable"
        return
    except ValueError:
        assert isinstance(cut, SendResult) and cut.reason == "too_long"
        return
    assert isinstance(cut, list) and len(cut) == len(expected)
    assert [(s.data_coding, s.index, s.total) for s in cut] == [(s.data_coding, s.index, s.total) for s in expected]


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("+821012345678", ("821012345678", 1, 1)),
        ("0215881234", ("0215881234", 0, 1)),
        ("ACME Bank", ("ACME Bank", 5, 0)),
    ],
)
def test_source_addressing(address: str, expected: tuple[str, int, int]) -> None:
    """Source TON/NPI follow the sender's form: international, national digits, alphanumeric."""
    assert source_ton_npi(address) == expected


def _number(raw: str) -> Number:
    number = canonical(raw, "KR")
    assert isinstance(number, Number)
    return number


@pytest.mark.parametrize(
    ("destination_format", "expected"),
    [
        ("international", ("821023456789", 1, 1)),
        ("national", ("1023456789", 2, 1)),
        ("domestic", ("01023456789", 0, 1)),
    ],
)
def test_destination_formats(destination_format: str, expected: tuple[str, int, int]) -> None:
    """Each destination format writes a Korean number as that carrier wants it, with the matching TON/NPI."""
    for raw in ("010-2345-6789", "+82 10-2345-6789", "+821023456789"):
        assert dest_address(_number(raw), destination_format, 82) == expected


@pytest.mark.parametrize("destination_format", ["national", "domestic"])
def test_national_formats_send_foreign_numbers_international(destination_format: str) -> None:
    """A national-format carrier gets a number of another country in international form, TON 1."""
    assert dest_address(_number("+33612345678"), destination_format, 82) == ("33612345678", 1, 1)


def test_the_preparer_sends_the_configured_form_and_refuses_what_is_no_number() -> None:
    """A Korean-format connector writes the domestic form; text that is no number is refused invalid_recipient."""
    preparer = Preparer(config(1, destination_format="domestic", home_region="KR"))
    (pdu,) = preparer.prepare(_message("hi", recipient="+82 10-2345-6789"), NOW)  # type: ignore[misc]
    assert (pdu.destination_addr, pdu.dest_addr_ton, pdu.dest_addr_npi) == ("01023456789", 0, 1)
    refused = preparer.prepare(_message("hi", recipient="no number"), NOW)
    assert isinstance(refused, SendResult) and refused.reason == "invalid_recipient"
    assert refused.detail is not None and "no number" not in str(refused.detail)


def test_destination_addressing_and_overrides() -> None:
    """Destinations drop the '+' and say international; configured TON/NPI override the format's."""
    preparer = Preparer(config(1, source_ton=3, source_npi=9, dest_ton=2, dest_npi=8, registered_delivery=17))
    (pdu,) = preparer.prepare(_message("hi", sender="+8215880000"), NOW)  # type: ignore[misc]
    assert (pdu.source_addr, pdu.source_addr_ton, pdu.source_addr_npi) == ("8215880000", 3, 9)
    assert (pdu.destination_addr, pdu.dest_addr_ton, pdu.dest_addr_npi) == ("821012345678", 2, 8)
    assert pdu.registered_delivery == 17


@pytest.mark.parametrize(
    ("configured", "deadline_in", "expected"),
    [
        (86_400, None, timedelta(days=1)),
        (86_400, timedelta(seconds=90.9), timedelta(seconds=90)),
        (60, timedelta(hours=2), timedelta(seconds=60)),
        (0, None, None),
        (0, timedelta(hours=2), timedelta(hours=2)),
        (0, timedelta(days=400), timedelta(days=99)),
    ],
)
def test_validity_never_passes_the_deadline(
    configured: int, deadline_in: timedelta | None, expected: timedelta | None
) -> None:
    """validity_period is the configured time, capped (rounded down) by the deadline; "" means the SMSC default."""
    preparer = Preparer(config(1, validity_period_seconds=configured))
    deadline = NOW + deadline_in if deadline_in is not None else None
    (pdu,) = preparer.prepare(_message("hi", deadline=deadline), NOW)  # type: ignore[misc]
    assert parse_smpp_time(pdu.validity_period) == expected


def test_invalid_address_is_refused_without_echoing_it() -> None:
    """A sender too long for source_addr fails as invalid_pdu with the status name, not the address."""
    result = Preparer(config(1)).prepare(_message("hi", sender="S" * 30), NOW)
    assert isinstance(result, SendResult) and result.outcome is Outcome.FAILED
    assert (result.reason, result.code, result.detail) == ("invalid_pdu", "0x0000000a", {"status": "ESME_RINVSRCADR"})


def test_udh_reference_wraps_within_its_width() -> None:
    """The concatenation reference counts up per long message and wraps at 256 for 8-bit UDH."""
    preparer = Preparer(config(1), reference=254)
    refs = []
    for _ in range(3):
        cut = preparer.segment(_message("x" * 200))
        refs.append(cut[0].short_message[3])  # type: ignore[index]
    assert refs == [255, 0, 1]
