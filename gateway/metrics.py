"""The daemon's Prometheus metrics (default registry).

Names are ``gateway_*`` with the unit in the name; label values come from small,
bounded sets (channel, connector name from the config, outcome/state/reason
enums, senders named in the config or ``other``) — never a phone number,
message id or carrier code.

Every series exists from start, at zero: labelled families are created for
each configured connector when the daemon starts (``init_*`` functions of each
room), and what is read at scrape time (connector state, writer lag, queue
depth) comes from :func:`register_source` callbacks, so nothing is computed on
the hot path for it. Latencies use :class:`FastHistogram`: an observation is a
bisect and a list increment, no lock (one event loop per process), and
:func:`count_receipts` counts a whole batch with one call per state.
"""

from __future__ import annotations

import bisect
import platform
from collections import Counter as _Tally
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from gateway import __version__

BATCH_BUCKETS = (1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000)
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Enqueue -> submit spans queueing, rate limits and retries; submit -> receipt spans the carrier's delivery.
ENQUEUE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)
RECEIPT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14400, 86400)
# The HTTP connectors (Kakao, NHN SMS): one provider request, and recipients per send request.
PROVIDER_REQUEST_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
RECIPIENTS_BUCKETS = (1, 10, 50, 100, 250, 500, 1000)

BUILD_INFO = Gauge("gateway_build_info", "Always 1: the running build.", ["version", "python"])
BUILD_INFO.labels(__version__, platform.python_version()).set(1)

MESSAGES = Counter(
    "gateway_messages_total",
    "Messages by channel, connector and outcome of a send attempt or a final state.",
    ["channel", "connector", "outcome"],
)
CLAIM_BATCH = Histogram("gateway_claim_batch_size", "Rows per claim statement.", buckets=BATCH_BUCKETS)
CLAIM_SECONDS = Histogram("gateway_claim_seconds", "Latency of one claim statement.", buckets=LATENCY_BUCKETS)
FLUSH_BATCH = Histogram("gateway_flush_batch_size", "Rows per write-back transaction.", buckets=BATCH_BUCKETS)
FLUSH_SECONDS = Histogram("gateway_flush_seconds", "Latency of one write-back transaction.", buckets=LATENCY_BUCKETS)
FLUSH_ERRORS = Counter("gateway_flush_errors_total", "Write-back transactions that failed and were retried.")
IN_FLIGHT = Gauge("gateway_in_flight_messages", "Messages claimed by this instance and not yet written back.")
LEASE_RECOVERIES = Counter(
    "gateway_lease_recoveries_total", "Expired leases of crashed or stalled instances recovered."
)
RECOVERY_ROWS = Counter(
    "gateway_recovery_messages_total",
    "Messages of dead runs recovered, by what recovery did with them: requeued_flagged (may have reached "
    "the carrier: sent again flagged may_be_duplicate), requeued (never handed over: sent again, unflagged), "
    "settled (accepted before the crash: settled from the send journal, not sent again).",
    ["outcome"],
)
RECOVERED_RUNS = Counter("gateway_recovered_runs_total", "Dead runs (crashes, kills) whose work was recovered.")
for _outcome in ("requeued_flagged", "requeued", "settled"):
    RECOVERY_ROWS.labels(_outcome)
RECEIPTS = Counter(
    "gateway_receipts_total",
    "Delivery receipts stored, by connector and receipt state (every connector; counted once, when committed).",
    ["connector", "state"],
)
RECEIPT_DROP_REASONS = ("receipt_malformed", "receipt_unmatched", "receipt_too_late")
RECEIPTS_DROPPED = Counter(
    "gateway_receipts_dropped_total",
    "Receipts received and not applied (gateway.receipts_dropped), by reason.",
    ["connector", "reason"],
)
RECEIPTS_UNMATCHED = Counter(
    "gateway_receipts_unmatched_total",
    "Receipts stored for later matching (arrived before their submit).",
    ["connector"],
)
INBOUND = Counter("gateway_inbound_messages_total", "Mobile-originated messages stored.", ["connector"])
POLICY_DECISIONS = Counter(
    "gateway_policy_decisions_total", "Policy decisions that did not simply allow the message.", ["decision", "reason"]
)
DB_ERRORS = Counter("gateway_database_errors_total", "Database errors by operation.", ["operation"])
# type: sms | lms | mms | "-" (refused before a type was chosen); outcome: the Outcome value.
# Counted per batch by the connectors that know message types (NHN SMS, SMPP with Korean rules).
SMS_TYPES = Counter(
    "gateway_sms_messages_total", "SMS-channel send results by message type.", ["connector", "type", "outcome"]
)
CONNECTOR_READY = Gauge("gateway_connector_ready", "1 when the connector can send now.", ["connector"])
CONNECTOR_PAUSED = Gauge("gateway_connector_paused", "1 while operators have paused the connector.", ["connector"])


