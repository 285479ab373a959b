"""Make AnyIO calls work in asyncio protocol callbacks, whoever runs the event loop.

AnyIO asks sniffio (when importable) which event loop runs; sniffio answers from the current
task, and asyncio protocol callbacks (an SMPP bind's ``data_received``) run outside any task, so
``anyio.current_time()`` or ``anyio.Event()`` there raise ``NoEventLoopError`` as soon as some
other package (trio, httpx, selenium, ...) has installed sniffio. Callbacks copy the context of
the task that created their connection, so setting the variable in that task covers them all:
the daemon does it once at start, and :func:`gateway.smpp.transport.open_connection` does it
before each connect, so embedders (benchmarks, tests, library users) are covered too.
"""

from __future__ import annotations


def name_the_event_loop() -> None:
    """Tell sniffio, when it is installed, that the current context runs asyncio."""
    try:
        import sniffio
    except ImportError:  # pragma: no cover - AnyIO then finds the loop by itself
        return
    sniffio.current_async_library_cvar.set("asyncio")
