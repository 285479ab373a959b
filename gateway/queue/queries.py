"""Named SQL queries, kept as SQL in ``sql/queries.sql`` (procrastinate style).

Each block starts with ``-- name: <query_name>`` and runs until the next one.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

_HEADER = re.compile(r"^--\s*name:\s*([a-z_][a-z0-9_]*)\s*$", re.MULTILINE)


def parse_queries(text: str) -> dict[str, str]:
    parts = _HEADER.split(text)
    queries: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2]):
        if name in queries:
            raise ValueError(f"query {name!r} is defined twice")
        sql = body.strip()
        if not sql:
            raise ValueError(f"query {name!r} is empty")
        queries[name] = sql
    return queries


@cache
def queries() -> dict[str, str]:
    text = (resources.files("gateway.queue") / "sql" / "queries.sql").read_text("utf-8")
    return parse_queries(text)


def q(name: str) -> str:
    try:
        return queries()[name]
    except KeyError:
        raise KeyError(f"no SQL query named {name!r} in gateway/queue/sql/queries.sql") from None
