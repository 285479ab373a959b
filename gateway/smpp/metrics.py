"""Prometheus metrics of the SMPP connector (default registry).

Labels are bounded: ``connector`` (from the config), ``bind`` (the bind's index,
"0".."N-1"; transmitter/receiver pairs number their receivers after the
transmitters), ``state`` and ``result`` from the fixed sets below. Never an
address, a message id or a carrier code.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

__all__ = [
    "BINDS_BOUND",
    "BIND_STATE",
    "BIND_STATES",
    "DELIVER_STORE_FAILURES",
    "INBOUND",
    "RECEIPTS",
    "RECEIPTS_UNPARSEABLE",
    "RECONNECTS",
    "SUBMITS",
    "SUBMIT_RESULTS",
    "SUBMIT_SECONDS",
]

#: The values of ``gateway_smpp_bind_state``'s ``state`` label (one of them is 1 per bind).
BIND_STATES = ("down", "connecting", "binding", "bound", "unbinding")

#: The values of ``gateway_smpp_submits_total``'s ``result`` label: what one submit_sm got.
SUBMIT_RESULTS = ("accepted", "throttled", "transient", "permanent", "generic_nack", "timeout", "connection_lost")

BIND_STATE = Gauge(
    "gateway_smpp_bind_state",
    "1 for the state each bind is in (down, connecting, binding, bound, unbinding).",
    ["connector", "bind", "state"],
)
BINDS_BOUND = Gauge("gateway_smpp_binds_bound", "Binds currently bound.", ["connector"])
SUBMITS = Counter(
    "gateway_smpp_submits_total",
    "submit_sm PDUs by what became of them (accepted, throttled, transient, permanent, generic_nack, timeout, "
    "connection_lost).",
    ["connector", "result"],
)
SUBMIT_SECONDS = Histogram(
    "gateway_smpp_submit_seconds",
    "Time from writing a submit_sm to reading its response.",
    ["connector"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
RECEIPTS = Counter("gateway_smpp_receipts_total", "Delivery receipts read and stored.", ["connector"])
RECEIPTS_UNPARSEABLE = Counter(
    "gateway_smpp_receipts_unparseable_total",
    "deliver_sm flagged as receipts that could not be read (acknowledged and dropped).",
    ["connector"],
)
INBOUND = Counter("gateway_smpp_inbound_total", "Mobile-originated messages stored.", ["connector"])
DELIVER_STORE_FAILURES = Counter(
    "gateway_smpp_deliver_store_failures_total",
    "deliver_sm batches the sink could not store (answered ESME_RX_T_APPN so the SMSC resends), by kind.",
    ["connector", "kind"],
)
RECONNECTS = Counter("gateway_smpp_reconnects_total", "Bind connection attempts after the first.", ["connector"])
