"""gateway.httpclient is the one HTTP plumbing of both HTTP connectors (Kakao Alimtalk, NHN SMS)."""

from __future__ import annotations

import importlib.util

import pytest
from structlog.testing import capture_logs

import gateway.httpclient as httpclient
import gateway.kakao as kakao
from gateway.httpclient import BreakerState, CircuitBreaker, sign_body, signature_matches
from gateway.kakao.batch_sender import KakaoBreaker
from gateway.kakao.connector import KakaoConnector
from gateway.kakao.template_store import InMemoryTemplateStore
from tests.support.kakao import FakeClock, make_config


@pytest.mark.parametrize(
    "name",
    [
        "AiohttpTransport",
        "HttpRequest",
        "HttpResponse",
        "ProviderError",
        "ProviderProtocolError",
        "ProviderRejected",
        "ProviderThrottled",
        "ProviderUnavailable",
        "sign_body",
    ],
)
def test_kakao_exports_the_shared_classes_not_copies(name: str) -> None:
    """Each HTTP name gateway.kakao exports is httpclient's own object (one except clause fits both connectors)."""
    assert getattr(kakao, name) is getattr(httpclient, name)


@pytest.mark.parametrize("module", ["gateway.kakao.transport", "gateway.kakao.resilience"])
def test_kakao_keeps_no_copy_of_the_http_modules(module: str) -> None:
    """Kakao's own transport and breaker modules are gone: there is one of each, in gateway.httpclient."""
    assert importlib.util.find_spec(module) is None


def _open(breaker: CircuitBreaker) -> None:
    for _ in range(breaker.failure_threshold):
        breaker.record_failure()


def test_breaker_events_carry_the_connector_kind() -> None:
    """Kakao's breaker logs kakao.breaker.*, a passed event_prefix wins, and the default is httpclient.*."""
    clock = FakeClock()
    with capture_logs() as logs:
        _open(KakaoBreaker(failure_threshold=2, open_seconds=5, clock=clock, name="k1"))
        _open(CircuitBreaker(failure_threshold=1, open_seconds=5, clock=clock, name="n1", event_prefix="nhn_sms"))
        _open(CircuitBreaker(failure_threshold=1, open_seconds=5, clock=clock, name="h1"))
        _open(KakaoBreaker(failure_threshold=1, open_seconds=5, clock=clock, name="x1", event_prefix="other"))
    opened = [(e["event"], e["connector"]) for e in logs if e["event"].endswith(".breaker.opened")]
    assert opened == [
        ("kakao.breaker.opened", "k1"),
        ("nhn_sms.breaker.opened", "n1"),
        ("httpclient.breaker.opened", "h1"),
        ("other.breaker.opened", "x1"),
    ]


def test_the_kakao_connector_runs_the_shared_breaker_with_its_metric() -> None:
    """KakaoConnector's breaker is httpclient's CircuitBreaker; opening it logs kakao.breaker.opened."""
    clock = FakeClock()
    connector = KakaoConnector(make_config(None, breaker_failure_threshold=1), InMemoryTemplateStore(), clock=clock)
    assert isinstance(connector.breaker, CircuitBreaker)
    with capture_logs() as logs:
        connector.breaker.record_failure()
    assert connector.breaker.state is BreakerState.OPEN
    assert [e["event"] for e in logs] == ["kakao.breaker.opened"]


def test_signature_matches_by_scheme() -> None:
    """'token' compares the header with the secret whatever the body; 'hmac' checks the body's HMAC."""
    body = b'{"hooks": []}'
    assert signature_matches("token", "s3cret", "s3cret", body)
    assert signature_matches("token", "s3cret", "s3cret", b"anything else")
    assert not signature_matches("token", "s3cret", sign_body("s3cret", body), body)
    assert signature_matches("hmac", "s3cret", sign_body("s3cret", body), body)
    assert signature_matches("hmac", "s3cret", sign_body("s3cret", body)[7:].upper(), body)
    assert not signature_matches("hmac", "s3cret", sign_body("s3cret", body), body + b" ")
    assert not signature_matches("hmac", "s3cret", "s3cret", body)
    for scheme in ("token", "hmac"):
        assert not signature_matches(scheme, "", "", body)  # type: ignore[arg-type]
        assert not signature_matches(scheme, "s3cret", None, body)  # type: ignore[arg-type]
