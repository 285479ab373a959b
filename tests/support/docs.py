"""Examples in docs/*.md, run by tests as they are written there (copied, never re-typed).

An example is a fenced block right after an HTML comment naming it::

    <!-- example: explain-seoul -->
    ```console
    $ gateway policy explain ...
    decision: ...
    ```

``console`` blocks hold commands (``$ ...``) each followed by the output it must print.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_EXAMPLE = re.compile(r"<!-- example: ([a-z0-9-]+) -->\n```([a-z]+)\n(.*?)```", re.DOTALL)
_FENCE = re.compile(r"^```", re.MULTILINE)


@dataclass(frozen=True)
class Example:
    name: str
    lang: str
    text: str


def examples(doc: str) -> dict[str, Example]:
    """Every named example of ``docs/<doc>``, by name (a repeated name is an error)."""
    found: dict[str, Example] = {}
    for name, lang, text in _EXAMPLE.findall((ROOT / "docs" / doc).read_text("utf-8")):
        assert name not in found, f"{doc}: example {name!r} twice"
        found[name] = Example(name, lang, text)
    return found


def fenced_blocks(doc: str) -> int:
    """How many fenced code blocks the document has."""
    return len(_FENCE.findall((ROOT / "docs" / doc).read_text("utf-8"))) // 2


@dataclass(frozen=True)
class Command:
    argv: list[str]
    output: str


def commands(example: Example) -> list[Command]:
    """The ``$ ...`` commands of a console example, each with the output shown under it."""
    out: list[Command] = []
    for line in example.text.splitlines():
        if line.startswith("$ "):
            out.append(Command(shlex.split(line[2:]), ""))
        elif out:
            out[-1] = Command(out[-1].argv, out[-1].output + line + "\n")
    return out


def run_gateway_here(argv: list[str]) -> subprocess.CompletedProcess[str]:
    """``gateway ...`` through ``gateway.cli.main`` in this process (call it from a worker thread: it runs
    its own event loop); the caller sets the working directory and environment (monkeypatch)."""
    import contextlib
    import io

    from gateway.cli import main

    assert argv[0] == "gateway", argv
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv[1:])
        except SystemExit as exc:  # argparse
            code = int(exc.code or 0)
    return subprocess.CompletedProcess(argv, code, out.getvalue(), err.getvalue())
