"""The SMPP connector when things go wrong: bad peers, bad passwords, partial multipart, TLS."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import ssl
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import anyio
import anyio.lowlevel
import pytest
import structlog

from gateway.port import Outcome
from gateway.simulators.smsc import SimulatorConfig, SmscSimulator
from gateway.smpp.connector import SmppConnector
from gateway.smpp.protocol.codec import NEED_DATA
from gateway.smpp.protocol.concat import parse_udh
from gateway.smpp.protocol.events import BindComplete, SubmitSmReceived
from gateway.smpp.protocol.receipts import normalise_message_id
from gateway.smpp.protocol.session import SmscSession
from tests.support.smpp_connector import FakeSink, config, message, running, wait_for

from .test_connector import LONG_TEXT

pytestmark = pytest.mark.anyio

Behaviour = Callable[[int, asyncio.StreamReader, asyncio.StreamWriter, SmscSession], Awaitable[None]]


@contextlib.asynccontextmanager
async def scripted_smsc(behaviour: Behaviour) -> AsyncIterator[list[int]]:
    """A loopback SMSC that binds anyone, then hands connection number n to ``behaviour``; yields [port, count]."""
    counter = itertools.count(1)
    state = [0, 0]
    tasks: set[asyncio.Task[None]] = set()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        tasks.add(asyncio.current_task())  # type: ignore[arg-type]
        n = next(counter)
        state[1] = n
        loop = asyncio.get_running_loop()
        session = SmscSession(authenticate=lambda pdu: 0, enquire_link_interval=None)
        try:
            bound = False
            while not bound:
                data = await reader.read(65536)
                if not data:
                    return
                session.receive_data(data, loop.time())
                while (event := session.next_event()) is not NEED_DATA:
                    bound |= isinstance(event, BindComplete)
                writer.write(session.data_to_send())
            await behaviour(n, reader, writer, session)
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    state[0] = server.sockets[0].getsockname()[1]
    try:
        yield state
    finally:
        server.close()
        for task in tasks:
            task.cancel()
        await asyncio.sleep(0)


async def answer_everything(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, session: SmscSession) -> None:
    loop = asyncio.get_running_loop()
    while data := await reader.read(65536):
        session.receive_data(data, loop.time())
        while (event := session.next_event()) is not NEED_DATA:
            if isinstance(event, SubmitSmReceived):
                writer.write(session.ack_submit(event.pdu))
        writer.write(session.data_to_send())


async def test_garbage_closes_one_bind_and_spares_the_others() -> None:
    """A peer whose bytes lose their framing (huge command_length) costs that bind its link, no other."""

    async def behaviour(
        n: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, session: SmscSession
    ) -> None:
        if n == 1:
            await asyncio.sleep(0.2)  # both binds are up by now
            writer.write(b"\xff\xff\xff\xf0" + bytes(12))
        await answer_everything(reader, writer, session)

    sink = FakeSink()
    with structlog.testing.capture_logs() as logs:
        async with scripted_smsc(behaviour) as smsc:
            async with running(SmppConnector(config(smsc[0], binds=2)), sink) as conn:
                await wait_for(lambda: smsc[1] == 3 and all(b.state == "bound" for b in conn.binds))
                for _ in range(4):
                    await conn.send(message())
                await wait_for(lambda: len(sink.results) == 4)
    assert all(r.outcome is Outcome.SUBMITTED for r in sink.results)
    errors = [e for e in logs if e["event"] == "smpp.bind.protocol_error"]
    assert len(errors) == 1 and errors[0]["fatal"] is True
    downs = [e for e in logs if e["event"] == "smpp.bind.down" and e["reason"] == "protocol_error"]
    assert [d["bind"] for d in downs] == [errors[0]["bind"]]
    assert not [
        e for e in logs if e["event"] == "smpp.bind.down" and e["bind"] != errors[0]["bind"] and e["reason"] != "closed"
    ]


async def test_peer_stalling_mid_pdu_is_detected_and_replaced() -> None:
    """A peer that stops mid-PDU: the submit becomes UNKNOWN, the keep-alive times out, the bind reconnects."""

    async def behaviour(
        n: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, session: SmscSession
    ) -> None:
        if n == 1:
            await reader.read(65536)  # the submit_sm
            writer.write(b"\x00\x00\x00\x20\x80\x00\x00\x04")  # half a header, then silence
            await reader.read(65536)  # the enquire_link, never answered
            await asyncio.sleep(10)
        await answer_everything(reader, writer, session)

    sink = FakeSink()
    with structlog.testing.capture_logs() as logs:
        async with scripted_smsc(behaviour) as smsc:
            cfg = config(smsc[0], response_timeout_seconds=0.3, enquire_link_seconds=0.1)
            async with running(SmppConnector(cfg), sink) as conn:
                await conn.send(message())
                await wait_for(lambda: sink.results and smsc[1] == 2 and conn.binds[0].state == "bound", timeout=5)
                later = message()
                await conn.send(later)
                await wait_for(lambda: len(sink.results) == 2)
    assert sink.results[0].outcome is Outcome.UNKNOWN
    assert sink.result(later.id).outcome is Outcome.SUBMITTED
    assert any(e["event"] == "smpp.bind.timeout" and e["request"] == "enquire_link" for e in logs)


async def test_bad_password_is_logged_and_retried_without_leaking() -> None:
    """A refused bind is logged with its status and retried with backoff; the password shows nowhere."""
    password = "Pw9xQz7k"
    async with SmscSimulator(SimulatorConfig(system_id="gateway", password="secret")) as sim:
        sink = FakeSink()
        with structlog.testing.capture_logs() as logs:
            conn = SmppConnector(config(sim.port, password=password, reconnect_initial_seconds=0.02))
            async with running(conn, sink, bound=False):
                await wait_for(lambda: sim.stats.bind_failures >= 3)
                assert not conn.is_ready()
    refused = [e for e in logs if e["event"] == "smpp.bind.refused"]
    assert refused and refused[0]["status"] == "ESME_RINVPASWD"
    assert any(e["event"] == "smpp.bind.reconnect" for e in logs)
    for text in (repr(logs), repr(conn), repr(conn.config), str(conn.config)):
        assert password not in text


async def test_backoff_grows_exponentially_with_jitter() -> None:
    """Reconnect delays double from the initial value up to the maximum, shortened by at most the jitter."""
    conn = SmppConnector(config(1, reconnect_initial_seconds=1, reconnect_max_seconds=8, reconnect_jitter=0.25))
    bind = conn.binds[0]
    for failures, nominal in [(0, 1), (1, 1), (2, 2), (3, 4), (4, 8), (9, 8)]:
        delays = [bind.backoff(failures) for _ in range(50)]
        assert all(nominal * 0.75 <= d <= nominal for d in delays)
        assert max(delays) - min(delays) > 0


async def test_unreachable_smsc_keeps_trying() -> None:
    """Connection refused is logged and retried; the connector stays up and not ready."""
    sink = FakeSink()
    with structlog.testing.capture_logs() as logs:
        async with scripted_smsc(answer_everything) as smsc:
            port = smsc[0]
        conn = SmppConnector(config(port, reconnect_initial_seconds=0.02))
        async with running(conn, sink, bound=False):
            await wait_for(lambda: sum(e["event"] == "smpp.bind.connect_failed" for e in logs) >= 2)
            assert not conn.is_ready()


@pytest.fixture
async def sim():
    async with SmscSimulator(SimulatorConfig(seed=3)) as simulator:
        yield simulator


def _segment_of(entry) -> int:  # type: ignore[no-untyped-def]
    return parse_udh(entry.short_message)[0].concat.seq


async def test_partially_throttled_multipart_resends_only_missing_segments(sim: SmscSimulator) -> None:
    """Segment 2 of 3 throttled (twice): only it is resent, and the result lists every segment's id in order."""
    sim.update(throttle_every=2)
    sink = FakeSink()
    throttled: list[str] = []
    async with running(SmppConnector(config(sim.port), throttle_listener=throttled.append), sink) as conn:
        msg = message(LONG_TEXT)
        await conn.send(msg)
        await wait_for(lambda: sink.results)
    result = sink.result(msg.id)
    assert result.outcome is Outcome.SUBMITTED
    accepted = sim.stats.accepted_log
    assert sorted(_segment_of(e) for e in accepted) == [1, 2, 3]  # no part twice
    by_segment = sorted(accepted, key=_segment_of)
    assert list(result.carrier_ids) == [normalise_message_id(e.message_id, side="submit_resp") for e in by_segment]
    assert sim.stats.messages() == [LONG_TEXT]
    assert throttled == ["ACME", "ACME"]


