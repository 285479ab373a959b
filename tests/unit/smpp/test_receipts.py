"""Delivery receipts: tolerant text parsing, TLV precedence, state mapping, id normalisation."""

from __future__ import annotations

import ast
import inspect
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.smpp.protocol import receipts as receipts_module
from gateway.smpp.protocol.receipts import (
    DeliveryState,
    IdFormat,
    ParsedReceipt,
    ReceiptParseError,
    normalise_message_id,
    parse_receipt,
    state_from_message_state,
    state_from_stat,
)

D = DeliveryState

# --- a dozen receipts as carriers send them ----------------------------------------------------


def test_appendix_b_receipt() -> None:
    """The SMPP 3.4 Appendix B layout with 10-digit dates parses field by field."""
    r = parse_receipt(
        "id:0123456789 sub:001 dlvrd:001 submit date:2301311159 done date:2302010002 "
        "stat:DELIVRD err:000 text:Your code is 1234"
    )
    assert r == ParsedReceipt(
        carrier_id="123456789",
        state=D.DELIVERED,
        err_code=0,
        submit_date=datetime(2023, 1, 31, 11, 59),
        done_date=datetime(2023, 2, 1, 0, 2),
        dlvrd=1,
        sub=1,
        stat="DELIVRD",
        text="Your code is 1234",
        fields=(
            ("id", "0123456789"),
            ("sub", "001"),
            ("dlvrd", "001"),
            ("submit_date", "2301311159"),
            ("done_date", "2302010002"),
            ("stat", "DELIVRD"),
            ("err", "000"),
            ("text", "Your code is 1234"),
        ),
    )


def test_twelve_digit_dates_keep_seconds() -> None:
    """YYMMDDhhmmss dates keep their seconds."""
    r = parse_receipt(
        "id:77 sub:001 dlvrd:001 submit date:240229235958 done date:240301000001 stat:DELIVRD err:000 text:"
    )
    assert r.submit_date == datetime(2024, 2, 29, 23, 59, 58)
    assert r.done_date == datetime(2024, 3, 1, 0, 0, 1)
    assert r.text == ""


def test_fourteen_digit_dates() -> None:
    """YYYYMMDDhhmmss dates, sent by some SMSCs, are read with a four-digit year."""
    r = parse_receipt("id:1 stat:DELIVRD done date:20240301000001")
    assert r.done_date == datetime(2024, 3, 1, 0, 0, 1)


def test_reordered_fields() -> None:
    """Fields in any order parse the same."""
    r = parse_receipt(
        "stat:UNDELIV err:001 done date:2301011201 id:abc123 dlvrd:000 sub:001 submit date:2301011200 text:x"
    )
    assert (r.carrier_id, r.state, r.err_code) == ("abc123", D.UNDELIVERABLE, 1)
    assert (r.dlvrd, r.sub) == (0, 1)
    assert r.submit_date == datetime(2023, 1, 1, 12, 0)


def test_keys_in_any_case_and_underscore_dates() -> None:
    """ID:/STAT:/Submit_Date: spellings are the same fields."""
    r = parse_receipt("ID:5F3A STAT:EXPIRED ERR:000 Submit_Date:2301011200 DONE_DATE:2301021200 TEXT:hi")
    assert (r.carrier_id, r.state, r.text) == ("5f3a", D.EXPIRED, "hi")
    assert r.done_date == datetime(2023, 1, 2, 12, 0)


def test_unknown_fields_are_kept() -> None:
    """Carrier extras (mccmnc, smsc) do not disturb parsing and stay in fields."""
    r = parse_receipt("id:42 sub:001 dlvrd:001 stat:DELIVRD err:000 mccmnc:45005 smsc:SKT-2 text:ok")
    assert r.state is D.DELIVERED
    assert ("mccmnc", "45005") in r.fields and ("smsc", "SKT-2") in r.fields


def test_missing_fields_are_none() -> None:
    """A receipt with only id and stat is still a receipt; the rest is None."""
    r = parse_receipt("id:12345 stat:REJECTD")
    assert (r.state, r.err_code, r.submit_date, r.done_date, r.dlvrd, r.sub, r.text) == (
        D.FAILED,
        None,
        None,
        None,
        None,
        None,
        None,
    )


def test_text_takes_the_rest_with_colons() -> None:
    """text: swallows the rest, so 'stat:' or 'id:' inside the message text changes nothing."""
    r = parse_receipt("id:9 stat:DELIVRD err:000 text:Meet at 10:30 id:666 stat:REJECTD")
    assert (r.carrier_id, r.state) == ("9", D.DELIVERED)
    assert r.text == "Meet at 10:30 id:666 stat:REJECTD"


