"""Golden-byte tests of every PDU, the streaming decoder's framing rules, TLVs, PDU validation, statuses."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import pytest

from gateway.smpp.protocol.codec import NEED_DATA, Decoder, decode, encode
from gateway.smpp.protocol.errors import LocalProtocolError, RemoteProtocolError
from gateway.smpp.protocol.pdu import (
    PDU_CLASSES,
    AlertNotification,
    BindReceiver,
    BindReceiverResp,
    BindTransceiver,
    BindTransceiverResp,
    BindTransmitter,
    BindTransmitterResp,
    DataSm,
    DataSmResp,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    Outbind,
    Pdu,
    QuerySm,
    QuerySmResp,
    SubmitSm,
    SubmitSmResp,
    Unbind,
    UnbindResp,
    format_absolute_time,
    format_relative_time,
    parse_smpp_time,
)
from gateway.smpp.protocol.status import (
    ESME_RBINDFAIL,
    ESME_RINVCMDID,
    ESME_RINVCMDLEN,
    ESME_RINVDSTADR,
    ESME_RINVESMCLASS,
    ESME_RINVEXPIRY,
    ESME_RINVMSGLEN,
    ESME_RINVOPTPARSTREAM,
    ESME_RINVPARLEN,
    ESME_RINVSRCADR,
    ESME_RMSGQFUL,
    ESME_RTHROTTLED,
    CommandStatus,
    StatusClass,
    classify_status,
    status_name,
)
from gateway.smpp.protocol.tlv import MessageState, NetworkErrorCode, Tag, Tlvs


def h(*parts: str) -> bytes:
    """Golden hex: the annotated pieces joined, spaces ignored."""
    return bytes.fromhex("".join(parts).replace(" ", ""))


GOLDEN = [
    pytest.param(
        GenericNack(sequence_number=7, command_status=ESME_RINVCMDID),
        h(
            "00000010",  # command_length 16
            "80000000",  # command_id generic_nack
            "00000003",  # command_status ESME_RINVCMDID
            "00000007",  # sequence_number 7
        ),
        id="generic_nack",
    ),
    pytest.param(
        BindTransmitter(sequence_number=1, system_id="smppclient1", password="password"),
        h(
            "0000002a",  # command_length 42
            "00000002",  # command_id bind_transmitter
            "00000000",  # command_status
            "00000001",  # sequence_number 1
            "736d7070636c69656e743100",  # system_id "smppclient1\0"
            "70617373776f726400",  # password "password\0"
            "00",  # system_type ""
            "34",  # interface_version 3.4
            "00",  # addr_ton
            "00",  # addr_npi
            "00",  # address_range ""
        ),
        id="bind_transmitter",
    ),
    pytest.param(
        BindTransmitterResp(sequence_number=1, system_id="SMSC", tlvs=Tlvs(sc_interface_version=0x34)),
        h(
            "0000001a",  # command_length 26
            "80000002",  # command_id bind_transmitter_resp
            "00000000",  # command_status ESME_ROK
            "00000001",  # sequence_number 1
            "534d534300",  # system_id "SMSC\0"
            "0210 0001 34",  # TLV sc_interface_version, length 1, 0x34
        ),
        id="bind_transmitter_resp",
    ),
    pytest.param(
        BindReceiver(
            sequence_number=2,
            system_id="rx",
            password="pw",
            system_type="GW",
            addr_ton=1,
            addr_npi=1,
            address_range="^82",
        ),
        h(
            "00000020",  # command_length 32
            "00000001",  # command_id bind_receiver
            "00000000",  # command_status
            "00000002",  # sequence_number 2
            "727800",  # system_id "rx\0"
            "707700",  # password "pw\0"
            "475700",  # system_type "GW\0"
            "34",  # interface_version 3.4
            "01",  # addr_ton international
            "01",  # addr_npi ISDN
            "5e383200",  # address_range "^82\0"
        ),
        id="bind_receiver",
    ),
    pytest.param(
        BindReceiverResp(sequence_number=2, system_id="SMSC"),
        h(
            "00000015",  # command_length 21
            "80000001",  # command_id bind_receiver_resp
            "00000000",  # command_status ESME_ROK
            "00000002",  # sequence_number 2
            "534d534300",  # system_id "SMSC\0"
        ),
        id="bind_receiver_resp",
    ),
    pytest.param(
        BindTransceiver(sequence_number=3, system_id="trx"),
        h(
            "0000001a",  # command_length 26
            "00000009",  # command_id bind_transceiver
            "00000000",  # command_status
            "00000003",  # sequence_number 3
            "74727800",  # system_id "trx\0"
            "00",  # password ""
            "00",  # system_type ""
            "34",  # interface_version 3.4
            "00",  # addr_ton
            "00",  # addr_npi
            "00",  # address_range ""
        ),
        id="bind_transceiver",
    ),
    pytest.param(
        BindTransceiverResp(sequence_number=3, system_id="SMSC"),
        h(
            "00000015",  # command_length 21
            "80000009",  # command_id bind_transceiver_resp
            "00000000",  # command_status ESME_ROK
            "00000003",  # sequence_number 3
            "534d534300",  # system_id "SMSC\0"
        ),
        id="bind_transceiver_resp",
    ),
    pytest.param(
        Outbind(sequence_number=4, system_id="smsc", password="pw"),
        h(
            "00000018",  # command_length 24
            "0000000b",  # command_id outbind
            "00000000",  # command_status
            "00000004",  # sequence_number 4
            "736d736300",  # system_id "smsc\0"
            "707700",  # password "pw\0"
        ),
        id="outbind",
    ),
    pytest.param(
        Unbind(sequence_number=5),
        h("00000010", "00000006", "00000000", "00000005"),  # length 16, unbind, status 0, seq 5
        id="unbind",
    ),
    pytest.param(
        UnbindResp(sequence_number=5),
        h("00000010", "80000006", "00000000", "00000005"),  # length 16, unbind_resp, ESME_ROK, seq 5
        id="unbind_resp",
    ),
    pytest.param(
        EnquireLink(sequence_number=6),
        h("00000010", "00000015", "00000000", "00000006"),  # length 16, enquire_link, status 0, seq 6
        id="enquire_link",
    ),
    pytest.param(
        EnquireLinkResp(sequence_number=6),
        h("00000010", "80000015", "00000000", "00000006"),  # length 16, enquire_link_resp, ESME_ROK, seq 6
        id="enquire_link_resp",
    ),
    pytest.param(
        SubmitSm(
            sequence_number=0x7FFFFFFF,
            source_addr_ton=5,
            source_addr="GW",
            dest_addr_ton=1,
            dest_addr_npi=1,
            destination_addr="821012345678",
            validity_period="000001000000000R",
            registered_delivery=1,
            data_coding=8,
            short_message="Hi".encode("utf-16-be"),
            tlvs=Tlvs(user_message_reference=7),
        ),
        h(
            "00000049",  # command_length 73
            "00000004",  # command_id submit_sm
            "00000000",  # command_status
            "7fffffff",  # sequence_number 0x7FFFFFFF (the last before wrapping)
            "00",  # service_type ""
            "05",  # source_addr_ton alphanumeric
            "00",  # source_addr_npi unknown
            "475700",  # source_addr "GW\0"
            "01",  # dest_addr_ton international
            "01",  # dest_addr_npi ISDN
            "38323130313233343536373800",  # destination_addr "821012345678\0"
            "00",  # esm_class
            "00",  # protocol_id
            "00",  # priority_flag
            "00",  # schedule_delivery_time "" (immediate)
            "3030303030313030303030303030305200",  # validity_period "000001000000000R\0" (1 day)
            "01",  # registered_delivery: receipt on final outcome
            "00",  # replace_if_present_flag
            "08",  # data_coding UCS-2
            "00",  # sm_default_msg_id
            "04",  # sm_length 4
            "00480069",  # short_message "Hi" in UTF-16BE
            "0204 0002 0007",  # TLV user_message_reference, length 2, 7
        ),
        id="submit_sm",
    ),
    pytest.param(
        SubmitSmResp(sequence_number=8, message_id="0A1B2C3D"),
        h(
            "00000019",  # command_length 25
            "80000004",  # command_id submit_sm_resp
            "00000000",  # command_status ESME_ROK
            "00000008",  # sequence_number 8
            "304131423243334400",  # message_id "0A1B2C3D\0"
        ),
        id="submit_sm_resp",
    ),
    pytest.param(
        DeliverSm(
            sequence_number=9,
            source_addr_ton=1,
            source_addr_npi=1,
            source_addr="821012345678",
            dest_addr_ton=5,
            destination_addr="GW",
            esm_class=0x04,
            short_message=b"id:7 stat:DELIVRD",
            tlvs=Tlvs(receipted_message_id="7", message_state=MessageState.DELIVERED),
        ),
        h(
            "0000004b",  # command_length 75
            "00000005",  # command_id deliver_sm
            "00000000",  # command_status
            "00000009",  # sequence_number 9
            "00",  # service_type ""
            "01",  # source_addr_ton international
            "01",  # source_addr_npi ISDN
            "38323130313233343536373800",  # source_addr "821012345678\0"
            "05",  # dest_addr_ton alphanumeric
            "00",  # dest_addr_npi
            "475700",  # destination_addr "GW\0"
            "04",  # esm_class: SMSC delivery receipt
            "00",  # protocol_id
            "00",  # priority_flag
            "00",  # schedule_delivery_time "" (unused in deliver_sm)
            "00",  # validity_period "" (unused in deliver_sm)
            "00",  # registered_delivery
            "00",  # replace_if_present_flag
            "00",  # data_coding
            "00",  # sm_default_msg_id
            "11",  # sm_length 17
            "69643a3720737461743a44454c49565244",  # short_message "id:7 stat:DELIVRD"
            "001e 0002 3700",  # TLV receipted_message_id, length 2, "7\0"
            "0427 0001 02",  # TLV message_state, length 1, DELIVERED
        ),
        id="deliver_sm",
    ),
    pytest.param(
        DeliverSmResp(sequence_number=9),
        h(
            "00000011",  # command_length 17
            "80000005",  # command_id deliver_sm_resp
            "00000000",  # command_status ESME_ROK
            "00000009",  # sequence_number 9
            "00",  # message_id "" (unused)
        ),
        id="deliver_sm_resp",
    ),
    pytest.param(
        DataSm(
            sequence_number=10,
            service_type="WAP",
            source_addr_ton=1,
            source_addr_npi=1,
            source_addr="821012345678",
            dest_addr_ton=1,
            dest_addr_npi=1,
            destination_addr="821087654321",
            data_coding=4,
            tlvs=Tlvs(message_payload=b"\x01\x02\x03", source_port=9200, destination_port=2948),
        ),
        h(
            "00000048",  # command_length 72
            "00000103",  # command_id data_sm
            "00000000",  # command_status
            "0000000a",  # sequence_number 10
            "57415000",  # service_type "WAP\0"
            "01",  # source_addr_ton
            "01",  # source_addr_npi
            "38323130313233343536373800",  # source_addr "821012345678\0"
            "01",  # dest_addr_ton
            "01",  # dest_addr_npi
            "38323130383736353433323100",  # destination_addr "821087654321\0"
            "00",  # esm_class
            "00",  # registered_delivery
            "04",  # data_coding 8-bit binary
            "0424 0003 010203",  # TLV message_payload, length 3
            "020a 0002 23f0",  # TLV source_port 9200
            "020b 0002 0b84",  # TLV destination_port 2948
        ),
        id="data_sm",
    ),
    pytest.param(
        DataSmResp(
            sequence_number=10, message_id="m1", tlvs=Tlvs({Tag.ADDITIONAL_STATUS_INFO_TEXT: "ok", 0x1401: b"\xaa"})
        ),
        h(
            "0000001f",  # command_length 31
            "80000103",  # command_id data_sm_resp
            "00000000",  # command_status ESME_ROK
            "0000000a",  # sequence_number 10
            "6d3100",  # message_id "m1\0"
            "001d 0003 6f6b00",  # TLV additional_status_info_text "ok\0"
            "1401 0001 aa",  # vendor TLV 0x1401, kept raw
        ),
        id="data_sm_resp",
    ),
    pytest.param(
        AlertNotification(
            sequence_number=11,
            source_addr_ton=1,
            source_addr_npi=1,
            source_addr="821012345678",
            esme_addr_ton=5,
            esme_addr="GW",
            tlvs=Tlvs(ms_availability_status=0),
        ),
        h(
            "00000029",  # command_length 41
            "00000102",  # command_id alert_notification
            "00000000",  # command_status
            "0000000b",  # sequence_number 11
            "01",  # source_addr_ton
            "01",  # source_addr_npi
            "38323130313233343536373800",  # source_addr "821012345678\0"
            "05",  # esme_addr_ton
            "00",  # esme_addr_npi
            "475700",  # esme_addr "GW\0"
            "0422 0001 00",  # TLV ms_availability_status available
        ),
        id="alert_notification",
    ),
    pytest.param(
        QuerySm(sequence_number=12, message_id="1a2b", source_addr_ton=5, source_addr="ACME"),
        h(
            "0000001c",  # command_length 28
            "00000003",  # command_id query_sm
            "00000000",  # command_status
            "0000000c",  # sequence_number 12
            "3161326200",  # message_id "1a2b\0"
            "05",  # source_addr_ton alphanumeric
            "00",  # source_addr_npi
            "41434d4500",  # source_addr "ACME\0"
        ),
        id="query_sm",
    ),
    pytest.param(
        QuerySmResp(
            sequence_number=12, message_id="1a2b", final_date="261201120000000+", message_state=5, error_code=1
        ),
        h(
            "00000028",  # command_length 40
            "80000003",  # command_id query_sm_resp
            "00000000",  # command_status ESME_ROK
            "0000000c",  # sequence_number 12
            "3161326200",  # message_id "1a2b\0"
            "3236313230313132303030303030302b00",  # final_date "261201120000000+\0"
            "05",  # message_state UNDELIVERABLE
            "01",  # error_code 1
        ),
        id="query_sm_resp",
    ),
]

NEXT = h("00000010", "00000015")  # the first 8 octets of the PDU that follows (an enquire_link)


def test_golden_covers_every_pdu_class() -> None:
    """Every registered PDU class has a golden case."""
    covered = {type(param.values[0]) for param in GOLDEN}
    assert covered == set(PDU_CLASSES.values())


@pytest.mark.parametrize(("pdu", "wire"), GOLDEN)
def test_encode_golden(pdu: Pdu, wire: bytes) -> None:
    """encode() produces exactly the annotated bytes."""
    assert encode(pdu).hex() == wire.hex()


@pytest.mark.parametrize(("pdu", "wire"), GOLDEN)
def test_decode_golden_whole(pdu: Pdu, wire: bytes) -> None:
    """The golden bytes fed at once decode to the PDU, leaving nothing buffered."""
    decoder = Decoder()
    decoder.receive_data(wire)
    assert decoder.next_pdu() == pdu
    assert decoder.next_pdu() is NEED_DATA
    assert decoder.buffered == 0
    assert decode(wire) == pdu


@pytest.mark.parametrize(("pdu", "wire"), GOLDEN)
def test_decode_golden_byte_by_byte(pdu: Pdu, wire: bytes) -> None:
    """Fed one byte at a time, the decoder waits until the last byte, then yields the PDU."""
    decoder = Decoder()
    for i in range(len(wire) - 1):
        decoder.receive_data(wire[i : i + 1])
        assert decoder.next_pdu() is NEED_DATA
    decoder.receive_data(wire[-1:])
    assert decoder.next_pdu() == pdu
    assert decoder.next_pdu() is NEED_DATA


@pytest.mark.parametrize(("pdu", "wire"), GOLDEN)
def test_decode_golden_with_trailing_bytes(pdu: Pdu, wire: bytes) -> None:
    """Bytes of the next PDU after the golden ones stay buffered for it."""
    decoder = Decoder()
    decoder.receive_data(wire + NEXT)
    assert decoder.next_pdu() == pdu
    assert decoder.next_pdu() is NEED_DATA
    assert decoder.buffered == len(NEXT)
    decoder.receive_data(h("00000000", "0000002a"))  # the rest: command_status 0, sequence_number 42
    assert decoder.next_pdu() == EnquireLink(sequence_number=42)


def test_decoder_yields_back_to_back_pdus_in_order() -> None:
    """Several PDUs arriving in one chunk come out one per next_pdu() call, in order."""
    decoder = Decoder()
    decoder.receive_data(b"".join(wire for _pdu, wire in (p.values for p in GOLDEN)))
    got = []
    while (pdu := decoder.next_pdu()) is not NEED_DATA:
        got.append(pdu)
    assert got == [p.values[0] for p in GOLDEN]


# --- empty bodies on error responses -------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (h("00000010", "80000004", "00000058", "0000000c"), SubmitSmResp(sequence_number=12, command_status=0x58)),
        (h("00000010", "80000001", "0000000d", "00000002"), BindReceiverResp(sequence_number=2, command_status=0x0D)),
        (h("00000010", "80000103", "00000008", "00000003"), DataSmResp(sequence_number=3, command_status=8)),
        (h("00000010", "80000005", "00000000", "00000009"), DeliverSmResp(sequence_number=9)),
    ],
    ids=["submit_sm_resp_throttled", "bind_receiver_resp_bindfail", "data_sm_resp_syserr", "deliver_sm_resp_ok"],
)
def test_response_without_body_decodes_to_defaults(header: bytes, expected: Pdu) -> None:
    """An error response (or deliver_sm_resp) with only a header decodes, body fields at their defaults."""
    assert decode(header) == expected


def test_successful_submit_sm_resp_without_body_is_refused() -> None:
    """A submit_sm_resp with ESME_ROK must carry its message_id: an empty body is a remote error."""
    with pytest.raises(RemoteProtocolError) as info:
        decode(h("00000010", "80000004", "00000000", "0000000c"))
    assert info.value.error_status == ESME_RINVCMDLEN
    assert info.value.sequence_number == 12
    assert not info.value.fatal


# --- framing --------------------------------------------------------------------------


def test_over_long_command_length_refused_from_the_header_alone() -> None:
    """A header announcing more than max_pdu_size is refused before any body octet arrives."""
    decoder = Decoder(max_pdu_size=1024)
    decoder.receive_data(h("00000401", "00000004", "00000000", "00000005"))  # length 1025, submit_sm, seq 5
    with pytest.raises(RemoteProtocolError) as info:
        decoder.next_pdu()
    assert info.value.fatal
    assert info.value.error_status == ESME_RINVCMDLEN
    assert info.value.sequence_number == 5
    assert decoder.buffered == 16


def test_default_max_pdu_size_is_64_kib() -> None:
    """With the default limit, 65536 octets is accepted as a length and 65537 refused at the header."""
    ok = Decoder()
    ok.receive_data(h("00010000", "00000004", "00000000", "00000001"))
    assert ok.next_pdu() is NEED_DATA  # waits for the body
    too_long = Decoder()
    too_long.receive_data(h("00010001", "00000004", "00000000", "00000001"))
    with pytest.raises(RemoteProtocolError):
        too_long.next_pdu()


def test_pdu_exactly_max_pdu_size_is_accepted() -> None:
    """The limit is inclusive: a 25-octet submit_sm_resp passes max_pdu_size=25 and fails 24."""
    wire = encode(SubmitSmResp(sequence_number=1, message_id="0A1B2C3D"))
    assert len(wire) == 25
    decoder = Decoder(max_pdu_size=25)
    decoder.receive_data(wire)
    assert decoder.next_pdu() == SubmitSmResp(sequence_number=1, message_id="0A1B2C3D")
    tight = Decoder(max_pdu_size=24)
    tight.receive_data(wire)
    with pytest.raises(RemoteProtocolError):
        tight.next_pdu()


@pytest.mark.parametrize("length", [0, 1, 15])
def test_command_length_below_header_size_refused(length: int) -> None:
    """command_length under 16 cannot frame anything: a fatal error."""
    decoder = Decoder()
    decoder.receive_data(length.to_bytes(4, "big") + h("00000015", "00000000", "00000001"))
    with pytest.raises(RemoteProtocolError) as info:
        decoder.next_pdu()
    assert info.value.fatal


def test_fatal_error_is_raised_again_on_every_call() -> None:
    """After a framing error the decoder stays broken, whatever arrives next."""
    decoder = Decoder()
    decoder.receive_data(h("00000004", "00000015", "00000000", "00000001"))
    with pytest.raises(RemoteProtocolError) as first:
        decoder.next_pdu()
    decoder.receive_data(encode(EnquireLink(sequence_number=2)))
    with pytest.raises(RemoteProtocolError) as again:
        decoder.next_pdu()
    assert again.value is first.value


def test_unknown_command_id_carries_sequence_and_decoder_goes_on() -> None:
    """An unknown command_id is a non-fatal error naming seq and id; the next PDU still decodes."""
    decoder = Decoder()
    decoder.receive_data(h("00000014", "00000021", "00000000", "00000063", "deadbeef"))  # submit_multi, seq 99
    decoder.receive_data(encode(EnquireLink(sequence_number=100)))
    with pytest.raises(RemoteProtocolError) as info:
        decoder.next_pdu()
    assert (info.value.error_status, info.value.sequence_number, info.value.command_id) == (ESME_RINVCMDID, 99, 0x21)
    assert not info.value.fatal
    assert decoder.next_pdu() == EnquireLink(sequence_number=100)


def test_decode_requires_exactly_one_frame() -> None:
    """decode() refuses a frame whose command_length disagrees with its size, or a short header."""
    wire = encode(EnquireLink(sequence_number=1))
    for bad in (wire + b"\0", wire[:-1], b""):
        with pytest.raises(RemoteProtocolError):
            decode(bad)


# --- body errors ----------------------------------------------------------------------


def _submit_body(**fields: object) -> bytes:
    return encode(SubmitSm(sequence_number=3, **fields))  # type: ignore[arg-type]


def _refit(wire: bytes) -> bytes:
    """``wire`` with its command_length set to its size (after a body edit)."""
    return len(wire).to_bytes(4, "big") + wire[4:]


@pytest.mark.parametrize(
    ("wire", "status"),
    [
        # destination_addr of 21 characters: no NUL within its 21 octets
        (
            _refit(_submit_body(destination_addr="1" * 20).replace(b"1" * 20 + b"\0", b"1" * 21 + b"\0")),
            ESME_RINVDSTADR,
        ),
        # source_addr cut short by the end of the body
        (_refit(_submit_body(source_addr="12345")[: 16 + 4]), ESME_RINVSRCADR),
        # sm_length says 200, 2 octets follow
        (_refit(_submit_body(short_message=b"hi").replace(b"\x02hi", b"\xc8hi")), ESME_RINVMSGLEN),
        # body stops after the C-octet strings: the one-octet fields are missing
        (_refit(_submit_body()[: 16 + 1 + 2 + 1 + 2 + 1 + 3 + 1 + 1]), ESME_RINVCMDLEN),
        # an enquire_link with a body
        (h("00000011", "00000015", "00000000", "00000003", "00"), ESME_RINVCMDLEN),
        # a submit_sm with no body at all
        (h("00000010", "00000004", "00000000", "00000003"), ESME_RINVCMDLEN),
    ],
    ids=["dst_no_nul", "src_truncated", "sm_length_past_end", "fixed_fields_missing", "enquire_body", "no_body"],
)
def test_invalid_body_is_a_non_fatal_remote_error(wire: bytes, status: int) -> None:
    """A PDU whose body breaks a field rule raises RemoteProtocolError naming seq, command and status."""
    with pytest.raises(RemoteProtocolError) as info:
        decode(wire)
    assert info.value.sequence_number == 3
    assert not info.value.fatal
    assert info.value.error_status == status


def test_decoded_validity_period_is_validated() -> None:
    """A submit_sm whose validity_period is not an SMPP time is refused with ESME_RINVEXPIRY."""
    good = encode(SubmitSm(sequence_number=3, validity_period="000001000000000R"))
    bad = good.replace(b"000001000000000R", b"000001000000000X")
    with pytest.raises(RemoteProtocolError) as info:
        decode(bad)
    assert info.value.error_status == ESME_RINVEXPIRY


# --- TLVs -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tlvs", "wire"),
    [
        (Tlvs(message_payload=b"\x00\x41" * 3), "0424 0006 004100410041"),
        (Tlvs(sar_msg_ref_num=0x1234), "020c 0002 1234"),
        (Tlvs(sar_total_segments=3), "020e 0001 03"),
        (Tlvs(sar_segment_seqnum=2), "020f 0001 02"),
        (Tlvs(receipted_message_id="0A1B"), "001e 0005 3041314200"),
        (Tlvs(message_state=MessageState.UNDELIVERABLE), "0427 0001 05"),
        (Tlvs(network_error_code=NetworkErrorCode(3, 0x0022)), "0423 0003 030022"),
        (Tlvs(user_message_reference=0xBEEF), "0204 0002 beef"),
        (Tlvs(source_port=9200, destination_port=2948), "020a 0002 23f0 020b 0002 0b84"),
        (Tlvs(more_messages_to_send=1), "0426 0001 01"),
        (Tlvs(payload_type=1), "0019 0001 01"),
        (Tlvs(sc_interface_version=0x34), "0210 0001 34"),
        (Tlvs(qos_time_to_live=86400), "0017 0004 00015180"),
        (Tlvs(alert_on_message_delivery=b""), "130c 0000"),
    ],
    ids=lambda v: next(iter(v)).name.lower() if isinstance(v, Tlvs) else None,
)
def test_tlv_round_trip(tlvs: Tlvs, wire: str) -> None:
    """Each typed TLV encodes to its tag|length|value bytes and decodes back to the same typed value."""
    assert tlvs.encode() == h(wire)
    assert Tlvs.decode(h(wire)) == tlvs


def test_unknown_tlv_preserved_raw_in_order() -> None:
    """A TLV with an unregistered tag survives decode/encode byte for byte, in its wire position."""
    wire = h("1501 0003 010203", "0427 0001 02", "3fff 0000")  # vendor, message_state, vendor (empty)
    tlvs = Tlvs.decode(wire)
    assert tlvs.unknown == ((0x1501, b"\x01\x02\x03"), (0x3FFF, b""))
    assert tlvs[Tag.MESSAGE_STATE] == 2
    assert list(tlvs) == [0x1501, Tag.MESSAGE_STATE, 0x3FFF]
    assert tlvs.encode() == wire
    pdu = decode(encode(DeliverSm(sequence_number=1, tlvs=tlvs)))
    assert pdu.tlvs.unknown == tlvs.unknown  # type: ignore[attr-defined]


def test_receipted_message_id_without_nul_is_accepted() -> None:
    """Some SMSCs omit the C-string NUL in receipted_message_id; the value is still read."""
    assert Tlvs.decode(h("001e 0004 41424344"))[Tag.RECEIPTED_MESSAGE_ID] == "ABCD"


@pytest.mark.parametrize(
    ("wire", "status"),
    [
        ("0424 0005 0102", ESME_RINVPARLEN),  # length runs past the end
        ("0427 00", ESME_RINVOPTPARSTREAM),  # truncated TLV header
    ],
    ids=["past_end", "short_header"],
)
def test_broken_tlv_stream_is_a_remote_error(wire: str, status: int) -> None:
    """A TLV stream that cannot be walked raises RemoteProtocolError with the TLV status, and only that."""
    with pytest.raises(RemoteProtocolError) as info:
        Tlvs.decode(h(wire))
    assert info.value.error_status == status


@pytest.mark.parametrize(
    "wire",
    [
        "0427 0002 0002",  # message_state must be 1 octet
        "0423 0002 0300",  # network_error_code must be 3 octets
        "001e 0003 41 00 42",  # NUL inside a C-octet string
        "001e 0042" + "41" * 66,  # receipted_message_id longer than 65 octets
    ],
    ids=["fixed_len", "neterr_len", "inner_nul", "too_long"],
)
def test_malformed_known_tlv_kept_raw_not_refused(wire: str) -> None:
    """A known TLV with a value of the wrong shape is set aside raw, the rest decodes, re-encoding keeps it."""
    data = h("0204 0002 0007") + h(wire)  # a valid user_message_reference first
    tlvs = Tlvs.decode(data)
    tag = int(wire[:4], 16)
    assert tlvs.get(tag) is None  # as if absent
    assert tlvs.malformed == ((tag, h(wire)[4:]),)
    assert tlvs[Tag.USER_MESSAGE_REFERENCE] == 7
    assert tlvs.encode() == data


def test_repeated_tlv_keeps_the_first_and_sets_aside_the_rest() -> None:
    """A tag sent twice: the first value counts, the repeat is kept raw in malformed."""
    tlvs = Tlvs.decode(h("0427 0001 02", "0427 0001 05"))
    assert tlvs[Tag.MESSAGE_STATE] == 2
    assert tlvs.malformed == ((0x0427, b"\x05"),)


def test_receipt_with_malformed_tlv_still_decodes() -> None:
    """A deliver_sm receipt whose network_error_code is 2 octets decodes; the receipt is not refused."""
    good = encode(DeliverSm(sequence_number=5, esm_class=4, tlvs=Tlvs(receipted_message_id="7")))
    bad = good + h("0423 0002 0300")
    pdu = decode(len(bad).to_bytes(4, "big") + bad[4:])
    assert pdu.tlvs.get(Tag.RECEIPTED_MESSAGE_ID) == "7"  # type: ignore[attr-defined]
    assert pdu.tlvs.malformed == ((0x0423, b"\x03\x00"),)  # type: ignore[attr-defined]


def test_tlvs_validate_on_construction() -> None:
    """Building Tlvs checks value types and ranges, names and duplicates."""
    with pytest.raises(LocalProtocolError):
        Tlvs(sar_total_segments=256)
    with pytest.raises(LocalProtocolError):
        Tlvs(message_payload="text")  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError):
        Tlvs(receipted_message_id="x" * 65)
    with pytest.raises(LocalProtocolError):
        Tlvs([(Tag.SOURCE_PORT, 1), (Tag.SOURCE_PORT, 2)])
    with pytest.raises(LocalProtocolError):
        Tlvs({0x10000: b""})
    with pytest.raises(LocalProtocolError):
        Tlvs({0x1501: "not bytes"})
    with pytest.raises(TypeError):
        Tlvs(no_such_parameter=1)


def test_tlvs_is_an_immutable_order_insensitive_mapping() -> None:
    """Tlvs compares like a dict, hashes consistently and refuses attribute assignment."""
    a = Tlvs(source_port=1, destination_port=2)
    b = Tlvs({Tag.DESTINATION_PORT: 2, Tag.SOURCE_PORT: 1})
    assert a == b and hash(a) == hash(b)
    assert a.get(Tag.SOURCE_PORT) == 1 and a.get(Tag.MESSAGE_PAYLOAD) is None
    with pytest.raises(AttributeError):
        a._map = {}  # type: ignore[misc]


# --- PDU validation ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"destination_addr": "1" * 21}, ESME_RINVDSTADR),
        ({"source_addr": "a\0b"}, ESME_RINVSRCADR),
        ({"source_addr": "발신"}, ESME_RINVSRCADR),
        ({"source_addr": b"GW"}, ESME_RINVSRCADR),
        ({"esm_class": 256}, ESME_RINVESMCLASS),
        ({"esm_class": -1}, ESME_RINVESMCLASS),
        ({"short_message": b"x" * 255}, ESME_RINVMSGLEN),
        ({"short_message": "text"}, ESME_RINVMSGLEN),
        ({"short_message": b"x", "tlvs": Tlvs(message_payload=b"y")}, ESME_RINVMSGLEN),
        ({"validity_period": "1h"}, ESME_RINVEXPIRY),
        ({"validity_period": "000001000000049R"}, ESME_RINVEXPIRY),  # 49 quarter hours
        ({"sequence_number": 1 << 32}, ESME_RINVCMDLEN),
    ],
)
def test_submit_sm_validates_on_construction(fields: dict[str, object], status: int) -> None:
    """An impossible field value raises LocalProtocolError carrying the status an SMSC would answer."""
    with pytest.raises(LocalProtocolError) as info:
        SubmitSm(**fields)  # type: ignore[arg-type]
    assert info.value.error_status == status


def test_longest_valid_values_are_accepted() -> None:
    """The spec maxima (20-char address, 254-octet message, Latin-1 text) are within the rules."""
    pdu = SubmitSm(source_addr="é" * 20, destination_addr="9" * 20, short_message=b"x" * 254)
    assert decode(encode(pdu)) == pdu


def test_pdus_are_frozen() -> None:
    """A PDU cannot be changed after construction; dataclasses.replace re-validates."""
    pdu = SubmitSm(destination_addr="1")
    with pytest.raises(dataclasses.FrozenInstanceError):
        pdu.destination_addr = "2"  # type: ignore[misc]
    with pytest.raises(LocalProtocolError):
        dataclasses.replace(pdu, destination_addr="1" * 30)


def test_password_never_in_repr() -> None:
    """bind and outbind reprs leave the password out."""
    assert "hunter2" not in repr(BindTransceiver(system_id="me", password="hunter2"))
    assert "hunter2" not in repr(Outbind(system_id="me", password="hunter2"))


def test_response_helper_copies_sequence_number() -> None:
    """request.response() builds the matching *_resp with the request's sequence number."""
    assert SubmitSm(sequence_number=9).response(message_id="A") == SubmitSmResp(sequence_number=9, message_id="A")
    assert DeliverSm(sequence_number=4).response(ESME_RMSGQFUL) == DeliverSmResp(sequence_number=4, command_status=0x14)
    with pytest.raises(LocalProtocolError):
        Outbind().response()


