"""Delivery receipts: reading a deliver_sm receipt and matching its id to a submission.

Sans-I/O and standalone. A receipt speaks in two places and this module reads
both, trusting the TLVs over the text when they disagree:

* the TLVs ``receipted_message_id``, ``message_state`` and
  ``network_error_code`` (SMPP 3.4 §5.3.2.12, .35, .31);
* the ``short_message`` text of SMPP 3.4 Appendix B,
  ``id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm
  stat:DDDDDDD err:E text:...``, read tolerantly: fields in any order or
  missing, keys in any case, ``submit_date``/``done_date`` spellings, unknown
  fields kept, dates of 10 (YYMMDDhhmm), 12 (YYMMDDhhmmss) or 14
  (YYYYMMDDhhmmss) digits, and ``text:`` taking the rest of the line, colons
  and all.

Dates come back as naive ``datetime`` values in whatever zone the SMSC keeps
(none is guessed; two-digit years are 20YY); a date that is not a valid
calendar time is ``None`` and its raw string stays in ``fields``.

Message ids are compared in a canonical form: ``normalise_message_id`` is
applied to the submit_sm_resp id (``side="submit_resp"``) and to the receipt
id (``side="receipt"``) with the connector's ``IdFormat``. Input that is not a
receipt raises ``ReceiptParseError``; no input raises anything else.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime

__all__ = [
    "DeliveryState",
    "IdFormat",
    "IdSide",
    "ParsedReceipt",
    "ReceiptParseError",
    "message_state_name",
    "normalise_message_id",
    "parse_receipt",
    "state_from_message_state",
    "state_from_stat",
]


class ReceiptParseError(ValueError):
    """The deliver_sm does not carry a usable delivery receipt."""


class DeliveryState(enum.Enum):
    """What a receipt says became of a message."""

    DELIVERED = "delivered"
    EXPIRED = "expired"
    FAILED = "failed"  # deleted or rejected by the SMSC
    UNDELIVERABLE = "undeliverable"
    ACCEPTED = "accepted"  # not final
    UNKNOWN = "unknown"
    ENROUTE = "enroute"  # not final

    @property
    def is_final(self) -> bool:
        """False for the interim states (accepted, enroute), which a later receipt follows."""
        return self not in (DeliveryState.ACCEPTED, DeliveryState.ENROUTE)


# SMPP message_state (3.4 §5.2.28; 0 and 9 are SMPP 5.0 additions).
_MESSAGE_STATES = {
    0: ("SCHEDULED", DeliveryState.ENROUTE),
    1: ("ENROUTE", DeliveryState.ENROUTE),
    2: ("DELIVERED", DeliveryState.DELIVERED),
    3: ("EXPIRED", DeliveryState.EXPIRED),
    4: ("DELETED", DeliveryState.FAILED),
    5: ("UNDELIVERABLE", DeliveryState.UNDELIVERABLE),
    6: ("ACCEPTED", DeliveryState.ACCEPTED),
    7: ("UNKNOWN", DeliveryState.UNKNOWN),
    8: ("REJECTED", DeliveryState.FAILED),
    9: ("SKIPPED", DeliveryState.FAILED),
}

# stat: values, Appendix B spellings first, then variants seen in the field.
_STATS = {
    "DELIVRD": DeliveryState.DELIVERED,
    "DELIVERED": DeliveryState.DELIVERED,
    "EXPIRED": DeliveryState.EXPIRED,
    "EXPIRD": DeliveryState.EXPIRED,
    "DELETED": DeliveryState.FAILED,
    "DELETD": DeliveryState.FAILED,
    "UNDELIV": DeliveryState.UNDELIVERABLE,
    "UNDELIVERABLE": DeliveryState.UNDELIVERABLE,
    "UNDELIVERED": DeliveryState.UNDELIVERABLE,
    "UNDELIVRD": DeliveryState.UNDELIVERABLE,
    "ACCEPTD": DeliveryState.ACCEPTED,
    "ACCEPTED": DeliveryState.ACCEPTED,
    "UNKNOWN": DeliveryState.UNKNOWN,
    "REJECTD": DeliveryState.FAILED,
    "REJECTED": DeliveryState.FAILED,
    "ENROUTE": DeliveryState.ENROUTE,
    "EN_ROUTE": DeliveryState.ENROUTE,
    "SCHEDULED": DeliveryState.ENROUTE,
    "FAILED": DeliveryState.FAILED,
    "FAILD": DeliveryState.FAILED,
    "SKIPPED": DeliveryState.FAILED,
}


def state_from_message_state(value: int) -> DeliveryState:
    """The state a ``message_state`` TLV value means; ``ReceiptParseError`` for unknown values."""
    try:
        return _MESSAGE_STATES[value][1]
    except (KeyError, TypeError):
        raise ReceiptParseError(f"message_state {value!r} is not an SMPP message state") from None


def message_state_name(value: object) -> tuple[str, DeliveryState] | None:
    """The SMPP name and the state of a ``message_state`` TLV value; None outside 0..9 (ignored, as absent)."""
    return _MESSAGE_STATES.get(value) if type(value) is int else None


def state_from_stat(stat: str) -> DeliveryState:
    """The state a receipt's ``stat:`` text means; unrecognised words are UNKNOWN."""
    return _STATS.get(stat.strip().upper(), DeliveryState.UNKNOWN)


