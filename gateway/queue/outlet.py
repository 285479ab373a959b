"""One connector's way out: rate limits, then the send journal, then the duplicate bound, then ``send``.

A message routed to a connector goes through, in order:

1. its rate-limit :class:`~gateway.ratelimit.Dispatcher` (per-sender lanes,
   fair across campaigns), which calls :meth:`Outlet.accept` when the limits
   let it pass; ``accept`` first asks the policy's **last check** (``check``):
   a message that waited past its window or deadline, or whose campaign was
   held since the claim, is written back instead of going on;
2. the **send journal**: ``accept`` asks the writer to record the message id in
   ``gateway.send_journal`` with its next group commit and returns at once; the
   outlet's pump hands messages over only once their journal entry is
   committed. The writer commits continuously while reservations wait, so the
   journal runs ahead of the sends instead of stalling them. After a crash only
   journaled messages can have reached the carrier (see the store's
   ``recover_leases``);
3. the **duplicate bound**: at most ``connector.max_unrecorded()`` messages
   (SMPP: window x binds) may be handed over and either unanswered or accepted
   without that acceptance being on disk. An accepted submit is recorded by the
   journal's next short commit (with its carrier ids: after a crash it is
   settled from there, not sent again); an answer that is not an acceptance
   frees its slot at once (resending it cannot duplicate anything the carrier
   took). Past half of the bound the pump asks for that commit now, so a send
   waits only when the journal truly falls behind. A crash therefore duplicates
   at most the messages in the carrier's windows;
4. ``Connector.send``, which blocks while the connector's window is full.

A connector that raises instead of answering gets a RETRY result for the
message: a connector bug never loses a message.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import anyio
import structlog
from anyio.abc import TaskStatus

from gateway.errors import ConnectorClosed
from gateway.port import Connector, OutboundMessage, Outcome, QueueReason, SendResult
from gateway.queue.writer import Writer
from gateway.ratelimit import Dispatcher

__all__ = ["Outlet"]

log = structlog.get_logger("gateway.outlet")

_DEFAULT_AHEAD = 256


class Outlet:
    def __init__(
        self,
        connector: Connector,
        writer: Writer,
        *,
        report: Callable[[SendResult], None],
        check: Callable[[OutboundMessage], bool] | None = None,
        journal: bool = True,
        bound_unrecorded: bool = True,
        ahead: int = 0,
    ) -> None:
        self.connector = connector
        self.writer = writer
        self.dispatcher: Dispatcher[OutboundMessage] | None = None  # set by the engine
        self.in_flight = 0  # routed to this connector and not yet written back
        # Handed to the connector and outcome not yet committed.
        self.unrecorded: set[int] = set()
        self.limit = connector.max_unrecorded() if bound_unrecorded else None
        self._report = report
        self._check = check  # False: the policy refused it at the last moment (and wrote it back)
        self._journal = journal
        if ahead <= 0:
            ahead = max(32, self.limit // 2) if self.limit else _DEFAULT_AHEAD
        self._ahead_limit = ahead
        self._ahead: deque[tuple[int, OutboundMessage]] = deque()  # (reservation, message), in order
        self._untaken: list[OutboundMessage] = []
        self._closed = False
        self._space = anyio.Event()
        self._work = anyio.Event()
        self._recorded = anyio.Event()

    @property
    def ahead(self) -> int:
        """Messages journaled (or being journaled) and not handed over yet."""
        return len(self._ahead)

    async def accept(self, message: OutboundMessage) -> None:
        """The dispatcher's ``send``: journal the message and queue it for the pump.

        Blocks while the journal is ``ahead`` messages in front of the sends.
        Raises :class:`ConnectorClosed` once the outlet is closed (the
        dispatcher then keeps the message for its own drain)."""
        if self._check is not None and not self._check(message):
            return
        if not self._journal:
            await self._hand(message)
            return
        while len(self._ahead) >= self._ahead_limit and not self._closed:
            self._space = anyio.Event()
            await self._space.wait()
        if self._closed:
            raise ConnectorClosed(f"connector {self.connector.name} is draining")
        self._ahead.append((self.writer.reserve(message.id), message))
        self._work.set()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """The pump: hand journaled messages over in order, until closed."""
        task_status.started()
        if not self._journal:
            return
        while not self._closed:
            if not self._ahead:
                self._work = anyio.Event()
                await self._work.wait()
                continue
            reservation, message = self._ahead[0]
            await self.writer.journaled(reservation)
            if self._closed:
                return
            self._ahead.popleft()
            self._space.set()
            try:
                await self._hand(message)
            except ConnectorClosed:
                self._untaken.append(message)
                return

    async def _hand(self, message: OutboundMessage) -> None:
        limit = self.limit
        if limit is not None:
            while len(self.unrecorded) >= limit:
                # Everything the peer may have accepted must be on disk before more goes out.
                self._kick()
                self._recorded = anyio.Event()
                await self._recorded.wait()
            if len(self.unrecorded) >= limit // 2:
                self._kick()  # start the commit now, so that the bound is not reached
        self.unrecorded.add(message.id)
        try:
            await self.connector.send(message)
        except ConnectorClosed:
            self.unrecorded.discard(message.id)
            raise
        except Exception as exc:  # noqa: BLE001 - a connector bug must not lose the message
            log.error("engine.send.error", connector=self.connector.name, message_id=message.id, error=repr(exc))
            self._report(SendResult(message.id, Outcome.RETRY, reason=QueueReason.CONNECTOR_ERROR))

    def _kick(self) -> None:
        if self._journal:
            self.writer.kick_journal()  # accepted submits are recorded by the journal's short commits
        else:
            self.writer.kick()

    def recorded(self, message_id: int) -> None:
        """The message's outcome is committed."""
        if message_id in self.unrecorded:
            self.unrecorded.discard(message_id)
            self._recorded.set()

    def close(self) -> list[OutboundMessage]:
        """Stop handing over; return the messages never handed over (again when called again)."""
        self._closed = True
        self._space.set()
        self._work.set()
        untaken = self._untaken + [m for _, m in self._ahead]
        self._untaken = []
        self._ahead.clear()
        return untaken
