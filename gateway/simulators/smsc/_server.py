"""The SMSC simulator: an asyncio SMPP 3.4 server built on our own sans-I/O ``SmscSession``.

The demo, the test suite, the benchmarks and the fault tests talk to it over
loopback. It is the transport side of ``SmscSession``: one ``asyncio.Protocol``
per connection feeds the session and writes what it produces; everything it
decides (answers, receipts, faults) comes from ``SimulatorConfig``, which
``update()`` replaces live.

Fast path: one ``data_received`` chunk is decoded, answered and written back
in one ``transport.write``; no task is created and nothing is logged per PDU.
Delayed answers and receipts wait in one heap behind one timer; everything that
falls due together (within ``_COALESCE`` seconds) is written in one batch per
connection.

Receipts (``registered_delivery`` bits 0-1: 1 = always, 2 = on failure, 3 = on
success) are deliver_sm with esm_class 0x04 (``receipt_esm_class``; 0 plays
the SMSCs that mark them like MO messages) carrying the Appendix B text
and/or the receipted_message_id + message_state (+ network_error_code) TLVs.
They go to a bound RX/TRX connection of the submitting system_id, the
submitting connection first, wait while none is bound or every window is full,
and are resent until a deliver_sm_resp with status 0 arrives: after
``receipt_ack_timeout`` without an answer, after ``receipt_retry_delay`` when
refused (e.g. ESME_RX_T_APPN), and at once elsewhere when their connection is
lost. ``unacked_receipts`` holds the ids owed and not yet acknowledged (from
the moment the submit is accepted), so a fault test can assert that none is lost.

query_sm is answered as a real SMSC does: the message_state, final_date and
error_code of the outcome picked for the message (ENROUTE until its receipt
would be due), ESME_RQUERYFAIL for an id it does not know. Personas for
reconciliation: ``lose_receipt_every`` never sends some receipts (only
query_sm tells their state), ``empty_message_id_every`` accepts some submits
with an empty message_id.

    async with SmscSimulator(SimulatorConfig(receipt_delay=0.5, throttle_every=10)) as sim:
        ... connect to 127.0.0.1:sim.port ...
        sim.update(max_rate=50)            # start throttling mid-run
        assert sim.stats.receipts_unacked == 0

``gateway simulate smsc`` (or ``python -m gateway.simulators.smsc``) runs it
standalone (``_cli.main``): every config field is a flag.
"""

from __future__ import annotations

import asyncio
import bisect
import dataclasses
import heapq
import itertools
import math
import random
import time
from collections import deque
from datetime import UTC, datetime
from typing import Any

import structlog

from gateway.simulators.smsc._config import OUTCOMES, SimulatorConfig
from gateway.simulators.smsc._stats import AcceptedSubmit, SimulatorStats, best_effort_text
from gateway.smpp.protocol.codec import NEED_DATA
from gateway.smpp.protocol.codec import encode as encode_pdu
from gateway.smpp.protocol.concat import ESM_CLASS_UDHI, UdhParseError, build_segments, parse_udh
from gateway.smpp.protocol.errors import LocalProtocolError
from gateway.smpp.protocol.events import (
    BindComplete,
    BindFailed,
    Closed,
    DataSmReceived,
    DeliverResponse,
    GenericNackReceived,
    PeerUnbound,
    QuerySmReceived,
    ResponseTimeout,
    SubmitSmReceived,
    UnbindComplete,
)
from gateway.smpp.protocol.pdu import (
    BindReceiver,
    BindTransceiver,
    DataSm,
    DeliverSm,
    EnquireLink,
    GenericNack,
    QuerySm,
    SubmitSm,
    Unbind,
    format_absolute_time,
)
from gateway.smpp.protocol.session import SmscSession
from gateway.smpp.protocol.state import State
from gateway.smpp.protocol.status import (
    ESME_RBINDFAIL,
    ESME_RINVDSTADR,
    ESME_RINVPASWD,
    ESME_RINVSYSID,
    ESME_RMSGQFUL,
    ESME_ROK,
    ESME_RQUERYFAIL,
    ESME_RTHROTTLED,
)
from gateway.smpp.protocol.text import Encoding, encode, is_gsm7
from gateway.smpp.protocol.tlv import EMPTY_TLVS, MessageState, NetworkErrorCode, Tag, Tlvs