# --- message ids --------------------------------------------------------------------


class IdFormat(enum.Enum):
    """How a carrier writes message ids on each side (after Kannel's ``msg-id-type``).

    ``as_is``: both sides alike. ``hex_to_dec``: the submit_sm_resp id is hex
    and receipts write it in decimal; ids are compared in decimal.
    ``dec_to_hex``: the submit_sm_resp id is decimal and receipts write it in
    hex; ids are compared in hex.
    """

    AS_IS = "as_is"
    HEX_TO_DEC = "hex_to_dec"
    DEC_TO_HEX = "dec_to_hex"


class IdSide(enum.Enum):
    """Where an id was read: the submit_sm_resp or a delivery receipt."""

    SUBMIT_RESP = "submit_resp"
    RECEIPT = "receipt"


_DEC = re.compile(r"[0-9]+", re.ASCII)
_HEX = re.compile(r"[0-9a-fA-F]+", re.ASCII)
_MAX_NUMERIC_ID = 65  # SMPP message_id is at most 65 octets; longer is not a number we convert


def _case(value: str, case: str) -> str:
    if case == "lower":
        return value.lower()
    if case == "upper":
        return value.upper()
    if case == "preserve":
        return value
    raise ValueError(f"case must be 'lower', 'upper' or 'preserve', not {case!r}")


def normalise_message_id(
    raw: str, id_format: IdFormat | str = IdFormat.AS_IS, *, side: IdSide | str, case: str = "lower"
) -> str:
    """The canonical form of a message id, so a receipt's id equals its submit_sm_resp's.

    Surrounding blanks and NULs go. ``as_is``: an id of hex digits (every
    decimal id is one) loses its leading zeros; letters take ``case``.
    ``hex_to_dec``: the submit side's hex becomes decimal, the receipt's
    decimal loses leading zeros. ``dec_to_hex``: the submit side's decimal
    becomes hex, the receipt's hex loses leading zeros; hex letters take
    ``case``. An id not in the expected form is kept as in ``as_is``.
    Raises ``ReceiptParseError`` for an empty id.
    """
    id_format = IdFormat(id_format)
    side = IdSide(side)
    value = raw.strip(" \t\r\n\x00")
    if not value:
        raise ReceiptParseError("message id is empty")
    if len(value) <= _MAX_NUMERIC_ID:
        hex_side = (id_format is IdFormat.HEX_TO_DEC and side is IdSide.SUBMIT_RESP) or (
            id_format is IdFormat.DEC_TO_HEX and side is IdSide.RECEIPT
        )
        if id_format is IdFormat.HEX_TO_DEC:
            if hex_side and _HEX.fullmatch(value):
                return str(int(value, 16))
            if not hex_side and _DEC.fullmatch(value):
                return str(int(value))
        elif id_format is IdFormat.DEC_TO_HEX:
            if hex_side and _HEX.fullmatch(value):
                return _case(format(int(value, 16), "x"), case)
            if not hex_side and _DEC.fullmatch(value):
                return _case(format(int(value), "x"), case)
    if _HEX.fullmatch(value):
        value = value.lstrip("0") or "0"
    return _case(value, case)


# --- the receipt text -----------------------------------------------------------------

_TEXT_FIELD = re.compile(r"(?:^|\s)text\s*:", re.ASCII | re.IGNORECASE)
_FIELD = re.compile(
    r"(?P<key>submit[ _]*date|done[ _]*date|[a-z][\w-]*)\s*:"
    r"(?P<value>\S+|[ \t]+(?![a-z][\w-]*\s*:)\S+|)",
    re.ASCII | re.IGNORECASE,
)
_DATE_FORMATS = {10: "%y%m%d%H%M", 12: "%y%m%d%H%M%S", 14: "%Y%m%d%H%M%S"}


def _canonical_key(key: str) -> str:
    key = key.lower()
    for stem in ("submit", "done"):
        if key.startswith(stem) and key.endswith("date"):
            return f"{stem}_date"
    return key