async def test_partial_retries_are_bounded(sim: SmscSimulator) -> None:
    """When the missing segment stays throttled past the allowed retries, the result is THROTTLED, partial."""
    sim.update(throttle_every=2)
    sink = FakeSink()
    async with running(SmppConnector(config(sim.port, partial_retry_attempts=1)), sink) as conn:
        await conn.send(message(LONG_TEXT))
        await wait_for(lambda: sink.results)
    (result,) = sink.results
    assert (result.outcome, result.code) == (Outcome.THROTTLED, "0x00000058")
    assert result.detail is not None and result.detail["partial"] is True
    assert len(result.detail["accepted_carrier_ids"]) == 2
    assert sim.stats.submits_received == 4


async def test_permanent_failure_of_one_segment_fails_the_message(sim: SmscSimulator) -> None:
    """A segment refused permanently fails the message with the carrier's code; the accepted ids are kept."""
    sim.update(reject_every=2)
    sink = FakeSink()
    async with running(SmppConnector(config(sim.port)), sink) as conn:
        await conn.send(message(LONG_TEXT))
        await wait_for(lambda: sink.results)
    (result,) = sink.results
    assert (result.outcome, result.code, result.reason) == (Outcome.FAILED, "0x0000000b", "ESME_RINVDSTADR")
    assert result.detail["segment"] == 2
    assert len(result.detail["accepted_carrier_ids"]) == 2


