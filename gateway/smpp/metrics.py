"""Prometheus metrics of the SMPP connector (default registry).

Labels are bounded: ``connector`` (from the config), ``bind`` (the bind's index,
"0".."N-1"; transmitter/receiver pairs number their receivers after the
transmitters), ``state`` and ``result`` from the fixed sets below, and
``command_status`` (the ESME_* name of the status table, ``vendor_specific``
for 0x400-0x4FF, ``other`` for the rest). Never an address or a message id.
Receipts are counted in the one family every connector shares
(``gateway_receipts_total``, counted by the engine once stored).

Every series exists from start, at zero (:func:`init_connector`).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from gateway.smpp.protocol.status import CommandStatus

__all__ = [
    "BINDS_BOUND",
    "BIND_STATE",
    "BIND_STATES",
    "COMMANDS",
    "COMMAND_STATUS",
    "DELIVER_STORE_FAILURES",
    "INBOUND",
    "RECEIPTS_UNPARSEABLE",
    "RECONNECTS",
    "SUBMITS",
    "SUBMIT_RESULTS",
    "SUBMIT_SECONDS",
    "count_command_status",
    "init_connector",
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
#: The values of ``gateway_smpp_command_status_total``'s ``command`` label.
COMMANDS = ("submit_sm", "bind")
#: The values of its ``command_status`` label: every name of the status table but ESME_ROK, and two catch-alls.
STATUS_LABELS = (*(s.name for s in CommandStatus if s), "vendor_specific", "other")
COMMAND_STATUS = Counter(
    "gateway_smpp_command_status_total",
    "Error answers of the SMSC (submit_sm_resp / generic_nack to a submit, bind_resp) by command_status name.",
    ["connector", "command", "command_status"],
)
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


def status_label(status: int) -> str:
    """The bounded ``command_status`` label of a status code."""
    try:
        return CommandStatus(status).name
    except ValueError:
        return "vendor_specific" if 0x400 <= status <= 0x4FF else "other"


def count_command_status(connector: str, command: str, status: int) -> None:
    """Count one error answer (errors are rare next to the traffic: one call each is cheap enough)."""
    COMMAND_STATUS.labels(connector, command, status_label(status)).inc()


BREAKER_OPEN = Gauge(
    "gateway_smpp_breaker_open",
    "1 while the connector's breaker is open: consecutive response timeouts, generic_nacks or links ended "
    "by the SMSC right after submits paused every bind (closes on the next healthy answer).",
    ["connector"],
)
BREAKER_TRIPS = Counter(
    "gateway_smpp_breaker_trips_total",
    "Times the breaker paused every bind, by what tripped it (timeout, generic_nack, peer_unbind).",
    ["connector", "cause"],
)
BREAKER_CAUSES = ("timeout", "generic_nack", "peer_unbind")


def init_connector(name: str) -> None:
    """Create every series of connector ``name`` at zero, so that rates and alerts see them from start."""
    for result in SUBMIT_RESULTS:
        SUBMITS.labels(name, result)
    for command in COMMANDS:
        for label in STATUS_LABELS:
            COMMAND_STATUS.labels(name, command, label)
    BINDS_BOUND.labels(name).set(0)
    SUBMIT_SECONDS.labels(name)
    RECEIPTS_UNPARSEABLE.labels(name)
    INBOUND.labels(name)
    RECONNECTS.labels(name)
    for kind in ("receipts", "inbound"):
        DELIVER_STORE_FAILURES.labels(name, kind)
    BREAKER_OPEN.labels(name).set(0)
    for cause in BREAKER_CAUSES:
        BREAKER_TRIPS.labels(name, cause)