def test_blank_after_colon() -> None:
    """'stat: DELIVRD' with a blank after the colon still reads the value, but not the next key."""
    r = parse_receipt("id: 314 sub: dlvrd:001 stat: DELIVRD err: 000")
    assert (r.carrier_id, r.state, r.err_code, r.dlvrd, r.sub) == ("314", D.DELIVERED, 0, 1, None)


def test_tlv_only_receipt() -> None:
    """A receipt without text is read from receipted_message_id, message_state and error TLVs."""
    r = parse_receipt(
        None,
        receipted_message_id="0A1B2C\x00",
        message_state=5,
        network_error_code=bytes.fromhex("03 0022"),  # network type GSM, error 0x0022
    )
    assert (r.carrier_id, r.state, r.stat, r.network_error, r.err_code) == (
        "a1b2c",
        D.UNDELIVERABLE,
        "UNDELIVERABLE",
        (3, 0x22),
        0x22,
    )


def test_tlvs_win_over_text() -> None:
    """When TLVs and text disagree the TLVs are believed."""
    r = parse_receipt(
        "id:111 stat:ENROUTE err:005",
        receipted_message_id="222",
        message_state=2,
        network_error_code=bytes.fromhex("03 0000"),
    )
    assert (r.carrier_id, r.state, r.err_code) == ("222", D.DELIVERED, 0)


def test_bad_tlvs_fall_back_to_text() -> None:
    """An out-of-range message_state or a short network_error_code is ignored, not fatal."""
    r = parse_receipt("id:1 stat:DELIVRD err:7", message_state=42, network_error_code=b"\x03")
    assert (r.state, r.err_code, r.network_error) == (D.DELIVERED, 7, None)


def test_hex_err_and_invalid_date() -> None:
    """err:0x1F reads as 31; a date that is no calendar time is None with its raw text kept."""
    r = parse_receipt("id:1 stat:UNDELIV err:0x1F submit date:2313011200")
    assert (r.err_code, r.submit_date) == (31, None)
    assert ("submit_date", "2313011200") in r.fields


# --- states --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stat", "state"),
    [
        ("DELIVRD", D.DELIVERED),
        ("delivered", D.DELIVERED),
        ("EXPIRED", D.EXPIRED),
        ("DELETED", D.FAILED),
        ("UNDELIV", D.UNDELIVERABLE),
        ("UNDELIVERABLE", D.UNDELIVERABLE),
        ("ACCEPTD", D.ACCEPTED),
        ("UNKNOWN", D.UNKNOWN),
        ("REJECTD", D.FAILED),
        ("REJECTED", D.FAILED),
        ("FAILED", D.FAILED),
        ("ENROUTE", D.ENROUTE),
        ("WEIRD", D.UNKNOWN),
    ],
)
def test_stat_words(stat: str, state: DeliveryState) -> None:
    """Appendix B stat words and common variants map to their state; strangers to UNKNOWN."""
    assert state_from_stat(stat) is state
    assert parse_receipt(f"id:1 stat:{stat}").stat == stat


@pytest.mark.parametrize(
    ("value", "state"),
    [
        (0, D.ENROUTE),  # SCHEDULED (SMPP 5.0)
        (1, D.ENROUTE),
        (2, D.DELIVERED),
        (3, D.EXPIRED),
        (4, D.FAILED),  # DELETED
        (5, D.UNDELIVERABLE),
        (6, D.ACCEPTED),
        (7, D.UNKNOWN),
        (8, D.FAILED),  # REJECTED
        (9, D.FAILED),  # SKIPPED (SMPP 5.0)
    ],
)
def test_message_state_values(value: int, state: DeliveryState) -> None:
    """Each SMPP message_state integer maps to its state."""
    assert state_from_message_state(value) is state


def test_unknown_message_state_raises() -> None:
    """A message_state outside the SMPP table raises ReceiptParseError."""
    with pytest.raises(ReceiptParseError, match="message_state 10"):
        state_from_message_state(10)


def test_only_accepted_and_enroute_are_interim() -> None:
    """Every state but accepted and enroute is final."""
    assert {s for s in DeliveryState if not s.is_final} == {D.ACCEPTED, D.ENROUTE}


# --- not a receipt ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kwargs", "message"),
    [
        ("Hello, how are you?", {}, "no message id"),
        ("", {}, "no message id"),
        (None, {}, "no message id"),
        ("id:123 sub:001", {}, "no state"),
        ("id: stat:DELIVRD", {}, "no message id"),
        (None, {"receipted_message_id": "5"}, "no state"),
        (None, {"message_state": 2}, "no message id"),
    ],
)
def test_not_a_receipt(text: str | None, kwargs: dict, message: str) -> None:
    """Text without an id or a state raises ReceiptParseError saying which is missing."""
    with pytest.raises(ReceiptParseError, match=message):
        parse_receipt(text, **kwargs)


