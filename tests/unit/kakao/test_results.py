"""The result tracker on the journal: finality, duplicates, the gap-filler's cursor, resends, give-up."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio

from gateway.kakao.journal import InMemoryJournal
from gateway.kakao.provider import DeliveryReport, Found, Hooks, ProviderAdapter, SendBatch
from gateway.kakao.results import ResultTracker
from gateway.port import ReceiptState
from tests.support.kakao import FakeClock, FakeSink, make_config

T0 = datetime(2026, 1, 1, 0, 0, tzinfo=UTC)


class _Adapter(ProviderAdapter):
    def __init__(self) -> None:
        self.updates: list[DeliveryReport] = []
        self.windows: list[tuple[datetime, datetime, bool]] = []
        self.records: dict[str, DeliveryReport] = {}

    async def send_batch(self, batch: SendBatch) -> Any:
        raise AssertionError("the tracker never sends")

    async def find_sent(self, key: str, *, since: Any, until: Any, auth: bool = False) -> Sequence[Found]:
        return []

    async def fetch_updates(self, since: datetime, until: datetime, *, auth: bool = False) -> list[DeliveryReport]:
        self.windows.append((since, until, auth))
        return list(self.updates)

    async def fetch_one(self, request_id: str, recipient_seq: int, *, auth: bool = False) -> DeliveryReport | None:
        return self.records.get(f"{request_id}:{recipient_seq}")

    def parse_webhook(self, body: bytes) -> Hooks:
        return Hooks()


def report(cid: str, code: str | None, **fields: Any) -> DeliveryReport:
    request_id, _, seq = cid.partition(":")
    return DeliveryReport(cid, request_id, int(seq), code, "", final=code not in (None, "4161"), **fields)


def setup(**overrides: Any) -> tuple[ResultTracker, InMemoryJournal, _Adapter, FakeSink, list[datetime]]:
    now = [T0]
    journal = InMemoryJournal()
    journal.now = lambda: now[0]
    adapter = _Adapter()
    tracker = ResultTracker(
        config=make_config(None, **overrides), adapter=adapter, journal=journal, clock=FakeClock(), now=lambda: now[0]
    )
    sink = FakeSink()
    tracker.sink = sink
    return tracker, journal, adapter, sink, now


def accepted(journal: InMemoryJournal, *ids: int, request_id: str = "R") -> None:
    async def go() -> None:
        await journal.begin("kakao", "gw-k", [(i, f"gw-{i}", False) for i in ids])
        await journal.accepted("kakao", [(i, request_id, i, None) for i in ids])

    anyio.run(go)


def test_final_results_are_stored_once_and_pending_ones_not_at_all() -> None:
    """1000 and 3019 become receipts and their rows final; 4161 waits; a repeat stores nothing."""
    tracker, journal, _, sink, _ = setup()
    accepted(journal, 1, 2, 3)
    reports = [report("R:1", "1000"), report("R:2", "3019"), report("R:3", "4161")]
    assert anyio.run(lambda: tracker.deliver(reports, source="poll")) == 2
    assert anyio.run(tracker.flush_finals) == 2  # the journal rows are marked after the receipts, in one write
    assert {r.carrier_id: r.state for r in sink.receipts} == {
        "R:1": ReceiptState.DELIVERED,
        "R:2": ReceiptState.UNDELIVERABLE,
    }
    assert [r.state for r in journal.rows.values()] == ["final", "final", "accepted"]
    assert anyio.run(lambda: tracker.deliver(reports[:2], source="poll")) == 0
    other = ResultTracker(config=tracker.config, adapter=_Adapter(), journal=journal)  # another instance
    other.sink = FakeSink()
    assert anyio.run(lambda: other.deliver(reports[:2], source="poll")) == 0 and other.sink.receipts == []


def test_the_gap_filler_reads_from_the_oldest_waiting_row_and_takes_only_watched_rows() -> None:
    """A window from max(cursor, oldest waiting acceptance) minus the overlap to now; only accepted rows get
    receipts; the cursor moves; with nothing waiting NHN is not asked at all."""
    tracker, journal, adapter, sink, now = setup(results="poll", webhook_secret=None, poll_interval_seconds=5)
    assert anyio.run(tracker.read_updates) == 0 and adapter.windows == []  # nothing waits
    accepted(journal, 1)
    journal.cursor["kakao"] = T0 - timedelta(minutes=10)
    now[0] = T0 + timedelta(seconds=30)
    adapter.updates = [report("R:1", "1000"), report("OTHER:1", "1000"), report("R:9", None)]
    assert anyio.run(tracker.read_updates) == 1
    [(since, until, auth)] = adapter.windows
    assert since == T0 - timedelta(minutes=2) and until == now[0] and auth is False
    assert [r.carrier_id for r in sink.receipts] == ["R:1"]
    assert journal.cursor["kakao"] == now[0]


def test_behind_a_webhook_the_gap_filler_waits_for_it() -> None:
    """In webhook mode rows younger than the gap-fill interval are left to the webhook: no query yet."""
    tracker, journal, adapter, _, now = setup(gap_fill_interval_seconds=60)
    accepted(journal, 1)
    now[0] = T0 + timedelta(seconds=30)
    assert anyio.run(tracker.read_updates) == 0 and adapter.windows == []
    now[0] = T0 + timedelta(seconds=61)
    anyio.run(tracker.read_updates)
    assert len(adapter.windows) == 1


def test_provider_mode_follows_nhns_resend_before_the_receipt() -> None:
    """A failure in provider mode waits for NHN's SMS resend; the receipt carries its status, code and id."""
    tracker, journal, adapter, sink, now = setup(fallback_mode="provider", resend_check_seconds=1)
    accepted(journal, 1, 2)
    anyio.run(lambda: tracker.deliver([report("R:1", "3019"), report("R:2", "1000")], source="webhook"))
    assert [r.carrier_id for r in sink.receipts] == ["R:2"]
    assert journal.rows[("kakao", 1)].state == "resending"
    adapter.records["R:1"] = report("R:1", "3019", resend_status="RSC03")
    now[0] += timedelta(seconds=2)
    assert anyio.run(tracker.follow_resends) == 0  # still resending
    adapter.records["R:1"] = report("R:1", "3019", resend_status="RSC04", resend_code="1000", resend_request_id="S1")
    now[0] += timedelta(seconds=2)
    assert anyio.run(tracker.follow_resends) == 1
    anyio.run(tracker.flush_finals)
    receipt = sink.receipts[-1]
    assert receipt.state is ReceiptState.UNDELIVERABLE and receipt.fallback is False
    assert (receipt.detail["resend_status"], receipt.detail["resend_code"]) == ("RSC04", "1000")
    assert journal.extra[("kakao", 1)]["resend_status"] == "RSC04"


def test_a_resend_that_never_ends_is_given_up_after_the_wait() -> None:
    """NHN not knowing the resend after resend_wait_seconds: the receipt goes out without a resend status."""
    tracker, journal, _, sink, now = setup(fallback_mode="provider", resend_check_seconds=1, resend_wait_seconds=60)
    accepted(journal, 1)
    anyio.run(lambda: tracker.deliver([report("R:1", "3019")], source="webhook"))
    now[0] += timedelta(seconds=61)
    assert anyio.run(tracker.follow_resends) == 1
    assert sink.receipts[0].code == "3019" and "resend_status" not in sink.receipts[0].detail


def test_give_up_after_kakaos_three_days() -> None:
    """No result 3 days and an hour after acceptance: an UNKNOWN receipt; not a moment before."""
    tracker, journal, _, sink, now = setup()
    accepted(journal, 1)
    now[0] = T0 + timedelta(days=3)
    assert anyio.run(tracker.give_up) == 0
    now[0] = T0 + timedelta(days=3, hours=1, seconds=1)
    assert anyio.run(tracker.give_up) == 1
    anyio.run(tracker.flush_finals)
    assert sink.receipts[0].state is ReceiptState.UNKNOWN and journal.rows[("kakao", 1)].state == "final"
