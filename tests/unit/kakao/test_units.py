"""Small parts on their own: message preparation, the batch sender's at-most-once rules, the public API, the CLI."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import anyio
import pytest
from structlog.testing import capture_logs

import gateway.kakao as kakao
from gateway.errors import DatabaseError
from gateway.httpclient import ProviderProtocolError, ProviderRejected, ProviderUnavailable
from gateway.kakao.batch_sender import BatchSender
from gateway.kakao.batch_sender import KakaoBreaker as CircuitBreaker  # the shared breaker, with Kakao's log events
from gateway.kakao.journal import InMemoryJournal
from gateway.kakao.prepare import Prepared, grouping_key, prepare, recipient_no
from gateway.kakao.provider import (
    BatchAnswer,
    DeliveryReport,
    Found,
    Hooks,
    ProviderAdapter,
    RecipientAnswer,
    SendBatch,
)
from gateway.kakao.templates import TemplateRegistry
from gateway.port import Outcome, SendResult
from gateway.simulators._http_peer import parse_mix as _parse_mix
from gateway.simulators.kakao import main
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
            "Found",
            "Hooks",
            "HttpRequest",
            "HttpResponse",
            "InMemoryJournal",
            "InMemoryTemplateStore",
            "Journal",
            "KakaoConnector",
            "KakaoConnectorConfig",
            "NhnAlimtalkAdapter",
            "NhnAlimtalkApi",
            "PostgresJournal",
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
            "TemplateUpdate",
            "carrier_id",
            "classify_code",
            "compile_template",
            "load_template_file",
            "sign_body",
            "sync_from_nhn",
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


def test_grouping_key_is_our_message_id() -> None:
    """recipientGroupingKey carries the gateway's message id, whatever the upstream key."""
    assert grouping_key(message(7, idempotency_key="k" * 100)) == "gw-7"
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
    assert result.reason == reason


def test_bad_fallback_is_refused_in_every_mode() -> None:
    """A malformed extras.fallback is refused, naming what is wrong, in gateway and in provider mode (issue 16)."""
    msg = message(1, extras={"fallback": {"text": "x"}, "upstream": {"order": 1}})
    for mode in ("gateway", "provider"):
        refused = prepare(msg, config=make_config(None, fallback_mode=mode), registry=REGISTRY)
        assert isinstance(refused, SendResult) and refused.outcome is Outcome.FAILED
        assert refused.reason == "alimtalk_bad_fallback"
        assert refused.detail == {"detail": "extras.fallback.sender is missing or empty"}
    good = message(2, extras={"fallback": {"text": "x", "sender": "15880000"}})
    assert isinstance(prepare(good, config=make_config(None), registry=REGISTRY), Prepared)


def test_wrong_channel_is_refused() -> None:
    """An SMS message handed to the Kakao connector is FAILED, not sent."""
    msg = message(1)
    sms = type(msg)(**{**{f: getattr(msg, f) for f in msg.__dataclass_fields__}, "channel": "sms"})
    result = prepare(sms, config=make_config(None), registry=REGISTRY)
    assert isinstance(result, SendResult) and result.reason == "alimtalk_wrong_channel"


class _Adapter(ProviderAdapter):
    """A scripted provider: each send pops an exception or an answer builder; lookups return what NHN holds."""

    def __init__(self, sends: list[Any], held: list[Found] | None = None, lookup_error: bool = False) -> None:
        self.sends = sends
        self.held = held or []
        self.lookup_error = lookup_error
        self.keys: list[str] = []
        self.lookups: list[str] = []

    async def send_batch(self, batch: SendBatch) -> BatchAnswer:
        self.keys.append(batch.idempotency_key)
        step = self.sends.pop(0)
        if isinstance(step, Exception):
            raise step
        return step(batch)

    async def find_sent(self, key: str, *, since: Any, until: Any, auth: bool = False) -> Sequence[Found]:
        self.lookups.append(key)
        if self.lookup_error:
            raise ProviderUnavailable("list query down", maybe_sent=False)
        return [f for f in self.held if f.grouping_key.startswith("gw-")]

    async def fetch_updates(self, since: Any, until: Any, *, auth: bool = False) -> Sequence[DeliveryReport]:
        return []

    async def fetch_one(self, request_id: str, recipient_seq: int, *, auth: bool = False) -> DeliveryReport | None:
        return None

    def parse_webhook(self, body: bytes) -> Hooks:
        return Hooks()


def accept(request_id: str = "R1", codes: dict[int, str] | None = None) -> Any:
    """An answer accepting every recipient (or giving the codes by message id)."""

    def build(batch: SendBatch) -> BatchAnswer:
        answers = []
        for index, r in enumerate(batch.recipients):
            code = (codes or {}).get(r.message_id, "0")
            cid = f"{request_id}:{index + 1}" if code in ("0", "-3010") else None
            answers.append(RecipientAnswer(index, code, "", cid))
        return BatchAnswer(request_id, "0", "SUCCESS", tuple(answers))

    return build


