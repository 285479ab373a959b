"""``gateway enqueue``: one message from arguments, or many from a CSV/JSONL file.

Every line is validated before anything is written; a bad line is reported
with its number and nothing from the file is inserted (the file is one
transaction), so an operator can fix it and run the command again. Keys of the
file rows are the outbox columns: channel, sender, recipient, body, kind,
priority, idempotency_key, send_at, expires_at, campaign_id, consent, extras.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg

from gateway.errors import InputError

FIELDS = (
    "channel",
    "sender",
    "recipient",
    "body",
    "kind",
    "priority",
    "idempotency_key",
    "send_at",
    "expires_at",
    "campaign_id",
    "consent",
    "extras",
)
REQUIRED = ("sender", "recipient", "body")

INSERT = """
INSERT INTO gateway.outbox (channel, sender, recipient, body, kind, priority, idempotency_key,
                            send_at, expires_at, campaign_id, consent, extras)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
RETURNING id
"""


def _parse_time(value: Any, field: str, where: str) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        raise InputError(f"{where}: {field}: not an ISO 8601 timestamp: {value!r}") from None
    if parsed.tzinfo is None:
        raise InputError(f"{where}: {field}: give a time zone offset (e.g. 2026-11-21T09:00:00+09:00)")
    return parsed


def _parse_bool(value: Any, field: str, where: str) -> bool | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "t", "yes", "y", "1"):
        return True
    if text in ("false", "f", "no", "n", "0"):
        return False
    raise InputError(f"{where}: {field}: expected true/false or empty, got {value!r}")


def normalise_row(row: dict[str, Any], where: str) -> tuple:
    unknown = sorted(set(row) - set(FIELDS))
    if unknown:
        raise InputError(f"{where}: unknown field(s): {', '.join(unknown)}")
    for field in REQUIRED:
        if not str(row.get(field) or "").strip():
            raise InputError(f"{where}: {field} is required")
    extras = row.get("extras") or {}
    if isinstance(extras, str):
        try:
            extras = json.loads(extras)
        except json.JSONDecodeError as exc:
            raise InputError(f"{where}: extras: not valid JSON: {exc.msg}") from None
    if not isinstance(extras, dict):
        raise InputError(f"{where}: extras: must be a JSON object")
    try:
        priority = int(row.get("priority") or 0)
    except (TypeError, ValueError):
        raise InputError(f"{where}: priority: not an integer: {row.get('priority')!r}") from None
    return (
        row.get("channel") or "sms",
        str(row["sender"]).strip(),
        str(row["recipient"]).strip(),
        str(row["body"]),
        row.get("kind") or "informational",
        priority,
        row.get("idempotency_key") or None,
        _parse_time(row.get("send_at"), "send_at", where),
        _parse_time(row.get("expires_at"), "expires_at", where),
        row.get("campaign_id") or None,
        _parse_bool(row.get("consent"), "consent", where),
        extras,
    )


def read_rows(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield (where, row) from a .csv (header line) or .jsonl file."""
    suffix = path.suffix.lower()
    try:
        handle = path.open(encoding="utf-8", newline="")
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from exc
    with handle:
        if suffix == ".csv":
            reader = csv.DictReader(handle)
            for i, row in enumerate(reader, start=2):
                if None in row:
                    raise InputError(f"{path}:{i}: more values than header columns")
                yield f"{path}:{i}", {k: v for k, v in row.items() if v != ""}
        elif suffix in (".jsonl", ".ndjson"):
            for i, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InputError(f"{path}:{i}: not valid JSON: {exc.msg}") from None
                if not isinstance(row, dict):
                    raise InputError(f"{path}:{i}: each line must be a JSON object")
                yield f"{path}:{i}", row
        else:
            raise InputError(f"{path}: unknown file type {suffix!r}; use .csv or .jsonl")


async def enqueue_rows(conn: asyncpg.Connection, rows: list[tuple[str, dict[str, Any]]]) -> list[int | None]:
    """Insert all rows in one transaction; a database refusal names the line."""
    values = [(where, normalise_row(row, where)) for where, row in rows]
    ids: list[int | None] = []
    async with conn.transaction():
        stmt = await conn.prepare(INSERT)
        for where, params in values:
            try:
                ids.append(await stmt.fetchval(*params))
            except asyncpg.CheckViolationError as exc:
                raise InputError(f"{where}: refused by the database: {exc.constraint_name}") from exc
            except asyncpg.DataError as exc:
                raise InputError(f"{where}: refused by the database: {exc}") from exc
    return ids
