"""Small parts on their own: message preparation, dispatch edge cases, the public API, the CLI entry."""

from __future__ import annotations

import random
from collections.abc import Sequence

import anyio
import pytest
from structlog.testing import capture_logs

import gateway.kakao as kakao
from gateway.kakao.batch_sender import BatchSender
from gateway.kakao.errors import ProviderProtocolError, ProviderUnavailable
from gateway.kakao.prepare import Prepared, grouping_key, prepare, recipient_no
from gateway.kakao.provider import BatchAnswer, DeliveryReport, ProviderAdapter, SendBatch
from gateway.kakao.resilience import CircuitBreaker
from gateway.kakao.templates import TemplateRegistry
from gateway.port import Outcome, SendResult
from gateway.simulators.kakao import _parse_mix, main
from tests.support.kakao import TEMPLATES, FakeClock, make_config, message

REGISTRY = TemplateRegistry.build(TEMPLATES)


def test_public_names_are_pinned() -> None:
    """The package re-exports exactly these names (a change here is an API change)."""
    assert sorted(kakao.__all__) == sorted(
        [
            "CODES",
            "AiohttpTransport",
            "BatchAnswer",
            "CodeClass",
            "CodeInfo",
            "DeliveryReport",
            "HttpRequest",
            "HttpResponse",
            "InMemoryTemplateStore",
            "KakaoConnector",
            "KakaoConnectorConfig",
            "NhnAlimtalkAdapter",
            "NhnAlimtalkApi",
            "PostgresTemplateStore",
            "ProviderAdapter",
            "ProviderError",
            "ProviderProtocolError",
            "ProviderRejected",
            "ProviderThrottled",
            "ProviderUnavailable",
            "RecipientAnswer",
            "RecipientRequest",
            "Resend",
            "SendBatch",
            "SyncReport",
            "Template",
            "TemplateFileError",
            "TemplateRegistry",
            "TemplateStore",
            "carrier_id",
            "classify_code",
            "compile_template",
            "load_template_file",
            "sign_body",
            "sync_templates",
        ]
    )
    assert all(hasattr(kakao, name) for name in kakao.__all__)


@pytest.mark.parametrize(
    ("given", "expected"),
    [("+821012345678", "01012345678"), ("010-1234-5678", "01012345678"), ("+14155550100", "14155550100")],
)
def test_recipient_numbers_for_nhn(given: str, expected: str) -> None:
    """Korean E.164 numbers become domestic ones; others keep their digits."""
    assert recipient_no(given) == expected


def test_grouping_key_is_the_idempotency_key_when_it_fits() -> None:
    """recipientGroupingKey: the upstream idempotency key up to 100 characters, else gw-{id}."""
    assert grouping_key(message(7, idempotency_key="k" * 100)) == "k" * 100
    assert grouping_key(message(7, idempotency_key="k" * 101)) == "gw-7"
    assert grouping_key(message(7)) == "gw-7"


@pytest.mark.parametrize(
    ("extras", "reason"),
    [
        ({"template_code": ""}, "alimtalk_no_template_code"),
        ({"buttons": "open"}, "alimtalk_bad_buttons"),
        ({"buttons": [{"type": "WL", "name": "다른"}]}, "alimtalk_buttons_mismatch"),
    ],
)
def test_unusable_extras_are_refused(extras: dict, reason: str) -> None:
    """Missing template code, malformed or mismatching buttons: FAILED with a named reason."""
    result = prepare(message(1, extras=extras), config=make_config(None), registry=REGISTRY)
    assert isinstance(result, SendResult) and result.outcome is Outcome.FAILED
    assert result.reason.startswith(reason)


def test_bad_fallback_is_refused_in_every_mode() -> None:
    """A malformed extras.fallback is refused, naming what is wrong, in gateway and in provider mode (issue 16)."""
    msg = message(1, extras={"fallback": {"text": "x"}, "upstream": {"order": 1}})
    for mode in ("gateway", "provider"):
        refused = prepare(msg, config=make_config(None, fallback_mode=mode), registry=REGISTRY)
        assert isinstance(refused, SendResult) and refused.outcome is Outcome.FAILED
        assert refused.reason == "alimtalk_bad_fallback: extras.fallback.sender is missing or empty"
    good = message(2, extras={"fallback": {"text": "x", "sender": "15880000"}})
    assert isinstance(prepare(good, config=make_config(None), registry=REGISTRY), Prepared)