def _sender(adapter: _Adapter, journal: InMemoryJournal | None = None, **overrides: object) -> BatchSender:
    config = make_config(None, **overrides)
    breaker = CircuitBreaker(
        failure_threshold=config.breaker_failure_threshold,
        open_seconds=config.breaker_open_seconds,
        clock=FakeClock(),
        name=config.name,
    )

    async def no_sleep(_: float) -> None:
        return None

    return BatchSender(
        config=config,
        adapter=adapter,
        breaker=breaker,
        journal=journal or InMemoryJournal(),
        rng=random.Random(0),
        sleep=no_sleep,
    )


def _items(*ids: int, attempts: int = 1, **overrides: object) -> list[Prepared]:
    config = make_config(None, **overrides)
    fallback = {"type": "SMS", "sender": "15880000", "text": "대체"}
    items = [prepare(message(i, attempts=attempts, extras={"fallback": fallback}), config=config, registry=REGISTRY)
             for i in ids]  # fmt: skip
    assert all(isinstance(i, Prepared) for i in items)
    return items  # type: ignore[return-value]


def _send(sender: BatchSender, items: list[Prepared]) -> dict[int, SendResult]:
    return {r.message_id: r for r in anyio.run(sender.send, items)}


def test_a_timeout_is_resolved_by_asking_nhn_before_any_second_try() -> None:
    """Accepted, then the answer timed out: NHN's list finds it under the key; nothing is sent again."""
    adapter = _Adapter([ProviderUnavailable("timeout", maybe_sent=True)], held=[Found("gw-1", "R9", 4, None, None)])
    results = _send(_sender(adapter), _items(1))
    assert results[1].outcome is Outcome.SUBMITTED and results[1].carrier_ids == ("R9:4",)
    assert results[1].detail["resumed"] == "lookup" and results[1].fallback is not None
    assert len(adapter.keys) == 1 and adapter.lookups == adapter.keys


def test_not_found_after_a_timeout_is_sent_again_under_the_same_key() -> None:
    """A timeout NHN does not hold: the next try carries the same key (NHN refuses a repeat if it had it)."""
    adapter = _Adapter([ProviderUnavailable("timeout", maybe_sent=True), accept()])
    results = _send(_sender(adapter), _items(1))
    assert results[1].outcome is Outcome.SUBMITTED
    assert len(adapter.keys) == 2 and adapter.keys[0] == adapter.keys[1] == adapter.lookups[0]


def test_a_repeated_key_is_resolved_by_the_list_and_otherwise_waits_for_the_key_to_expire() -> None:
    """-1005: found -> submitted; not found -> UNKNOWN, retried only once NHN forgot the key (10 minutes)."""
    repeat = ProviderRejected("repeat", code="-1005")
    found = _send(_sender(_Adapter([repeat], held=[Found("gw-1", "R2", 1, None, None)])), _items(1))
    assert found[1].outcome is Outcome.SUBMITTED and found[1].carrier_ids == ("R2:1",)
    adapter = _Adapter([repeat])
    waiting = _send(_sender(adapter), _items(1))
    assert waiting[1].outcome is Outcome.UNKNOWN and 590 <= (waiting[1].retry_after or 0) <= 606
    assert waiting[1].fallback is None and len(adapter.keys) == 1


def test_an_unreadable_answer_is_looked_up_never_resent() -> None:
    """An answer we cannot read may hide an acceptance: asked once, UNKNOWN when NHN does not list it."""
    adapter = _Adapter([ProviderProtocolError("not json")])
    results = _send(_sender(adapter), _items(1))
    assert results[1].outcome is Outcome.UNKNOWN and len(adapter.keys) == 1 and len(adapter.lookups) == 1


def test_a_failed_lookup_sends_nothing() -> None:
    """When NHN cannot be asked, the message stays UNKNOWN: a second copy is worse than a late one."""
    adapter = _Adapter([ProviderUnavailable("timeout", maybe_sent=True)], lookup_error=True)
    results = _send(_sender(adapter), _items(1))
    assert results[1].outcome is Outcome.UNKNOWN and len(adapter.keys) == 1


def test_the_journal_resumes_what_an_earlier_attempt_sent() -> None:
    """Attempt 2 of a message NHN accepted (journal: accepted) is submitted again with no request at all."""
    journal = InMemoryJournal()
    first = _Adapter([accept("R5")])
    _send(_sender(first, journal), _items(1))
    again = _Adapter([])
    results = _send(_sender(again, journal), _items(1, attempts=2))
    assert results[1].carrier_ids == ("R5:1",) and results[1].detail["resumed"] == "journal"
    assert again.keys == [] and again.lookups == []


