"""Retries, 429, timeouts and the circuit breaker, against the simulator over HTTP."""

from __future__ import annotations

import random
import socket

import pytest

from gateway.backoff import Backoff
from gateway.httpclient import AiohttpTransport, BreakerState, CircuitBreaker, HttpRequest, ProviderUnavailable
from gateway.kakao import InMemoryTemplateStore, KakaoConnector
from gateway.port import Outcome
from gateway.simulators.kakao import KakaoSimulator
from tests.support.kakao import FakeClock, FakeSink, make_config, message, running

pytestmark = pytest.mark.anyio


async def test_5xx_is_retried_then_succeeds_with_the_same_idempotency_key(
    sim: KakaoSimulator, sink: FakeSink, store: InMemoryTemplateStore
) -> None:
    """Two 503s then success: three tries of one batch, one idempotency key, all SUBMITTED."""
    sim.fail_next(2)
    connector = KakaoConnector(make_config(sim), store)
    async with running(connector, sink):
        for i in range(5):
            await connector.send(message(i))
        await sink.wait_results(5)
    assert sim.requests["send"] == 3 and sim.requests["send_503"] == 2
    assert {r.outcome for r in sink.results} == {Outcome.SUBMITTED}
    assert len(set(sim.idempotency_keys)) == 1
    assert sim.accepted == 5


async def test_503_until_tries_run_out_gives_retry_not_failed(
    sim: KakaoSimulator, sink: FakeSink, store: InMemoryTemplateStore
) -> None:
    """When every try answers 503 the messages go back as RETRY (the provider never took them)."""
    sim.fail_next(3, status=503)
    connector = KakaoConnector(make_config(sim, retry_attempts=3, breaker_failure_threshold=10), store)
    async with running(connector, sink):
        await connector.send(message(1))
        [result] = await sink.wait_results(1)
    assert result.outcome is Outcome.RETRY
    assert result.reason.startswith("alimtalk_provider_unavailable")
    assert sim.requests["send"] == 3 and sim.requests["list"] == 0


async def test_a_gateway_error_that_may_hide_an_acceptance_is_asked_about(
    sim: KakaoSimulator, sink: FakeSink, store: InMemoryTemplateStore
) -> None:
    """502/504 may come after NHN took the request: NHN's list is asked before each new try."""
    sim.fail_next(1, status=504)
    connector = KakaoConnector(make_config(sim, breaker_failure_threshold=10), store)
    async with running(connector, sink):
        await connector.send(message(1))
        [result] = await sink.wait_results(1)
    assert result.outcome is Outcome.SUBMITTED
    assert sim.requests["list"] == 1 and sim.requests["send"] == 2
    assert len(set(sim.idempotency_keys)) == 1


async def test_short_429_is_waited_out_and_retried(
    sim: KakaoSimulator, sink: FakeSink, store: InMemoryTemplateStore
) -> None:
    """A 429 with a short Retry-After is honoured in place and the batch then goes out."""
    sim.throttle_next(1, retry_after=0.05)
    connector = KakaoConnector(make_config(sim), store)
    async with running(connector, sink):
        await connector.send(message(1))
        [result] = await sink.wait_results(1)
    assert result.outcome is Outcome.SUBMITTED
    assert sim.requests["send_429"] == 1 and sim.requests["send"] == 2


async def test_long_429_hands_the_wait_to_the_engine(
    sim: KakaoSimulator, sink: FakeSink, store: InMemoryTemplateStore
) -> None:
    """A Retry-After over retry_after_max_seconds gives THROTTLED with that retry_after, at once."""
    sim.throttle_next(1, retry_after=120)
    connector = KakaoConnector(make_config(sim, retry_after_max_seconds=10), store)
    async with running(connector, sink):
        await connector.send(message(1))
        [result] = await sink.wait_results(1)
    assert result.outcome is Outcome.THROTTLED
    assert result.retry_after == 120
    assert sim.requests["send"] == 1
    assert connector.breaker.state is BreakerState.CLOSED  # 429 is not "provider down"