def test_wrong_channel_is_refused() -> None:
    """An SMS message handed to the Kakao connector is FAILED, not sent."""
    msg = message(1)
    sms = type(msg)(**{**{f: getattr(msg, f) for f in msg.__dataclass_fields__}, "channel": "sms"})
    result = prepare(sms, config=make_config(None), registry=REGISTRY)
    assert isinstance(result, SendResult) and result.reason.startswith("alimtalk_wrong_channel")


class _Adapter(ProviderAdapter):
    def __init__(self, errors: list[Exception]) -> None:
        self.errors = errors
        self.calls = 0

    async def send_batch(self, batch: SendBatch) -> BatchAnswer:
        self.calls += 1
        raise self.errors.pop(0)

    async def fetch_results(self, request_id: str) -> Sequence[DeliveryReport]:
        return []

    def parse_webhook(self, body: bytes) -> Sequence[DeliveryReport]:
        return []


def _dispatch(errors: list[Exception], **overrides: object) -> tuple[list[SendResult], _Adapter, CircuitBreaker]:
    config = make_config(None, **overrides)
    adapter = _Adapter(errors)
    breaker = CircuitBreaker(
        failure_threshold=config.breaker_failure_threshold,
        open_seconds=config.breaker_open_seconds,
        clock=FakeClock(),
        name=config.name,
    )

    async def no_sleep(_: float) -> None:
        return None

    d = BatchSender(config=config, adapter=adapter, breaker=breaker, rng=random.Random(0), sleep=no_sleep)
    item = prepare(message(1), config=config, registry=REGISTRY)
    assert isinstance(item, Prepared)
    batch = SendBatch(item.sender_key, item.template_code, (item.request,), "k")
    return anyio.run(d.dispatch, batch, [item]), adapter, breaker


def test_unreadable_answer_is_unknown_and_not_retried() -> None:
    """An answer we cannot read may hide an accepted request: UNKNOWN, one try only."""
    results, adapter, _ = _dispatch([ProviderProtocolError("not json")])
    assert [r.outcome for r in results] == [Outcome.UNKNOWN] and adapter.calls == 1


def test_breaker_opening_is_logged_and_the_last_batch_parked() -> None:
    """When the failures of one batch open the breaker, it is logged and that batch is parked too."""
    with capture_logs() as logs:
        results, adapter, _breaker = _dispatch(
            [ProviderUnavailable("503", maybe_sent=False, status=503)] * 3, breaker_failure_threshold=2
        )
    assert adapter.calls == 2  # the third try met an open breaker
    assert results[0].outcome is Outcome.RETRY and results[0].detail == {"parked": True}
    assert any(e["event"] == "kakao.breaker.opened" and e["connector"] == "kakao" for e in logs)


def test_simulator_cli_parses_its_arguments() -> None:
    """The CLI entry point refuses a webhook without a secret and parses result mixes."""
    with pytest.raises(SystemExit):
        main(["--webhook-url", "http://127.0.0.1:1/x"])
    assert _parse_mix("delivered=9, not_kakao_user=1,3018") == {"delivered": 9.0, "not_kakao_user": 1.0, "3018": 1.0}


def test_documented_toml_is_a_valid_config() -> None:
    """The TOML example in gateway.kakao.config parses into the config it documents, defaults included."""
    import tomllib

    from gateway.kakao import config as config_module

    doc = config_module.__doc__
    toml = "\n".join(line[4:] for line in doc.split("::", 1)[1].strip("\n").splitlines() if line.startswith("    "))
    [entry] = tomllib.loads(toml)["connectors"]
    parsed = kakao.KakaoConnectorConfig(**entry)
    defaults = kakao.KakaoConnectorConfig(
        name="n", base_url="http://x", app_key="a", secret_key="s", webhook_secret="w"
    )
    for key in entry:
        if key not in {"name", "base_url", "app_key", "secret_key", "webhook_secret"}:
            assert getattr(parsed, key) == getattr(defaults, key), key
    assert set(entry) | {"type"} >= set(kakao.KakaoConnectorConfig.model_fields) - {"type"}


def test_unknown_config_key_is_named() -> None:
    """A typo in the connector's TOML is refused, naming the key."""
    with pytest.raises(ValueError, match="max_bach"):
        make_config(None, max_bach=10)
