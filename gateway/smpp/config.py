"""Typed configuration of one SMPP connector (one carrier account).

Every key has a named default; only ``name`` and ``system_id`` are required.
The password is a ``SecretStr``: it never shows in ``repr``, logs or errors,
and validation messages about it never echo the value.
"""

from __future__ import annotations

import zoneinfo
from typing import Literal

from pydantic import ConfigDict, Field, SecretStr, field_validator, model_validator

from gateway.configbase import ConfigModel, require_secret
from gateway.numbers import country_code_of

__all__ = ["SmppConnectorConfig"]

Alphabet = Literal["gsm7", "ucs2", "latin1", "euckr"]


class SmppConnectorConfig(ConfigModel):
    # Errors never echo input values: one of them may be the password.
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    type: Literal["smpp"] = "smpp"
    name: str
    channel: Literal["sms"] = "sms"

    # --- the carrier account -------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = Field(2775, ge=1, le=65535)
    system_id: str = Field(min_length=1, max_length=15)
    password: SecretStr = SecretStr("")  # at most 8 characters (SMPP 3.4)
    system_type: str = Field("", max_length=12)
    address_range: str = Field("", max_length=40)
    # "transceiver": `binds` transceiver binds; "transmitter_receiver": `binds` pairs of a
    # transmitter and a receiver; "transmitter": `binds` transmitters (no receipts, no MO).
    bind_mode: Literal["transceiver", "transmitter_receiver", "transmitter"] = "transceiver"
    binds: int = Field(1, ge=1, le=64)
    window: int = Field(64, ge=1, le=1024)  # unanswered submit_sm per bind
    # Binds the carrier allows this account across every instance (transmitter_receiver: each
    # transmitter and each receiver counts). None: no cluster-wide cap. Set, each instance opens
    # only the binds it holds a slot for in PostgreSQL, so binds x instances never exceeds it.
    account_binds: int | None = Field(None, ge=1, le=4096)

    # --- TLS -----------------------------------------------------------------------------
    tls: bool = False
    tls_verify: bool = True  # false: accept any certificate (test SMSCs only)
    tls_ca_file: str | None = None  # PEM bundle to verify the SMSC with instead of the system store
    tls_server_name: str | None = None  # name to check the certificate against (default: host)

    # --- timing -----------------------------------------------------------------------
    connect_timeout_seconds: float = Field(10.0, gt=0)
    response_timeout_seconds: float = Field(10.0, gt=0)  # no answer by then: outcome unknown
    enquire_link_seconds: float = Field(30.0, gt=0)  # after this long without traffic
    unbind_timeout_seconds: float = Field(2.0, gt=0)
    reconnect_initial_seconds: float = Field(1.0, gt=0)
    reconnect_max_seconds: float = Field(60.0, gt=0)
    reconnect_jitter: float = Field(0.2, ge=0, le=1)  # the delay is d * uniform(1 - jitter, 1)
    throttle_pause_ms: float = Field(200.0, ge=0, le=60_000)  # a bind that was throttled sends nothing for this long
    # Segments of a multipart message that were throttled (or refused transiently) after
    # others were accepted are resent alone, after this delay, at most this many times.
    partial_retry_delay_ms: float = Field(500.0, ge=0, le=60_000)
    partial_retry_attempts: int = Field(3, ge=0, le=20)
    # The breaker: this many consecutive submit failures of one kind - response timeouts,
    # generic_nacks, or links the SMSC ended soon after taking submits (fewer than this many
    # answered) - pause every bind and rebind after breaker_pause_seconds, doubling while
    # the failures go on, up to breaker_max_pause_seconds (0 turns it off).
    breaker_threshold: int = Field(5, ge=0, le=10_000)
    breaker_pause_seconds: float = Field(1.0, gt=0)
    breaker_max_pause_seconds: float = Field(60.0, gt=0)

    # --- addressing ---------------------------------------------------------------------
    # How recipients are written in destination_addr. Every recipient is read once, at claim
    # (E.164; national spellings in policy.default_region), and sent in the form this carrier wants:
    # "international": E.164 digits without "+" (821023456789), TON 1 (international) / NPI 1 (ISDN);
    # "national": the national significant number (1023456789), TON 2 (national) / NPI 1;
    # "domestic": as dialled in the country (01023456789), TON 0 (unknown) / NPI 1.
    # The national forms apply to numbers of home_region; other numbers go international.
    destination_format: Literal["international", "national", "domestic"] = "international"
    home_region: str | None = None  # the carrier's country (ISO 3166-1, e.g. "KR"): needed by the national forms
    # None: automatic (source: "+digits" -> 1/1, digits -> 0/1, alphanumeric -> 5/0;
    # destination: as destination_format says). A leading "+" is always stripped.
    source_ton: int | None = Field(None, ge=0, le=255)
    source_npi: int | None = Field(None, ge=0, le=255)
    dest_ton: int | None = Field(None, ge=0, le=255)
    dest_npi: int | None = Field(None, ge=0, le=255)
    # Allowed source addresses; a message from any other sender fails with 'unknown_sender'.
    senders: tuple[str, ...] | None = None
    service_type: str = Field("", max_length=5)
    registered_delivery: int = Field(1, ge=0, le=255)  # 1: a receipt for the final outcome
    # Relative validity sent with each submit_sm, capped by the message's deadline (0: the SMSC's default).
    validity_period_seconds: int = Field(86_400, ge=0, le=99 * 86_400)

    # --- text -----------------------------------------------------------------------------
    data_coding: Literal["auto", "gsm7", "ucs2", "latin1", "euckr"] = "auto"
    allowed_encodings: tuple[Alphabet, ...] = ("gsm7", "ucs2")  # what "auto" may choose from
    long_message: Literal["udh", "sar", "payload"] = "udh"
    udh_ref_bits: Literal[8, 16] = 8
    gsm7_packed: bool = False  # pack GSM 7-bit text (some carriers want it; most want unpacked)
    max_segments: int = Field(10, ge=1, le=255)
    # Korean carriers: "korean" applies their rules to Korean recipients (+82 / 0...): an SMS holds
    # 90 bytes counted in EUC-KR (CP949), text CP949 cannot carry is refused naming the characters
    # (unless allowed_encodings has ucs2), and longer text needs an LMS, which `lms` decides.
    # "segment": every text is cut into concatenated SMS as before.
    message_types: Literal["segment", "korean"] = "segment"
    # What a "korean" connector does with a message that needs an LMS (91 to 2,000 bytes): refuse it
    # (FAILED lms_unsupported, so it can be routed to an LMS-capable connector) or send it as
    # concatenated SMS. MMS (pictures) is always refused: SMPP carries no pictures.
    lms: Literal["refuse", "multipart"] = "refuse"

    # --- receipts and MO ------------------------------------------------------------
    id_format: Literal["as_is", "hex_to_dec", "dec_to_hex"] = "as_is"
    receipt_timezone: str = "UTC"  # the zone the SMSC writes "done date" in
    receipt_batch_max_wait_ms: float = Field(5.0, ge=0, le=10_000)
    receipt_batch_max: int = Field(500, ge=1, le=10_000)
    # Submitted messages with no receipt after this long become `unknown`
    # (some carriers send none); None: the engine's receipt_timeout_seconds.
    receipt_timeout_seconds: float | None = Field(None, ge=0)
    receipt_store_concurrency: int = Field(4, ge=1, le=64)  # batches per bind being stored at once
    # What makes a deliver_sm / data_sm a receipt. "auto": its esm_class says so, or it carries the
    # receipted_message_id / message_state TLVs, or its text reads as an Appendix B receipt
    # ("id:... stat:..."). "esm_class": only esm_class bits 5-2 (an SMSC whose MO texts look like receipts).
    receipt_detection: Literal["auto", "esm_class"] = "auto"
    # Ask the SMSC (query_sm) for the state of messages whose receipt is overdue before they settle
    # `unknown`; off for SMSCs that refuse query_sm.
    query_sm: bool = True
    query_sm_timeout_seconds: float = Field(5.0, gt=0)  # how long a round of query_sm may take in all
    # A submit_sm_resp with no message_id: no receipt can ever match it. "settle": the message settles
    # at once as `unknown` with reason `submitted_unconfirmed`; "wait": it stays `submitted` until the
    # receipt timeout, as before.
    unconfirmed_submits: Literal["settle", "wait"] = "settle"
    mo_reassembly_timeout_seconds: float = Field(30.0, gt=0)

    @field_validator("password")
    @classmethod
    def _password_length(cls, value: SecretStr) -> SecretStr:
        require_secret(value)  # an account without a password leaves the key out
        if len(value.get_secret_value()) > 8:
            raise ValueError("must be at most 8 characters (SMPP 3.4); the value is not shown")
        return value

    @field_validator("receipt_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("allowed_encodings")
    @classmethod
    def _some_alphabet(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("name at least one alphabet")
        return value

    @field_validator("home_region")
    @classmethod
    def _known_region(cls, value: str | None) -> str | None:
        if value is not None and country_code_of(value) == 0:
            raise ValueError(f"unknown region {value!r} (ISO 3166-1 alpha-2, upper case, e.g. 'KR')")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> SmppConnectorConfig:
        if self.destination_format != "international" and self.home_region is None:
            raise ValueError(f"destination_format {self.destination_format!r} needs home_region (e.g. 'KR')")
        if self.reconnect_max_seconds < self.reconnect_initial_seconds:
            raise ValueError("reconnect_max_seconds must not be below reconnect_initial_seconds")
        if self.tls_ca_file is not None and not self.tls:
            raise ValueError("tls_ca_file is set but tls is false")
        return self
