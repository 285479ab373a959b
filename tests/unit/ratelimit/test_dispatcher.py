"""The async dispatcher: feeding, ordering, backpressure, feedback hooks, cancel-safe shutdown."""

from __future__ import annotations

import anyio
import pytest
from prometheus_client import REGISTRY
from structlog.testing import capture_logs

from gateway.errors import ConnectorClosed
from gateway.port import OutboundMessage
from gateway.ratelimit import ConnectorLimitsConfig, Dispatcher, RateSpec
from tests.support.ratelimit import Msg

pytestmark = pytest.mark.anyio

UNLIMITED = ConnectorLimitsConfig()


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_messages_put_before_the_pump_starts_go_informational_first() -> None:
    """The pump sends informational messages before advertising ones queued earlier on the same sender."""
    sent: list[int] = []

    async def send(m: Msg) -> None:
        sent.append(m.id)

    d: Dispatcher[Msg] = Dispatcher(connector="d-order", limits=UNLIMITED, send=send)
    for i in range(5):
        await d.put(Msg(i, kind="advertising"), 1)
    for i in range(5, 10):
        await d.put(Msg(i), 1)
    async with anyio.create_task_group() as tg:
        await tg.start(d.run)
        with anyio.fail_after(5):
            while len(sent) < 10:
                await anyio.sleep(0.001)
        tg.cancel_scope.cancel()
    assert sent == [5, 6, 7, 8, 9, 0, 1, 2, 3, 4]


async def test_a_small_campaign_is_sent_early_not_after_a_huge_one() -> None:
    """10 messages of campaign B put after 10,000 of A are all sent within the first 21 sends."""
    sent: list[Msg] = []

    async def send(m: Msg) -> None:
        sent.append(m)

    d: Dispatcher[Msg] = Dispatcher(connector="d-fair", limits=UNLIMITED, send=send, max_waiting=20_000)
    for i in range(10_000):
        await d.put(Msg(i, campaign_id="A", kind="advertising"), 1)
    for i in range(10):
        await d.put(Msg(100_000 + i, campaign_id="B", kind="advertising"), 1)
    async with anyio.create_task_group() as tg:
        await tg.start(d.run)
        with anyio.fail_after(10):
            while len(sent) < 10_010:
                await anyio.sleep(0.01)
        tg.cancel_scope.cancel()
    positions = [i for i, m in enumerate(sent) if m.campaign_id == "B"]
    assert len(positions) == 10 and max(positions) <= 20


async def test_a_slow_sender_does_not_hold_up_another() -> None:
    """All 500 messages of an unlimited sender go while a 2/s sender on the same connector sends its burst only."""
    sent: list[Msg] = []

    async def send(m: Msg) -> None:
        sent.append(m)

    limits = ConnectorLimitsConfig(senders={"slow": RateSpec(rate=2, burst=1)})
    d: Dispatcher[Msg] = Dispatcher(connector="d-slow", limits=limits, send=send)
    async with anyio.create_task_group() as tg:
        await tg.start(d.run)
        for i in range(50):
            await d.put(Msg(i, sender="slow"), 1)
        for i in range(500):
            await d.put(Msg(1000 + i, sender="fast"), 1)
        with anyio.fail_after(5):
            while sum(m.sender == "fast" for m in sent) < 500:
                await anyio.sleep(0.001)
        tg.cancel_scope.cancel()
    assert sum(m.sender == "slow" for m in sent) <= 2
    assert d.waiting >= 48


async def test_put_blocks_while_too_many_messages_wait_and_resumes_when_they_go() -> None:
    """With max_waiting=3 and the connector stuck, the fourth put blocks until a send completes."""
    release = anyio.Event()
    sent: list[int] = []

    async def send(m: Msg) -> None:
        await release.wait()
        sent.append(m.id)

    d: Dispatcher[Msg] = Dispatcher(connector="d-bp", limits=UNLIMITED, send=send, max_waiting=3)
    async with anyio.create_task_group() as tg:
        await tg.start(d.run)
        for i in range(3):
            await d.put(Msg(i), 1)
        with anyio.move_on_after(0.05) as scope:
            await d.put(Msg(3), 1)
        assert scope.cancelled_caught, "put should block while 3 messages wait"
        assert d.waiting == 3  # the cancelled put queued nothing
        release.set()
        with anyio.fail_after(5):
            await d.put(Msg(3), 1)
            while len(sent) < 4:
                await anyio.sleep(0.001)
        tg.cancel_scope.cancel()
    assert sent == [0, 1, 2, 3]


async def test_shutdown_returns_every_message_not_handed_over() -> None:
    """Cancelled with a send in flight and messages in lanes, drain_waiting returns all of them, then put refuses."""
    taken: list[int] = []

    async def send(m: Msg) -> None:
        if m.id == 2:
            await anyio.sleep_forever()  # the connector is full
        taken.append(m.id)

    limits = ConnectorLimitsConfig(rate=1_000, burst=5)
    d: Dispatcher[Msg] = Dispatcher(connector="d-drain", limits=limits, send=send)
    async with anyio.create_task_group() as tg:
        await tg.start(d.run)
        for i in range(10):
            await d.put(Msg(i, sender="A" if i % 2 else "B"), 1)
        with anyio.fail_after(5):
            while d.waiting > 8 or len(taken) < 2:
                await anyio.sleep(0.001)
        tg.cancel_scope.cancel()
    left = d.drain_waiting()
    assert left[0].id == 2  # the one whose send was cancelled comes first
    assert sorted(taken + [m.id for m in left]) == list(range(10))
    with pytest.raises(ConnectorClosed):
        await d.put(Msg(99), 1)