# --- SMPP time strings --------------------------------------------------------------


def test_format_relative_time() -> None:
    """Seconds become YYMMDDhhmmss000R with days, hours, minutes and seconds."""
    assert format_relative_time(0) == "000000000000000R"
    assert format_relative_time(90061) == "000001010101000R"  # 1 day 1 h 1 min 1 s
    assert format_relative_time(99 * 86400) == "000099000000000R"
    with pytest.raises(ValueError):
        format_relative_time(100 * 86400)
    with pytest.raises(ValueError):
        format_relative_time(-1)


def test_format_absolute_time() -> None:
    """An aware datetime keeps its own offset, in quarter hours with a sign, tenths of a second included."""
    kst = timezone(timedelta(hours=9))
    assert format_absolute_time(datetime(2024, 5, 6, 7, 8, 9, 300000, tzinfo=kst)) == "240506070809336+"
    nst = timezone(-timedelta(hours=3, minutes=30))
    assert format_absolute_time(datetime(2031, 12, 31, 23, 59, 59, tzinfo=nst)) == "311231235959014-"
    with pytest.raises(ValueError):
        format_absolute_time(datetime(2024, 5, 6))  # naive
    with pytest.raises(ValueError):
        format_absolute_time(datetime(2024, 5, 6, tzinfo=timezone(timedelta(minutes=10))))