# ---------------------------------------------------------------------- cheap histograms
class _HistogramChild:
    __slots__ = ("bounds", "count", "counts", "sum")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)  # the last one is +Inf
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.sum += value
        self.count += 1

    def observe_many(self, values: Iterable[float]) -> None:
        counts, bounds, total, n = self.counts, self.bounds, 0.0, 0
        for value in values:
            counts[bisect.bisect_left(bounds, value)] += 1
            total += value
            n += 1
        self.sum += total
        self.count += n


class FastHistogram(Collector):
    """A labelled histogram for hot paths, exported at scrape time (see the module docstring)."""

    def __init__(self, name: str, documentation: str, labelnames: Sequence[str], buckets: Sequence[float]) -> None:
        self.name = name
        self.documentation = documentation
        self.labelnames = tuple(labelnames)
        self.bounds = tuple(float(b) for b in buckets)
        self._children: dict[tuple[str, ...], _HistogramChild] = {}
        REGISTRY.register(self)

    def labels(self, *values: str) -> _HistogramChild:
        child = self._children.get(values)
        if child is None:
            if len(values) != len(self.labelnames):
                raise ValueError(f"{self.name}: expected labels {self.labelnames}, got {values}")
            child = self._children[values] = _HistogramChild(self.bounds)
        return child

    def describe(self) -> Iterator[Metric]:
        yield HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)

    def collect(self) -> Iterator[Metric]:
        family = HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)
        for values, child in list(self._children.items()):
            cumulative, buckets = 0, []
            for bound, n in zip((*self.bounds, float("inf")), child.counts, strict=True):
                cumulative += n
                buckets.append(("+Inf" if bound == float("inf") else repr(bound), cumulative))
            family.add_metric(list(values), buckets, child.sum)
        yield family


ENQUEUE_TO_SUBMIT = FastHistogram(
    "gateway_enqueue_to_submit_seconds",
    "From the outbox INSERT (created_at) to the carrier or provider accepting the message, per connector.",
    ["connector"],
    ENQUEUE_BUCKETS,
)
SUBMIT_TO_RECEIPT = FastHistogram(
    "gateway_submit_to_receipt_seconds",
    "From the stored submit to its final delivery receipt being applied, per connector (first receipt per segment).",
    ["connector"],
    RECEIPT_BUCKETS,
)


def count_receipts(receipts: Sequence[Any]) -> None:
    """Count a stored batch of receipts: one counter call per (connector, state), not one per receipt."""
    tally = _Tally((r.connector, r.state.value) for r in receipts if r.dropped is None)
    for (connector, state), n in tally.items():
        RECEIPTS.labels(connector, state).inc(n)


# ---------------------------------------------------------------------- scrape-time sources
Source = Callable[[], Iterable[Metric]]


class _Sources(Collector):
    def __init__(self) -> None:
        self.sources: dict[int, Source] = {}

    def collect(self) -> Iterator[Metric]:
        merged: dict[str, Metric] = {}
        for source in list(self.sources.values()):
            for family in source():
                known = merged.get(family.name)
                if known is None:
                    merged[family.name] = family
                else:  # several daemons in one process (tests): one family, their samples together
                    known.samples.extend(family.samples)
        yield from merged.values()


_SOURCES = _Sources()
REGISTRY.register(_SOURCES)


def register_source(source: Source) -> Callable[[], None]:
    """Export what ``source()`` yields at every scrape; returns the function that stops it."""
    key = id(source)
    _SOURCES.sources[key] = source

    def remove() -> None:
        _SOURCES.sources.pop(key, None)

    return remove


def gauge(name: str, documentation: str, labels: Sequence[str], rows: Iterable[tuple[Sequence[str], float]]) -> Metric:
    """A gauge family built at scrape time from ``(label values, value)`` rows."""
    family = GaugeMetricFamily(name, documentation, labels=list(labels))
    for values, value in rows:
        family.add_metric(list(values), value)
    return family