_receiptish = st.lists(
    st.tuples(
        st.sampled_from(["id", "ID", "sub", "dlvrd", "submit date", "done_date", "stat", "err", "text", "x"]),
        st.sampled_from([":", ": ", " :", ""]),
        st.one_of(
            st.text(max_size=14),
            st.sampled_from(["DELIVRD", "0x1F", "2313011200", "240229235958"]),
        ),
    ),
    max_size=10,
).map(lambda items: " ".join(k + sep + v for k, sep, v in items))


@given(
    st.one_of(st.none(), st.text(), _receiptish),
    st.one_of(st.none(), st.text(max_size=80)),
    st.one_of(st.none(), st.integers(-(2**40), 2**40)),
    st.one_of(st.none(), st.binary(max_size=5)),
    st.sampled_from(list(IdFormat)),
)
def test_any_input_gives_a_receipt_or_receipt_parse_error(
    text: str | None, rid: str | None, state: int | None, nec: bytes | None, id_format: IdFormat
) -> None:
    """Garbage never crashes the parser: it returns a ParsedReceipt or raises ReceiptParseError."""
    try:
        r = parse_receipt(
            text,
            receipted_message_id=rid,
            message_state=state,
            network_error_code=nec,
            id_format=id_format,
        )
    except ReceiptParseError:
        return
    assert r.carrier_id and isinstance(r.state, DeliveryState)


# --- message ids -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "id_format", "side", "expected"),
    [
        ("00ABCdef", "as_is", "submit_resp", "abcdef"),  # hex digits: a number, zeros dropped
        ("0000012345", "as_is", "receipt", "12345"),
        ("0000", "as_is", "receipt", "0"),
        ("Msg-00A7", "as_is", "receipt", "msg-00a7"),  # not a number: only the case changes
        ("3039", "hex_to_dec", "submit_resp", "12345"),  # hex 0x3039 = 12345
        ("0012345", "hex_to_dec", "receipt", "12345"),
        ("12345", "dec_to_hex", "submit_resp", "3039"),
        ("00003039", "dec_to_hex", "receipt", "3039"),
        ("abc-123", "hex_to_dec", "submit_resp", "abc-123"),  # not hex: kept as is
        (" 5\x00", "as_is", "receipt", "5"),
    ],
)
def test_normalise_message_id(raw: str, id_format: str, side: str, expected: str) -> None:
    """Ids take one canonical form per connector format, whichever side they come from."""
    assert normalise_message_id(raw, id_format, side=side) == expected


@given(st.integers(0, 2**64), st.integers(0, 6), st.booleans())
def test_hex_to_dec_sides_agree(n: int, zeros: int, upper: bool) -> None:
    """hex_to_dec: the hex submit_sm_resp id and the decimal receipt id normalise equal."""
    submit = format(n, "X" if upper else "x")
    receipt = "0" * zeros + str(n)
    assert normalise_message_id(submit, "hex_to_dec", side="submit_resp") == normalise_message_id(
        receipt, "hex_to_dec", side="receipt"
    )


@given(st.integers(0, 2**64), st.integers(0, 6), st.booleans())
def test_dec_to_hex_sides_agree(n: int, zeros: int, upper: bool) -> None:
    """dec_to_hex: the decimal submit_sm_resp id and the hex receipt id normalise equal."""
    receipt = "0" * zeros + format(n, "X" if upper else "x")
    assert normalise_message_id(str(n), "dec_to_hex", side="submit_resp") == normalise_message_id(
        receipt, "dec_to_hex", side="receipt"
    )


def test_receipt_id_uses_the_connector_format() -> None:
    """parse_receipt normalises the receipt id as the receipt side of id_format."""
    r = parse_receipt("id:0000012345 stat:DELIVRD", id_format=IdFormat.HEX_TO_DEC)
    assert r.carrier_id == normalise_message_id("3039", IdFormat.HEX_TO_DEC, side="submit_resp")


def test_id_case_options() -> None:
    """Letters can be folded up or kept; an unknown case option is refused."""
    assert normalise_message_id("aBc-1", side="receipt", case="upper") == "ABC-1"
    assert normalise_message_id("aBc-1", side="receipt", case="preserve") == "aBc-1"
    upper = parse_receipt("id:ff stat:DELIVRD", id_format="dec_to_hex", id_case="upper")
    assert upper.carrier_id == "FF"
    with pytest.raises(ValueError, match="case"):
        normalise_message_id("a", side="receipt", case="title")


def test_empty_id_raises() -> None:
    """A blank message id is an error, never an empty key to match on."""
    with pytest.raises(ReceiptParseError, match="empty"):
        normalise_message_id(" \x00", side="submit_resp")


def test_module_is_sans_io_and_standalone() -> None:
    """receipts.py imports no I/O and nothing from the rest of the SMPP package."""
    tree = ast.parse(inspect.getsource(receipts_module))
    imported = {
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
    assert imported <= {"__future__", "enum", "re", "dataclasses", "datetime"}