def test_parse_smpp_time_inverts_the_formatters() -> None:
    """parse_smpp_time gives back the instant or the duration the string was made from."""
    when = datetime(2024, 5, 6, 7, 8, 9, 300000, tzinfo=timezone(timedelta(hours=9)))
    assert parse_smpp_time(format_absolute_time(when)) == when
    assert parse_smpp_time(format_relative_time(90061)) == timedelta(days=1, hours=1, minutes=1, seconds=1)
    assert parse_smpp_time("") is None
    with pytest.raises(ValueError):
        parse_smpp_time("tomorrow")


# --- statuses --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (0x00, StatusClass.OK),
        (ESME_RTHROTTLED, StatusClass.THROTTLED),
        (ESME_RMSGQFUL, StatusClass.THROTTLED),
        (0x08, StatusClass.TRANSIENT),  # RSYSERR
        (0x64, StatusClass.TRANSIENT),  # RX_T_APPN
        (0x45, StatusClass.TRANSIENT),  # RSUBMITFAIL
        (0x0B, StatusClass.PERMANENT),  # RINVDSTADR
        (0x0A, StatusClass.PERMANENT),  # RINVSRCADR
        (0x01, StatusClass.PERMANENT),  # RINVMSGLEN
        (0x104, StatusClass.PERMANENT),  # RINVDCS (SMPP 5.0)
        (0x65, StatusClass.PERMANENT),  # RX_P_APPN
        (0x400, StatusClass.UNKNOWN_CODE),  # vendor-specific
        (0x09, StatusClass.UNKNOWN_CODE),  # reserved
    ],
)
def test_classify_status(status: int, expected: StatusClass) -> None:
    """classify_status() sorts codes into OK / THROTTLED / TRANSIENT / PERMANENT / UNKNOWN_CODE."""
    assert classify_status(status) is expected


def test_every_table_code_has_a_known_class() -> None:
    """No code of the table falls through to UNKNOWN_CODE."""
    assert all(classify_status(code) is not StatusClass.UNKNOWN_CODE for code in CommandStatus)


def test_status_names() -> None:
    """status_name() gives the ESME_ name, or hex for codes outside the table."""
    assert status_name(0x58) == "ESME_RTHROTTLED"
    assert status_name(ESME_RBINDFAIL) == "ESME_RBINDFAIL"
    assert status_name(0x401) == "0x00000401"
