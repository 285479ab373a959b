"""Named SQL queries, kept as SQL in each package's ``sql/queries.sql`` (procrastinate style).

Each block starts with ``-- name: <query_name>`` and runs until the next one.
Every package that talks to PostgreSQL loads its own file through this one
loader::

    Q = Queries("gateway.queue")
    await conn.fetch(Q["claim"], ...)

A missing name is a ``KeyError`` naming the file; a file that defines a name
twice, or an empty block, fails when it is first loaded.
"""

from __future__ import annotations

import re
from functools import cached_property
from importlib import resources

__all__ = ["Queries", "parse_queries"]

_HEADER = re.compile(r"^--\s*name:\s*([a-z_][a-z0-9_]*)\s*$", re.MULTILINE)


def parse_queries(text: str) -> dict[str, str]:
    parts = _HEADER.split(text)
    queries: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        if name in queries:
            raise ValueError(f"query {name!r} is defined twice")
        sql = body.strip()
        if not sql:
            raise ValueError(f"query {name!r} is empty")
        queries[name] = sql
    return queries


class Queries:
    """The named queries of one package (``<package>/sql/queries.sql``), loaded on first use."""

    def __init__(self, package: str, filename: str = "queries.sql") -> None:
        self.package = package
        self.filename = filename

    @property
    def path(self) -> str:
        return f"{self.package.replace('.', '/')}/sql/{self.filename}"

    @cached_property
    def all(self) -> dict[str, str]:
        text = (resources.files(self.package) / "sql" / self.filename).read_text("utf-8")
        return parse_queries(text)

    def __getitem__(self, name: str) -> str:
        try:
            return self.all[name]
        except KeyError:
            raise KeyError(f"no SQL query named {name!r} in {self.path}") from None

    def __contains__(self, name: object) -> bool:
        return name in self.all