def _fields(text: str) -> tuple[list[tuple[str, str]], str | None]:
    match = _TEXT_FIELD.search(text)
    head, tail = (text[: match.start()], text[match.end() :]) if match else (text, None)
    pairs = [(_canonical_key(m["key"]), m["value"].strip()) for m in _FIELD.finditer(head)]
    if tail is not None:
        pairs.append(("text", tail))
    return pairs, tail


def _date(raw: str | None) -> datetime | None:
    if raw is None or not _DEC.fullmatch(raw) or len(raw) not in _DATE_FORMATS:
        return None
    try:
        return datetime.strptime(raw, _DATE_FORMATS[len(raw)])
    except ValueError:
        return None


def _count(raw: str | None) -> int | None:
    if raw is None or not _DEC.fullmatch(raw) or len(raw) > 10:
        return None
    return int(raw)


def _err(raw: str | None) -> int | None:
    if raw is None:
        return None
    if _DEC.fullmatch(raw) and len(raw) <= 10:
        return int(raw)
    if raw[:2].lower() == "0x" and _HEX.fullmatch(raw[2:]) and len(raw) <= 10:
        return int(raw[2:], 16)
    return None


@dataclass(frozen=True, slots=True)
class ParsedReceipt:
    """A delivery receipt, normalised.

    ``carrier_id`` is the normalised id of the receipted message; ``stat`` the
    raw stat word (or the SMPP name of the ``message_state`` TLV);
    ``err_code`` the TLV's network error code, else the text's ``err`` as a
    number; ``network_error`` the TLV as (network type, code); ``fields``
    every key:value of the text in order, keys lower-cased.
    """

    carrier_id: str
    state: DeliveryState
    err_code: int | None = None
    submit_date: datetime | None = None
    done_date: datetime | None = None
    dlvrd: int | None = None
    sub: int | None = None
    stat: str | None = None
    network_error: tuple[int, int] | None = None
    text: str | None = None
    fields: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not self.carrier_id:
            raise ValueError("carrier_id must not be empty")
        if not isinstance(self.state, DeliveryState):
            raise TypeError(f"state must be a DeliveryState, not {type(self.state).__name__}")


def parse_receipt(
    short_message_text: str | None,
    *,
    receipted_message_id: str | None = None,
    message_state: int | None = None,
    network_error_code: bytes | None = None,
    id_format: IdFormat | str = IdFormat.AS_IS,
    id_case: str = "lower",
) -> ParsedReceipt:
    """Read a receipt from a deliver_sm's text and TLVs, the TLVs winning where both speak.

    It needs an id (``receipted_message_id`` or ``id:``) and a state
    (``message_state`` or ``stat:``), else ``ReceiptParseError``. A
    ``message_state`` outside 0..9 or a ``network_error_code`` not 3 octets
    long is ignored as if absent.
    """
    pairs, tail = _fields(short_message_text) if short_message_text else ([], None)
    first: dict[str, str] = {}
    for key, value in pairs:
        first.setdefault(key, value)

    raw_id = receipted_message_id.strip(" \t\r\n\x00") if receipted_message_id else ""
    if not raw_id:
        raw_id = first.get("id", "").strip(" \t\r\n\x00")
    if not raw_id:
        raise ReceiptParseError(
            "no message id: neither a receipted_message_id TLV nor an id: field"
            + (f" in {short_message_text[:60]!r}" if short_message_text else "")
        )

    stat = first.get("stat") or None
    if message_state in _MESSAGE_STATES:
        stat_name, state = _MESSAGE_STATES[message_state]
        stat = stat_name
    elif stat is not None:
        state = state_from_stat(stat)
    else:
        raise ReceiptParseError(
            "no state: neither a message_state TLV nor a stat: field"
            + (f" in {short_message_text[:60]!r}" if short_message_text else "")
        )

    network_error = None
    if network_error_code is not None and len(network_error_code) == 3:
        network_error = (network_error_code[0], int.from_bytes(network_error_code[1:], "big"))
    err_code = network_error[1] if network_error else _err(first.get("err"))

    return ParsedReceipt(
        carrier_id=normalise_message_id(raw_id, id_format, side=IdSide.RECEIPT, case=id_case),
        state=state,
        err_code=err_code,
        submit_date=_date(first.get("submit_date")),
        done_date=_date(first.get("done_date")),
        dlvrd=_count(first.get("dlvrd")),
        sub=_count(first.get("sub")),
        stat=stat,
        network_error=network_error,
        text=tail,
        fields=tuple(pairs),
    )
