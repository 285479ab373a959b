"""The engine on the in-memory store: claims, results, policy, drain — no PostgreSQL, no sockets."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import anyio
import pytest

from gateway.connectors.config import LoopbackConnectorConfig
from gateway.connectors.loopback import LoopbackConnector
from gateway.policy.decision import ALLOW, Decision, Suppress
from gateway.port import Connector, Fallback, OutboundMessage, Outcome, ResultSink, SendResult
from gateway.queue.config import EngineConfig, RetryConfig
from gateway.queue.engine import Engine
from gateway.queue.memory import InMemoryStore

pytestmark = pytest.mark.anyio

FAST = EngineConfig(flush_interval_ms=2, idle_poll_ms=10, heartbeat_seconds=0.1, lease_seconds=2.0, drain_seconds=1)


async def until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    with anyio.fail_after(timeout):
        while not predicate():
            await anyio.sleep(0.01)


class Scripted(Connector):
    """Answers each send with the next outcome of a script (the last one repeats)."""

    def __init__(self, *outcomes: Outcome, name: str = "c", channel: str = "sms", fallback: Fallback | None = None):
        self.name, self.channel = name, channel
        self.script = list(outcomes)
        self.sent: list[int] = []
        self.fallback = fallback
        self.sink: ResultSink | None = None

    async def run(self, sink: ResultSink, *, task_status=anyio.TASK_STATUS_IGNORED) -> None:
        self.sink = sink
        task_status.started()
        await anyio.sleep_forever()

    async def send(self, message: OutboundMessage) -> None:
        self.sent.append(message.id)
        outcome = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        assert self.sink is not None
        self.sink.submit_result(
            SendResult(
                message.id,
                outcome,
                carrier_ids=(f"k{message.id}",) if outcome is Outcome.SUBMITTED else (),
                fallback=self.fallback,
            )
        )


async def run_until(engine: Engine, predicate: Callable[[], bool]) -> None:
    async with anyio.create_task_group() as tg:
        await tg.start(engine.run)
        await until(predicate)
        engine.stop()


async def test_messages_are_claimed_sent_and_settled() -> None:
    """Every queued message is claimed once, handed to its connector and settled submitted."""
    store = InMemoryStore()
    for i in range(50):
        store.enqueue(body=f"m{i}")
    conn = Scripted(Outcome.SUBMITTED)
    engine = Engine(store, {"c": conn}, config=FAST)
    await run_until(engine, lambda: store.states() == {"submitted": 50})
    assert sorted(conn.sent) == list(range(1, 51))
    assert engine.claimed_total == 50 and engine.in_flight == 0
    assert store.stopped_at is not None


async def test_transient_failures_are_retried_then_fail_at_max_attempts() -> None:
    """RETRY reschedules; the promote job brings it back; the third failure is final."""
    store = InMemoryStore()
    mid = store.enqueue()
    conn = Scripted(Outcome.RETRY)
    cfg = FAST.model_copy(update={"retry": RetryConfig(max_attempts=3, base_seconds=0.01, max_seconds=0.02)})
    engine = Engine(store, {"c": conn}, config=cfg)
    await run_until(engine, lambda: store.states() == {"failed": 1})
    assert conn.sent == [mid, mid, mid]
    assert store.log[mid].reason == "max_attempts"
    assert [e.state for e in store.events if e.message_id == mid].count("deferred") == 2


async def test_failure_with_a_fallback_enqueues_it_linked_to_the_original() -> None:
    """A FAILED result carrying a Fallback makes the store enqueue it for the same recipient."""
    store = InMemoryStore()
    mid = store.enqueue("alimtalk", recipient="+821099990000")
    fb = Fallback("sms", "15880000", "대체 문자", {"fallback_type": "SMS"})
    engine = Engine(store, {"k": Scripted(Outcome.FAILED, name="k", channel="alimtalk", fallback=fb)}, config=FAST)
    await run_until(engine, lambda: len(store.outbox) == 1 and mid in store.log)
    [(_new_id, row)] = store.outbox.items()
    assert (row.message.channel, row.message.recipient, row.message.body) == ("sms", "+821099990000", "대체 문자")
    assert row.message.extras == {"fallback_type": "SMS", "fallback_of": mid}


class Refusing:
    """A policy that suppresses every message of campaign 'stop' and allows the rest."""

    async def decide(
        self, batch: Sequence[tuple[OutboundMessage, bool | None]], now: datetime
    ) -> list[tuple[OutboundMessage, Decision]]:
        return [(m, Suppress("opted_out") if m.campaign_id == "stop" else ALLOW) for m, _ in batch]

    def recheck(self, message: OutboundMessage, now: datetime) -> Decision:
        return ALLOW

    async def run(self, *, task_status=anyio.TASK_STATUS_IGNORED) -> None:
        task_status.started()

    def stop_keywords(self, messages):
        return []


async def test_policy_decisions_settle_without_sending() -> None:
    """A suppressed message is settled with the policy's reason and never reaches the connector."""
    store = InMemoryStore()
    keep, stop = store.enqueue(), store.enqueue(campaign_id="stop")
    conn = Scripted(Outcome.SUBMITTED)
    engine = Engine(store, {"c": conn}, config=FAST, gate=Refusing())
    await run_until(engine, lambda: len(store.log) == 2)
    assert conn.sent == [keep]
    assert (store.log[stop].state.value, store.log[stop].reason) == ("suppressed", "opted_out")