async def test_transmitter_receiver_pairs(sim: SmscSimulator) -> None:
    """In transmitter_receiver mode submits go on transmitters and receipts arrive on the receivers."""
    sink = FakeSink()
    async with running(SmppConnector(config(sim.port, bind_mode="transmitter_receiver", binds=2)), sink) as conn:
        assert [b.role for b in conn.binds] == ["tx", "tx", "rx", "rx"]
        for _ in range(4):
            await conn.send(message())
        await wait_for(lambda: len(sink.receipts) == 4)
        assert conn.binds[2].in_flight == conn.binds[3].in_flight == 0
    assert {r.carrier_id for r in sink.receipts} == {r.carrier_ids[0] for r in sink.results}


# --- TLS ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (made with the openssl command)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    try:
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=localhost",
             "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
            check=True, capture_output=True, timeout=30,
        )  # fmt: skip
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"openssl is not available: {exc}")
    return cert, key


@contextlib.asynccontextmanager
async def tls_front(target_port: int, cert: Path, key: Path) -> AsyncIterator[int]:
    """A TLS terminator on loopback that forwards to ``target_port``; yields its port."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(65536):
                writer.write(data)
        writer.close()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", target_port)
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=context)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()


@pytest.mark.parametrize("mode", ["custom_ca", "no_verify"])
async def test_tls_bind_end_to_end(sim: SmscSimulator, certificate: tuple[Path, Path], mode: str) -> None:
    """Over TLS (verified against a custom CA, or unverified) a message and its receipt go through."""
    cert, key = certificate
    tls = {"tls_ca_file": str(cert)} if mode == "custom_ca" else {"tls_verify": False}
    sink = FakeSink()
    async with tls_front(sim.port, cert, key) as port:
        async with running(SmppConnector(config(port, tls=True, **tls)), sink, drain=True) as conn:
            await conn.send(message())
            await wait_for(lambda: sink.receipts)
    assert sink.results[0].outcome is Outcome.SUBMITTED


async def test_tls_refuses_an_unknown_certificate(sim: SmscSimulator, certificate: tuple[Path, Path]) -> None:
    """With verification on and the system CAs only, a self-signed SMSC certificate is refused."""
    cert, key = certificate
    sink = FakeSink()
    with structlog.testing.capture_logs() as logs:
        async with tls_front(sim.port, cert, key) as port:
            conn = SmppConnector(config(port, tls=True, reconnect_initial_seconds=0.05))
            async with running(conn, sink, bound=False):
                await wait_for(lambda: any(e["event"] == "smpp.bind.connect_failed" for e in logs))
                assert not conn.is_ready()
    failure = next(e for e in logs if e["event"] == "smpp.bind.connect_failed")
    assert "TLS" in failure["error"]
    assert sim.stats.binds == 0
    await anyio.lowlevel.checkpoint()


async def test_a_failing_sink_costs_the_link_not_the_connector(sim: SmscSimulator) -> None:
    """If reporting a result raises inside the read path, that bind is logged, dropped and rebuilt."""

    class Flaky(FakeSink):
        def submit_result(self, result):  # type: ignore[no-untyped-def]
            if not self.results:
                self.results.append(result)
                raise RuntimeError("sink bug")
            super().submit_result(result)

    sink = Flaky()
    with structlog.testing.capture_logs() as logs:
        async with running(SmppConnector(config(sim.port)), sink) as conn:
            await conn.send(message())
            await wait_for(lambda: sim.stats.binds == 2 and conn.is_ready())
            await conn.send(message())
            await wait_for(lambda: len(sink.results) == 2)
    assert any(e["event"] == "smpp.bind.handler_error" for e in logs)
    assert sink.results[1].outcome is Outcome.SUBMITTED


def test_missing_ca_file_is_a_config_error(tmp_path: Path) -> None:
    """A TLS CA file that cannot be read is reported as a configuration error naming the key."""
    from gateway.errors import ConfigError

    with pytest.raises(ConfigError, match="tls_ca_file"):
        SmppConnector(config(1, tls=True, tls_ca_file=str(tmp_path / "missing.pem")))