def test_an_unknown_earlier_attempt_is_looked_up_then_sent_under_its_key() -> None:
    """Journal 'sending' (a crash after the request left): ask NHN first; not held: send under the old key."""
    journal = InMemoryJournal()
    lost = _Adapter([ProviderUnavailable("timeout", maybe_sent=True)], lookup_error=True)
    _send(_sender(lost, journal), _items(1))
    adapter = _Adapter([accept("R6")])
    results = _send(_sender(adapter, journal), _items(1, attempts=2))
    assert results[1].carrier_ids == ("R6:1",)
    assert adapter.lookups == lost.keys and adapter.keys == lost.keys


def test_recipients_the_answer_does_not_mention_are_looked_up() -> None:
    """An answer missing a recipient: that one is asked for, not guessed, not resent."""

    def partial(batch: SendBatch) -> BatchAnswer:
        return BatchAnswer("R7", "0", "", (RecipientAnswer(0, "0", "", "R7:1"),), missing=(1,))

    adapter = _Adapter([partial], held=[Found("gw-2", "R7", 2, None, None)])
    results = _send(_sender(adapter), _items(1, 2))
    assert (results[1].carrier_ids, results[2].carrier_ids) == (("R7:1",), ("R7:2",))
    assert len(adapter.keys) == 1


def test_refusals_keep_the_fallback_per_class_and_account_errors_pause() -> None:
    """Not a user -> FAILED with fallback; -9999 per recipient -> RETRY with fallback; -1001 -> paused RETRY."""
    adapter = _Adapter([accept(codes={1: "3019", 2: "-9999"})])
    results = _send(_sender(adapter), _items(1, 2))
    assert results[1].outcome is Outcome.FAILED and results[1].fallback is not None
    assert results[2].outcome is Outcome.RETRY and results[2].fallback is not None
    with capture_logs() as logs:
        account = _send(_sender(_Adapter([ProviderRejected("bad key", code="-1001")])), _items(3))
    assert account[3].outcome is Outcome.RETRY and account[3].retry_after == 300.0
    assert any(e["event"] == "kakao.account.rejected" for e in logs)


def test_provider_resends_of_refusals_are_followed() -> None:
    """Provider mode, -3010 that NHN resends by SMS: SUBMITTED under its ids, the journal tracks the resend."""
    journal = InMemoryJournal()
    adapter = _Adapter([accept("R8", codes={1: "-3010"})])
    results = _send(_sender(adapter, journal, fallback_mode="provider"), _items(1, fallback_mode="provider"))
    assert results[1].outcome is Outcome.SUBMITTED and results[1].code == "-3010"
    [row] = journal.rows.values()
    assert row.state == "resending" and row.result_code == "-3010"


def test_the_journal_must_be_written_before_sending() -> None:
    """No journal, no request: RETRY, with nothing at NHN."""

    class Broken(InMemoryJournal):
        async def begin(self, *args: Any) -> Any:
            raise DatabaseError("down")

    adapter = _Adapter([])
    results = _send(_sender(adapter, Broken()), _items(1))
    assert results[1].outcome is Outcome.RETRY and adapter.keys == []


def test_breaker_opening_is_logged_and_the_last_batch_parked() -> None:
    """When the failures of one batch open the breaker, it is logged and that batch is parked (new key next time)."""
    journal = InMemoryJournal()
    adapter = _Adapter([ProviderUnavailable("503", maybe_sent=False, status=503)] * 3)
    with capture_logs() as logs:
        results = _send(_sender(adapter, journal, breaker_failure_threshold=2), _items(1))
    assert len(adapter.keys) == 2  # the third try met an open breaker
    assert results[1].outcome is Outcome.RETRY and results[1].detail is not None and results[1].detail["parked"]
    assert any(e["event"] == "kakao.breaker.opened" and e["connector"] == "kakao" for e in logs)
    assert [r.state for r in journal.rows.values()] == ["refused"]


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
    defaults = kakao.KakaoConnectorConfig(name="n", app_key="a", secret_key="s", webhook_secret="w")
    for key in entry:
        if key not in {"name", "app_key", "secret_key", "webhook_secret"}:
            assert getattr(parsed, key) == getattr(defaults, key), key
    assert set(entry) | {"type"} >= set(kakao.KakaoConnectorConfig.model_fields) - {"type"}


def test_unknown_config_key_is_named() -> None:
    """A typo in the connector's TOML is refused, naming the key."""
    with pytest.raises(ValueError, match="max_bach"):
        make_config(None, max_bach=10)
