"""The SMSC simulator's configuration and its command-line form (``gateway simulate smsc`` flags).

``SimulatorConfig`` is a frozen value object that validates itself; every
field carries its help text, and ``build_parser`` turns the field list into
one flag per field, so a new knob is a flag with no further work. Public
names are re-exported by ``gateway.simulators.smsc``.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any

from gateway.smpp.protocol.tlv import MessageState

__all__ = ["OUTCOMES", "SimulatorConfig", "build_parser", "config_from_args", "parse_outcomes"]

#: stat -> (message_state TLV, error code for ``err:`` and network_error_code (GSM MAP cause; 0 = none)).
OUTCOMES: Mapping[str, tuple[MessageState, int]] = MappingProxyType(
    {
        "DELIVRD": (MessageState.DELIVERED, 0),
        "UNDELIV": (MessageState.UNDELIVERABLE, 1),  # unknown subscriber
        "EXPIRED": (MessageState.EXPIRED, 27),  # absent subscriber
        "REJECTD": (MessageState.REJECTED, 11),  # teleservice not provisioned
        "DELETED": (MessageState.DELETED, 0),
        "UNKNOWN": (MessageState.UNKNOWN, 0),
    }
)


def _help(text: str) -> dict[str, str]:
    return {"help": text}


@dataclass(frozen=True, slots=True)
class SimulatorConfig:
    """How the simulator behaves; every field is also a ``gateway simulate smsc`` flag."""

    host: str = field(default="127.0.0.1", metadata=_help("address to listen on"))
    port: int = field(default=0, metadata=_help("port (0 = any free port)"))
    system_id: str | None = field(default=None, metadata=_help("system_id ESMEs must bind with (default: any)"))
    password: str | None = field(default=None, metadata=_help("password ESMEs must bind with (default: any)"))
    receipt_delay: float = field(default=0.0, metadata=_help("seconds from submit_sm_resp to its receipt"))
    outcomes: Mapping[str, float] = field(
        default_factory=lambda: {"DELIVRD": 1.0},
        metadata=_help(f"receipt stat weights, e.g. DELIVRD=0.9,UNDELIV=0.1 (of {', '.join(OUTCOMES)})"),
    )
    receipt_format: str = field(default="text", metadata=_help("text (Appendix B), tlv, or both"))
    message_id_format: str = field(default="hex", metadata=_help("message ids in submit_sm_resp: hex or dec"))
    receipt_id_format: str | None = field(
        default=None, metadata=_help("write receipt ids (text and TLV) as hex or dec (default: as in the resp)")
    )
    twelve_digit_dates: bool = field(default=False, metadata=_help("receipt dates YYMMDDhhmmss instead of YYMMDDhhmm"))
    response_delay: float = field(default=0.0, metadata=_help("seconds before each submit_sm_resp"))
    throttle_every: int = field(default=0, metadata=_help("answer every Nth submit ESME_RTHROTTLED (0x58)"))
    queue_full_every: int = field(default=0, metadata=_help("answer every Nth submit ESME_RMSGQFUL (0x14)"))
    reject_every: int = field(default=0, metadata=_help("answer every Nth submit ESME_RINVDSTADR (0x0B, permanent)"))
    max_rate: float = field(default=0.0, metadata=_help("submits/s per source_addr over 1 s; above: 0x58 (0 = off)"))
    drop_every: int = field(default=0, metadata=_help("close the connection on every Nth submit, unanswered"))
    silent_every: int = field(default=0, metadata=_help("never answer every Nth submit"))
    generic_nack_every: int = field(default=0, metadata=_help("answer every Nth submit with generic_nack"))
    generic_nack_status: int = field(
        default=0x08, metadata=_help("command_status of those generic_nacks (8 ESME_RSYSERR; 3 ESME_RINVCMDID)")
    )
    throttle_segment: int = field(
        default=0, metadata=_help("answer ESME_RTHROTTLED to segment N of every multipart message (0 = off)")
    )
    throttle_segment_times: int = field(
        default=0, metadata=_help("... only its first N copies, per message (0 = every copy)")
    )
    unbind_after: int = field(default=0, metadata=_help("send unbind after N submits on a connection"))
    receipt_esm_class: int = field(
        default=0x04, metadata=_help("esm_class of receipts (0: as some SMSCs send them, like an MO message)")
    )
    lose_receipt_every: int = field(
        default=0, metadata=_help("never send the receipt of every Nth accepted submit (query_sm still knows it)")
    )
    empty_message_id_every: int = field(
        default=0, metadata=_help("accept every Nth submit with an empty message_id (no receipt can match it)")
    )
    receipts_before_response: bool = field(default=False, metadata=_help("write the receipt before the submit_sm_resp"))
    receipt_ack_timeout: float = field(default=10.0, metadata=_help("resend a receipt unanswered this many seconds"))
    receipt_retry_delay: float = field(default=1.0, metadata=_help("resend a refused receipt after this many seconds"))
    deliver_window: int = field(default=100, metadata=_help("unanswered deliver_sm allowed per connection"))
    max_binds: int = field(
        default=0, metadata=_help("binds allowed at once per system_id, as carriers cap an account (0 = no cap)")
    )
    enquire_link_interval: float = field(
        default=0.0, metadata=_help("send enquire_link when idle this long (0 = never)")
    )
    record_submits: bool = field(
        default=True,
        metadata=_help("keep each accepted submit in stats.accepted_log (~0.5 KB each; off for long runs)"),
    )
    seed: int | None = field(default=None, metadata=_help("random seed (message ids, outcomes)"))

    def __post_init__(self) -> None:
        weights = {str(k).upper(): float(v) for k, v in dict(self.outcomes).items()}
        unknown = sorted(set(weights) - set(OUTCOMES))
        if unknown:
            raise ValueError(f"unknown receipt outcome(s) {unknown}; known: {', '.join(OUTCOMES)}")
        if any(w < 0 or math.isnan(w) for w in weights.values()) or sum(weights.values()) <= 0:
            raise ValueError(f"outcome weights must be >= 0 with a positive sum, not {weights}")
        object.__setattr__(self, "outcomes", MappingProxyType(weights))
        if self.receipt_format not in ("text", "tlv", "both"):
            raise ValueError(f"receipt_format must be text, tlv or both, not {self.receipt_format!r}")
        if self.message_id_format not in ("hex", "dec"):
            raise ValueError(f"message_id_format must be hex or dec, not {self.message_id_format!r}")
        if self.receipt_id_format not in (None, "hex", "dec"):
            raise ValueError(f"receipt_id_format must be None, hex or dec, not {self.receipt_id_format!r}")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be in 0..65535, not {self.port}")
        for name in ("receipt_delay", "response_delay", "max_rate", "enquire_link_interval", "receipt_retry_delay"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0, not {getattr(self, name)!r}")
        if not self.receipt_ack_timeout > 0:
            raise ValueError(f"receipt_ack_timeout must be > 0, not {self.receipt_ack_timeout!r}")
        for name in (
            "throttle_every",
            "queue_full_every",
            "reject_every",
            "drop_every",
            "silent_every",
            "generic_nack_every",
            "generic_nack_status",
            "throttle_segment",
            "throttle_segment_times",
            "unbind_after",
            "max_binds",
            "lose_receipt_every",
            "empty_message_id_every",
        ):
            if type(getattr(self, name)) is not int or getattr(self, name) < 0:
                raise ValueError(f"{name} must be an int >= 0, not {getattr(self, name)!r}")
        if type(self.receipt_esm_class) is not int or not 0 <= self.receipt_esm_class <= 0xFF:
            raise ValueError(f"receipt_esm_class must be an int in 0..255, not {self.receipt_esm_class!r}")
        if type(self.deliver_window) is not int or self.deliver_window < 1:
            raise ValueError(f"deliver_window must be an int >= 1, not {self.deliver_window!r}")


# --- the command line ------------------------------------------------------------------------

_CHOICES = {
    "receipt_format": ("text", "tlv", "both"),
    "message_id_format": ("hex", "dec"),
    "receipt_id_format": ("hex", "dec"),
}
_OPTIONAL_TYPES: dict[str, Any] = {"system_id": str, "password": str, "receipt_id_format": str, "seed": int}


def parse_outcomes(text: str) -> dict[str, float]:
    """``DELIVRD=0.9,UNDELIV=0.1`` -> {"DELIVRD": 0.9, "UNDELIV": 0.1}."""
    weights: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        stat, sep, weight = item.partition("=")
        if not sep:
            raise argparse.ArgumentTypeError(f"expected STAT=WEIGHT, not {item!r}")
        try:
            weights[stat.strip().upper()] = float(weight)
        except ValueError:
            raise argparse.ArgumentTypeError(f"weight of {stat} is not a number: {weight!r}") from None
    if not weights:
        raise argparse.ArgumentTypeError("no outcomes given")
    return weights


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gateway simulate smsc",
        description="SMPP 3.4 SMSC simulator: answers, throttles, fails and sends receipts as configured.",
    )
    for f in fields(SimulatorConfig):
        flag = "--" + f.name.replace("_", "-")
        help_text = f.metadata.get("help", "")
        if f.name == "outcomes":
            parser.add_argument(flag, type=parse_outcomes, default={"DELIVRD": 1.0}, help=help_text)
        elif f.name == "port":
            parser.add_argument(flag, type=int, default=2775, help="port to listen on (0 = any free port)")
        elif f.name in _OPTIONAL_TYPES:
            parser.add_argument(
                flag, type=_OPTIONAL_TYPES[f.name], default=None, choices=_CHOICES.get(f.name), help=help_text
            )
        elif isinstance(f.default, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=f.default, help=help_text)
        else:
            parser.add_argument(
                flag, type=type(f.default), default=f.default, choices=_CHOICES.get(f.name), help=help_text
            )
    parser.add_argument("--stats-interval", type=float, default=5.0, help="seconds between stats lines on stderr")
    return parser


def config_from_args(args: argparse.Namespace) -> SimulatorConfig:
    return SimulatorConfig(**{f.name: getattr(args, f.name) for f in fields(SimulatorConfig)})