async def test_a_message_no_connector_serves_fails_no_route() -> None:
    """A claimed message with no route fails with reason no_route."""
    store = InMemoryStore()
    mid = store.enqueue("alimtalk")
    engine = Engine(store, {"c": Scripted(Outcome.SUBMITTED)}, config=FAST)
    engine._claimable_channels = lambda: ["alimtalk", "sms"]  # type: ignore[method-assign]
    await run_until(engine, lambda: mid in store.log)
    assert (store.log[mid].state.value, store.log[mid].reason) == ("failed", "no_route")


async def test_drain_gives_back_what_no_connector_took() -> None:
    """On stop, messages waiting for a slow connector are released: queued again, attempt uncounted."""
    store = InMemoryStore()
    for i in range(40):
        store.enqueue(body=f"m{i}")
    slow = LoopbackConnector(LoopbackConnectorConfig(name="c", delay_ms=300, window=2, receipts=False))
    engine = Engine(store, {"c": slow}, config=FAST.model_copy(update={"claim_batch": 40}))
    await run_until(engine, lambda: engine.claimed_total == 40)
    states = store.states()
    assert states.get("submitted", 0) + states.get("queued", 0) + states.get("deferred", 0) == 40
    assert states.get("queued", 0) > 0
    assert all(r.message.attempts == 0 for r in store.outbox.values() if r.state.value == "queued")
    assert not [r for r in store.outbox.values() if r.state.value == "sending"]


async def test_public_stop_state() -> None:
    """stopping turns true at stop(); wait_stopped returns once run has finished."""
    store = InMemoryStore()
    engine = Engine(store, {"c": Scripted(Outcome.SUBMITTED)}, config=FAST)
    async with anyio.create_task_group() as tg:
        await tg.start(engine.run)
        assert not engine.stopping
        engine.stop()
        assert engine.stopping
        with anyio.fail_after(5):
            await engine.wait_stopped()


def test_engine_ignores_no_clock_but_its_own() -> None:
    """The wall clock is passed in: rules see the engine's clock, not the machine's."""
    fixed = datetime(2030, 1, 1, tzinfo=UTC)
    engine = Engine(InMemoryStore(), {}, wall_clock=lambda: fixed)
    assert engine._now() == fixed


async def test_rows_of_a_dead_run_are_given_back_flagged_and_sent() -> None:
    """Rows a dead run had journaled (maybe handed over) are queued again, flagged, and sent by this engine."""
    store = InMemoryStore()
    orphans = store.lease_to("crashed#1", 5)
    store.journaled_by["crashed#1"] = set(orphans)
    store.dead_runs.add("crashed#1")
    conn = Scripted(Outcome.SUBMITTED)
    engine = Engine(store, {"c": conn}, config=FAST)
    await run_until(engine, lambda: store.states() == {"submitted": 5})
    assert sorted(conn.sent) == orphans
    assert all(store.log[m].message.attempts == 2 for m in orphans)
    assert all(e.detail == {"may_be_duplicate": True} for e in store.events if e.state == "submitted")


