"""A third-party SMSC for interoperability tests: node-smpp (farhadi/node-smpp) running tests/acceptance/interop/smsc.js.

Two ways to get one (each test gets its own process, killed at teardown):

    async def test_x(node_smsc): ...                          # defaults below
    @pytest.mark.parametrize("node_smsc", [{"throttle_every": 3}], indirect=True)
    async def test_y(node_smsc): ...
    async def test_z(start_node_smsc):
        peer = start_node_smsc(receipt_delay=0.2, drop_after=2)

Options (all keyword): ``system_id`` ("gateway"), ``password`` ("secret"),
``receipt_delay`` (seconds, 0), ``throttle_every`` (0 = never), ``drop_after``
(0 = never: the Nth submit on a connection destroys the socket unanswered),
``stat`` ("DELIVRD"), ``first_message_id`` (1), ``receipt_esm_class`` (4),
``receipt_format`` ("both": text and TLVs; "text", "tlv"), ``lose_receipts``
(False; True: receipts are never sent, only query_sm tells the state). The peer object has ``.port``,
``.events()`` (the JSON lines printed so far, parsed), ``.wait_for(predicate,
timeout)`` (blocking; the first event the predicate accepts) and
``await .wait_for_async(predicate, timeout)`` for async tests.

The tests skip, saying why, when ``node`` is not installed or
tests/acceptance/interop/node_modules/smpp is absent (``./dev test`` runs ``npm install``
here; by hand: ``cd tests/acceptance/interop && npm install``).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "smsc.js"
NODE_SMPP = HERE / "node_modules" / "smpp"

Event = dict[str, Any]
Predicate = Callable[[Event], bool]

DEFAULTS: dict[str, Any] = {
    "system_id": "gateway",
    "password": "secret",
    "receipt_delay": 0.0,
    "throttle_every": 0,
    "drop_after": 0,
    "stat": "DELIVRD",
    "first_message_id": 1,
    "receipt_esm_class": 4,
    "receipt_format": "both",
    "lose_receipts": False,
}


class NodeSmsc:
    """A running ``node smsc.js``; its stdout JSON lines are collected by a background thread."""

    def __init__(self, **options: Any) -> None:
        unknown = set(options) - set(DEFAULTS)
        if unknown:
            raise TypeError(f"unknown node SMSC option(s): {sorted(unknown)}")
        self.options = {**DEFAULTS, **options}
        o = self.options
        argv = [
            _node(),
            str(SCRIPT),
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--system-id",
            o["system_id"],
            "--password",
            o["password"],
            "--receipt-delay-ms",
            str(int(o["receipt_delay"] * 1000)),
            "--throttle-every",
            str(o["throttle_every"]),
            "--drop-after",
            str(o["drop_after"]),
            "--stat",
            o["stat"],
            "--first-message-id",
            str(o["first_message_id"]),
            "--receipt-esm-class",
            str(o["receipt_esm_class"]),
            "--receipt-format",
            o["receipt_format"],
            "--lose-receipts",
            "1" if o["lose_receipts"] else "0",
        ]
        self.system_id: str = o["system_id"]
        self.password: str = o["password"]
        self._events: list[Event] = []
        self._stderr: list[str] = []
        self._cond = threading.Condition()
        self._proc = subprocess.Popen(
            argv, cwd=HERE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1
        )
        threading.Thread(target=self._read_stdout, name="node-smsc-stdout", daemon=True).start()
        threading.Thread(target=self._read_stderr, name="node-smsc-stderr", daemon=True).start()
        try:
            listening = self.wait_for(lambda e: e["event"] == "listening", timeout=15.0)
        except BaseException:
            self.stop()
            raise
        self.port: int = listening["port"]

    def _read_stdout(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            line = line.strip()
            if not line:
                continue
            try:
                event = json.loads(line)
            except ValueError:
                event = {"event": "unparsed", "line": line}
            with self._cond:
                self._events.append(event)
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def _read_stderr(self) -> None:
        assert self._proc.stderr is not None
        for line in self._proc.stderr:
            self._stderr.append(line.rstrip())

    def events(self, name: str | None = None) -> list[Event]:
        """The events printed so far (only those called ``name`` when given)."""
        with self._cond:
            return [e for e in self._events if name is None or e.get("event") == name]

    def wait_for(self, predicate: Predicate, timeout: float = 5.0) -> Event:
        """Block until an event (old or new) satisfies ``predicate``; TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        with self._cond:
            seen = 0
            while True:
                for event in self._events[seen:]:
                    if predicate(event):
                        return event
                seen = len(self._events)
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self._proc.poll() is not None and seen == len(self._events)):
                    break
                self._cond.wait(min(remaining, 0.1))
        raise TimeoutError(self._explain(f"no matching node SMSC event within {timeout}s"))

    async def wait_for_async(self, predicate: Predicate, timeout: float = 5.0) -> Event:
        """``wait_for`` without blocking the event loop."""
        deadline = time.monotonic() + timeout
        while True:
            found = next((e for e in self.events() if predicate(e)), None)
            if found is not None:
                return found
            if time.monotonic() >= deadline or self._proc.poll() is not None:
                raise TimeoutError(self._explain(f"no matching node SMSC event within {timeout}s"))
            await asyncio.sleep(0.01)

    def _explain(self, why: str) -> str:
        tail = "\n".join(json.dumps(e) for e in self.events()[-15:])
        status = "running" if self._proc.poll() is None else f"exited with {self._proc.returncode}"
        stderr = "\n".join(self._stderr[-15:])
        return f"{why}; node SMSC {status}; last events:\n{tail}\nstderr:\n{stderr}"

    def stop(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait(timeout=10)
        for stream in (self._proc.stdout, self._proc.stderr):
            if stream is not None:
                stream.close()


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the node-smpp interop tests need Node.js")
    if not (NODE_SMPP / "package.json").exists():
        pytest.skip(
            "tests/acceptance/interop/node_modules/smpp is absent: run `cd tests/acceptance/interop && npm install` (./dev test does it)"
        )
    return node


@pytest.fixture
def start_node_smsc() -> Iterator[Callable[..., NodeSmsc]]:
    """A factory: ``start_node_smsc(**options)`` -> a running node-smpp SMSC, killed after the test."""
    started: list[NodeSmsc] = []

    def start(**options: Any) -> NodeSmsc:
        peer = NodeSmsc(**options)
        started.append(peer)
        return peer

    yield start
    for peer in started:
        peer.stop()


@pytest.fixture
def node_smsc(request: pytest.FixtureRequest, start_node_smsc: Callable[..., NodeSmsc]) -> NodeSmsc:
    """A node-smpp SMSC with the defaults, or the options dict given by indirect parametrisation."""
    return start_node_smsc(**getattr(request, "param", {}))