__all__ = ["NoReceiverError", "SmscSimulator"]

log = structlog.get_logger("gateway.simulators.smsc")

_GSM_NETWORK = 3  # network_error_code network type: GSM
_COALESCE = 0.005  # due items this close together go out in one batch
_KNOWN = 200_000  # message states kept for query_sm (the oldest are forgotten first)
_RECEIVER_STATES = (State.BOUND_RX, State.BOUND_TRX)
_RECEIPT, _MO = "receipt", "mo"
_RESPONSE_DUE, _DELIVER_DUE = 0, 1


class NoReceiverError(RuntimeError):
    """``send_mo`` found no connection bound as receiver or transceiver."""


class _Outbound:
    """A deliver_sm the simulator must see acknowledged: a receipt or an MO part."""

    __slots__ = (
        "acked",
        "key",
        "kind",
        "message_id",
        "origin",
        "pdu",
        "sends",
        "stat",
        "submit",
        "submit_wall",
        "system_id",
    )

    def __init__(self, kind: str, system_id: str, origin: _Connection | None) -> None:
        self.kind = kind
        self.key = ""  # receipts: the submit_sm_resp message id (``unacked_receipts`` key)
        self.system_id = system_id
        self.origin = origin
        self.pdu: DeliverSm | None = None  # built at the first send, then resent unchanged
        self.submit: SubmitSm | DataSm | None = None
        self.message_id = ""  # as written in the receipt
        self.stat = ""
        self.submit_wall = 0.0
        self.sends = 0
        self.acked = False


class _Connection(asyncio.Protocol):
    """One ESME connection: the transport, its ``SmscSession``, and what is waiting to be written."""

    def __init__(self, sim: SmscSimulator) -> None:
        cfg = sim.config
        self.sim = sim
        self.transport: asyncio.Transport = None  # type: ignore[assignment]
        self.session = SmscSession(
            authenticate=sim._authenticate,
            window=cfg.deliver_window,
            response_timeout=cfg.receipt_ack_timeout,
            enquire_link_interval=cfg.enquire_link_interval or None,
        )
        self.out: list[bytes] = []
        self.dirty = False
        self.closing = False  # close once what is queued is written
        self.lost = False
        self.system_id = ""
        self.bound = False
        self.submits = 0
        self.timer: asyncio.TimerHandle | None = None
        self.timer_at = math.inf

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.sim._on_connect(self)

    def data_received(self, data: bytes) -> None:
        self.sim._on_data(self, data)

    def eof_received(self) -> bool:
        self.sim._on_data(self, b"")
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.sim._on_lost(self)

    def pause_writing(self) -> None:  # the ESME reads slower than we write: stop taking submits
        self.transport.pause_reading()

    def resume_writing(self) -> None:
        self.transport.resume_reading()

    @property
    def can_deliver(self) -> bool:
        return (
            not self.closing
            and not self.lost
            and self.session.state in _RECEIVER_STATES
            and self.session.window_free > 0
        )


# --- the simulator ---------------------------------------------------------------------------


