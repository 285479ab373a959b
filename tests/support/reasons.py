"""The reason registry as tests see it: every room loaded, the documented list, what a database holds."""

from __future__ import annotations

import importlib
import pkgutil
import re
from functools import cache
from pathlib import Path

import asyncpg

import gateway
from gateway.port import reason_registry

ROOT = Path(__file__).resolve().parents[2]
UPSTREAM = ROOT / "docs" / "upstream.md"
_SECTION = "## Reasons"
_ROW = re.compile(r"^\|\s*`([^`]+)`\s*\|(.*)\|\s*$")


@cache
def registered() -> dict[str, frozenset[str]]:
    """Every reason any room of the gateway registers (each module imported once), with its rooms."""
    for info in pkgutil.walk_packages(gateway.__path__, "gateway."):
        if info.name.endswith("__main__"):
            continue
        importlib.import_module(info.name)
    return reason_registry.codes()


def documented(path: Path = UPSTREAM) -> dict[str, str]:
    """The reasons the "Reasons" section of docs/upstream.md lists: ``{code: meaning}`` from its table rows."""
    text = path.read_text("utf-8")
    start = text.index(_SECTION)
    end = text.find("\n## ", start + len(_SECTION))
    out: dict[str, str] = {}
    for line in text[start : end if end != -1 else len(text)].splitlines():
        match = _ROW.match(line)
        if match:
            code, meaning = match.group(1), match.group(2).split("|")[-1].strip()
            assert code not in out, f"docs/upstream.md lists reason {code!r} twice"
            out[code] = meaning
    return out


async def unregistered_reasons(conn: asyncpg.Connection) -> dict[str, list[str]]:
    """Reasons stored in this database (events, message log, outbox) that no room registered."""
    registered()
    rows = await conn.fetch(
        """
        SELECT 'gateway.events' AS source, reason FROM gateway.events WHERE reason IS NOT NULL
        UNION SELECT 'gateway.messages', reason FROM gateway.messages WHERE reason IS NOT NULL
        UNION SELECT 'gateway.outbox', last_reason FROM gateway.outbox WHERE last_reason IS NOT NULL
        """
    )
    found: dict[str, list[str]] = {}
    for r in rows:
        if not reason_registry.known(r["reason"]):
            found.setdefault(r["source"], []).append(r["reason"])
    return found


async def final_without_reason(conn: asyncpg.Connection) -> int:
    """Messages in a final state whose status shows no reason."""
    return int(
        await conn.fetchval("SELECT count(*) FROM gateway.messages WHERE state <> 'submitted' AND reason IS NULL")
    )


def said(result: object) -> str:
    """A result's reason with its text, as one line: ``"too_long: 2,001 bytes ..."`` (reason, then detail.detail)."""
    reason = str(getattr(result, "reason", None) or "")
    detail = getattr(result, "detail", None) or {}
    text = detail.get("detail") if isinstance(detail, dict) else None
    return f"{reason}: {text}" if text else reason
