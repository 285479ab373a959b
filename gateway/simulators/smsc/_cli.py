"""``gateway simulate smsc``: the SMSC simulator as a standalone server (``python -m gateway.simulators.smsc``).

Every ``SimulatorConfig`` field is a flag (``build_parser``). It serves until
SIGINT/SIGTERM and prints a JSON line on stderr when listening and every
``--stats-interval`` seconds.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import Sequence

from gateway.simulators.smsc._config import build_parser, config_from_args
from gateway.simulators.smsc._server import SmscSimulator

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """``gateway simulate smsc``: serve until SIGINT/SIGTERM, a JSON stats line on stderr every few seconds."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)
    except ValueError as exc:
        parser.error(str(exc))

    async def serve() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with SmscSimulator(config) as sim:
            print(
                json.dumps({"event": "smsc.listening", "host": config.host, "port": sim.port}),
                file=sys.stderr,
                flush=True,
            )
            while not stop.is_set():
                try:
                    await asyncio.wait_for(stop.wait(), args.stats_interval)
                except TimeoutError:
                    pass
                line = {"event": "smsc.stats", "open_connections": sim.open_connections, **sim.stats.as_dict()}
                print(json.dumps(line), file=sys.stderr, flush=True)
        return 0

    try:
        import uvloop

        return uvloop.run(serve())
    except ImportError:  # pragma: no cover - uvloop is optional (Windows)
        return asyncio.run(serve())