async def test_breaker_opens_on_a_5xx_burst_and_parks_messages(
    sim: KakaoSimulator, sink: FakeSink, store: InMemoryTemplateStore
) -> None:
    """An outage opens the breaker, parks later messages as RETRY without requests, and a probe closes it."""
    clock = FakeClock()
    sim.outage = True
    config = make_config(
        sim, retry_attempts=2, breaker_failure_threshold=2, breaker_open_seconds=30, max_concurrent_requests=1
    )
    connector = KakaoConnector(config, store, clock=clock)
    async with running(connector, sink):
        await connector.send(message(1))
        await sink.wait_results(1)
        assert connector.breaker.state is BreakerState.OPEN
        assert not connector.is_ready()
        requests_when_opened = sim.requests["send"]
        for i in range(2, 12):
            await connector.send(message(i))
        await sink.wait_results(11)
        assert sim.requests["send"] == requests_when_opened  # parked: nothing was sent
        parked = sink.results[1:]
        assert {r.outcome for r in parked} == {Outcome.RETRY}
        assert all(r.retry_after is not None and 29 <= r.retry_after <= 31 for r in parked)
        assert all(r.detail is not None and r.detail["parked"] is True for r in parked)
        assert not sink.by_outcome(Outcome.FAILED)

        sim.outage = False
        clock.advance(31)
        await connector.send(message(50))
        await sink.wait_results(12)
    assert sink.results[-1].outcome is Outcome.SUBMITTED
    assert connector.breaker.state is BreakerState.CLOSED


async def test_lost_answer_is_found_at_nhn_and_not_sent_again(
    sim: KakaoSimulator, sink: FakeSink, store: InMemoryTemplateStore
) -> None:
    """Accepted, the answer lost: NHN's list query by the provider key finds it; one request, one copy."""
    sim.slow_next(1, 0.5)
    connector = KakaoConnector(make_config(sim, request_timeout_seconds=0.2), store)
    async with running(connector, sink):
        await connector.send(message(1))
        [result] = await sink.wait_results(1)
    assert result.outcome is Outcome.SUBMITTED and result.detail["resumed"] == "lookup"
    assert sim.requests["send"] == 1 and sim.requests["list"] == 1
    assert sim.accepted == 1
    [record] = sim.records()
    assert result.carrier_ids == (f"{record['requestId']}:{record['recipientSeq']}",)


async def test_no_answer_at_all_is_unknown_and_not_sent_twice(
    sim: KakaoSimulator, sink: FakeSink, store: InMemoryTemplateStore
) -> None:
    """No answer from the send nor from the list query: UNKNOWN, and no second request."""
    sim.latency = 0.5
    connector = KakaoConnector(make_config(sim, request_timeout_seconds=0.1, retry_attempts=2), store)
    async with running(connector, sink):
        await connector.send(message(1))
        [result] = await sink.wait_results(1)
    assert result.outcome is Outcome.UNKNOWN
    assert result.reason.startswith("alimtalk_lookup_failed")
    assert sim.requests["send"] == 1


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_connection_refused_is_translated_and_retried(sink: FakeSink, store: InMemoryTemplateStore) -> None:
    """A refused connection is ProviderUnavailable(maybe_sent=False) from aiohttp's error; the message is RETRY."""
    port = _closed_port()
    async with AiohttpTransport(f"http://127.0.0.1:{port}") as transport:
        with pytest.raises(ProviderUnavailable) as info:
            await transport.request(HttpRequest("GET", "/"))
    assert info.value.maybe_sent is False
    assert info.value.__cause__ is not None and "aiohttp" in type(info.value.__cause__).__module__

    connector = KakaoConnector(make_config(None, base_url=f"http://127.0.0.1:{port}", results="poll"), store)
    async with running(connector, sink):
        await connector.send(message(1))
        [result] = await sink.wait_results(1)
    assert result.outcome is Outcome.RETRY


def test_breaker_state_machine() -> None:
    """closed -> open after the threshold; half-open lets one probe; failure reopens; success closes."""
    clock = FakeClock()
    b = CircuitBreaker(failure_threshold=3, open_seconds=10, clock=clock)
    for _ in range(2):
        b.record_failure()
    assert b.allow() and b.state is BreakerState.CLOSED
    b.record_failure()
    assert b.state is BreakerState.OPEN and not b.allow()
    assert b.retry_after() == 10
    clock.advance(10)
    assert b.allow()  # the probe
    assert not b.allow()  # only one
    b.record_failure()
    assert b.state is BreakerState.OPEN and not b.allow()
    clock.advance(10)
    assert b.allow()
    b.record_success()
    assert b.state is BreakerState.CLOSED and b.allow()


def test_a_success_resets_the_failure_count() -> None:
    """Failures must be consecutive to open the breaker."""
    b = CircuitBreaker(failure_threshold=2, open_seconds=10, clock=FakeClock())
    b.record_failure()
    b.record_success()
    b.record_failure()
    assert b.state is BreakerState.CLOSED


def test_backoff_has_full_jitter_under_an_exponential_ceiling() -> None:
    """Delays stay within [0, min(max, initial * 2**attempt)] and actually vary."""
    rng = random.Random(1)
    for attempt in range(8):
        ceiling = min(5.0, 0.2 * 2**attempt)
        delays = [Backoff(0.2, 5.0, jitter=1.0).delay(attempt + 1, rng) for _ in range(50)]
        assert all(0 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1