class SmscSimulator:
    """An SMPP server on 127.0.0.1 that answers, throttles, fails and sends receipts as configured."""

    def __init__(self, config: SimulatorConfig = SimulatorConfig()) -> None:  # noqa: B008 - frozen, shared safely
        self.config = config
        self.stats = SimulatorStats()
        self.port = config.port
        self._rng = random.Random(config.seed)
        self._ids = itertools.count(self._rng.randrange(1 << 32, 1 << 35))
        self._outcome_table = self._outcomes(config)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._connections: set[_Connection] = set()
        self._receivers: dict[str, list[_Connection]] = {}
        self._unacked: dict[str, _Outbound] = {}  # receipts owed, by submit_sm_resp message id
        self._waiting: dict[str, deque[_Outbound]] = {}  # no receiver with a free window slot
        self._dirty: list[_Connection] = []
        self._heap: list[tuple[float, int, int, Any, Any]] = []
        self._heap_seq = itertools.count()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = math.inf
        self._rate: dict[str, deque[float]] = {}
        self._segment_throttles: dict[tuple[str, int], int] = {}  # (destination, reference) -> throttled copies
        self._bound: dict[str, int] = {}  # binds bound now, per system_id
        self._mo_ref = self._rng.randrange(256)
        self._dates: dict[tuple[int, bool], str] = {}
        # What query_sm answers: message id -> (stat, when it becomes final (wall time)), the latest _KNOWN.
        self._final: dict[str, tuple[str, float]] = {}

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> int:
        """Listen on ``config.host``/``config.port``; return the bound port."""
        self._loop = asyncio.get_running_loop()
        self._server = await self._loop.create_server(
            lambda: _Connection(self), self.config.host, self.config.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("smpp.simulator.listening", host=self.config.host, port=self.port)
        return self.port

    async def stop(self) -> None:
        """Stop listening and abort every connection."""
        if self._server is None:
            return
        self._server.close()
        self.drop_connections()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        await self._server.wait_closed()
        await asyncio.sleep(0)  # let connection_lost callbacks run
        self._server = None
        log.info("smpp.simulator.stopped", port=self.port, **self.stats.as_dict())

    async def __aenter__(self) -> SmscSimulator:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def update(self, **changes: Any) -> None:
        """Replace config fields live (validated like the constructor); host and port cannot change."""
        if {"host", "port"} & changes.keys():
            raise ValueError("host and port cannot change while the simulator runs")
        self.config = config = dataclasses.replace(self.config, **changes)
        self._outcome_table = self._outcomes(config)
        for conn in self._connections:
            conn.session.response_timeout = config.receipt_ack_timeout
            conn.session.window = config.deliver_window
            conn.session.enquire_link_interval = config.enquire_link_interval or None
        if self._loop is not None:
            self._drain_all()
            self._flush()

    def drop_connections(self) -> None:
        """Abort every open connection now: no unbind, anything unsent is discarded."""
        for conn in list(self._connections):
            conn.closing = True
            conn.transport.abort()

    @property
    def unacked_receipts(self) -> frozenset[str]:
        """Message ids (as in submit_sm_resp) whose receipt is owed and not yet acknowledged."""
        return frozenset(self._unacked)

    @property
    def open_connections(self) -> int:
        return len(self._connections)

    async def send_mo(self, source: str, destination: str, text: str, *, system_id: str | None = None) -> None:
        """Send a mobile-originated message (esm_class 0) to a bound RX/TRX, in GSM 7-bit or UCS-2.

        A text longer than one SMS goes as UDH-concatenated parts. Parts are
        resent like receipts until acknowledged. ``NoReceiverError`` if no
        connection (of ``system_id``, when given) is bound to receive.
        """
        conns = self._receivers.get(system_id, []) if system_id is not None else list(self._all_receivers())
        target = next((c for c in conns if not c.closing and not c.lost), None)
        if target is None:
            raise NoReceiverError(f"no receiver bound{'' if system_id is None else ' as ' + system_id}")
        encoding = Encoding.GSM7 if is_gsm7(text) else Encoding.UCS2
        self._mo_ref = (self._mo_ref + 1) % 256
        now, wall = self._loop.time(), time.time()  # type: ignore[union-attr]
        for segment in build_segments(text, reference=self._mo_ref, encoding=encoding):
            ob = _Outbound(_MO, target.system_id, target)
            ob.pdu = DeliverSm(
                source_addr=source,
                destination_addr=destination,
                esm_class=segment.esm_class_flags,
                data_coding=segment.data_coding,
                short_message=segment.short_message,
            )
            self._deliver(ob, now, wall)
        self._flush()

    # -- connection events -------------------------------------------------------------------

    def _authenticate(self, pdu: Any) -> int:
        cfg = self.config
        if cfg.system_id is not None and pdu.system_id != cfg.system_id:
            return ESME_RINVSYSID
        if cfg.password is not None and pdu.password != cfg.password:
            return ESME_RINVPASWD
        if cfg.max_binds and self._bound.get(pdu.system_id, 0) >= cfg.max_binds:
            return ESME_RBINDFAIL  # the account's binds are all in use
        return ESME_ROK

    @property
    def bound_now(self) -> int:
        """Binds bound at this moment (all system_ids)."""
        return sum(self._bound.values())

    def _on_connect(self, conn: _Connection) -> None:
        self._connections.add(conn)
        self.stats.connections += 1

    def _on_data(self, conn: _Connection, data: bytes) -> None:
        if conn.lost or conn.closing:
            return
        now = self._loop.time()  # type: ignore[union-attr]
        session = conn.session
        session.receive_data(data, now)
        out = conn.out
        wall = 0.0
        freed = False
        while True:
            event = session.next_event()
            if event is NEED_DATA:
                break
            kind = type(event)
            if kind is QuerySmReceived:
                out.append(self._answer_query(conn, event.pdu))  # type: ignore[attr-defined]
                continue
            if kind is SubmitSmReceived or kind is DataSmReceived:
                if not wall:
                    wall = time.time()
                if self._on_submit(conn, event.pdu, now, wall):  # type: ignore[attr-defined]
                    break
                continue
            pending = session.data_to_send()  # the session's own answer to this PDU, in order
            if pending:
                out.append(pending)
            if kind is DeliverResponse or kind is GenericNackReceived:
                self._on_deliver_answer(event, now)  # type: ignore[arg-type]
                freed = True
            elif kind is BindComplete:
                self._on_bound(conn, event)  # type: ignore[arg-type]
            elif kind is BindFailed:
                self.stats.bind_failures += 1
                log.debug("smpp.simulator.bind_refused", system_id=event.request.system_id)  # type: ignore[attr-defined]
            elif kind is PeerUnbound:
                self.stats.unbinds_received += 1
                conn.closing = True
                if conn.bound:  # the bind is over once it asked to unbind
                    conn.bound = False
                    self._bound[conn.system_id] -= 1
            elif kind is UnbindComplete or kind is Closed or session.closed:
                conn.closing = True
        pending = session.data_to_send()
        if pending:
            out.append(pending)
        self._mark(conn)
        if freed:
            self._drain(conn.system_id)
        self._flush()
        self._arm_connection(conn)

    def _on_bound(self, conn: _Connection, event: BindComplete) -> None:
        self.stats.binds += 1
        conn.system_id = event.request.system_id  # type: ignore[attr-defined]
        conn.bound = True
        self._bound[conn.system_id] = self._bound.get(conn.system_id, 0) + 1
        self.stats.peak_binds = max(self.stats.peak_binds, self.bound_now)
        receiver = type(event.request) in (BindReceiver, BindTransceiver)
        if receiver:
            self._receivers.setdefault(conn.system_id, []).append(conn)
        log.debug("smpp.simulator.bound", system_id=conn.system_id, bind=event.request.command_name)
        if receiver:
            self._drain(conn.system_id)

    def _on_lost(self, conn: _Connection) -> None:
        if conn.lost:
            return
        conn.lost = True
        self._connections.discard(conn)
        if conn.bound:
            conn.bound = False
            self._bound[conn.system_id] -= 1
        self._forget_receiver(conn)
        if conn.timer is not None:
            conn.timer.cancel()
            conn.timer = None
        if self._loop is None or self._loop.is_closed():
            return
        now, wall = self._loop.time(), time.time()
        for outstanding in conn.session.connection_lost():
            ob = outstanding.context
            if isinstance(ob, _Outbound) and not ob.acked:
                self._deliver(ob, now, wall)
        self._flush()

    def _forget_receiver(self, conn: _Connection) -> None:
        conns = self._receivers.get(conn.system_id)
        if conns and conn in conns:
            conns.remove(conn)

    def _all_receivers(self) -> Any:
        return itertools.chain.from_iterable(self._receivers.values())

    # -- submits ---------------------------------------------------------------------------------

    def _on_submit(self, conn: _Connection, pdu: SubmitSm | DataSm, now: float, wall: float) -> bool:
        """Answer one submit as configured; True when the connection was dropped (stop reading)."""
        cfg = self.config
        stats = self.stats
        stats.submits_received += 1
        n = stats.submits_received
        conn.submits += 1
        if cfg.drop_every and n % cfg.drop_every == 0:
            stats.dropped += 1
            conn.closing = True  # what was answered before still goes out, then FIN; no unbind
            self._mark(conn)
            return True
        unbind = bool(cfg.unbind_after) and conn.submits == cfg.unbind_after
        if cfg.silent_every and n % cfg.silent_every == 0:
            stats.silent += 1
            if unbind:
                self._send_unbind(conn, now)
            return False
        if cfg.generic_nack_every and n % cfg.generic_nack_every == 0:
            stats.nacked += 1
            # Encoded here, not by the session: a generic_nack is no answer ack_submit gives.
            status = cfg.generic_nack_status
            nack = encode_pdu(GenericNack(sequence_number=pdu.sequence_number, command_status=status))
            self._respond(conn, nack, now, cfg.response_delay, unbind)
            return False
        status = ESME_ROK
        if cfg.throttle_every and n % cfg.throttle_every == 0:
            status = ESME_RTHROTTLED
            stats.throttled += 1
        elif cfg.queue_full_every and n % cfg.queue_full_every == 0:
            status = ESME_RMSGQFUL
            stats.queue_full += 1
        elif cfg.reject_every and n % cfg.reject_every == 0:
            status = ESME_RINVDSTADR
            stats.rejected += 1
        elif (cfg.max_rate and self._over_rate(pdu.source_addr, now, cfg.max_rate)) or (
            cfg.throttle_segment and self._throttle_segment(pdu, cfg)
        ):
            status = ESME_RTHROTTLED
            stats.throttled += 1
        if status:
            self._respond(conn, conn.session.ack_submit(pdu, status), now, cfg.response_delay, unbind)
            return False

        n_id = next(self._ids)
        message_id = f"{n_id:x}" if cfg.message_id_format == "hex" else str(n_id)
        unconfirmed = bool(cfg.empty_message_id_every) and stats.submits_accepted % cfg.empty_message_id_every == (
            cfg.empty_message_id_every - 1
        )
        response = conn.session.ack_submit(pdu, ESME_ROK, "" if unconfirmed else message_id)
        stats.submits_accepted += 1
        if cfg.record_submits:
            stats.accepted_log.append(AcceptedSubmit(now, message_id, conn.system_id, pdu))
        if unconfirmed:
            stats.unconfirmed += 1
            self._respond(conn, response, now, cfg.response_delay, unbind)
            return False
        ob = self._receipt_for(conn, pdu, message_id, wall) if pdu.registered_delivery & 3 else None
        if ob is not None:
            self._remember(ob.message_id, ob.stat, wall + cfg.response_delay + cfg.receipt_delay)
            if cfg.lose_receipt_every and stats.submits_accepted % cfg.lose_receipt_every == 0:
                stats.receipts_lost += 1
                self._unacked.pop(message_id, None)
                stats.receipts_unacked = len(self._unacked)
                ob = None
        if ob is None:
            self._respond(conn, response, now, cfg.response_delay, unbind)
        elif cfg.receipts_before_response:
            self._deliver_at(ob, now, cfg.receipt_delay, wall)
            self._respond(conn, response, now, max(cfg.response_delay, cfg.receipt_delay), unbind)
        else:
            self._respond(conn, response, now, cfg.response_delay, unbind)
            self._deliver_at(ob, now, cfg.response_delay + cfg.receipt_delay, wall)
        return False

    def _remember(self, message_id: str, stat: str, final_at: float) -> None:
        final = self._final
        if len(final) >= _KNOWN:
            del final[next(iter(final))]
        final[message_id] = (stat, final_at)

    def _answer_query(self, conn: _Connection, pdu: QuerySm) -> bytes:
        """query_sm as a real SMSC answers it: the message's state, its final date and error code once
        final (ENROUTE before its receipt is due); ESME_RQUERYFAIL for an id it does not know."""
        self.stats.queries += 1
        known = self._final.get(pdu.message_id)
        if known is None:
            self.stats.queries_unknown += 1
            return conn.session.ack_query(pdu, ESME_RQUERYFAIL)
        stat, final_at = known
        wall = time.time()
        if wall < final_at:
            return conn.session.ack_query(pdu, message_state=int(MessageState.ENROUTE))
        state, err = OUTCOMES[stat]
        done = datetime.fromtimestamp(final_at, UTC)
        return conn.session.ack_query(
            pdu, message_state=int(state), final_date=format_absolute_time(done), error_code=err & 0xFF
        )

    def _throttle_segment(self, pdu: SubmitSm | DataSm, cfg: SimulatorConfig) -> bool:
        """Segment ``throttle_segment`` of a UDH multipart message: throttled (its first N copies)."""
        if not pdu.esm_class & ESM_CLASS_UDHI:
            return False
        try:
            concat = parse_udh(getattr(pdu, "short_message", b""))[0].concat
        except UdhParseError:
            return False
        if concat is None or concat.seq != cfg.throttle_segment:
            return False
        key = (pdu.destination_addr, concat.reference)
        done = self._segment_throttles.get(key, 0)
        if cfg.throttle_segment_times and done >= cfg.throttle_segment_times:
            return False
        self._segment_throttles[key] = done + 1
        return True

    def _over_rate(self, source: str, now: float, max_rate: float) -> bool:
        window = self._rate.get(source)
        if window is None:
            window = self._rate[source] = deque()
        horizon = now - 1.0
        while window and window[0] <= horizon:
            window.popleft()
        if len(window) >= max_rate:
            return True
        window.append(now)
        return False

    def _respond(self, conn: _Connection, data: bytes, now: float, delay: float, unbind: bool) -> None:
        if delay > 0:
            self._push(now + delay, _RESPONSE_DUE, conn, (data, unbind))
            return
        conn.out.append(data)
        if unbind:
            self._send_unbind(conn, now)

    def _send_unbind(self, conn: _Connection, now: float) -> None:
        if conn.session.state in (State.BOUND_TX, State.BOUND_RX, State.BOUND_TRX) and not conn.closing:
            conn.out.append(conn.session.send(Unbind(), now))
            self.stats.unbinds_sent += 1
            self._mark(conn)
            self._arm_connection(conn)

    # -- receipts and MO ---------------------------------------------------------------------------

    @staticmethod
    def _outcomes(config: SimulatorConfig) -> tuple[tuple[str, ...], tuple[float, ...]]:
        pairs = [(stat, w) for stat, w in config.outcomes.items() if w > 0]
        return tuple(s for s, _ in pairs), tuple(itertools.accumulate(w for _, w in pairs))

    def _pick_stat(self) -> str:
        stats, cumulative = self._outcome_table
        if len(stats) == 1:
            return stats[0]
        return stats[bisect.bisect_right(cumulative, self._rng.random() * cumulative[-1])]

    def _receipt_for(self, conn: _Connection, pdu: SubmitSm | DataSm, message_id: str, wall: float) -> _Outbound | None:
        stat = self._pick_stat()
        wanted = pdu.registered_delivery & 3
        if (wanted == 2 and stat == "DELIVRD") or (wanted == 3 and stat != "DELIVRD"):
            return None
        ob = _Outbound(_RECEIPT, conn.system_id, conn)
        ob.key = message_id
        ob.submit = pdu
        ob.stat = stat
        ob.submit_wall = wall
        fmt = self.config.receipt_id_format
        if fmt == "dec" and self.config.message_id_format == "hex":
            ob.message_id = str(int(message_id, 16))
        elif fmt == "hex" and self.config.message_id_format == "dec":
            ob.message_id = f"{int(message_id):x}"
        else:
            ob.message_id = message_id
        self._unacked[message_id] = ob
        self.stats.receipts_unacked = len(self._unacked)
        return ob

    def _date(self, wall: float) -> str:
        twelve = self.config.twelve_digit_dates
        key = (int(wall), twelve)
        text = self._dates.get(key)
        if text is None:
            if len(self._dates) > 8:
                self._dates.clear()
            text = self._dates[key] = time.strftime("%y%m%d%H%M%S" if twelve else "%y%m%d%H%M", time.gmtime(wall))
        return text

    def _receipt_pdu(self, ob: _Outbound, wall: float) -> DeliverSm:
        sub = ob.submit
        assert sub is not None
        state, err = OUTCOMES[ob.stat]
        fmt = self.config.receipt_format
        short_message = b""
        if fmt != "tlv":
            head = (
                f"id:{ob.message_id} sub:001 dlvrd:{'001' if ob.stat == 'DELIVRD' else '000'} "
                f"submit date:{self._date(ob.submit_wall)} done date:{self._date(wall)} "
                f"stat:{ob.stat} err:{err:03d} text:"
            )
            # Letters, digits, ':' and ' ' have the same codes in ASCII and GSM 7-bit (data_coding 0).
            short_message = head.encode("ascii") + _receipt_snippet(sub)
        tlvs = EMPTY_TLVS
        if fmt != "text":
            items: dict[int, Any] = {Tag.RECEIPTED_MESSAGE_ID: ob.message_id, Tag.MESSAGE_STATE: int(state)}
            if err:
                items[Tag.NETWORK_ERROR_CODE] = NetworkErrorCode(_GSM_NETWORK, err)
            tlvs = Tlvs(items)
        return DeliverSm(
            source_addr_ton=sub.dest_addr_ton,
            source_addr_npi=sub.dest_addr_npi,
            source_addr=sub.destination_addr[:20],
            dest_addr_ton=sub.source_addr_ton,
            dest_addr_npi=sub.source_addr_npi,
            destination_addr=sub.source_addr[:20],
            esm_class=self.config.receipt_esm_class,
            data_coding=0x00,
            short_message=short_message,
            tlvs=tlvs,
        )

    def _deliver_at(self, ob: _Outbound, now: float, delay: float, wall: float) -> None:
        if delay > 0:
            self._push(now + delay, _DELIVER_DUE, ob, None)
        else:
            self._deliver(ob, now, wall)

    def _pick(self, ob: _Outbound) -> _Connection | None:
        origin = ob.origin
        if origin is not None and origin.can_deliver:
            return origin
        for conn in self._receivers.get(ob.system_id, ()):
            if conn.can_deliver:
                return conn
        return None

    def _deliver(self, ob: _Outbound, now: float, wall: float) -> None:
        """Send (or resend) ``ob`` on a receiver of its system_id, or park it until one can take it."""
        if ob.acked:
            return
        conn = self._pick(ob)
        if conn is None:
            self._waiting.setdefault(ob.system_id, deque()).append(ob)
            return
        if ob.pdu is None:
            try:
                ob.pdu = self._receipt_pdu(ob, wall)
            except LocalProtocolError:  # a data_sm address a deliver_sm cannot carry: no receipt
                self._settle(ob)
                return
        conn.out.append(conn.session.send(ob.pdu, now, context=ob))
        self._mark(conn)
        ob.origin = conn
        ob.sends += 1
        stats = self.stats
        if ob.kind is _RECEIPT:
            if ob.sends == 1:
                stats.receipts_sent += 1
            else:
                stats.receipts_resent += 1
        elif ob.sends == 1:
            stats.mo_sent += 1
        if conn.timer is None:
            self._arm_connection(conn)

    def _settle(self, ob: _Outbound) -> None:
        ob.acked = True
        if ob.kind is _RECEIPT:
            self._unacked.pop(ob.key, None)
            self.stats.receipts_unacked = len(self._unacked)

    def _on_deliver_answer(self, event: DeliverResponse | GenericNackReceived, now: float) -> None:
        ob = event.context
        if not isinstance(ob, _Outbound) or ob.acked:
            return
        answer = event.response if type(event) is DeliverResponse else event.nack  # type: ignore[union-attr]
        if type(event) is DeliverResponse and answer.command_status == ESME_ROK:
            self._settle(ob)
            if ob.kind is _RECEIPT:
                self.stats.receipts_acked += 1
            else:
                self.stats.mo_acked += 1
            return
        if ob.kind is _RECEIPT:
            self.stats.receipts_refused += 1
        self._push(now + self.config.receipt_retry_delay, _DELIVER_DUE, ob, None)

    def _drain(self, system_id: str) -> None:
        waiting = self._waiting.get(system_id)
        if not waiting:
            return
        now, wall = self._loop.time(), time.time()  # type: ignore[union-attr]
        while waiting:
            ob = waiting[0]
            if not ob.acked and self._pick(ob) is None:
                break
            waiting.popleft()
            self._deliver(ob, now, wall)

    def _drain_all(self) -> None:
        for system_id in list(self._waiting):
            self._drain(system_id)

    # -- timers and writes ----------------------------------------------------------------------

    def _push(self, due: float, kind: int, a: Any, b: Any) -> None:
        heapq.heappush(self._heap, (due, next(self._heap_seq), kind, a, b))
        if due < self._timer_at:
            if self._timer is not None:
                self._timer.cancel()
            self._timer_at = due
            self._timer = self._loop.call_at(due, self._on_heap_timer)  # type: ignore[union-attr]

    def _on_heap_timer(self) -> None:
        self._timer = None
        self._timer_at = math.inf
        now = self._loop.time()  # type: ignore[union-attr]
        wall = time.time()
        limit = now + _COALESCE
        heap = self._heap
        while heap and heap[0][0] <= limit:
            _due, _seq, kind, a, b = heapq.heappop(heap)
            if kind == _RESPONSE_DUE:
                conn: _Connection = a
                if not conn.lost and not conn.closing:
                    conn.out.append(b[0])
                    self._mark(conn)
                    if b[1]:
                        self._send_unbind(conn, now)
            else:
                self._deliver(a, now, wall)
        self._flush()
        if heap:
            self._timer_at = heap[0][0]
            self._timer = self._loop.call_at(self._timer_at, self._on_heap_timer)  # type: ignore[union-attr]

    def _arm_connection(self, conn: _Connection) -> None:
        due = conn.session.next_timer()
        if due is None or conn.lost or due >= conn.timer_at:
            return
        if conn.timer is not None:
            conn.timer.cancel()
        conn.timer_at = due
        conn.timer = self._loop.call_at(due, self._on_connection_timer, conn)  # type: ignore[union-attr]

    def _on_connection_timer(self, conn: _Connection) -> None:
        due = conn.timer_at
        conn.timer = None
        conn.timer_at = math.inf
        if conn.lost:
            return
        now = max(self._loop.time(), due)  # type: ignore[union-attr]
        wall = time.time()
        for event in conn.session.on_timer(now):
            if not isinstance(event, ResponseTimeout):
                continue
            ob = event.context
            if isinstance(ob, _Outbound):
                self._deliver(ob, now, wall)  # unanswered: resend (here or on another receiver)
            elif isinstance(event.request, (Unbind, EnquireLink)):
                conn.closing = True  # the ESME does not answer: the link is dead
        pending = conn.session.data_to_send()
        if pending:
            conn.out.append(pending)
        self._mark(conn)
        self._flush()
        self._arm_connection(conn)

    def _mark(self, conn: _Connection) -> None:
        if not conn.dirty:
            conn.dirty = True
            self._dirty.append(conn)

    def _flush(self) -> None:
        """Write everything queued, one write per connection; close those marked closing."""
        dirty = self._dirty
        while dirty:
            conn = dirty.pop()
            conn.dirty = False
            if conn.lost:
                conn.out.clear()
                continue
            if conn.out:
                data = b"".join(conn.out) if len(conn.out) > 1 else conn.out[0]
                conn.out.clear()
                conn.transport.write(data)
            if conn.closing:
                self._forget_receiver(conn)
                conn.transport.close()


def _receipt_snippet(sub: SubmitSm | DataSm) -> bytes:
    """The first 20 characters of the submitted text for ``text:``, in GSM 7-bit ('?' for the rest)."""
    tlvs = sub.tlvs
    body: bytes = tlvs.get(Tag.MESSAGE_PAYLOAD, b"") if tlvs else b""  # type: ignore[assignment]
    if not body:
        body = getattr(sub, "short_message", b"")
        if sub.esm_class & ESM_CLASS_UDHI:
            try:
                body = parse_udh(body)[1]
            except UdhParseError:
                pass
    if sub.data_coding == 0:  # GSM 7-bit unpacked: without escapes or line ends, the first 20 octets are the answer
        head = body[:20]
        if head.isascii() and not (b"\x1b" in head or b"\n" in head or b"\r" in head):
            return head
    text = best_effort_text(body[:80], sub.data_coding)[:20]
    if not is_gsm7(text) or "\n" in text or "\r" in text:
        text = "".join(ch if ch not in "\r\n" and is_gsm7(ch) else "?" for ch in text)
    return encode(text, Encoding.GSM7)