class Watching(Scripted):
    """Records, at each send, whether the message was already in a committed journal entry."""

    def __init__(self, store: InMemoryStore) -> None:
        super().__init__(Outcome.SUBMITTED)
        self.store = store
        self.journaled_at_send: list[bool] = []

    async def send(self, message: OutboundMessage) -> None:
        self.journaled_at_send.append(any(message.id in ids for ids in self.store.journal.values()))
        await super().send(message)


async def test_nothing_is_handed_over_before_its_journal_entry_is_committed() -> None:
    """Every message reaches the connector only after the send journal holding it is committed; entries then close."""
    store = InMemoryStore()
    for i in range(200):
        store.enqueue(body=f"m{i}")
    conn = Watching(store)
    engine = Engine(store, {"c": conn}, config=FAST)
    await run_until(engine, lambda: store.states() == {"submitted": 200})
    assert len(conn.journaled_at_send) == 200 and all(conn.journaled_at_send)
    assert store.journal == {}  # every entry was closed once its outcomes were stored


async def test_a_dead_runs_unsent_claims_come_back_unflagged() -> None:
    """After a crash, only journaled (maybe handed-over) rows are flagged; the others keep their attempt uncounted."""
    store = InMemoryStore()
    handed, unsent = store.lease_to("crashed#1", 3), store.lease_to("crashed#1", 4)
    store.journaled_by["crashed#1"] = set(handed)
    store.dead_runs.add("crashed#1")
    engine = Engine(store, {"c": Scripted(Outcome.SUBMITTED)}, config=FAST)
    await run_until(engine, lambda: store.states() == {"submitted": 7})
    flagged = {e.message_id for e in store.events if e.state == "submitted" and e.detail}
    assert flagged == set(handed)
    assert {m: store.log[m].message.attempts for m in unsent} == dict.fromkeys(unsent, 1)


async def test_a_notification_wakes_the_claimer_after_it_went_idle() -> None:
    """A notification after the claim loop has idled (and replaced its wake event) still wakes it at once."""
    store = InMemoryStore()
    notify: list[object] = []

    class Wakeups:
        async def run(self, on_notify) -> None:
            notify.append(on_notify)
            await anyio.sleep_forever()

    slow_poll = FAST.model_copy(update={"idle_poll_ms": 60_000, "notify_debounce_ms": 0})
    conn = Scripted(Outcome.SUBMITTED)
    engine = Engine(store, {"c": conn}, config=slow_poll, listener=Wakeups())  # type: ignore[arg-type]
    async with anyio.create_task_group() as tg:
        await tg.start(engine.run)
        await anyio.sleep(0.1)  # idle: the claim loop now waits on a fresh event
        mid = store.enqueue()
        notify[0]()  # type: ignore[operator]
        await until(lambda: conn.sent == [mid], timeout=2)
        engine.stop()


class LastCheck:
    """Allows everything at claim time; at the last check defers campaign 'late' and expires campaign 'gone'."""

    async def decide(self, batch, now):
        return [(m, ALLOW) for m, _ in batch]

    def recheck(self, message: OutboundMessage, now: datetime) -> Decision:
        from datetime import timedelta

        from gateway.policy.decision import Defer, Expire

        if message.campaign_id == "late":
            return Defer(until=now + timedelta(hours=10), reason="quiet_hours")
        if message.campaign_id == "gone":
            return Expire("expired")
        return ALLOW

    async def run(self, *, task_status=anyio.TASK_STATUS_IGNORED) -> None:
        task_status.started()

    def stop_keywords(self, messages):
        return []


async def test_the_last_check_keeps_refused_messages_from_the_connector() -> None:
    """What the gate's last check refuses is written back (deferred, expired) and never handed to the connector."""
    store = InMemoryStore()
    keep = store.enqueue()
    late = store.enqueue(campaign_id="late")
    gone = store.enqueue(campaign_id="gone")
    conn = Scripted(Outcome.SUBMITTED)
    engine = Engine(store, {"c": conn}, config=FAST, gate=LastCheck())
    await run_until(engine, lambda: keep in store.log and gone in store.log and store.outbox[late].state.value
                    == "deferred")  # fmt: skip
    assert conn.sent == [keep]
    assert (store.log[gone].state.value, store.log[gone].reason) == ("expired", "expired")
    assert store.outbox[late].last_reason == "quiet_hours"
    assert engine.in_flight == 0