async def test_drain_during_a_send_leaves_that_send_alone_and_stops_the_pump_after_it() -> None:
    """drain_waiting while a send is in progress returns the lanes only; the send completes and run returns."""
    entered = anyio.Event()
    release = anyio.Event()
    taken: list[int] = []

    async def send(m: Msg) -> None:
        entered.set()
        await release.wait()
        taken.append(m.id)

    d: Dispatcher[Msg] = Dispatcher(connector="d-drain2", limits=UNLIMITED, send=send)
    for i in range(5):
        await d.put(Msg(i), 1)
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            await tg.start(d.run)
            await entered.wait()
            left = d.drain_waiting()
            release.set()
            # run() returns on its own once the send in flight completes: no cancel needed.
    assert taken == [0]
    assert [m.id for m in left] == [1, 2, 3, 4]
    assert d.drain_waiting() == []


async def test_connector_closed_stops_the_pump_and_keeps_the_message() -> None:
    """ConnectorClosed from send ends run() quietly; that message and the rest come back from drain_waiting."""

    async def send(m: Msg) -> None:
        raise ConnectorClosed("draining")

    d: Dispatcher[Msg] = Dispatcher(connector="d-closed", limits=UNLIMITED, send=send)
    for i in range(3):
        await d.put(Msg(i), 1)
    with anyio.fail_after(5), capture_logs() as logs:
        await d.run()
    assert [e["event"] for e in logs] == ["ratelimit.pump.closed"]
    assert [m.id for m in d.drain_waiting()] == [0, 1, 2]


async def test_throttle_feedback_lowers_the_effective_rate_gauge_and_counts_the_event() -> None:
    """throttled() halves the connector's effective rate, shows it in the gauge, counts the event and logs it."""

    async def send(m: OutboundMessage) -> None:
        return None

    limits = ConnectorLimitsConfig(rate=100, burst=10, feedback="connector")
    d: Dispatcher[OutboundMessage] = Dispatcher(connector="d-gauge", limits=limits, send=send)
    assert sample("gateway_ratelimit_effective_rate", connector="d-gauge", limit="connector") == 100
    before = sample("gateway_ratelimit_throttle_events_total", connector="d-gauge")
    with capture_logs() as logs:
        d.throttled("1588-0000")
        d.throttled("1588-0000")  # within the cooldown: counted, not applied again
    assert sample("gateway_ratelimit_effective_rate", connector="d-gauge", limit="connector") == 50
    assert sample("gateway_ratelimit_throttle_events_total", connector="d-gauge") == before + 2
    assert [e["event"] for e in logs] == ["ratelimit.rate.decreased"]
    assert logs[0]["limit"] == "connector" and logs[0]["rate"] == 50


async def test_admitted_cost_counts_segments_and_wait_is_observed() -> None:
    """A 3-segment SMS adds 3 to the admitted cost and one observation to the wait histogram."""
    done = anyio.Event()

    async def send(m: OutboundMessage) -> None:
        done.set()

    d: Dispatcher[OutboundMessage] = Dispatcher(connector="d-cost", limits=UNLIMITED, send=send)
    before = sample("gateway_ratelimit_admitted_cost_total", connector="d-cost")
    waits = sample("gateway_ratelimit_wait_seconds_count", connector="d-cost")
    message = OutboundMessage(id=1, channel="sms", sender="1588-0000", recipient="+821012345678", body="x" * 400)
    async with anyio.create_task_group() as tg:
        await tg.start(d.run)
        await d.put(message, 3)
        with anyio.fail_after(5):
            await done.wait()
        tg.cancel_scope.cancel()
    assert sample("gateway_ratelimit_admitted_cost_total", connector="d-cost") == before + 3
    assert sample("gateway_ratelimit_wait_seconds_count", connector="d-cost") == waits + 1


async def test_unconfigured_senders_never_become_metric_labels() -> None:
    """A sender without a limit of its own is reported as sender:other, never by its number."""

    async def send(m: Msg) -> None:
        return None

    limits = ConnectorLimitsConfig(
        default_sender=RateSpec(rate=10, burst=1), senders={"1588-0000": RateSpec(rate=50, burst=5)}
    )
    d: Dispatcher[Msg] = Dispatcher(connector="d-labels", limits=limits, send=send)
    d.throttled("+821099998888")
    assert sample("gateway_ratelimit_effective_rate", connector="d-labels", limit="sender:1588-0000") == 50
    assert sample("gateway_ratelimit_effective_rate", connector="d-labels", limit="sender:other") == 5
    labels = {
        s.labels.get("limit")
        for metric in REGISTRY.collect()
        if metric.name.startswith("gateway_ratelimit")
        for s in metric.samples
    }
    assert not any("+8210" in str(label) for label in labels)
