"""Examples in docs/*.md, run by tests as they are written there (copied, never re-typed).

An example is a fenced block right after an HTML comment naming it, with options
if the runner needs them (the comment does not show on the rendered page)::

    <!-- example: explain-seoul -->
    ```console
    $ gateway policy explain ...
    decision: ...
    ```

    <!-- example: roles as=owner -->
    <!-- example: key-reused error=outbox_idempotency_key_reused -->

Readers: :func:`examples` (the named blocks of a page, by name), :func:`blocks`
(every fenced block in page order, with its line, heading, name and options),
:func:`fenced_blocks` (how many there are). Runners:

* ``console`` blocks hold commands (``$ ...``) each followed by the output it must
  print: :func:`commands`, :func:`run_gateway_here`;
* :func:`run_sql` runs SQL blocks in page order inside one transaction that it
  rolls back at the end (roles are server-wide, and tests share the server), each
  block in a savepoint, ``SET ROLE`` to its ``as=`` option (``owner``: the
  connection's own role; else the role the caller names, e.g. a member of
  ``gateway_upstream``). A block's own ``BEGIN;``/``COMMIT;`` lines become a
  savepoint and its release (the same all-or-nothing, nested), and a block with
  ``error=X`` must fail with constraint or SQLSTATE ``X``;
* :func:`load_python` executes a ``python`` block as a module of its own and
  returns its namespace, so a test can call what the example defines.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import types
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

ROOT = Path(__file__).resolve().parents[2]
_BLOCK = re.compile(r"^```([A-Za-z0-9_+-]*)[^\n]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
_MARK = re.compile(r"<!-- example: ([a-z0-9-]+)((?: [a-z]+=[^\s>]+)*) -->$")
_HEADING = re.compile(r"^#+\s+(.*)$", re.MULTILINE)


@dataclass(frozen=True)
class Example:
    name: str | None
    lang: str
    text: str
    options: dict[str, str] = field(default_factory=dict)
    page: str = ""
    line: int = 0  # of the opening fence, 1-based
    heading: str = ""  # the nearest heading above it

    def where(self) -> str:
        return f"docs/{self.page}:{self.line} ({self.name or self.heading})"


def blocks(doc: str, lang: str | None = None) -> list[Example]:
    """Every fenced block of ``docs/<doc>`` (of language ``lang``, if given), in page order."""
    text = (ROOT / "docs" / doc).read_text("utf-8")
    headings = [(m.start(), m.group(1)) for m in _HEADING.finditer(text)]
    found: list[Example] = []
    for m in _BLOCK.finditer(text):
        before = text[: m.start()].rstrip("\n").rsplit("\n", 1)[-1]
        mark = _MARK.search(before)
        name, options = (mark.group(1), dict(o.split("=", 1) for o in mark.group(2).split())) if mark else (None, {})
        heading = next((h for pos, h in reversed(headings) if pos < m.start()), "")
        line = text.count("\n", 0, m.start()) + 1
        found.append(Example(name, m.group(1), m.group(2), options, doc, line, heading))
    return [b for b in found if lang is None or b.lang == lang]


def examples(doc: str) -> dict[str, Example]:
    """Every named example of ``docs/<doc>``, by name (a repeated name is an error)."""
    found: dict[str, Example] = {}
    for block in blocks(doc):
        if block.name is not None:
            assert block.name not in found, f"{doc}: example {block.name!r} twice"
            found[block.name] = block
    return found


def fenced_blocks(doc: str) -> int:
    """How many fenced code blocks the document has."""
    return len(blocks(doc))


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


_TX = re.compile(r"^\s*(BEGIN|COMMIT)\s*;\s*$", re.MULTILINE | re.IGNORECASE)


def _jpeg() -> tuple[bytes]:
    from tests.support.nhn_sms import example_jpeg

    return (example_jpeg(),)


#: Values for blocks with ``$n`` placeholders, by their ``params=`` option.
PARAMS: dict[str, Callable[[], tuple[Any, ...]]] = {"jpeg": _jpeg}


def _statements(sql: str) -> list[str]:
    """A block split into statements (at a ``;`` that ends a line; comments dropped)."""
    lines = [re.sub(r"\s*--.*$", "", line) for line in sql.splitlines()]
    text = "\n".join(lines)
    return [s.strip() for s in re.split(r";\s*(?:\n|$)", text) if s.strip()]


def _nested(sql: str) -> str:
    """A block's own transaction, as a savepoint inside the runner's transaction."""
    return _TX.sub(
        lambda m: "SAVEPOINT doc_example;" if m.group(1).upper() == "BEGIN" else "RELEASE SAVEPOINT doc_example;", sql
    )


@dataclass
class SqlRun:
    """What running a page's SQL blocks did, for the test's own checks before the rollback."""

    ran: list[Example] = field(default_factory=list)
    errors: dict[str, asyncpg.PostgresError] = field(default_factory=dict)  # by example name


async def run_sql(
    conn: asyncpg.Connection,
    sql_blocks: list[Example],
    *,
    default_role: str,
    check: Callable[[asyncpg.Connection, SqlRun], Awaitable[None]] | None = None,
) -> SqlRun:
    """Run ``sql_blocks`` as the module docstring says; ``await check(conn, run)`` (as the connection's own
    role) before everything is rolled back."""
    run = SqlRun()
    tx = conn.transaction()
    await tx.start()
    try:
        for block in sql_blocks:
            role = block.options.get("as", default_role)
            await conn.execute("RESET ROLE" if role == "owner" else f'SET ROLE "{role}"')
            expected = block.options.get("error")
            try:
                async with conn.transaction():
                    params = block.options.get("params")
                    if params is None:
                        await conn.execute(_nested(block.text))
                    else:  # a block with $n placeholders: statement by statement, the values from PARAMS
                        for statement in _statements(_nested(block.text)):
                            if "$1" in statement:
                                await conn.execute(statement, *PARAMS[params]())
                            else:
                                await conn.execute(statement)
            except asyncpg.PostgresError as exc:
                if expected is None or expected not in (getattr(exc, "constraint_name", None), exc.sqlstate):
                    raise AssertionError(f"{block.where()} failed: {exc}") from exc
                run.errors[block.name or block.where()] = exc
            else:
                assert expected is None, f"{block.where()} should fail with {expected}, and did not"
            run.ran.append(block)
        await conn.execute("RESET ROLE")
        if check is not None:
            await check(conn, run)
    finally:
        await tx.rollback()
    return run


def load_python(block: Example) -> dict[str, Any]:
    """Execute a ``python`` block as a module of its own; its namespace (what the example defines)."""
    module = types.ModuleType(f"docs_example_{block.name or block.line}")
    exec(compile(block.text, block.where(), "exec"), module.__dict__)
    return module.__dict__
